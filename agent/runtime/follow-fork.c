/* SPDX-License-Identifier: MIT */
/*
 * follow-fork: the agent re-arms itself in a child of os.fork() (prefork
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
 * Re-arming makes the copied state this process's own (agent-state.c:
 * pid, start time, locks, files; server.c: the parent's socket copies;
 * sampler.c: the parent's thread state and counters), writes the child's
 * process line at once - so a child that lives a millisecond is still in
 * the recording - then creates its socket <dir>/<pid>.sock and starts its
 * sampler thread. Its final sample is taken by the atexit hook inherited
 * from the parent, or, for os._exit(), by the _exit interposer (hooks.c).
 * LRULEAK_FOLLOW_FORKS=0 keeps children dormant.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "follow-fork.h"
#include "hostwatch.h"
#include "log.h"
#include "sampler.h"
#include "server.h"

void
follow_fork_child(void)
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
