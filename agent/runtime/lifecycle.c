/* SPDX-License-Identifier: MIT */
/*
 * lifecycle: every transition of the agent's life, in one file. The state
 * is agent.h's (agent.state and the flags beside it, under agent.lock);
 * the transitions that change it are here, and the sampler and the server
 * are thread bodies that carry them out (the sampler says sampling or
 * refused once it is ready, and stopped after the final sample).
 *
 *   (constructor)  --first audit event, functools imported-->  start
 *   start / attach --sampler ready-->  sampling   (or refused)
 *   sampling --lruleak detach-->  detaching --threads out of Python-->  detached
 *   detached --attach-->  start again
 *   sampling --os.fork()-->  fork_before (threads leave) -->  fork_parent
 *                                                         \->  fork_child
 *   any --atexit / os._exit() / SIGTERM-->  exit (final sample, stopped)
 *   any --the program's last thread ends (a child forked from a thread)-->
 *        end_with_host
 *
 * Starting is serialised by start_lock, never held while waiting for the
 * GIL: agent_start() may run on a thread holding the GIL (_lruleak.start,
 * an attach through sys.remote_exec, a ptrace attach that interrupted a
 * thread in the middle of bytecode), so it only joins threads that need no
 * GIL any more.
 *
 * Following a fork: the agent re-arms itself in a child of os.fork() (prefork
 * servers, multiprocessing's fork and forkserver start methods, the
 * fork-then-_exit idiom), so that every process of the tree is measured.
 * Children that exec (subprocess, multiprocessing's spawn) need none of
 * this: they inherit LD_PRELOAD and start the agent from scratch.
 *
 * The child is re-armed from os.register_at_fork(after_in_child=...)
 * (hooks.c), i.e. on the child's only thread, with the GIL, once
 * PyOS_AfterFork_Child has made the runtime consistent - never from the
 * pthread_atfork handler, which only flips a flag (it runs before CPython
 * has made its runtime state the child's own: no Python call is safe). By
 * then the parent's agent threads had left for the fork (the before hook
 * joins them), so no agent lock or sample is half-way; a fork() that
 * bypassed os.fork() gets no hook and stays dormant.
 *
 * Re-arming makes the copied state this process's own
 * (agent_reset_after_fork: pid, start time, locks, files; server.c: the parent's socket copies;
 * sampler.c: the parent's thread state and counters), writes the child's
 * process line at once - so a child that lives a millisecond is still in
 * the recording - then creates its socket <dir>/<pid>.sock and starts its
 * sampler thread. Its final sample is taken by the atexit hook inherited
 * from the parent, or, for os._exit(), by the _exit interposer (hooks.c).
 * LRULEAK_FOLLOW_FORKS=0 keeps children dormant.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "lifecycle.h"
#include "attachopt.h"
#include "fdhigh.h"
#include "hostwatch.h"
#include "recording.h"
#include "termsig.h"
#include "jsonv.h"
#include "log.h"
#include "pyapi.h"
#include "sampler.h"
#include "server.h"

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- start, attach, detach -------------------------------------------------------- */

void
agent_end_with_host(void)
{
    pthread_mutex_lock(&agent.lock);
    agent.host_gone = true;
    pthread_cond_broadcast(&agent.cond);
    pthread_mutex_unlock(&agent.lock);
    if (agent.sampler_alive) {
        pthread_join(agent.sampler_tid, NULL);
        agent.sampler_alive = false;
    }
    /* The sampler may have ended earlier by a way that leaves the server
     * serving (a child that had nothing prepared to sample, say): the
     * server ends on a detach whose sampler is gone. Telling it here, with
     * no sampler left to see the flag, is what keeps the join below from
     * waiting for ever (3.14's test_3_join_in_forked_from_thread, once in
     * 600 runs under load). */
    pthread_mutex_lock(&agent.lock);
    agent.sampler_gone = true;
    agent.sampler_os_tid = 0;
    agent.detaching = true;
    pthread_mutex_unlock(&agent.lock);
    agent_wake_server();
    agent_join_threads();
}

/* start_lock held. */
static int
start_locked(void)
{
    int r;

    pthread_mutex_lock(&agent.lock);
    enum agent_state state = agent.state;
    bool stopping = agent.stopping, detaching = agent.detaching;
    pthread_mutex_unlock(&agent.lock);
    if (stopping) {
        return -ESHUTDOWN;
    }
    if (detaching) {
        return -EBUSY;
    }
    if (agent.sampler_alive && state != AGENT_DETACHED) {
        return 0; /* running, refused or paused for os.fork(): nothing to do */
    }
    if (state == AGENT_DETACHED) {
        /* Both threads have left for good (the sampler deleted its thread
         * state, the server closed everything before saying DETACHED):
         * these joins wait for no lock and no GIL. */
        if (agent.server_alive) {
            pthread_join(agent.server_tid, NULL);
            agent.server_alive = false;
        }
        if (agent.sampler_alive) {
            pthread_join(agent.sampler_tid, NULL);
            agent.sampler_alive = false;
        }
        pthread_mutex_lock(&agent.lock);
        agent.state = AGENT_WAITING;
        agent.sampler_gone = false;
        agent.want_sample = agent.want_full = false;
        pthread_mutex_unlock(&agent.lock);
    }
    r = agent_spawn(sampler_main, &agent.sampler_tid);
    if (r < 0) {
        log_msg("cannot start the sampler thread: %s", strerror(-r));
        return r;
    }
    agent.sampler_alive = true;
    return 0;
}

int
agent_start(void)
{
    int r;

    if (!agent_is_home()) {
        return -ECHILD;
    }
    pthread_mutex_lock(&start_lock);
    r = start_locked();
    pthread_mutex_unlock(&start_lock);
    return r;
}

int
agent_attach(const char *options)
{
    struct attachopt o;
    char why[160];
    int r;

    if (!agent_is_home()) {
        return -ECHILD;
    }
    if (pyapi_probe() == NULL) {
        return -ENOTSUP; /* not a CPython process */
    }
    pthread_mutex_lock(&start_lock);
    agent_configure();
    r = attachopt_parse(options, &o, why, sizeof(why));
    if (r < 0) {
        log_msg("attach refused: %s", why);
        goto out;
    }
    log_open(o.log);
    if (o.record[0] != '\0' && agent.record_fd < 0) {
        snprintf(agent.record_dir, sizeof(agent.record_dir), "%s", o.record);
    }
    pthread_mutex_lock(&agent.lock);
    if (o.interval > 0) {
        agent.interval = o.interval;
    }
    pthread_mutex_unlock(&agent.lock);
    if (o.trace_alloc > 0) {
        agent.trace_alloc = o.trace_alloc; /* read by the sampler thread it starts */
    }
    if (o.dir[0] != '\0' && !agent.server_running) {
        snprintf(agent.sock_dir, sizeof(agent.sock_dir), "%s", o.dir);
    }
    agent.attached = true;
    /* Running already (the caller found no socket where it looks: this
     * agent serves elsewhere): say so rather than pretend to start. */
    pthread_mutex_lock(&agent.lock);
    bool running = agent.sampler_alive && agent.state != AGENT_DETACHED;
    pthread_mutex_unlock(&agent.lock);
    r = running ? -EALREADY : start_locked();
    log_msg("attach: %s", r == 0 ? "started" : strerror(-r));
out:
    pthread_mutex_unlock(&start_lock);
    return r;
}

int
agent_request_detach(void)
{
    int r = 0;

    pthread_mutex_lock(&agent.lock);
    if (agent.stopping || agent.state == AGENT_STOPPED) {
        r = -ESHUTDOWN;
    } else {
        agent.detaching = true;
        sampler_abort_scan();
        pthread_cond_broadcast(&agent.cond);
    }
    pthread_mutex_unlock(&agent.lock);
    return r;
}

bool
agent_is_detached(void)
{
    pthread_mutex_lock(&agent.lock);
    bool d = agent.state == AGENT_DETACHED || agent.detaching;
    pthread_mutex_unlock(&agent.lock);
    return d;
}

enum agent_detach
agent_detach_state(void)
{
    pthread_mutex_lock(&agent.lock);
    enum agent_detach d = !agent.detaching     ? AGENT_DETACH_NONE
                          : agent.sampler_gone ? AGENT_DETACH_READY
                                               : AGENT_DETACH_ASKED;
    pthread_mutex_unlock(&agent.lock);
    return d;
}

void
agent_detached(void)
{
    termsig_uninstall();
    hostwatch_forget();
    /* The sampler is gone and the exit hook records nothing once detached:
     * nobody else writes to the recording now. */
    recording_close();
    pthread_mutex_lock(&agent.lock);
    agent.state = AGENT_DETACHED;
    agent.detaching = false;
    agent.server_running = false;
    pthread_cond_broadcast(&agent.cond);
    pthread_mutex_unlock(&agent.lock);
}

void
agent_reset_after_fork(void)
{
    /* Only this thread exists now; a parent thread may have held any of
     * these at fork() time (os.fork()'s before hook makes that unlikely,
     * a raw fork() elsewhere does not). */
    pthread_mutex_init(&agent.lock, NULL);
    pthread_cond_init(&agent.cond, NULL);
    pthread_mutex_init(&agent.scan_lock, NULL);
    pthread_mutex_init(&start_lock, NULL);
    agent.pid = getpid();
    agent.forked = true;
    agent_read_start_time();
    /* The parent's threads, socket, samples and files are not ours. */
    agent.sampler_alive = false;
    agent.server_alive = false;
    agent.server_running = false;
    agent.sock_path[0] = '\0';
    agent.parked = false;
    agent.stopping = false;
    agent.pausing = false;
    agent.want_sample = false;
    agent.want_full = false;
    agent.detaching = false;
    agent.sampler_gone = false;
    agent.host_gone = false;
    agent.term_asked = false;
    agent.sampler_wants_gil = false;
    termsig_after_fork();
    agent.main_only = false;
    agent.sampler_os_tid = agent.server_os_tid = 0;
    agent.requests = 0;
    agent.answered = 0;
    free(agent.latest);
    agent.latest = NULL;
    agent.latest_len = 0;
    agent.seq = 0;
    if (agent.wake_fd >= 0) {
        close(agent.wake_fd);
        agent.wake_fd = -1;
    }
    recording_after_fork();
}

/* ---- what the sampler's thread reports ------------------------------------------------ */

void
lifecycle_sampling(void)
{
    agent_record_process("process", NULL);
    agent_set_state(AGENT_SAMPLING, NULL);
    server_start();
    termsig_install();
}

void
lifecycle_refused(const char *why)
{
    agent_set_state(AGENT_REFUSED, why);
    agent_record_process("refused", why);
    server_start();
}

void
lifecycle_attached_thread_up(void)
{
    server_start();
}

/* ---- os.fork() -------------------------------------------------------------------- */

void
lifecycle_fork_before(void)
{
    sampler_fork_pause();
}

void
lifecycle_fork_parent(void)
{
    sampler_fork_resume();
}

void
lifecycle_fork_child(void)
{
    /* Copied from the parent as it was when it forked. A parent that was
     * detached (or being detached: its sampler was not paused for the
     * fork) or not sampling yet leaves its children dormant, as after a
     * raw fork(): not home, so no entry point (attach included) acts. */
    bool sampling = (agent.state == AGENT_SAMPLING || agent.state == AGENT_WAITING) &&
                    !agent.stopping && !agent.detaching;
    bool scan_busy;
    int r;

    if (!agent.follow_forks || !sampling) {
        return; /* not home (pid differs): dormant, as every entry point checks */
    }
    bool started = agent.sampler_alive || agent.pausing; /* paused for this fork */
    /* A lock held at fork time means a thread of the parent was inside a
     * sample (a _lruleak call on another thread): its tables are suspect. */
    scan_busy = pthread_mutex_trylock(&agent.scan_lock) != 0;
    agent_reset_after_fork();
    server_forget_parent();
    r = sampler_reset_after_fork(scan_busy);
    if (r < 0) {
        goto out;
    }
    /* Forked from a thread other than the initial one, this child's only
     * thread ends with pthread_exit: watch for it (hostwatch.h), and
     * sample on it alone (sampler.c). */
    agent.main_only = hostwatch_arm_child();
    if (!started) {
        /* The parent's agent had not started yet (the program had not
         * imported functools): the audit hook starts this child's. */
        log_msg("following a forked child of %d (not started yet)", (int)getppid());
        return;
    }
    agent_record_process("process", NULL);
    /* Without a socket the child is still sampled and recorded. */
    (void)server_start();
    r = sampler_start_after_fork();
out:
    if (r < 0) {
        log_msg("not following this forked child: %s", strerror(-r));
        agent.pid = 0; /* dormant from here on */
    } else {
        log_msg("following a forked child of %d", (int)getppid());
    }
}

/* ---- exit ---------------------------------------------------------------------------- */

void
lifecycle_exit(void)
{
    if (agent_is_home()) {
        sampler_final();
    }
}
