/* SPDX-License-Identifier: MIT */
/*
 * sampler: see sampler.h. Locking rule: agent.lock is only ever held for a
 * few field updates, never across a GIL acquisition; agent.scan_lock is
 * taken before the GIL, never after.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "gil.h"
#include "log.h"
#include "pycompat.h"
#include "sampler.h"
#include "scan.h"
#include "server.h"
#include "hooks.h"

/* Full-heap discovery (scan-discover.c) finds wrappers outside classes and
 * modules. It runs on the first sample, when a client asks, at exit, on
 * every sample while it is cheap (its longest GIL stretch stayed under
 * SAMPLER_FULL_CHEAP_MS) and otherwise every SAMPLER_FULL_EVERY_S. */
#define SAMPLER_FULL_EVERY_S 30.0
#define SAMPLER_FULL_CHEAP_MS 5.0
/* Samples keep the agent's share of wall time under 1/N: a sample that
 * took T waits at least N*T before the next one. That holds for clients'
 * requests too (a client that asks for snapshot after snapshot must not
 * turn the sampler into a busy loop over the host's GIL), but a request
 * never waits more than SAMPLER_REQUEST_WAIT_MAX_S for its turn. */
#define SAMPLER_DUTY_FACTOR 20.0
#define SAMPLER_REQUEST_WAIT_MAX_S 5.0

static void *tstate;   /* the sampler thread's own Python thread state */
static volatile int stop_flag; /* atexit: leave Python for good */
static volatile int scan_stop; /* abandon the running sample (exit or os.fork()) */
static int in_sample;          /* the sampler thread is inside a sample (atomic) */

static bool prepared;  /* pyapi + pycompat ready (guarded by scan_lock) */
static double last_full = -1e9;
static double last_full_hold_ms = 1e9; /* longest GIL stretch of the last full sample */
static double last_scan_s;              /* wall time of the last sample */
/* --trace-alloc: tracemalloc was started (or found tracing) once. */
static bool alloc_started;

static void
sleep_s(double s)
{
    struct timespec t = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&t, &t) < 0 && errno == EINTR) {
    }
}

static struct timespec
timespec_after(struct timespec t, double s)
{
    double until = (double)t.tv_nsec / 1e9 + s;

    t.tv_sec += (time_t)until;
    t.tv_nsec = (long)((until - (double)(time_t)until) * 1e9);
    return t;
}

static int
timespec_cmp(struct timespec a, struct timespec b)
{
    if (a.tv_sec != b.tv_sec) {
        return a.tv_sec < b.tv_sec ? -1 : 1;
    }
    return a.tv_nsec < b.tv_nsec ? -1 : a.tv_nsec > b.tv_nsec;
}

/* ---- recording and identity --------------------------------------------------------- */

static void
refuse(const char *why)
{
    log_msg("inert: %s", why);
    agent_set_state(AGENT_REFUSED, why);
    agent_record_process("refused", why);
    server_start();
}

/* ---- os.fork() (3.12+): see hooks.c ------------------------------------------------ */

static void *sampler_resume(void *arg);

void
sampler_fork_pause(void)
{
    if (!agent_is_home() || !agent.sampler_alive) {
        goto out;
    }
    pthread_mutex_lock(&agent.lock);
    bool go = agent.state == AGENT_SAMPLING && !agent.stopping && !agent.pausing &&
              !agent.detaching;
    if (go) {
        __atomic_store_n(&agent.pausing, true, __ATOMIC_RELEASE);
        scan_stop = 1;
        pthread_cond_broadcast(&agent.cond);
    }
    pthread_mutex_unlock(&agent.lock);
    if (!go) {
        goto out;
    }
    agent_wake_server();
    void *ts = py.PyEval_SaveThread();
    if (agent.server_alive) {
        pthread_join(agent.server_tid, NULL);
        agent.server_alive = false;
    }
    pthread_join(agent.sampler_tid, NULL);
    agent.sampler_alive = false;
    py.PyEval_RestoreThread(ts);
out:
    return;
}

void
sampler_fork_resume(void)
{
    if (agent_is_home() && agent.pausing && !agent.stopping) {
        pthread_mutex_lock(&agent.lock);
        __atomic_store_n(&agent.pausing, false, __ATOMIC_RELEASE);
        scan_stop = stop_flag;
        pthread_mutex_unlock(&agent.lock);
        server_resume();
        if (agent_spawn(sampler_resume, &agent.sampler_tid) == 0) {
            agent.sampler_alive = true;
        } else {
            log_msg("cannot restart the sampler after fork");
        }
    }
}

/* pyapi + version + layout, once. scan_lock held; GIL held for pycompat_init. */
static int
prepare(char *why, size_t whylen)
{
    const char *missing = NULL;
    int r;

    if (prepared) {
        return 0;
    }
    r = pyapi_resolve(&missing);
    if (r < 0) {
        snprintf(why, whylen, "CPython symbol %s not found", missing);
        return r;
    }
    r = pycompat_check_version(py.Py_GetVersion(), why, whylen);
    if (r < 0) {
        return r;
    }
    r = pycompat_init(why, whylen);
    if (r < 0) {
        return r;
    }
    if (agent.scan == NULL) {
        agent.scan = scan_new();
        if (agent.scan == NULL) {
            snprintf(why, whylen, "out of memory");
            return -ENOMEM;
        }
    }
    pthread_mutex_lock(&agent.lock);
    snprintf(agent.python, sizeof(agent.python), "%s", pyc.version);
    pthread_mutex_unlock(&agent.lock);
    prepared = true;
    return 0;
}

/* ---- sampling -------------------------------------------------------------------------------- */

/* --trace-alloc: start tracemalloc once, on the sampler thread with the
 * GIL (never from the constructor, never on the host's threads). A
 * program that traces already keeps its own session. */
static void
start_alloc_tracing(void)
{
    int frames = 0, r;

    if (agent.trace_alloc <= 0 || alloc_started) {
        return;
    }
    alloc_started = true;
    r = scan_alloc_start(agent.trace_alloc, &frames);
    if (r < 0) {
        log_msg("cannot start tracemalloc: %s", strerror(-r));
    } else {
        log_msg("tracemalloc traces with %d frame%s", frames, frames == 1 ? "" : "s");
    }
}

/* The snapshot requests received so far (see agent_publish). */
static uint64_t
requests_now(void)
{
    pthread_mutex_lock(&agent.lock);
    uint64_t n = agent.requests;
    pthread_mutex_unlock(&agent.lock);
    return n;
}

/* scan_lock and the GIL held. `answers`: see agent_publish. A sample that
 * hands its pinned objects to pinned_out is the caller's own: it is not
 * published and answers nothing. */
static int
sample(bool full, bool final, bool main_thread, volatile int *stop, uint64_t answers,
       PyObject *pinned_out)
{
    struct scan_options opt = {
        .full = full,
        .main_thread = main_thread,
        /* The final sample keeps the GIL: at exit only daemon threads are
         * left to want it, and each gap would hand them a switch interval
         * (5 ms) apiece, so busy ones would stretch the exit by seconds. */
        .slice_ms = final ? 0 : agent.slice_ms,
        .max_nodes = agent.max_nodes,
        .stop = stop,
        .pinned_out = pinned_out,
        .trace_alloc = agent.trace_alloc > 0,
    };
    struct snapshot snap;
    int r;

    snapshot_init(&snap);
    if (!main_thread) {
        start_alloc_tracing(); /* an attach may ask after the sampler started */
    }
    r = scan_run(agent.scan, &opt, &snap);
    scan_clear_error();
    if (r == 0 && pinned_out == NULL) {
        snap.pid = agent.pid;
        snap.t = agent_uptime();
        snap.final = final;
        agent_publish(&snap, answers);
    }
    last_scan_s = snap.scan_ms / 1e3;
    if (full && r == 0) {
        last_full = agent_uptime();
        last_full_hold_ms = snap.max_gil_hold_ms;
    }
    snapshot_done(&snap);
    return r;
}

int
sampler_sample_here(bool full, PyObject *pinned_out, char *why, size_t whylen)
{
    void *ts;
    int r;

    if (!agent_is_home()) {
        snprintf(why, whylen, "the agent does not follow this forked process");
        return -ECHILD;
    }
    if (pinned_out != NULL && agent_is_detached()) {
        /* A detached agent keeps no reference to the program's objects. */
        snprintf(why, whylen, "the agent is detached");
        return -ESHUTDOWN;
    }
    /* Order: scan_lock before the GIL, so release the GIL while waiting. */
    ts = py.PyEval_SaveThread();
    pthread_mutex_lock(&agent.scan_lock);
    py.PyEval_RestoreThread(ts);
    r = prepare(why, whylen);
    if (r == 0) {
        r = sample(full, false, true, NULL, full && pinned_out == NULL ? requests_now() : 0,
                   pinned_out);
        if (r < 0) {
            snprintf(why, whylen, "sample failed: %s", strerror(-r));
        }
    }
    pthread_mutex_unlock(&agent.scan_lock);
    return r;
}

void
sampler_final(void)
{
    struct timespec deadline, t0, t1;
    bool parked, busy;
    void *ts;

    pthread_mutex_lock(&agent.lock);
    agent.stopping = true;
    stop_flag = 1;
    scan_stop = 1;
    /* Detached (or being detached): the user took the agent out; no final
     * sample, no recording, and no later attach (agent_start checks
     * stopping). */
    bool detached = agent.state == AGENT_DETACHED || agent.detaching;
    pthread_cond_broadcast(&agent.cond);
    pthread_mutex_unlock(&agent.lock);
    if (detached) {
        return;
    }
    busy = __atomic_load_n(&in_sample, __ATOMIC_ACQUIRE);
    clock_gettime(CLOCK_MONOTONIC, &t0);

    /* Let the sampler finish its slice and leave Python: wait without the
     * GIL (it may be waiting for it), bounded so exit never hangs. */
    ts = py.PyEval_SaveThread();
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    pthread_mutex_lock(&agent.lock);
    /* A sampler stopped for os.fork() (agent.pausing) has left already. */
    while (!agent.parked && agent.state == AGENT_SAMPLING && !agent.pausing &&
           !agent.sampler_gone &&
           pthread_cond_timedwait(&agent.cond, &agent.lock, &deadline) == 0) {
    }
    parked = agent.parked || agent.state != AGENT_SAMPLING || agent.pausing;
    pthread_mutex_unlock(&agent.lock);
    if (parked) {
        pthread_mutex_lock(&agent.scan_lock);
    }
    py.PyEval_RestoreThread(ts);
    if (busy) {
        /* Rare and worth knowing (tests/stress counts these lines). */
        clock_gettime(CLOCK_MONOTONIC, &t1);
        log_msg("exit during a sample: the sampler left it in %.1f ms",
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    }
    if (!parked) {
        log_msg("sampler did not stop in time: no final sample");
        return;
    }
    if (!prepared) {
        /* The program ended before the sampler got going (the exit hook
         * came from the audit hook): prepare here, on the main thread. */
        char why[256];
        if (prepare(why, sizeof(why)) < 0) {
            log_msg("no final sample: %s", why);
        } else {
            agent_record_process("process", NULL);
        }
    }
    if (prepared) {
        /* Not a full walk in a forked child: it would touch (and so copy)
         * every page it shares with its parent, at every exit of a prefork
         * worker; the parent's wrappers are known already. */
        int r = sample(!agent.forked, true, true, NULL, requests_now(), NULL);
        if (r < 0) {
            log_msg("final sample failed: %s", strerror(-r));
        }
    }
    pthread_mutex_unlock(&agent.scan_lock);
    agent_set_state(AGENT_STOPPED, NULL);
}

/* ---- the thread ------------------------------------------------------------------------------ */

/* Take the GIL unless the interpreter is going away. */
static bool
enter_python(void)
{
    if (stop_flag || !py.Py_IsInitialized() || pycompat_finalizing()) {
        return false;
    }
    gil_take(tstate);
    return true;
}

static void
park(void)
{
    pthread_mutex_lock(&agent.lock);
    agent.parked = true;
    pthread_cond_broadcast(&agent.cond);
    /* Stay here for good: the thread state stays valid only as long as
     * nobody uses it, and finalisation frees it. */
    for (;;) {
        pthread_cond_wait(&agent.cond, &agent.lock);
    }
}

/* Sleep s seconds without the GIL; a detach request ends the nap early. */
static void
nap(double s)
{
    struct timespec deadline;

    clock_gettime(CLOCK_REALTIME, &deadline);
    double until = (double)deadline.tv_nsec / 1e9 + s;
    deadline.tv_sec += (time_t)until;
    deadline.tv_nsec = (long)((until - (double)(time_t)until) * 1e9);
    pthread_mutex_lock(&agent.lock);
    while (!agent.detaching && pthread_cond_timedwait(&agent.cond, &agent.lock, &deadline) == 0) {
    }
    pthread_mutex_unlock(&agent.lock);
}

enum wait_result {
    WAIT_FOUND,  /* functools is imported */
    WAIT_GONE,   /* the interpreter is exiting: touch Python no more */
    WAIT_DETACH, /* a client asked to detach */
};

static enum wait_result
wait_for_functools(void)
{
    static bool audit_added, watching;
    double delay = 0.002;
    PyObject *name = NULL;

    for (;;) {
        if (agent_detach_state() != AGENT_DETACH_NONE) {
            if (name != NULL) {
                gil_take(tstate);
                py.Py_DecRef(name);
                py.PyEval_SaveThread();
            }
            return WAIT_DETACH;
        }
        if (!enter_python()) {
            return WAIT_GONE;
        }
        if (name == NULL) {
            name = py.PyUnicode_FromString("functools");
        }
        PyObject *mod = name != NULL ? py.PyImport_GetModule(name) : NULL; /* owned */
        bool found = mod != NULL;
        py.Py_DecRef(mod);
        scan_clear_error();
        if (!found && !audit_added) {
            audit_added = true;
            watching = hooks_watch_imports();
        }
        if (found) {
            py.Py_DecRef(name);
        }
        py.PyEval_SaveThread();
        if (found) {
            return WAIT_FOUND;
        }
        /* The audit hook installs the exit hook when functools arrives, so
         * polling (which takes the GIL) can back off. Only if the program's
         * own hooks refused ours, poll fast during the first second so that
         * a short script still gets its final sample. */
        nap(!watching && agent_uptime() < 1.0 ? 0.001 : delay);
        delay = delay * 2 < agent.interval ? delay * 2 : agent.interval;
    }
}

/* Delete this thread's state so the thread can end (os.fork() on 3.12+, a
 * detach, a refusal after the state was made). The thread never ran Python
 * code, so clearing it runs no destructor of the host's. */
static void
leave_python(bool forget)
{
    gil_take(tstate);
    if (forget && agent.scan != NULL) {
        scan_forget(agent.scan); /* scan_lock held by the caller */
    }
    py.PyThreadState_Clear(tstate);
    if (py.PyThreadState_DeleteCurrent != NULL) {
        py.PyThreadState_DeleteCurrent(); /* releases the GIL */
    } else {
        py.PyEval_SaveThread();
    }
    tstate = NULL;
}

/* The thread is about to return: tell a detaching server. */
static void
sampler_exit(void)
{
    pthread_mutex_lock(&agent.lock);
    agent.sampler_gone = true;
    pthread_cond_broadcast(&agent.cond);
    pthread_mutex_unlock(&agent.lock);
    agent_wake_server();
}

void
sampler_abort_scan(void)
{
    scan_stop = 1;
}

static void
sample_loop(void)
{
    int r;

    for (;;) {
        struct timespec now, deadline, earliest;
        bool full;

        /* Periodic: after the interval (an attach may change it);
         * requested: after the duty wait. */
        pthread_mutex_lock(&agent.lock);
        double rest = SAMPLER_DUTY_FACTOR * last_scan_s;
        double wait = agent.interval > rest ? agent.interval : rest;
        clock_gettime(CLOCK_REALTIME, &now);
        deadline = timespec_after(now, wait);
        if (rest > SAMPLER_REQUEST_WAIT_MAX_S) {
            rest = SAMPLER_REQUEST_WAIT_MAX_S;
        }
        earliest = timespec_after(now, rest);
        while (!agent.stopping && !agent.pausing && !agent.detaching) {
            const struct timespec *until = agent.want_sample ? &earliest : &deadline;
            if (pthread_cond_timedwait(&agent.cond, &agent.lock, until) == ETIMEDOUT) {
                /* A request may have come in just now: look again. */
                clock_gettime(CLOCK_REALTIME, &now);
                if (!agent.want_sample || timespec_cmp(now, earliest) >= 0) {
                    break;
                }
            }
        }
        full = agent.want_full || last_full_hold_ms <= SAMPLER_FULL_CHEAP_MS ||
               agent_uptime() - last_full >= SAMPLER_FULL_EVERY_S;
        agent.want_sample = false;
        agent.want_full = false;
        uint64_t answers = agent.requests; /* those that asked for this sample */
        bool stopping = agent.stopping, pausing = agent.pausing, detaching = agent.detaching;
        pthread_mutex_unlock(&agent.lock);
        if (stopping) {
            park();
        }
        if (pausing) {
            leave_python(false);
            return;
        }
        if (detaching) {
            pthread_mutex_lock(&agent.scan_lock);
            leave_python(true);
            pthread_mutex_unlock(&agent.scan_lock);
            sampler_exit();
            return;
        }
        pthread_mutex_lock(&agent.scan_lock);
        __atomic_store_n(&in_sample, 1, __ATOMIC_RELEASE);
        if (enter_python()) {
            r = sample(full, false, false, &scan_stop, answers, NULL);
            if (r < 0 && r != -ECANCELED) {
                log_msg("sample failed: %s", strerror(-r));
            }
            py.PyEval_SaveThread();
        }
        __atomic_store_n(&in_sample, 0, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&agent.scan_lock);
    }
}

/* After os.fork(), in the parent, or in a re-armed child: a new thread, a
 * new thread state. */
static void *
sampler_resume(void *arg)
{
    (void)arg;
    gil_ensure();
    tstate = py.PyEval_SaveThread();
    sample_loop();
    return NULL;
}

int
sampler_reset_after_fork(bool scan_busy)
{
    /* The parent's sampler thread state was deleted by
     * PyOS_AfterFork_Child with every other thread's. */
    tstate = NULL;
    stop_flag = 0;
    scan_stop = 0;
    /* The parent's walks go on counting: its wrappers are known (weak
     * references), its full walk counts as just done, and whether full
     * walks are cheap stays as it found. A full walk in a child touches
     * (and so copies) every page it shares with its parent. */
    last_full = 0;
    if (scan_busy) {
        /* Abandoned, not freed: its arrays may be mid-resize and the
         * references it holds are the parent's sample's. */
        agent.scan = scan_new();
        if (agent.scan == NULL) {
            prepared = false; /* prepare() tries again, or refuses */
            return -ENOMEM;
        }
    }
    return 0;
}

int
sampler_start_after_fork(void)
{
    int r = agent_spawn(sampler_resume, &agent.sampler_tid);

    if (r == 0) {
        agent.sampler_alive = true;
    }
    return r;
}

/* A refusal on the sampler thread: the thread ends, the socket explains. */
static void *
refuse_and_end(const char *why)
{
    if (tstate != NULL) {
        leave_python(false);
    }
    refuse(why);
    sampler_exit();
    return NULL;
}

void *
sampler_main(void *arg)
{
    int (*initialized)(void) = pyapi_probe();
    char why[256];
    const char *missing = NULL;
    double delay = 0.001;
    enum wait_result w;

    (void)arg;
    scan_stop = stop_flag; /* a detach before this start set it */
    while (!initialized()) {
        sleep_s(agent_uptime() < 2.0 ? 0.001 : delay);
        delay = delay < 0.1 ? delay * 2 : 0.1;
    }
    if (pyapi_resolve(&missing) < 0) {
        snprintf(why, sizeof(why), "CPython symbol %s not found", missing);
        return refuse_and_end(why);
    }
    if (pycompat_check_version(py.Py_GetVersion(), why, sizeof(why)) < 0) {
        return refuse_and_end(why);
    }
    if (pycompat_finalizing()) {
        return NULL;
    }
    /* Attached on purpose: answer on the socket at once (state "waiting"
     * until the program imports functools), so `lruleak attach` can tell
     * a loaded agent from a failed attach, and detach works from the
     * start. A preloaded agent opens its socket only once it samples. */
    if (agent.attached) {
        server_start();
    }
    /* One thread state for the thread's whole life. */
    gil_ensure();
    tstate = py.PyEval_SaveThread();
    int r = -ENOENT;
    while (r == -ENOENT) {
        w = wait_for_functools();
        if (w == WAIT_GONE) {
            return NULL;
        }
        if (w == WAIT_DETACH) {
            goto detach;
        }
        pthread_mutex_lock(&agent.scan_lock);
        if (!enter_python()) {
            pthread_mutex_unlock(&agent.scan_lock);
            return NULL;
        }
        r = prepare(why, sizeof(why));
        if (r == 0 && (pyc.fork_warns || agent.follow_forks)) {
            hooks_install_fork();
        }
        if (r == 0) {
            if (hooks_install_exit() < 0) {
                snprintf(why, sizeof(why), "cannot register the atexit hook");
                r = -EIO;
            }
        }
        if (r == 0) {
            start_alloc_tracing();
        }
        py.PyEval_SaveThread();
        pthread_mutex_unlock(&agent.scan_lock);
        if (r == -ENOENT) {
            sleep_s(0.005);
        }
    }
    if (r < 0) {
        return refuse_and_end(why);
    }
    if (stop_flag) {
        return NULL; /* the exit hook already ran and took the final sample */
    }
    agent_record_process("process", NULL);
    agent_set_state(AGENT_SAMPLING, NULL);
    server_start();
    log_msg("sampling CPython %s every %gs (lru fields %s, links %s)", pyc.version, agent.interval,
            pyc.lru_fields ? "verified" : "checked per wrapper",
            pyc.lru_links ? "verified" : "read by traverse");

    sample_loop();
    return NULL;
detach:
    pthread_mutex_lock(&agent.scan_lock);
    leave_python(true);
    pthread_mutex_unlock(&agent.scan_lock);
    sampler_exit();
    return NULL;
}
