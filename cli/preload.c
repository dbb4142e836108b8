/* SPDX-License-Identifier: MIT */
/*
 * preload: finding the agent library and preloading it into a child that
 * `lruleak run` starts, with the pytest plugin's environment when CMD is
 * pytest.
 *
 * The library path must be absolute (the child may chdir before Python
 * starts, and a relative LD_PRELOAD would then miss) and must survive
 * ld.so's LD_PRELOAD splitting, which cuts at spaces and colons. The agent
 * is appended to an existing LD_PRELOAD (pw-v4l2's rule): whatever the user
 * preloads keeps its place in front. Never logs. Thread context: none.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload.h"
#include "util.h"

static void
append_tried(char *tried, size_t triedlen, const char *path)
{
    size_t used = strlen(tried);

    if (used < triedlen) {
        snprintf(tried + used, triedlen - used, "%s%s", used > 0 ? ", " : "", path);
    }
}

/* 0 when path names a readable regular file; its canonical form in buf. */
static int
try_path(const char *path, char *buf, size_t size, char *tried, size_t triedlen)
{
    char real[PATH_MAX];
    struct stat st;

    append_tried(tried, triedlen, path);
    if (realpath(path, real) == NULL || stat(real, &st) < 0 || !S_ISREG(st.st_mode) ||
        access(real, R_OK) < 0) {
        return -ENOENT;
    }
    if (strlen(real) >= size) {
        return -ENAMETOOLONG;
    }
    memcpy(buf, real, strlen(real) + 1);
    return 0;
}

int
preload_find_agent(char *buf, size_t size, char *tried, size_t triedlen)
{
    const char *env = getenv("LRULEAK_AGENT");
    char exe[PATH_MAX], cand[PATH_MAX + 64];
    ssize_t n;
    int r = -ENOENT;

    tried[0] = '\0';
    if (env != NULL && env[0] != '\0') {
        /* An explicit choice is never silently replaced by another copy. */
        r = try_path(env, buf, size, tried, triedlen);
        goto out;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        char *slash;

        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            snprintf(cand, sizeof(cand), "%s/../agent/%s", exe, LRULEAK_AGENT_NAME);
            r = try_path(cand, buf, size, tried, triedlen);
            if (r == 0) {
                goto out;
            }
        }
    }
    snprintf(cand, sizeof(cand), "%s/%s", LRULEAK_LIBDIR, LRULEAK_AGENT_NAME);
    r = try_path(cand, buf, size, tried, triedlen);
out:
    if (r == 0 && strpbrk(buf, " :\t\n") != NULL) {
        snprintf(tried, triedlen, "%s contains a space or colon, which LD_PRELOAD cannot express",
                 buf);
        return -EINVAL;
    }
    return r < 0 ? -ENOENT : 0;
}

char **
preload_env_free(char **env)
{
    if (env != NULL) {
        for (size_t i = 0; env[i] != NULL; i++) {
            free(env[i]);
        }
        free(env);
    }
    return NULL;
}

static bool
has_name(const char *entry, const char *name)
{
    size_t n = strlen(name);

    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

/* Whether the LD_PRELOAD list already names agent. */
static bool
preload_has(const char *list, const char *agent)
{
    size_t n = strlen(agent);

    for (const char *p = list; *p != '\0';) {
        size_t len = strcspn(p, " :");

        if (len == n && strncmp(p, agent, n) == 0) {
            return true;
        }
        p += len;
        p += strspn(p, " :");
    }
    return false;
}

static char *
make_var(const char *name, const char *a, const char *sep, const char *b)
{
    size_t n = strlen(name) + strlen(a) + strlen(sep) + strlen(b) + 2;
    char *s = malloc(n);

    if (s != NULL) {
        snprintf(s, n, "%s=%s%s%s", name, a, sep, b);
    }
    return s;
}

int
preload_child_env(char *const *envp, const char *agent, const char *record_dir,
                  const char *interval, char ***ret_env)
{
    const char *old_preload = NULL;
    size_t n = 0, k = 0;
    char **env;
    int r = -ENOMEM;

    while (envp != NULL && envp[n] != NULL) {
        n++;
    }
    /* Our three variables come last; room for them and the NULL. */
    env = calloc(n + 4, sizeof(*env));
    if (env == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (has_name(envp[i], "LD_PRELOAD")) {
            old_preload = envp[i] + strlen("LD_PRELOAD=");
            continue;
        }
        if ((record_dir != NULL && has_name(envp[i], "LRULEAK_RECORD")) ||
            (interval != NULL && has_name(envp[i], "LRULEAK_INTERVAL"))) {
            continue;
        }
        env[k] = strdup(envp[i]);
        if (env[k++] == NULL) {
            goto out;
        }
    }
    if (old_preload == NULL || old_preload[strspn(old_preload, " :")] == '\0') {
        env[k] = make_var("LD_PRELOAD", agent, "", "");
    } else if (preload_has(old_preload, agent)) {
        env[k] = make_var("LD_PRELOAD", old_preload, "", "");
    } else {
        env[k] = make_var("LD_PRELOAD", old_preload, ":", agent);
    }
    if (env[k++] == NULL) {
        goto out;
    }
    if (record_dir != NULL) {
        env[k] = make_var("LRULEAK_RECORD", record_dir, "", "");
        if (env[k++] == NULL) {
            goto out;
        }
    }
    if (interval != NULL) {
        env[k] = make_var("LRULEAK_INTERVAL", interval, "", "");
        if (env[k++] == NULL) {
            goto out;
        }
    }
    *ret_env = env;
    env = NULL;
    r = 0;
out:
    preload_env_free(env);
    return r;
}

/* ---- the pytest plugin ---------------------------------------------------- */

int
preload_pytest_plugin_dir(const char *agent, char *buf, size_t size)
{
    const char *slash = strrchr(agent, '/');
    char file[PATH_MAX + 32];
    struct stat st;

    if (slash == NULL ||
        (size_t)snprintf(buf, size, "%.*s/pytest-plugin", (int)(slash - agent), agent) >= size) {
        return -ENOENT;
    }
    snprintf(file, sizeof(file), "%s/lruleak.py", buf);
    if (stat(file, &st) < 0 || !S_ISREG(st.st_mode) || access(file, R_OK) < 0) {
        return -ENOENT;
    }
    return 0;
}

static bool
starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool
is_pytest_name(const char *name)
{
    return starts_with(name, "pytest") || starts_with(name, "py.test");
}

bool
preload_is_pytest(char *const *cmd)
{
    const char *base;

    if (cmd == NULL || cmd[0] == NULL) {
        return false;
    }
    base = strrchr(cmd[0], '/') != NULL ? strrchr(cmd[0], '/') + 1 : cmd[0];
    if (is_pytest_name(base)) {
        return true;
    }
    if (!starts_with(base, "python")) {
        return false;
    }
    /* python [options] -m pytest ...: options that take a value are -W and
     * -X (attached values stay in the same word); -c, - or a script end
     * the interpreter's options. */
    for (size_t i = 1; cmd[i] != NULL; i++) {
        const char *a = cmd[i];

        if (strcmp(a, "-m") == 0) {
            return cmd[i + 1] != NULL && is_pytest_name(cmd[i + 1]);
        }
        if (starts_with(a, "-m")) {
            return is_pytest_name(a + 2);
        }
        if (strcmp(a, "-W") == 0 || strcmp(a, "-X") == 0) {
            if (cmd[++i] == NULL) {
                return false;
            }
            continue;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0 || starts_with(a, "-c") || strcmp(a, "--") == 0) {
            return false;
        }
    }
    return false;
}

/* Whether the comma-separated list names item (spaces around names are
 * allowed, as pytest strips them). */
static bool
list_has(const char *list, const char *item)
{
    size_t n = strlen(item);

    for (const char *p = list; *p != '\0';) {
        size_t len = strcspn(p, ",");
        size_t lead = strspn(p, " ");
        size_t end = len;

        while (end > lead && p[end - 1] == ' ') {
            end--;
        }
        if (end - (lead < end ? lead : end) == n && strncmp(p + lead, item, n) == 0) {
            return true;
        }
        p += len;
        p += strspn(p, ",");
    }
    return false;
}

int
preload_pytest_env(char **env, const char *plugin_dir, char ***ret_env)
{
    const char *path = NULL, *plugins = NULL;
    size_t n = 0, k = 0;
    char **out;
    int r = -ENOMEM;

    while (env[n] != NULL) {
        n++;
    }
    out = calloc(n + 3, sizeof(*out));
    if (out == NULL) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (has_name(env[i], "PYTHONPATH")) {
            path = env[i] + strlen("PYTHONPATH=");
        } else if (has_name(env[i], "PYTEST_PLUGINS")) {
            plugins = env[i] + strlen("PYTEST_PLUGINS=");
        } else {
            out[k++] = env[i];
            env[i] = NULL;
        }
    }
    out[k] = path != NULL && path[0] != '\0' ? make_var("PYTHONPATH", plugin_dir, ":", path)
                                             : make_var("PYTHONPATH", plugin_dir, "", "");
    if (out[k++] == NULL) {
        goto out;
    }
    if (plugins != NULL && list_has(plugins, "lruleak")) {
        out[k] = make_var("PYTEST_PLUGINS", plugins, "", "");
    } else if (plugins != NULL && plugins[strspn(plugins, " ,")] != '\0') {
        out[k] = make_var("PYTEST_PLUGINS", plugins, ",", "lruleak");
    } else {
        out[k] = make_var("PYTEST_PLUGINS", "lruleak", "", "");
    }
    if (out[k++] == NULL) {
        goto out;
    }
    *ret_env = out;
    out = NULL;
    r = 0;
out:
    preload_env_free(out);
    /* env has holes where entries moved to out: free by count. */
    for (size_t i = 0; i < n; i++) {
        free(env[i]);
    }
    free(env);
    return r;
}
