/* SPDX-License-Identifier: MIT */
/*
 * termsig: a process killed by SIGTERM still leaves its final sample.
 *
 * multiprocessing.Pool.__exit__ calls terminate(), which sends SIGTERM to
 * the workers; with the default disposition they die at once, no atexit
 * hook and no os._exit() runs, and a worker that leaked leaves no trace.
 * So while the agent samples, a SIGTERM whose disposition is still the
 * default goes to a small handler first: it wakes the server thread (an
 * eventfd: async-signal-safe), whose sampler takes a final sample, waits
 * for it at most TERMSIG_WAIT_MS, then restores the default disposition
 * and raises SIGTERM again (one that interrupts the exit hooks' own final
 * sample lets it finish first). When the interrupted thread holds the GIL,
 * the sampler cannot sample while it waits: the handler then returns, the
 * program runs on to its next bytecode (where the GIL handoff of gil.h
 * stops it), and the sampler kills the process with SIGTERM once the
 * sample is written, or the server thread after TERMSIG_WAIT_MS - the process dies of SIGTERM with
 * the same status as without the agent. The handler takes no sample when the interrupted thread
 * holds the GIL (the sampler could not get it), nor in a process the agent does not sample. A
 * handler the program installs later (signal.signal) replaces ours; Python's own view
 * (signal.getsignal) still says SIG_DFL, as it did.
 */
#pragma once

#include <stdbool.h>

#define TERMSIG_WAIT_MS 1000

/* Sampler thread, once sampling: install the handler if SIGTERM's
 * disposition is the default, and open the eventfds (again in a forked
 * child: the parent's are shared). */
void termsig_install(void);
/* A detach (no thread of ours runs): give SIGTERM back its default
 * disposition if it is still ours, close the eventfds. */
void termsig_uninstall(void);
/* In an os.fork() child: the eventfds are the parent's; make new ones. */
void termsig_after_fork(void);
/* Server thread: the fd to poll (-1 when none), and what to do when it is
 * readable (drain it and ask the sampler for the final sample). */
int termsig_fd(void);
void termsig_readable(void);
/* Server thread: how long poll() may wait (ms; -1: no limit of ours). When
 * a held SIGTERM (see termsig.c) found no final sample in time, it kills
 * the process here. */
int termsig_poll_ms(void);
/* The default disposition back, and SIGTERM to the process (any thread). */
void termsig_kill(void);
/* Around the final sample on the program's thread (the exit hooks): a
 * SIGTERM arriving meanwhile is held until it is written, then the
 * process dies of it (final_ends does not return then). */
void termsig_final_begins(void);
void termsig_final_ends(void);
/* Sampler thread: the final sample is published (or was impossible). */
void termsig_done(void);
