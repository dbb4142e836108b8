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
