/* SPDX-License-Identifier: MIT */
/*
 * inject: how the agent gets into a Python process, every mechanism behind
 * one function each: LD_PRELOAD into a process `lruleak run` starts
 * (inject_child_env), and into a running process (inject_attach): the
 * interpreter's own remote execution on 3.14+ (remote-exec.c), ptrace
 * everywhere (ptrace-inject.c). Never logs: errors come back with a
 * message.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Locate the agent library: $LRULEAK_AGENT when set (and then only it),
 * else <dir of this executable>/../agent/liblruleak.so (the build tree),
 * else LRULEAK_LIBDIR/liblruleak.so (the installed copy). Returns 0 with
 * the canonical absolute path in buf, or -ENOENT with the paths tried
 * ("a, b, c") in tried, or -EINVAL when the found path cannot be written
 * into LD_PRELOAD (a space or colon), with a reason in tried.
 */
int inject_find_agent(char *buf, size_t size, char *tried, size_t triedlen);

/*
 * The environment of a child that loads the agent: a copy of envp with
 * LD_PRELOAD=<existing>:<agent> (the agent is appended, never replacing
 * what the user preloads, and not added twice), LRULEAK_RECORD=record_dir
 * when record_dir is not NULL and LRULEAK_INTERVAL=interval when interval
 * is not NULL. Returns 0 and a NULL-terminated array in *ret_env (free with
 * inject_env_free), or -ENOMEM.
 */
int inject_child_env(char *const *envp, const char *agent, const char *record_dir,
                     const char *interval, char ***ret_env);
/* Accepts NULL; returns NULL. */
char **inject_env_free(char **env);

/* The directory of the pytest plugin that goes with agent (the path
 * inject_find_agent returned): <its directory>/pytest-plugin, written
 * into buf. Returns 0 when it holds lruleak.py, else -ENOENT. */
int inject_pytest_plugin_dir(const char *agent, char *buf, size_t size);

/*
 * Whether cmd runs pytest: pytest / py.test (any suffix) itself, or a
 * python* interpreter with -m pytest (interpreter options before it are
 * skipped). Other launchers (tox, make, coverage run) need `run --pytest`.
 */
bool inject_is_pytest(char *const *cmd);

/*
 * env (a NULL-terminated array from inject_child_env, consumed) with the
 * pytest plugin enabled: plugin_dir put in front of PYTHONPATH and lruleak
 * added to PYTEST_PLUGINS (comma-separated; not twice). Returns 0 and the
 * new array in *ret_env, or -ENOMEM (env is freed either way).
 */
int inject_pytest_env(char **env, const char *plugin_dir, char ***ret_env);

/* ---- attaching to a running process (cmd-attach.c) ------------------------------------ */

/* How long the 3.14 route waits for the main thread to pick the request up. */
#define INJECT_REMOTE_EXEC_WAIT_S 3.0

enum inject_route {
    INJECT_REMOTE_EXEC, /* PEP 768: the interpreter ran our script */
    INJECT_PTRACE,      /* ptrace: dlopen in a thread */
};

struct inject_result {
    enum inject_route route;
    char version[32];   /* "3.11.2" */
    char how[256];      /* what was done, for the user: one line */
    char note[400];     /* why the 3.14 route was not taken, or "" */
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
int inject_attach(pid_t pid, const char *agent_path, const char *options,
                  struct inject_result *ret, char *err, size_t errlen);
