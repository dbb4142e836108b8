/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for pycompat_check_version: which interpreters the version
 * table accepts (the real version strings of every CPython in the matrix),
 * which it refuses and with what reason (an unknown minor version, a
 * free-threaded build, Python 2, text that is not a version), and that a
 * refusal leaves the accepted facts of an earlier call alone. No Python
 * runtime is involved: the check reads the string only.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check-helpers.h"
#include "pycompat.h"

static char why[256];

static int
check(const char *version)
{
    why[0] = '\0';
    return pycompat_check_version(version, why, sizeof(why));
}

START_TEST(pycompat_accepts_matrix_versions)
{
    static const struct {
        const char *version;
        int minor;
        bool immortal;
        size_t tuple_items;
    } known[] = {
        {"3.8.18 (default, Nov 23 2026, 10:00:00) \n[GCC 12.2.0]", 8, false, 24},
        {"3.9.18 (main, Nov 23 2026, 10:00:00) \n[GCC 12.2.0]", 9, false, 24},
        {"3.10.13 (main, Nov 23 2026, 10:00:00) [GCC 12.2.0]", 10, false, 24},
        {"3.11.2 (main, Mar 13 2023, 12:18:29) [GCC 12.2.0]", 11, false, 24},
        {"3.12.1 (main, Nov 23 2026, 10:00:00) [GCC 12.2.0]", 12, true, 24},
        {"3.13.18 (main, Oct 7 2026, 10:00:00) [GCC 16.2.0]", 13, true, 24},
        {"3.14.10 (main, Oct 26 2026, 15:10:10) [GCC 16.2.0]", 14, true, 32},
        {"3.15.2 (main, Oct 26 2026, 15:10:10) [GCC 16.2.0]", 15, true, 32},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        ck_assert_msg(check(known[i].version) == 0, "%s refused: %s", known[i].version, why);
        ck_assert_int_eq(pyc.minor, known[i].minor);
        ck_assert(pyc.immortal == known[i].immortal);
        ck_assert_uint_eq(pyc.tuple_items, known[i].tuple_items);
    }
    ck_assert_str_eq(pyc.version, "3.15.2");
}
END_TEST

START_TEST(pycompat_refuses_unknown_versions)
{
    ck_assert_int_eq(check("3.16.0a1 (main, Jan 1 2027) [GCC]"), -ENOTSUP);
    ck_assert_msg(strstr(why, "CPython 3.16 is not a version this agent knows (3.8 to 3.15)"), "%s",
                  why);
    ck_assert_int_eq(check("3.7.16 (default) [GCC]"), -ENOTSUP);
    ck_assert_msg(strstr(why, "3.7 is not a version"), "%s", why);
    ck_assert_int_eq(check("2.7.18 (default) [GCC]"), -ENOTSUP);
    ck_assert_msg(strstr(why, "2.7 is not a version"), "%s", why);
    ck_assert_int_eq(check("4.0.0"), -ENOTSUP);
}
END_TEST

START_TEST(pycompat_refuses_free_threaded)
{
    ck_assert_int_eq(check("3.13.0 experimental free-threading build (main, Oct 7 2024) [GCC]"),
                     -ENOTSUP);
    ck_assert_str_eq(why, "free-threaded CPython 3.13 is not supported yet");
    ck_assert_int_eq(check("3.14.10 free-threading build (main, Oct 26 2026) [GCC]"), -ENOTSUP);
    ck_assert_str_eq(why, "free-threaded CPython 3.14 is not supported yet");
}
END_TEST

START_TEST(pycompat_refuses_garbage)
{
    ck_assert_int_eq(check(NULL), -ENOTSUP);
    ck_assert_msg(strstr(why, "cannot parse"), "%s", why);
    ck_assert_int_eq(check(""), -ENOTSUP);
    ck_assert_int_eq(check("PyPy 7.3"), -ENOTSUP);
    ck_assert_msg(strstr(why, "cannot parse the interpreter version \"PyPy 7.3\""), "%s", why);
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(check(big), -ENOTSUP); /* quoted, truncated, NUL-terminated */
    ck_assert_uint_lt(strlen(why), sizeof(why));
}
END_TEST

START_TEST(pycompat_refusal_keeps_facts)
{
    ck_assert_int_eq(check("3.12.1 (main) [GCC]"), 0);
    ck_assert_int_eq(check("3.99.0 (main) [GCC]"), -ENOTSUP);
    ck_assert_int_eq(pyc.minor, 12);
    ck_assert(pyc.refcnt32);
}
END_TEST

Suite *
pycompat_suite(void)
{
    Suite *s = suite_create("pycompat");
    TCase *tc = tcase_create("versions");
    tcase_add_test(tc, pycompat_accepts_matrix_versions);
    tcase_add_test(tc, pycompat_refuses_unknown_versions);
    tcase_add_test(tc, pycompat_refuses_free_threaded);
    tcase_add_test(tc, pycompat_refuses_garbage);
    tcase_add_test(tc, pycompat_refusal_keeps_facts);
    suite_add_tcase(s, tc);
    return s;
}
