/* SPDX-License-Identifier: MIT */
/*
 * hooks: callbacks the interpreter runs on the host's threads (see hooks.c).
 * Every function here but hooks_watch_early() needs the GIL.
 */
#pragma once

#include <stdbool.h>

/* Register the atexit hook once (imports the builtin atexit module; call it
 * only once functools is imported). Returns 0 when it is registered. */
int hooks_install_exit(void);
/* Is the exit hook in place (so agent.stopping is set before the interpreter
 * goes away)? Any thread. */
bool hooks_exit_installed(void);
/* Add the audit hook that calls hooks_install_exit() when the program
 * imports functools. Returns false when the program's own hooks refused it.
 * No-op when hooks_watch_early() added it already. */
bool hooks_watch_imports(void);
/* The same, from the constructor of a preloaded agent, before
 * Py_Initialize (needs neither the GIL nor the resolved table). Returns
 * whether the hook was added. */
bool hooks_watch_early(void);
/* os.register_at_fork(before=..., after_in_parent=...[, after_in_child=...]):
 * the threads step out of os.fork() (3.12+ warns about them) and, when
 * following forks, the child is re-armed. Once per process tree (also
 * across a detach and a re-attach). */
void hooks_install_fork(void);
/*
 * For the _exit() interposer (exports.c), on any thread: when this is the
 * agent's own sampling process and the caller holds the GIL (os._exit()),
 * take the final sample as the atexit hook would. Otherwise return at once
 * without touching anything (also in a vfork() child).
 */
void hooks_before_exit(void);
