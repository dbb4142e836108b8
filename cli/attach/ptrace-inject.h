/* SPDX-License-Identifier: MIT */
/*
 * ptrace-inject: loading the agent into a running process with ptrace, no
 * debugger needed (any CPython the agent supports).
 *
 *   1. seize and interrupt every thread (PTRACE_SEIZE + PTRACE_INTERRUPT:
 *      no signal is sent, nothing the program can see);
 *   2. unwind each (stack-check) and pick one that is not inside malloc,
 *      free, the dynamic loader or the like, preferring the main thread,
 *      with room on its stack; when none is, let them all run and try
 *      again, for up to PTRACE_INJECT_TRY_S seconds;
 *   3. let every other thread run again at once, so nothing the chosen
 *      thread waits for inside dlopen is held by a stopped thread;
 *   4. save the chosen thread's registers, write the agent's path and the
 *      options below its red zone, make it call dlopen(path, RTLD_NOW)
 *      (libc on glibc 2.34+, libdl before; dlerror() for the reason of a
 *      failure) and then lruleak_agent_attach(options), which starts the
 *      agent's threads and returns;
 *   5. restore the registers exactly (an interrupted system call resumes:
 *      see ptrace-arch.h) and detach.
 * An agent already mapped in the process (a detached one, or preloaded)
 * is not loaded again: only lruleak_agent_attach runs.
 *
 * While threads are stopped, the signals a user sends to lruleak itself
 * (Ctrl-C, SIGTERM, SIGHUP...) are held back: a tracer that dies while a
 * thread runs its call would leave that thread returning to address 0.
 * Thread context: the CLI's main thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "target.h"

/* How long to look for a safe moment. */
#define PTRACE_INJECT_TRY_S 3.0

struct ptrace_inject_result {
    pid_t tid;         /* the thread that ran the calls */
    long syscall;      /* the system call it was stopped in, or -1 */
    int rounds;        /* how many stops it took to find a safe moment */
    bool loaded;       /* dlopen ran (false: the agent was mapped already) */
    int attach_result; /* lruleak_agent_attach's return value (0 or -errno) */
};

/*
 * Load agent_path (absolute, readable by the target) into t and call its
 * attach entry point with options. Returns 0 (then see
 * ret->attach_result), or -errno with one human line in err.
 */
int ptrace_inject(struct target *t, const char *agent_path, const char *options,
                  struct ptrace_inject_result *ret, char *err, size_t errlen);
