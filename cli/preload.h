/* SPDX-License-Identifier: MIT */
/*
 * preload: the environment of a child that loads the agent through
 * LD_PRELOAD (`lruleak run`), the agent library's path, and the pytest
 * plugin's environment. Never logs: errors come back with a message.
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
int preload_find_agent(char *buf, size_t size, char *tried, size_t triedlen);

/*
 * The environment of a child that loads the agent: a copy of envp with
 * LD_PRELOAD=<existing>:<agent> (the agent is appended, never replacing
 * what the user preloads, and not added twice), LRULEAK_RECORD=record_dir
 * when record_dir is not NULL and LRULEAK_INTERVAL=interval when interval
 * is not NULL. Returns 0 and a NULL-terminated array in *ret_env (free with
 * preload_env_free), or -ENOMEM.
 */
int preload_child_env(char *const *envp, const char *agent, const char *record_dir,
                      const char *interval, char ***ret_env);
/* Accepts NULL; returns NULL. */
char **preload_env_free(char **env);

/* The directory of the pytest plugin that goes with agent (the path
 * preload_find_agent returned): <its directory>/pytest-plugin, written
 * into buf. Returns 0 when it holds lruleak.py, else -ENOENT. */
int preload_pytest_plugin_dir(const char *agent, char *buf, size_t size);

/*
 * Whether cmd runs pytest: pytest / py.test (any suffix) itself, or a
 * python* interpreter with -m pytest (interpreter options before it are
 * skipped). Other launchers (tox, make, coverage run) need `run --pytest`.
 */
bool preload_is_pytest(char *const *cmd);

/*
 * env (a NULL-terminated array from preload_child_env, consumed) with the
 * pytest plugin enabled: plugin_dir put in front of PYTHONPATH and lruleak
 * added to PYTEST_PLUGINS (comma-separated; not twice). Returns 0 and the
 * new array in *ret_env, or -ENOMEM (env is freed either way).
 */
int preload_pytest_env(char **env, const char *plugin_dir, char ***ret_env);
