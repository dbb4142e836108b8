/* SPDX-License-Identifier: MIT */
/*
 * lifecycle: the agent's transitions (lifecycle.c). Start, attach and
 * detach are declared in agent.h (their callers are the constructor, the
 * _lruleak module and the server); these are the hooks' entry points.
 */
#pragma once

/* os.register_at_fork(before=...): the forking thread, GIL held; the
 * agent's threads leave and are joined. */
void lifecycle_fork_before(void);
/* after_in_parent: they start again (3.13+: once os.fork() has returned). */
void lifecycle_fork_parent(void);
/*
 * after_in_child: on the child's only thread, with the GIL, once CPython
 * made its runtime the child's: re-arm the agent as this process's own
 * (unless the parent was detached, not sampling, or LRULEAK_FOLLOW_FORKS=0
 * keeps children dormant).
 */
void lifecycle_fork_child(void);
/* The program ends (atexit, os._exit(), SIGTERM's final sample): the
 * final sample, then the agent stays stopped. GIL held. */
void lifecycle_exit(void);

/* The sampler's thread reports (no GIL): */
/* the interpreter is checked and prepared: record, say sampling, open the
 * socket, take SIGTERM's final sample; */
void lifecycle_sampling(void);
/* the interpreter is refused (why): record and say so on the socket; */
void lifecycle_refused(const char *why);
/* an attached agent's thread is up: answer on the socket at once (state
 * "waiting" until the program imports functools), so `lruleak attach` can
 * tell a loaded agent from a failed attach, and detach works from the
 * start. A preloaded agent opens its socket only once it samples. */
void lifecycle_attached_thread_up(void);
