/* SPDX-License-Identifier: MIT */
/*
 * debugalloc: will the interpreter that is about to start install CPython's
 * debug memory hooks (PYTHONMALLOC=debug/malloc_debug/pymalloc_debug, -X dev,
 * PYTHONDEVMODE, a debug build)?
 *
 * Why it matters: a block the runtime allocates before Py_Initialize
 * configured its allocators and frees afterwards (an audit hook entry added
 * by PySys_AddAuditHook from our constructor) is checked by the debug hooks
 * and aborts the process at exit ("bad ID"). So the early audit hook is
 * added only when this says no. Pure functions on argv and an environment
 * lookup, so they can be unit-tested; no Python.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Returns the value of an environment variable or NULL. */
typedef const char *(*debugalloc_getenv_fn)(const char *name);

/*
 * Decide from the interpreter's command line (argv[0] is the executable)
 * and environment. `debug_build`: the runtime is a Py_DEBUG build (debug
 * hooks by default). Anything not recognisably a plain `python` command
 * line answers true: the caller then plays safe.
 */
bool debugalloc_possible(const char *const *argv, size_t argc, debugalloc_getenv_fn get_env,
                         bool debug_build);

/* The same for this process: /proc/self/cmdline, secure_getenv, and
 * whether the runtime has Py_DEBUG symbols. */
bool debugalloc_possible_here(void);
