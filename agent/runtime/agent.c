/* SPDX-License-Identifier: MIT */
/*
 * agent: the constructor and destructor, i.e. gating of the agent inside
 * its host.
 *
 * The constructor does almost nothing: read the configuration, check that
 * this process contains a CPython runtime at all (Py_IsInitialized can be
 * found) and, only then, add an audit hook that starts the agent once the
 * program imports functools (or, where that hook cannot be added, start
 * the sampler thread that waits for the interpreter). In any other process - /bin/sh, compilers,
 * every child that inherits LD_PRELOAD - it returns at once: no thread, no socket, no output. Of
 * the C API it calls only the two functions CPython documents as safe before Py_Initialize:
 * Py_GetVersion (to recognise the interpreter) and PySys_AddAuditHook (hooks.c: how a 20 ms script
 * still gets its final sample). Nothing else Python happens before the interpreter says it is
 * initialised (sampler.c).
 *
 * Loaded after the interpreter started (import _lruleak, ctypes, `lruleak
 * attach`), it does not start by itself: _lruleak.start() or
 * lruleak_agent_attach() does. After fork() the child is not "home": every
 * entry point checks agent_is_home() and stays away from state copied from
 * the parent.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "debugalloc.h"
#include "hooks.h"
#include "log.h"
#include "pyapi.h"
#include "pycompat.h"

/* libc's _exit, behind the agent's interposer (exports.c). */
static void (*real_exit)(int);

void
agent_real_exit(int status)
{
    if (real_exit != NULL) {
        real_exit(status);
    }
    for (;;) {
        syscall(SYS_exit_group, status);
    }
}

__attribute__((constructor)) static void
agent_constructor(void)
{
    const char *v;

    /* First, in every process: the _exit interposer must always be able
     * to forward, inert or not. */
    real_exit = (void (*)(int))dlsym(RTLD_NEXT, "_exit");
    agent.pid = getpid();
    v = secure_getenv("LRULEAK_DISABLE");
    if (v != NULL && strcmp(v, "1") == 0) {
        return;
    }
    /* Not a CPython process: stay inert, touch nothing else. */
    int (*initialized)(void) = pyapi_probe();
    if (initialized == NULL) {
        return;
    }
    agent_configure();
    /* Reading Py_IsInitialized is safe at any time: it reads one flag. If
     * the interpreter is not up yet we were preloaded: start by ourselves.
     * Otherwise someone loads us deliberately and will call start. */
    agent.autostart = !initialized();
    if (agent.autostart) {
        char why[256];
        bool watching = false;
        /* Not under CPython's debug memory hooks: they would check, and
         * abort on, a hook entry allocated before they were installed. */
        if (pycompat_check_version(pyapi_version_string(), why, sizeof(why)) == 0 &&
            !debugalloc_possible_here()) {
            watching = hooks_watch_early();
        }
        /* With the early audit hook, the agent starts from it once the
         * program imports functools (hooks.c); without, a thread waits for
         * the interpreter now. */
        if (!watching) {
            agent_start();
        }
    }
}

__attribute__((destructor)) static void
agent_destructor(void)
{
    /* Runs at exit(), after Py_Finalize: no Python here. */
    if (!agent_is_home()) {
        return;
    }
    if (agent.sock_path[0] != '\0') {
        unlink(agent.sock_path);
    }
    /* A Python process that exited before the sampler could start (a very
     * short script on a busy machine) still shows up in the recording,
     * marked as never sampled, instead of silently missing. */
    if (agent.record_dir[0] != '\0' && agent.python_process && !agent.recorded_process) {
        const char *v = pyapi_version_string();
        if (v != NULL && agent.python[0] == '\0') {
            snprintf(agent.python, sizeof(agent.python), "%.*s", (int)strcspn(v, " "), v);
        }
        agent_record_process("process", "exited before the agent took its first sample");
    }
}
