/* SPDX-License-Identifier: MIT */
/*
 * sampler: the agent's own thread and every way into a sample.
 *
 * The thread waits (without the GIL) for Py_IsInitialized, then for the
 * program to import functools, checks the interpreter (pycompat), installs
 * an atexit hook, starts the server and samples every agent.interval
 * seconds or when a client asks. Its Python work runs on the program's
 * main thread where it can (a pending call; sampler.c says why), else with
 * a thread state made for that stretch alone: between samples no thread
 * state of ours exists. Once the atexit hook asked it to stop it never
 * touches Python again and ends; asked to detach (agent.detaching) it
 * drops its weak references, sets agent.sampler_gone and ends.
 */
#pragma once

#include <stdbool.h>

#include "pyapi.h"

/* Thread entry (started by agent_start). */
void *sampler_main(void *arg);

/*
 * Take one sample on the calling thread, which holds the GIL (the _lruleak
 * module). Prepares pyapi/pycompat on first use. With pinned_out NULL the
 * sample is published (latest, recording); otherwise it is the caller's:
 * the pinned selves of each row are appended to the list pinned_out (see
 * scan_options) and nothing is published (refused with -ESHUTDOWN while
 * the agent is detached). pinned_all: see scan_options (NULL: every pinned
 * self). Returns 0 or -errno with a reason in why.
 */
int sampler_sample_here(bool full, PyObject *pinned_out, bool *pinned_all, char *why,
                        size_t whylen);

/* The atexit hook's work: stop the thread, take the final sample (none
 * when detached). GIL held. */
void sampler_final(void);
/* Make a running sample stop at its next GIL slice (a detach). Any thread,
 * agent.lock may be held. */
void sampler_abort_scan(void);

/*
 * os.fork() on 3.12+ (hooks.c): pause makes the agent's threads leave and
 * joins them (called with the GIL, which it releases while waiting);
 * resume starts them again in the parent. GIL held for both.
 */
void sampler_fork_pause(void);
void sampler_fork_resume(void);

/*
 * In an os.fork() child (lifecycle.c), after agent_reset_after_fork():
 * forget the parent's sampler thread (its thread state is gone) and
 * counters; scan_busy means a parent thread was inside a sample at fork
 * time, so the scanner's tables cannot be trusted and a new one is made.
 * Returns 0 or -ENOMEM.
 */
int sampler_reset_after_fork(bool scan_busy);
/* Then start the sampler thread of this process (state stays sampling).
 * GIL held. Returns 0 or -errno. */
int sampler_start_after_fork(void);
