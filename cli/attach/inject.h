/* SPDX-License-Identifier: MIT */
/*
 * inject: how the agent gets into a running process (inject_attach): the
 * interpreter's own remote execution on 3.14+ (remote-exec.c), ptrace
 * everywhere (ptrace-inject.c). Never logs: errors come back with a
 * message.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- attaching to a running process (cmd-attach.c) ------------------------------------ */

/* How long the 3.14 route waits for the main thread to pick the request up. */
#define INJECT_REMOTE_EXEC_WAIT_S 3.0

enum inject_route {
    INJECT_REMOTE_EXEC, /* PEP 768: the interpreter ran our script */
    INJECT_PTRACE,      /* ptrace: dlopen in a thread */
};

struct inject_result {
    enum inject_route route;
    char version[32]; /* "3.11.2" */
    char how[256];    /* what was done, for the user: one line */
    char note[400];   /* why the 3.14 route was not taken, or "" */
};

/*
 * Load the agent at agent_path into the running process pid and start it
 * with options (attachopt text): CPython 3.14+ through its remote-execution
 * protocol (falling back to ptrace when that is disabled, or when the main
 * thread runs no bytecode within INJECT_REMOTE_EXEC_WAIT_S), everything
 * else through ptrace (run in a child process, so that any thread left
 * traced is released when it exits). Returns 0, or -errno with one human
 * line in err; -ESRCH means no such process, -EALREADY an agent that runs
 * already in that process (its socket is elsewhere).
 */
int inject_attach(pid_t pid, const char *agent_path, const char *options, struct inject_result *ret,
                  char *err, size_t errlen);
