/* SPDX-License-Identifier: MIT */
/*
 * remote-exec: CPython 3.14's own way to run code in a running interpreter
 * (PEP 768, what sys.remote_exec(pid, script) does), spoken by the CLI
 * itself, so that no interpreter of the same version is needed.
 *
 * It writes the path of a Python script into the main thread's
 * PyThreadState (debugger_script_path), sets debugger_pending_call and the
 * eval-breaker bit that makes the main thread look at it; the main thread
 * then runs the script the next time it executes bytecode. Where to write
 * comes from the _Py_DebugOffsets table at the start of _PyRuntime (the
 * .PyRuntime section), after checking its cookie, version (3.14 final
 * releases, whose table layout is fixed) and the free-threading flag, and
 * that the interpreter allows it (config.remote_debug: off with
 * PYTHON_DISABLE_REMOTE_DEBUG, -X disable_remote_debug or a build without
 * remote debugging).
 *
 * Nothing runs until the main thread executes bytecode: a main thread
 * blocked in accept() or a long C call may not run the script for a long
 * time, so the caller waits a bounded time and can take the request back
 * (remote_exec_cancel) before falling back to ptrace.
 * Needs ptrace-level permission (process_vm_writev). Never logs.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "target.h"

struct remote_exec {
    uint64_t pending; /* address of the main thread's debugger_pending_call */
    uint64_t path;    /* address of its debugger_script_path */
};

/*
 * Ask the main thread of t to run script_path (absolute, readable by the
 * target). Returns 0, or -errno with one human line in err: -ENOTSUP (not
 * a CPython 3.14 final release, or its offsets look wrong), -ENOTCONN
 * (remote debugging disabled in the target), -ENAMETOOLONG, -EPERM, ...
 */
int remote_exec_send(struct target *t, const char *script_path, struct remote_exec *ret, char *err,
                     size_t errlen);

/*
 * Take the request back if the main thread has not picked it up yet: the
 * path is emptied first (CPython runs nothing for an empty path), then the
 * flag cleared. Returns 1 (taken back), 0 (already picked up: it runs or
 * ran), or -errno. Even after 1 the script may run if the main thread
 * copied the path in the instant between: it is then running already, so
 * a caller that waits a moment for its effect knows.
 */
int remote_exec_cancel(struct target *t, const struct remote_exec *re);
