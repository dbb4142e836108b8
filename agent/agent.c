/* SPDX-License-Identifier: MIT */
/*
 * agent: the constructor and destructor, i.e. gating of the agent inside
 * its host.
 *
 * The constructor does almost nothing: read the configuration, check that
 * this process contains a CPython runtime at all (Py_IsInitialized can be
 * found) and, only then, start the sampler thread that waits for the
 * interpreter. In any other process - /bin/sh, compilers, every child that
 * inherits LD_PRELOAD - it returns at once: no thread, no socket, no output.
 * No Python function is called here; nothing Python happens before the
 * interpreter says it is initialised (sampler.c).
 *
 * Loaded after the interpreter started (import _lruleak, ctypes, attach),
 * it does not start by itself: _lruleak.start() or lruleak_agent_attach()
 * does. After fork() the child is not "home": every entry point checks
 * agent_is_home() and stays away from state copied from the parent.
 */
#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "pyapi.h"

static double
env_double(const char *name, double dflt, double min)
{
    const char *v = secure_getenv(name);
    char *end;
    double d;

    if (v == NULL || v[0] == '\0') {
        return dflt;
    }
    d = strtod(v, &end);
    if (end == v || *end != '\0' || !(d >= min) || d > 86400.0) {
        log_msg("ignoring %s=%s (expected a number >= %g)", name, v, min);
        return dflt;
    }
    return d;
}

static void
after_fork_child(void)
{
    /* Only flips state: the child has none of our threads, and Python may
     * be mid-fork. A child of os.fork() is re-armed later, from Python's
     * after_in_child hook (follow-fork.c); one of a raw fork() stays
     * dormant (its pid is not agent.pid). */
    agent.server_running = false;
}

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
    log_open(secure_getenv("LRULEAK_LOG"));
    agent.interval = env_double("LRULEAK_INTERVAL", 1.0, 0.001);
    agent.slice_ms = env_double("LRULEAK_SLICE_MS", 2.0, 0.0);
    agent.max_nodes = (size_t)env_double("LRULEAK_MAX_NODES", 2e6, 1000);
    v = secure_getenv("LRULEAK_RECORD");
    if (v != NULL && v[0] != '\0') {
        snprintf(agent.record_dir, sizeof(agent.record_dir), "%s", v);
    }
    agent_read_start_time();
    v = secure_getenv("LRULEAK_FOLLOW_FORKS");
    agent.follow_forks = v == NULL || strcmp(v, "0") != 0;
    pthread_atfork(NULL, NULL, after_fork_child);
    /* Reading Py_IsInitialized is safe at any time: it reads one flag. If
     * the interpreter is not up yet we were preloaded: start by ourselves.
     * Otherwise someone loads us deliberately and will call start. */
    agent.python_process = true;
    agent.autostart = !initialized();
    if (agent.autostart) {
        agent_start();
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

