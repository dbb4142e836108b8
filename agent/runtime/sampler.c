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
#include "lifecycle.h"
#include "log.h"
#include "pycompat.h"
#include "registry.h"
#include "sampler.h"
#include "scan.h"
#include "server.h"
#include "hooks.h"
#include "hostwatch.h"
#include "termsig.h"

/* A full sample (every entry read; the full-heap discovery of
 * scan-discover.c while the registry is not complete) runs on the first
 * sample, when a client asks, every SAMPLER_FULL_EVERY_S, and - until the
 * registry knows every wrapper - at exit and on every sample while it is
 * cheap (its longest GIL stretch stayed under SAMPLER_FULL_CHEAP_MS). */
#define SAMPLER_FULL_EVERY_S 30.0
#define SAMPLER_FULL_CHEAP_MS 5.0
/* A periodic sample's reference checks run ahead of it in slices this
 * long, this far apart (precheck_slices). */
#define SAMPLER_SLICE_MS 1.0
#define SAMPLER_SLICE_GAP_MS 2.0
/* Samples keep the agent's share of wall time under 1/N, over time: a
 * credit of sampling time grows by 1/N of the wall time that passes (up to
 * SAMPLER_DUTY_BURST_S) and each sample spends its own wall time; while the
 * credit is below zero the next sample waits until it is back. So one long
 * sample (the first, complete one of a big heap) does not hold back the
 * cheap ones after it, and a run of long ones is spaced N times their
 * length. That holds for clients' requests too (a client that asks for
 * snapshot after snapshot must not turn the sampler into a busy loop over
 * the host's GIL), but a request never waits more than
 * SAMPLER_REQUEST_WAIT_MAX_S for its turn. */
#define SAMPLER_DUTY_FACTOR 20.0
#define SAMPLER_DUTY_BURST_S 0.5
#define SAMPLER_REQUEST_WAIT_MAX_S 5.0

/* The sampler's own state (the agent's shared state is agent.h's). */
static struct {
    atomic_int stop_flag;     /* atexit: leave Python for good */
    atomic_int scan_stop;     /* abandon the running sample (exit or os.fork()) */
    atomic_int in_sample;     /* the sampler thread is inside a sample */
    bool prepared;            /* pyapi + pycompat ready (guarded by scan_lock) */
    double last_full;         /* agent_uptime() of the last full sample */
    double last_full_hold_ms; /* longest GIL stretch of the last full sample */
    bool walked;              /* a full walk found the wrappers, here or in the parent of a fork */
    double credit_s;          /* sampling time the duty cap allows now (see above) */
    double credit_t;          /* agent_uptime() when credit_s was last brought up to date */
    bool alloc_started;       /* --trace-alloc: tracemalloc was started (or found tracing) once */
    bool registry_tried;      /* registry_install ran since the start or the last detach */
} sm = {
    .last_full = -1e9,
    .last_full_hold_ms = 1e9,
    .credit_s = SAMPLER_DUTY_BURST_S,
};

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
    lifecycle_refused(why);
}

/* ---- os.fork() (3.12+): see hooks.c ------------------------------------------------ */

void
sampler_fork_pause(void)
{
    if (!agent_is_home() || !agent.sampler_alive) {
        goto out;
    }
    pthread_mutex_lock(&agent.lock);
    bool go = (agent.state == AGENT_SAMPLING || agent.state == AGENT_WAITING) && !agent.stopping &&
              !agent.pausing && !agent.detaching;
    if (go) {
        atomic_store(&agent.pausing, true);
        sm.scan_stop = 1;
        pthread_cond_broadcast(&agent.cond);
    }
    pthread_mutex_unlock(&agent.lock);
    if (!go) {
        goto out;
    }
    agent_wake_server();
    /* Keep the GIL unless the sampler waits for it: giving it up lets the
     * program's other threads run in the middle of os.fork() (3.12's main
     * thread could reach Py_FinalizeEx and mark the interpreter finalizing,
     * which the child inherits: "can't create new thread at interpreter
     * shutdown"). Once pausing is set, the sampler asks for it no more. */
    pthread_mutex_lock(&agent.lock);
    bool release = agent.sampler_wants_gil;
    pthread_mutex_unlock(&agent.lock);
    void *ts = release ? py.PyEval_SaveThread() : NULL;
    /* The sampler first: it may start the server on its way out. */
    pthread_join(agent.sampler_tid, NULL);
    agent.sampler_alive = false;
    if (agent.server_alive) {
        pthread_join(agent.server_tid, NULL);
        agent.server_alive = false;
    }
    /* Joined is not gone: the kernel counts a thread until it is reaped,
     * a little after pthread_join returns, and 3.12+ counts threads. */
    agent_wait_threads_reaped();
    if (release) {
        py.PyEval_RestoreThread(ts);
    }
out:
    return;
}

void
sampler_fork_resume(void)
{
    if (agent_is_home() && agent.pausing && !agent.stopping) {
        pthread_mutex_lock(&agent.lock);
        atomic_store(&agent.pausing, false);
        sm.scan_stop = sm.stop_flag;
        pthread_mutex_unlock(&agent.lock);
        server_resume();
        if (agent_spawn(sampler_main, &agent.sampler_tid) == 0) {
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

    if (sm.prepared) {
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
    sm.prepared = true;
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

    if (agent.trace_alloc <= 0 || sm.alloc_started) {
        return;
    }
    sm.alloc_started = true;
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

/* The duty cap's credit, brought up to date. */
static double
credit_now(void)
{
    double now = agent_uptime();
    double c = sm.credit_s + (now - sm.credit_t) / SAMPLER_DUTY_FACTOR;

    sm.credit_t = now;
    sm.credit_s = c < SAMPLER_DUTY_BURST_S ? c : SAMPLER_DUTY_BURST_S;
    return sm.credit_s;
}

static void
spend_credit(double sample_s)
{
    sm.credit_s = credit_now() - sample_s;
}

/* Seconds until the credit is back to zero. */
static double
credit_wait_s(void)
{
    double c = credit_now();

    return c < 0 ? -c * SAMPLER_DUTY_FACTOR : 0;
}

/* What the slices ahead of a periodic sample did (see precheck_slices). */
struct precheck_job {
    int result; /* of the last slice: scan_precheck's, or -EINTR when none ran */
    int holds;
    double max_hold_ms, cpu_ms, wall_ms;
};

/* scan_lock and the GIL held. `answers`: see agent_publish. A sample that
 * hands its pinned objects to pinned_out is the caller's own: it is not
 * published and answers nothing. pre: the slices that ran ahead of it, or
 * NULL. */
static int
sample(bool full, bool final, bool main_thread, atomic_int *stop, uint64_t answers,
       PyObject *pinned_out, bool *pinned_all, const struct precheck_job *pre)
{
    struct scan_options opt = {
        .full = full,
        .main_thread = main_thread,
        .max_nodes = agent.max_nodes,
        .stop = stop,
        .pinned_out = pinned_out,
        .pinned_all = pinned_all,
        .trace_alloc = agent.trace_alloc > 0,
        .prechecked = pre != NULL && pre->result == 0,
        .pre_holds = pre != NULL ? pre->holds : 0,
        .pre_max_hold_ms = pre != NULL ? pre->max_hold_ms : 0,
        .pre_cpu_ms = pre != NULL ? pre->cpu_ms : 0,
        .pre_wall_ms = pre != NULL ? pre->wall_ms : 0,
    };
    struct snapshot snap;
    int r;

    snapshot_init(&snap);
    if (!main_thread) {
        start_alloc_tracing(); /* an attach may ask after the sampler started */
    }
    /* Learn of wrappers as they are made from now on (registry.h); this
     * sample's full walk (the first is full) seeds the set. Again after a
     * detach and a new attach. */
    if (!sm.registry_tried && !agent_is_detached()) {
        sm.registry_tried = true;
        if (registry_install() < 0) {
            log_msg("cannot follow lru wrappers as they are made: samples walk the heap");
        }
    }
    r = scan_run(agent.scan, &opt, &snap);
    scan_clear_error();
    if (r == 0 && pinned_out == NULL) {
        snap.pid = agent.pid;
        snap.t = agent_uptime();
        snap.final = final;
        agent_publish(&snap, answers);
    }
    spend_credit(snap.scan_ms / 1e3);
    if (full && r == 0) {
        sm.walked = true;
        sm.last_full = agent_uptime();
        sm.last_full_hold_ms = snap.max_gil_hold_ms;
    }
    snapshot_done(&snap);
    return r;
}

int
sampler_sample_here(bool full, PyObject *pinned_out, bool *pinned_all, char *why, size_t whylen)
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
                   pinned_out, pinned_all, NULL);
        if (r < 0) {
            snprintf(why, whylen, "sample failed: %s", strerror(-r));
        }
    }
    pthread_mutex_unlock(&agent.scan_lock);
    return r;
}

/*
 * Whether a final sample is a full one. Not when the registry knows every
 * wrapper (registry.h): then it is like a periodic one, steady when nothing
 * changed, so an exit does not pay for a complete read of a big heap. Not
 * in a forked child while a walk is costly either: it would touch (and so
 * copy) every page it shares with its parent, at every exit of a prefork
 * worker, and the parent's wrappers are known already. But when no walk
 * ever found them (a child forked while its parent's agent was getting
 * ready: a pool worker of a fresh forkserver), a full walk is the only way
 * to see any.
 */
static bool
final_is_full(void)
{
    if (registry_complete()) {
        return false;
    }
    return !agent.forked || !sm.walked || sm.last_full_hold_ms <= SAMPLER_FULL_CHEAP_MS;
}

void
sampler_final(void)
{
    struct timespec deadline, t0, t1;
    bool parked, busy;
    void *ts;

    termsig_final_begins();
    pthread_mutex_lock(&agent.lock);
    agent.stopping = true;
    sm.stop_flag = 1;
    sm.scan_stop = 1;
    /* Detached (or being detached): the user took the agent out; no final
     * sample, no recording, and no later attach (agent_start checks
     * stopping). */
    bool detached = agent.state == AGENT_DETACHED || agent.detaching;
    pthread_cond_broadcast(&agent.cond);
    pthread_mutex_unlock(&agent.lock);
    if (detached) {
        termsig_final_ends();
        return;
    }
    busy = atomic_load(&sm.in_sample);
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
    /* Out of Python for good: parked, ended, never sampling, or paused. */
    parked = agent.parked || agent.sampler_gone || agent.state != AGENT_SAMPLING || agent.pausing;
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
        termsig_final_ends();
        return;
    }
    if (!sm.prepared) {
        /* The program ended before the sampler got going (the exit hook
         * came from the audit hook): prepare here, on the main thread. */
        char why[256];
        if (prepare(why, sizeof(why)) < 0) {
            log_msg("no final sample: %s", why);
        } else {
            agent_record_process("process", NULL);
        }
    }
    if (sm.prepared) {
        int r = sample(final_is_full(), true, true, NULL, requests_now(), NULL, NULL, NULL);
        if (r < 0) {
            log_msg("final sample failed: %s", strerror(-r));
        }
    }
    pthread_mutex_unlock(&agent.scan_lock);
    agent_set_state(AGENT_STOPPED, NULL);
    termsig_final_ends();
}

static bool enter_python(int *ret_state);
static void leave_python(int state);

/* ---- Python work on the program's main thread ------------------------------------------------ */

/* Where it can, the sampler has the program's main thread do its Python
 * work - samples, and before them the start-up steps (fork hooks, looking
 * for functools, checking the interpreter): a pending call
 * (Py_AddPendingCall), run from the main thread's eval loop between two
 * bytecodes, with the thread state it has anyway. No thread state of ours
 * then ever exists - not even while we would wait for the GIL, nor running
 * importlib's Python code, when faulthandler, sys._current_frames() or
 * threading would see one - and the main thread never waits for the GIL
 * behind us. A main thread that runs no bytecode (blocked in a system
 * call, the GIL released) does not run it within SAMPLER_MAIN_WAIT_S: the
 * sampler then does the work itself, with a thread state made for that
 * stretch only.
 *
 * In a child forked from a thread other than the initial one, the main
 * thread is the only way: there a thread state made by one of our threads
 * is unsafe (once the program's last thread has ended and its state is
 * gone, CPython 3.11/3.12 hand out the interpreter's initial thread state
 * again and abort, "thread state already initialized", and nothing tells us
 * in time that the last one is ending).
 *
 * Tickets (under agent.lock): the sampler asks for job `asked`; whoever
 * claims it first - the main thread's call, or the sampler after the wait
 * - does it; a call that runs late finds its ticket claimed and does
 * nothing. The call only tries scan_lock (whoever holds it may be waiting
 * for the GIL this thread holds). */
#define SAMPLER_MAIN_WAIT_S 0.02

typedef int (*python_job_fn)(void *arg); /* GIL and scan_lock held */

static struct {
    uint64_t asked, claimed, done;
    python_job_fn fn;
    void *arg;
    bool detaching_ok; /* a job of the detach itself (forget_python) */
    int result;
} main_req;

/* Are the modules the agent imports in sys.modules already? GIL held. */
static bool
modules_loaded(void)
{
    static const char *const names[] = {"gc", "atexit", "posix", "_tracemalloc"};
    size_t n = agent.trace_alloc > 0 ? 4 : 3;

    for (size_t i = 0; i < n; i++) {
        PyObject *name = py.PyUnicode_FromString(names[i]);
        PyObject *m = name != NULL ? py.PyImport_GetModule(name) : NULL;
        py.Py_DecRef(name);
        if (m == NULL) {
            scan_clear_error();
            return false;
        }
        py.Py_DecRef(m);
    }
    return true;
}

/* Main thread, with the GIL. Returns 0: -1 would raise into the program. */
static int
job_on_main(void *unused)
{
    (void)unused;
    if (pthread_mutex_trylock(&agent.scan_lock) != 0) {
        return 0; /* busy: the sampler's wait runs out and it does the job */
    }
    pthread_mutex_lock(&agent.lock);
    uint64_t ticket = main_req.asked;
    bool go = main_req.claimed < ticket && !agent.stopping &&
              (!agent.detaching || main_req.detaching_ok) && !agent.pausing && agent_is_home();
    python_job_fn fn = main_req.fn;
    void *arg = main_req.arg;
    pthread_mutex_unlock(&agent.lock);
    /* Importing runs importlib's bytecode, and bytecode on this thread runs
     * the program's signal handlers: what they raise (KeyboardInterrupt
     * from interrupt_main() or Ctrl-C) would be ours to swallow. So the
     * modules our work needs are imported once on our own thread (the
     * ticket stays unclaimed: the sampler's wait runs out and it does the
     * job itself). */
    go = go && modules_loaded();
    if (go) {
        pthread_mutex_lock(&agent.lock);
        go = main_req.claimed < ticket;
        main_req.claimed = go ? ticket : main_req.claimed;
        pthread_mutex_unlock(&agent.lock);
    }
    if (go) {
        /* No collection during our work here: its finalisers (bytecode)
         * would run the program's signal handlers inside it, and what they
         * raise (KeyboardInterrupt) would be ours to swallow. */
        int was = py.PyGC_Disable != NULL ? py.PyGC_Disable() : 0;
        int r = fn(arg);
        if (was > 0) {
            py.PyGC_Enable();
        }
        pthread_mutex_lock(&agent.lock);
        main_req.result = r;
        main_req.done = ticket;
        pthread_cond_broadcast(&agent.cond);
        pthread_mutex_unlock(&agent.lock);
    }
    pthread_mutex_unlock(&agent.scan_lock);
    return 0;
}

/* Anything that makes the sampler stop what it is doing (agent.lock held);
 * a detach does not stop the detach's own job. */
static bool
asked_to_leave(bool detaching_ok)
{
    return agent.stopping || (agent.detaching && !detaching_ok) || agent.pausing ||
           agent.host_gone || agent.term_asked;
}

/* Sampler thread, no GIL, no lock: run fn with the GIL and scan_lock held,
 * on the main thread when it runs bytecode, else here. Returns fn's
 * result, or -EINTR when it did not run (the agent is asked to stop, pause
 * or - unless detaching_ok - detach; or, in main_only mode, the main thread
 * did not run it). */
static int
run_python_job(python_job_fn fn, void *arg, bool detaching_ok)
{
    struct timespec deadline;
    int r, state;

    /* A pending call is safe while the interpreter lives: queued under
     * agent.lock only while the exit hook has not run (it sets
     * agent.stopping under that lock, before finalisation frees the
     * interpreter). Before the exit hook is in place (a debug or dev-mode
     * process, whose agent starts before the program imports anything)
     * nothing would tell us: a program that ended meanwhile left
     * Py_AddPendingCall a freed interpreter (SIGSEGV at the exit of every
     * short python3.11-dbg program under `lruleak run`). */
    if (pycompat_pending_calls_safe() && hooks_exit_installed()) {
        pthread_mutex_lock(&agent.lock);
        if (agent.stopping) {
            pthread_mutex_unlock(&agent.lock);
            return -EINTR;
        }
        uint64_t ticket = ++main_req.asked;
        main_req.fn = fn;
        main_req.arg = arg;
        main_req.detaching_ok = detaching_ok;
        bool queued = py.Py_AddPendingCall(job_on_main, NULL) == 0;
        pthread_mutex_unlock(&agent.lock);
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline = timespec_after(deadline, agent.main_only ? agent.interval : SAMPLER_MAIN_WAIT_S);
        pthread_mutex_lock(&agent.lock);
        while (queued && main_req.done < ticket && !asked_to_leave(detaching_ok) &&
               pthread_cond_timedwait(&agent.cond, &agent.lock, &deadline) == 0) {
        }
        if (main_req.claimed >= ticket) {
            /* The main thread has it: wait for the end of it. */
            while (main_req.done < ticket) {
                pthread_cond_wait(&agent.cond, &agent.lock);
            }
            r = main_req.result;
            pthread_mutex_unlock(&agent.lock);
            return r;
        }
        main_req.claimed = ticket; /* ours now: a late call does nothing */
        bool leave = asked_to_leave(detaching_ok) || agent.main_only;
        pthread_mutex_unlock(&agent.lock);
        if (leave) {
            return -EINTR;
        }
    } else if (agent.main_only) {
        return -EINTR;
    }
    pthread_mutex_lock(&agent.scan_lock);
    atomic_store(&sm.in_sample, 1);
    r = -EINTR;
    if (enter_python(&state)) {
        r = fn(arg);
        leave_python(state);
    }
    atomic_store(&sm.in_sample, 0);
    pthread_mutex_unlock(&agent.scan_lock);
    return r;
}

static int
run_python(python_job_fn fn, void *arg)
{
    return run_python_job(fn, arg, false);
}

/* ---- the sampler's jobs (GIL and scan_lock held, any thread) ----------------------------------
 */

struct sample_job {
    bool full, final;
    uint64_t answers;
    const struct precheck_job *pre; /* NULL: no slices ran ahead */
};

static int
job_sample(void *arg)
{
    const struct sample_job *q = arg;

    return sample(q->full, q->final, false, &sm.scan_stop, q->answers, NULL, NULL, q->pre);
}

static double
clock_ms(clockid_t id)
{
    struct timespec t;

    clock_gettime(id, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* One slice (scan-precheck.c), on whichever thread holds the GIL for us. */
static int
job_precheck(void *arg)
{
    struct precheck_job *pj = arg;
    double t0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
    int r =
        sm.prepared && agent.scan != NULL ? scan_precheck(agent.scan, SAMPLER_SLICE_MS) : -EAGAIN;
    double hold = clock_ms(CLOCK_MONOTONIC) - t0;

    pj->holds++;
    pj->wall_ms += hold;
    pj->cpu_ms += clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
    pj->max_hold_ms = hold > pj->max_hold_ms ? hold : pj->max_hold_ms;
    return r;
}

/* A periodic sample that may be steady checks the kept objects first, in
 * slices of SAMPLER_SLICE_MS, each its own GIL hold, SAMPLER_SLICE_GAP_MS
 * apart, so that on a big heap no hold is long (scan-precheck.c). */
static void
precheck_slices(struct precheck_job *pj)
{
    for (;;) {
        pj->result = run_python(job_precheck, pj);
        if (pj->result != 1) {
            return;
        }
        sleep_s(SAMPLER_SLICE_GAP_MS / 1e3);
    }
}

static int
job_install_fork(void *arg)
{
    (void)arg;
    hooks_install_fork();
    /* gc and atexit in sys.modules from now on (see job_on_main). */
    PyObject *gc = pycompat_import("gc"), *ax = pycompat_import("atexit");
    py.Py_DecRef(gc);
    py.Py_DecRef(ax);
    scan_clear_error();
    return 0;
}

/* 1 when the program has imported functools, else 0 (and the audit hook
 * that tells us when it does is added). */
static int
job_functools(void *arg)
{
    bool *watching = arg;
    PyObject *name = py.PyUnicode_FromString("functools");             /* owned */
    PyObject *mod = name != NULL ? py.PyImport_GetModule(name) : NULL; /* owned */
    bool found = mod != NULL;

    py.Py_DecRef(mod);
    py.Py_DecRef(name);
    scan_clear_error();
    if (!found) {
        *watching = hooks_watch_imports();
    }
    return found ? 1 : 0;
}

struct prepare_job {
    char *why;
    size_t whylen;
};

static int
job_prepare(void *arg)
{
    struct prepare_job *q = arg;
    int r = prepare(q->why, q->whylen);

    if (r == 0 && hooks_install_exit() < 0) {
        snprintf(q->why, q->whylen, "cannot register the atexit hook");
        r = -EIO;
    }
    return r;
}

static int
job_forget(void *arg)
{
    (void)arg;
    if (agent.scan != NULL) {
        scan_forget(agent.scan);
    }
    registry_uninstall(); /* a detached agent runs no code in the program's calls */
    sm.registry_tried = false;
    return 0;
}

/* ---- the thread ------------------------------------------------------------------------------ */

/* Take the GIL through a thread state made for this stretch alone, unless
 * the interpreter is going away (checked again once we hold it: the atexit
 * hook may have asked us to stop meanwhile). */
static bool
enter_python(int *ret_state)
{
    if (sm.stop_flag || !py.Py_IsInitialized() || pycompat_finalizing()) {
        return false;
    }
    /* Say so first: os.fork()'s pause then gives the GIL up for us. */
    pthread_mutex_lock(&agent.lock);
    bool go = !agent.pausing;
    agent.sampler_wants_gil = go;
    pthread_mutex_unlock(&agent.lock);
    if (!go) {
        return false;
    }
    *ret_state = gil_ensure();
    if (sm.stop_flag) {
        leave_python(*ret_state);
        return false;
    }
    return true;
}

static void
leave_python(int state)
{
    gil_release(state);
    pthread_mutex_lock(&agent.lock);
    agent.sampler_wants_gil = false;
    pthread_mutex_unlock(&agent.lock);
}

/* The exit hook asked us to stop: say we are out of Python for good. The
 * thread then ends (it holds no thread state). */
static void
park(void)
{
    pthread_mutex_lock(&agent.lock);
    agent.parked = true;
    pthread_cond_broadcast(&agent.cond);
    pthread_mutex_unlock(&agent.lock);
}

/* Sleep s seconds without the GIL; a detach or os.fork() ends the nap early. */
static void
nap(double s)
{
    struct timespec deadline;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline = timespec_after(deadline, s);
    pthread_mutex_lock(&agent.lock);
    while (!agent.detaching && !agent.pausing && !agent.stopping && !agent.host_gone &&
           pthread_cond_timedwait(&agent.cond, &agent.lock, &deadline) == 0) {
    }
    pthread_mutex_unlock(&agent.lock);
}

enum wait_result {
    WAIT_FOUND,  /* functools is imported */
    WAIT_GONE,   /* the interpreter is exiting: touch Python no more */
    WAIT_DETACH, /* a client asked to detach */
    WAIT_PAUSE,  /* os.fork(): leave, the hooks start a new thread */
};

static enum wait_result
interrupted(void)
{
    pthread_mutex_lock(&agent.lock);
    enum wait_result w = agent.stopping || agent.host_gone ? WAIT_GONE
                         : agent.pausing                   ? WAIT_PAUSE
                         : agent.detaching                 ? WAIT_DETACH
                                                           : WAIT_FOUND;
    pthread_mutex_unlock(&agent.lock);
    return w;
}

static enum wait_result
wait_for_functools(void)
{
    static bool watching;
    double delay = 0.002;

    for (;;) {
        enum wait_result w = interrupted();
        if (w != WAIT_FOUND) {
            return w;
        }
        int r = run_python(job_functools, &watching);
        if (r == 1) {
            return WAIT_FOUND;
        }
        if (r < 0) {
            w = interrupted();
            return w == WAIT_FOUND ? WAIT_GONE : w;
        }
        /* The audit hook installs the exit hook when functools arrives, so
         * polling (which takes the GIL) can back off. Only if the program's
         * own hooks refused ours, poll fast during the first second so that
         * a short script still gets its final sample. */
        nap(!watching && agent_uptime() < 1.0 ? 0.001 : delay);
        delay = delay * 2 < agent.interval ? delay * 2 : agent.interval;
    }
}

/* A detach: drop what the scanner keeps in Python between samples (weak
 * references), so a detached agent holds no Python object. */
static void
forget_python(void)
{
    (void)run_python_job(job_forget, NULL, true);
}

/* The thread is about to return: tell a detaching server. */
static void
sampler_exit(void)
{
    pthread_mutex_lock(&agent.lock);
    agent.sampler_gone = true;
    agent.sampler_os_tid = 0;
    pthread_cond_broadcast(&agent.cond);
    pthread_mutex_unlock(&agent.lock);
    agent_wake_server();
}

void
sampler_abort_scan(void)
{
    sm.scan_stop = 1;
}

/* Every thread of the program has ended (hostwatch.h): leave as a detach
 * does, so
 * that the server closes the socket and both our threads end - the last
 * thread to end then exits the process, as the program's would have. */
static void
end_with_host(void)
{
    log_msg("the program's threads have all ended: final sample, then the agent ends");
    pthread_mutex_lock(&agent.lock);
    agent.stopping = true;
    sm.stop_flag = 1;
    pthread_mutex_unlock(&agent.lock);
    /* No final sample: it would need a new thread state, and in an
     * interpreter whose threads have all ended CPython 3.11 and 3.12 hand
     * out the interpreter's initial one again, then abort ("thread state
     * already initialized"). The periodic samples stand. The weak
     * references of scan_forget die with the process. */
    agent_set_state(AGENT_STOPPED, NULL);
    pthread_mutex_lock(&agent.lock);
    agent.detaching = true; /* the server's way out */
    pthread_mutex_unlock(&agent.lock);
    agent_wake_server(); /* now, not at its next poll timeout (1 s) */
}

/* SIGTERM with the default disposition (termsig.h): the program's thread
 * waits in the handler, without the GIL, for this final sample; then it
 * dies of the signal. */
static void
final_for_sigterm(void)
{
    struct sample_job q = {.full = final_is_full(), .final = true, .answers = requests_now()};

    /* The term request would send run_python away: this one job is it. */
    pthread_mutex_lock(&agent.lock);
    agent.term_asked = false;
    pthread_mutex_unlock(&agent.lock);
    int r = run_python(job_sample, &q);
    if (r < 0 && r != -EINTR) {
        log_msg("final sample (SIGTERM) failed: %s", strerror(-r));
    }
    pthread_mutex_lock(&agent.lock);
    agent.stopping = true;
    sm.stop_flag = 1;
    pthread_mutex_unlock(&agent.lock);
    termsig_done();
    park();
}

static void
sample_loop(void)
{
    struct timespec started = {0, 0}; /* when the last periodic sample began */

    for (;;) {
        struct timespec now, deadline, earliest;
        bool full;

        /* Periodic: an interval after the last one began (an attach may
         * change it), so samples keep the rate asked for, not the interval
         * plus their own length; requested: after the duty wait. */
        pthread_mutex_lock(&agent.lock);
        double rest = credit_wait_s();
        clock_gettime(CLOCK_REALTIME, &now);
        deadline = timespec_after(started.tv_sec != 0 ? started : now, agent.interval);
        if (timespec_cmp(deadline, timespec_after(now, rest)) < 0) {
            deadline = timespec_after(now, rest);
        }
        if (rest > SAMPLER_REQUEST_WAIT_MAX_S) {
            rest = SAMPLER_REQUEST_WAIT_MAX_S;
        }
        earliest = timespec_after(now, rest);
        bool ended = false;
        while (!agent.stopping && !agent.pausing && !agent.detaching && !agent.host_gone &&
               !agent.term_asked) {
            const struct timespec *until = agent.want_sample ? &earliest : &deadline;
            /* A child forked from a thread other than the initial one
             * ends when its last thread does, maybe not the watched one
             * (hostwatch.h): look every HOSTWATCH_PERIOD_S, not once an
             * interval, so that it ends as promptly as without us. */
            struct timespec look = timespec_after(now, HOSTWATCH_PERIOD_S);
            bool watch = agent.main_only && timespec_cmp(look, *until) < 0;
            if (pthread_cond_timedwait(&agent.cond, &agent.lock, watch ? &look : until) ==
                ETIMEDOUT) {
                /* A request may have come in just now: look again. */
                clock_gettime(CLOCK_REALTIME, &now);
                if (watch) {
                    pthread_mutex_unlock(&agent.lock);
                    ended = hostwatch_program_ended();
                    pthread_mutex_lock(&agent.lock);
                    if (ended) {
                        break;
                    }
                    if (timespec_cmp(now, *until) < 0) {
                        continue;
                    }
                }
                if (!agent.want_sample || timespec_cmp(now, earliest) >= 0) {
                    break;
                }
            }
        }
        /* With a complete registry (registry.h) a sample needs no heap walk
         * to find the wrappers, and one that is not full may reuse the last
         * complete sample's counts (scan-steady.c). */
        bool cheap = sm.last_full_hold_ms <= SAMPLER_FULL_CHEAP_MS && !registry_complete();
        full = agent.want_full || cheap || agent_uptime() - sm.last_full >= SAMPLER_FULL_EVERY_S;
        agent.want_sample = false;
        agent.want_full = false;
        uint64_t answers = agent.requests; /* those that asked for this sample */
        bool stopping = agent.stopping, pausing = agent.pausing, detaching = agent.detaching;
        bool host_gone = agent.host_gone, term = agent.term_asked;
        pthread_mutex_unlock(&agent.lock);
        if (stopping) {
            park();
            return;
        }
        if (pausing) {
            return;
        }
        if (detaching) {
            forget_python();
            return;
        }
        if (term) {
            final_for_sigterm();
            return;
        }
        if (host_gone || ended || hostwatch_program_ended()) {
            end_with_host();
            return;
        }
        clock_gettime(CLOCK_REALTIME, &started);
        struct precheck_job pre = {.result = -EINTR};
        if (!full) {
            precheck_slices(&pre);
        }
        struct sample_job q = {.full = full, .answers = answers, .pre = &pre};
        int r = run_python(job_sample, &q);
        if (r < 0 && r != -ECANCELED && r != -EINTR) {
            log_msg("sample failed: %s", strerror(-r));
        }
    }
}

int
sampler_reset_after_fork(bool scan_busy)
{
    /* The parent's thread and its thread state do not exist here. */
    sm.stop_flag = 0;
    sm.scan_stop = 0;
    /* The parent's walks go on counting: its wrappers are known (weak
     * references), its full walk counts as just done, and whether full
     * walks are cheap stays as it found. A full walk in a child touches
     * (and so copies) every page it shares with its parent. */
    sm.last_full = 0;
    if (scan_busy) {
        /* Abandoned, not freed: its arrays may be mid-resize and the
         * references it holds are the parent's sample's. */
        agent.scan = scan_new();
        if (agent.scan == NULL) {
            sm.prepared = false; /* prepare() tries again, or refuses */
            return -ENOMEM;
        }
    }
    return 0;
}

int
sampler_start_after_fork(void)
{
    int r = agent_spawn(sampler_main, &agent.sampler_tid);

    if (r == 0) {
        agent.sampler_alive = true;
    }
    return r;
}

/* A refusal on the sampler thread: the thread ends, the socket explains. */
static void *
refuse_and_end(const char *why)
{
    refuse(why);
    sampler_exit();
    return NULL;
}

/* Wait (without the GIL) until the interpreter is initialised. */
static void
wait_for_python(int (*initialized)(void))
{
    double delay = 0.001;

    while (!initialized()) {
        sleep_s(agent_uptime() < 2.0 ? 0.001 : delay);
        delay = delay < 0.1 ? delay * 2 : 0.1;
    }
}

/* Python is up: resolve, check the version, install the fork hooks at
 * once (every child of os.fork() is followed from here on, and none warns
 * about our threads), wait for functools, prepare. Returns 0, or -errno
 * with why set (a refusal), or 1 when the thread must leave without one
 * (exit, detach, os.fork()). */
static int
get_ready(char *why, size_t whylen, enum wait_result *ret_wait)
{
    const char *missing = NULL;
    struct prepare_job q = {why, whylen};
    int r;

    if (pyapi_resolve(&missing) < 0) {
        snprintf(why, whylen, "CPython symbol %s not found", missing);
        return -ENOENT;
    }
    r = pycompat_check_version(py.Py_GetVersion(), why, whylen);
    if (r < 0) {
        return r;
    }
    if (pycompat_finalizing()) {
        *ret_wait = WAIT_GONE;
        return 1;
    }
    (void)run_python(job_install_fork, NULL);
    for (r = -ENOENT; r == -ENOENT;) {
        *ret_wait = wait_for_functools();
        if (*ret_wait != WAIT_FOUND) {
            return 1;
        }
        r = run_python(job_prepare, &q);
        if (r == -EINTR) {
            *ret_wait = interrupted(); /* os.fork() pauses us, or the end */
            if (*ret_wait == WAIT_FOUND) {
                *ret_wait = WAIT_GONE;
            }
            return 1;
        }
        if (r == -ENOENT) {
            sleep_s(0.005);
        }
    }
    return r;
}

void *
sampler_main(void *arg)
{
    char why[256];
    enum wait_result w = WAIT_FOUND;

    (void)arg;
    agent_note_thread(&agent.sampler_os_tid);
    sm.scan_stop = sm.stop_flag; /* a detach before this start set it */
    wait_for_python(pyapi_probe());
    /* Attached on purpose: answer on the socket at once (state "waiting"
     * until the program imports functools), so `lruleak attach` can tell
     * a loaded agent from a failed attach, and detach works from the
     * start. A preloaded agent opens its socket only once it samples. */
    if (agent.attached) {
        lifecycle_attached_thread_up();
    }
    if (agent.main_only) {
        /* No thread state of ours here (see sample_on_main): sample only
         * what the parent had prepared. */
        if (sm.prepared && !sm.stop_flag) {
            sample_loop();
        }
        if (!atomic_load(&agent.pausing)) {
            sampler_exit();
        }
        return NULL;
    }
    int r = get_ready(why, sizeof(why), &w);
    if (r < 0) {
        return refuse_and_end(why);
    }
    if (r > 0) {
        if (w == WAIT_DETACH) {
            forget_python();
        }
        pthread_mutex_lock(&agent.lock);
        if (agent.host_gone) {
            agent.detaching = true; /* the server's way out (end_with_host) */
        }
        pthread_mutex_unlock(&agent.lock);
        if (w != WAIT_PAUSE) {
            sampler_exit();
        }
        return NULL;
    }
    if (sm.stop_flag) {
        sampler_exit(); /* the exit hook runs: it takes the final sample */
        return NULL;
    }
    lifecycle_sampling();
    log_msg("sampling CPython %s every %gs (lru fields %s, links %s)", pyc.version, agent.interval,
            pyc.lru_fields ? "verified" : "checked per wrapper",
            pyc.lru_links ? "verified" : "read by traverse");
    sample_loop();
    if (!atomic_load(&agent.pausing)) {
        sampler_exit();
    }
    return NULL;
}
