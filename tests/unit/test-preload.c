/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the pytest side of cli/preload.c: which command lines are
 * pytest (preload_is_pytest) and the environment that enables the plugin
 * (preload_pytest_env: PYTHONPATH in front, PYTEST_PLUGINS appended once,
 * everything else untouched).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "check-helpers.h"
#include "preload.h"

static const struct {
    const char *argv[8];
    bool pytest;
} commands[] = {
    {{"pytest", "-q", NULL}, true},
    {{"/usr/bin/pytest-3", NULL}, true},
    {{"py.test", NULL}, true},
    {{"python3", "-m", "pytest", "tests", NULL}, true},
    {{"/usr/bin/python3.11", "-u", "-W", "error", "-X", "dev", "-m", NULL}, false},
    {{"/usr/bin/python3.11", "-u", "-W", "error", "-X", "dev", "-mpytest", NULL}, true},
    {{"python", "-B", "-m", "pytest", NULL}, true},
    {{"python3", "app.py", "-m", "pytest", NULL}, false},
    {{"python3", "-c", "import pytest", NULL}, false},
    {{"python3", "-m", "pip", NULL}, false},
    {{"python3", NULL}, false},
    {{"tox", "-e", "py", NULL}, false},
    {{"/bin/sh", "-c", "pytest", NULL}, false},
};

START_TEST(preload_recognises_pytest)
{
    ck_assert_msg(preload_is_pytest((char *const *)commands[_i].argv) == commands[_i].pytest,
                  "command %zu (%s %s ...): expected %s", (size_t)_i, commands[_i].argv[0],
                  commands[_i].argv[1] != NULL ? commands[_i].argv[1] : "",
                  commands[_i].pytest ? "pytest" : "not pytest");
}
END_TEST

static char **
env_of(const char *const *vars)
{
    size_t n = 0;
    char **env;

    while (vars[n] != NULL) {
        n++;
    }
    env = calloc(n + 1, sizeof(*env));
    ck_assert_ptr_nonnull(env);
    for (size_t i = 0; i < n; i++) {
        env[i] = strdup(vars[i]);
    }
    return env;
}

static const char *
get(char **env, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; env[i] != NULL; i++) {
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=') {
            return env[i] + n + 1;
        }
    }
    return NULL;
}

static const struct {
    const char *in[4];
    const char *path;
    const char *plugins;
} envs[] = {
    {{"HOME=/root", NULL}, "/p", "lruleak"},
    {{"PYTHONPATH=/a:/b", "HOME=/root", NULL}, "/p:/a:/b", "lruleak"},
    {{"PYTHONPATH=", "PYTEST_PLUGINS=", NULL}, "/p", "lruleak"},
    {{"PYTEST_PLUGINS=xdist.plugin,foo", NULL}, "/p", "xdist.plugin,foo,lruleak"},
    {{"PYTEST_PLUGINS=foo, lruleak ", NULL}, "/p", "foo, lruleak "},
    {{"PYTEST_PLUGINS=lruleak_extra", NULL}, "/p", "lruleak_extra,lruleak"},
};

START_TEST(preload_pytest_env_adds_the_plugin)
{
    char **env = env_of(envs[_i].in), **out = NULL;
    size_t n = 0;

    ck_assert_int_eq(preload_pytest_env(env, "/p", &out), 0);
    ck_assert_str_eq(get(out, "PYTHONPATH"), envs[_i].path);
    ck_assert_str_eq(get(out, "PYTEST_PLUGINS"), envs[_i].plugins);
    while (out[n] != NULL) {
        n++;
    }
    /* Other variables are kept, ours replace the old ones: no duplicates. */
    size_t in = 0, ours = 0;
    for (size_t i = 0; envs[_i].in[i] != NULL; i++) {
        in++;
        ours += strncmp(envs[_i].in[i], "PYTHONPATH=", 11) == 0 ||
                strncmp(envs[_i].in[i], "PYTEST_PLUGINS=", 15) == 0;
    }
    ck_assert_uint_eq(n, in - ours + 2);
    if (envs[_i].in[0] != NULL && strncmp(envs[_i].in[0], "HOME=", 5) == 0) {
        ck_assert_str_eq(get(out, "HOME"), "/root");
    }
    preload_env_free(out);
}
END_TEST

Suite *
preload_suite(void)
{
    Suite *s = suite_create("preload");
    TCase *tc = tcase_create("pytest");

    tcase_add_loop_test(tc, preload_recognises_pytest, 0, sizeof(commands) / sizeof(commands[0]));
    tcase_add_loop_test(tc, preload_pytest_env_adds_the_plugin, 0, sizeof(envs) / sizeof(envs[0]));
    suite_add_tcase(s, tc);
    return s;
}
