/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for util (CLI): util_printable, the escaping every string of
 * outside origin goes through before it reaches a terminal, table-driven;
 * and the number parsers the option table relies on.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-helpers.h"
#include "util.h"

/* clang-format off */
static const struct {
    const char *in;
    size_t size;
    const char *out;
} printable_cases[] = {
    {"plain text", 64, "plain text"},
    {"", 64, ""},
    {"a\nb\tc", 64, "a\\nb\\tc"},
    {"\x1b]0;title\x07", 64, "\\x1b]0;title\\x07"},
    {"del\x7f", 64, "del\\x7f"},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 64, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"csi\xc2\x9b" "31m", 64, "csi\\u009b31m"},
    {"nbsp\xc2\xa0", 64, "nbsp\xc2\xa0"},
    {"raw\x9b" "31m", 64, "raw\\x9b31m"},
    {"bad\xff\xfe", 64, "bad\\xff\\xfe"},
    {"trunc\xe2\x82", 64, "trunc\\xe2\\x82"},
    {"0123456789abcdef", 10, "012345..."},
    {"0123456789", 11, "0123456789"},
    {"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8, "\xc3\xa9\xc3\xa9..."},
    {"\n\n\n\n", 8, "\\n\\n..."},
    {"abcd", 4, "..."},
    {"abcdef", 2, ""},
};
/* clang-format on */

START_TEST(util_printable_escapes)
{
    char buf[64];
    const char *got;

    memset(buf, 'X', sizeof(buf));
    got = util_printable(printable_cases[_i].in, buf, printable_cases[_i].size);
    ck_assert_ptr_eq(got, buf);
    ck_assert_msg(strcmp(buf, printable_cases[_i].out) == 0, "case %d: \"%s\", expected \"%s\"", _i,
                  buf, printable_cases[_i].out);
    ck_assert_uint_lt(strlen(buf), printable_cases[_i].size);
}
END_TEST

START_TEST(util_put_printable_matches)
{
    char *text = NULL, buf[64];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    ck_assert_ptr_nonnull(f);
    util_put_printable(f, printable_cases[_i].in);
    ck_assert_int_eq(fclose(f), 0);
    util_printable(printable_cases[_i].in, buf, sizeof(buf));
    ck_assert_str_eq(text, buf);
    free(text);
}
END_TEST

START_TEST(util_parse_seconds_bounds)
{
    double v = -1;

    ck_assert_int_eq(util_parse_seconds("0.5", 0.001, &v), 0);
    ck_assert(v == 0.5);
    ck_assert_int_eq(util_parse_seconds("0.0001", 0.001, &v), -ERANGE);
    ck_assert_int_eq(util_parse_seconds("86401", 0.001, &v), -ERANGE);
    ck_assert_int_eq(util_parse_seconds("1e3", 0.001, &v), -EINVAL);
    ck_assert_int_eq(util_parse_seconds("inf", 0.001, &v), -EINVAL);
    ck_assert_int_eq(util_parse_seconds("", 0.001, &v), -EINVAL);
    ck_assert_int_eq(util_parse_seconds("1..2", 0.001, &v), -EINVAL);
}
END_TEST

START_TEST(util_parse_pid_bounds)
{
    pid_t pid = 0;

    ck_assert_int_eq(util_parse_pid("1234", &pid), 0);
    ck_assert_int_eq(pid, 1234);
    ck_assert_int_eq(util_parse_pid("0", &pid), -EINVAL);
    ck_assert_int_eq(util_parse_pid("-1", &pid), -EINVAL);
    ck_assert_int_eq(util_parse_pid("2147483648", &pid), -EINVAL);
    ck_assert_int_eq(util_parse_pid("12x", &pid), -EINVAL);
    ck_assert_int_eq(util_parse_pid(" 12", &pid), -EINVAL);
}
END_TEST

Suite *
util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("printable");
    int n = (int)(sizeof(printable_cases) / sizeof(printable_cases[0]));

    tcase_add_loop_test(tc, util_printable_escapes, 0, n);
    tcase_add_loop_test(tc, util_put_printable_matches, 0, n - 6); /* those that fit */
    suite_add_tcase(s, tc);
    tc = tcase_create("numbers");
    tcase_add_test(tc, util_parse_seconds_bounds);
    tcase_add_test(tc, util_parse_pid_bounds);
    suite_add_tcase(s, tc);
    return s;
}
