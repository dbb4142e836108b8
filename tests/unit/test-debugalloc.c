/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for debugalloc: which command lines and environments make
 * CPython install its debug memory hooks (the agent then adds no audit hook
 * before Py_Initialize).
 */
#include "config.h"

#include <string.h>

#include "check-helpers.h"
#include "debugalloc.h"

static const char *env_malloc, *env_devmode;

static const char *
fake_env(const char *name)
{
    if (strcmp(name, "PYTHONMALLOC") == 0) {
        return env_malloc;
    }
    if (strcmp(name, "PYTHONDEVMODE") == 0) {
        return env_devmode;
    }
    return NULL;
}

static const struct {
    const char *argv[6];
    const char *pythonmalloc;
    const char *devmode;
    bool debug_build;
    bool expected;
} cases[] = {
    {{"/usr/bin/python3.11", "app.py"}, NULL, NULL, false, false},
    {{"python3", "-c", "print(1)"}, NULL, NULL, false, false},
    {{"python3", "-X", "dev", "app.py"}, NULL, NULL, false, true},
    {{"python3", "-Xdev", "app.py"}, NULL, NULL, false, true},
    {{"python3", "-EsXdev", "app.py"}, NULL, NULL, false, true},
    {{"python3", "-X", "dev=1", "-c", "pass"}, NULL, NULL, false, true},
    {{"python3", "-X", "importtime", "app.py"}, NULL, NULL, false, false},
    /* After the program, -X dev belongs to the program. */
    {{"python3", "app.py", "-X", "dev"}, NULL, NULL, false, false},
    {{"python3", "-c", "pass", "-X", "dev"}, NULL, NULL, false, false},
    {{"python3", "-m", "pytest", "-X", "dev"}, NULL, NULL, false, false},
    {{"python3", "app.py"}, "debug", NULL, false, true},
    {{"python3", "app.py"}, "malloc_debug", NULL, false, true},
    {{"python3", "app.py"}, "pymalloc_debug", NULL, false, true},
    {{"python3", "app.py"}, "malloc", NULL, false, false},
    {{"python3", "app.py"}, NULL, "1", false, true},
    {{"python3", "app.py"}, NULL, "", false, false},
    /* -E and -I ignore PYTHON* variables. */
    {{"python3", "-E", "app.py"}, "debug", "1", false, false},
    {{"python3", "-I", "-c", "pass"}, "debug", NULL, false, false},
    {{"python3", "-I", "-X", "dev", "app.py"}, NULL, NULL, false, true},
    /* A debug build has them by default; an embedder may ask for them. */
    {{"python3.14d", "app.py"}, NULL, NULL, true, true},
    {{"/usr/bin/uwsgi", "--ini", "x"}, NULL, NULL, false, true},
    {{NULL}, NULL, NULL, false, true},
};

START_TEST(debugalloc_reads_command_lines)
{
    size_t argc = 0;

    while (argc < 6 && cases[_i].argv[argc] != NULL) {
        argc++;
    }
    env_malloc = cases[_i].pythonmalloc;
    env_devmode = cases[_i].devmode;
    ck_assert_msg(debugalloc_possible(cases[_i].argv, argc, fake_env, cases[_i].debug_build) ==
                      cases[_i].expected,
                  "case %d", _i);
}
END_TEST

Suite *
debugalloc_suite(void)
{
    Suite *s = suite_create("debugalloc");
    TCase *tc = tcase_create("command_line");

    tcase_add_loop_test(tc, debugalloc_reads_command_lines, 0,
                        (int)(sizeof(cases) / sizeof(cases[0])));
    suite_add_tcase(s, tc);
    return s;
}
