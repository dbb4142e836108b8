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
/* Add the audit hook that calls hooks_install_exit() when the program
 * imports functools. Returns false when the program's own hooks refused it.
 * No-op when hooks_watch_early() added it already. */
bool hooks_watch_imports(void);
/* The same, from the constructor of a preloaded agent, before
 * Py_Initialize (needs neither the GIL nor the resolved table). Returns
 * whether the hook was added. */
bool hooks_watch_early(void);
/* os.register_at_fork(before=..., after_in_parent=...) - 3.12+ only. */
void hooks_install_fork(void);
