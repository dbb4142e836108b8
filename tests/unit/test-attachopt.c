/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for attachopt: options written by the CLI read back by the
 * agent unchanged, and a table of texts the agent must refuse (or ignore)
 * because they come from outside the process.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "attachopt.h"
#include "check-helpers.h"

START_TEST(attachopt_round_trips)
{
    struct attachopt in = {.interval = 0.25}, out;
    char text[ATTACHOPT_MAX], why[160];

    snprintf(in.dir, sizeof(in.dir), "/run/user/1000/lruleak");
    snprintf(in.log, sizeof(in.log), "/tmp/agent log.txt");
    snprintf(in.record, sizeof(in.record), "/var/tmp/rec");
    in.trace_alloc = 5;
    ck_assert_int_eq(attachopt_format(&in, text, sizeof(text)), 0);
    ck_assert_int_eq(attachopt_parse(text, &out, why, sizeof(why)), 0);
    ck_assert(out.interval == 0.25);
    ck_assert_int_eq(out.trace_alloc, 5);
    ck_assert_str_eq(out.dir, in.dir);
    ck_assert_str_eq(out.log, in.log);
    ck_assert_str_eq(out.record, in.record);

    /* Nothing given: an empty text, all defaults. */
    struct attachopt none = {0};
    ck_assert_int_eq(attachopt_format(&none, text, sizeof(text)), 0);
    ck_assert_str_eq(text, "");
    ck_assert_int_eq(attachopt_parse(text, &out, why, sizeof(why)), 0);
    ck_assert(out.interval == 0 && out.dir[0] == '\0' && out.log[0] == '\0');
    ck_assert_int_eq(out.trace_alloc, 0);
    ck_assert_int_eq(attachopt_parse(NULL, &out, why, sizeof(why)), 0);
}
END_TEST

START_TEST(attachopt_format_refuses)
{
    struct attachopt o = {.interval = 0.0001};
    char text[ATTACHOPT_MAX];

    ck_assert_int_eq(attachopt_format(&o, text, sizeof(text)), -EINVAL);
    o.interval = 1;
    snprintf(o.dir, sizeof(o.dir), "/a\nb");
    ck_assert_int_eq(attachopt_format(&o, text, sizeof(text)), -EINVAL);
    snprintf(o.dir, sizeof(o.dir), "/run/x");
    o.trace_alloc = ATTACHOPT_TRACE_ALLOC_MAX + 1;
    ck_assert_int_eq(attachopt_format(&o, text, sizeof(text)), -EINVAL);
    o.trace_alloc = 0;
    ck_assert_int_eq(attachopt_format(&o, text, 12), -ENAMETOOLONG);
    ck_assert_str_eq(text, "");
}
END_TEST

static const struct {
    const char *text;
    int ret;
    const char *why; /* substring of the reason when ret < 0 */
    double interval;
} parse_cases[] = {
    {"interval=2", 0, NULL, 2},
    {"interval=0.001\n\n", 0, NULL, 0.001},
    {"future=1\ninterval=3\n", 0, NULL, 3}, /* unknown keys: a newer CLI */
    {"interval=0", -EINVAL, "interval must be", 0},
    {"interval=86401", -EINVAL, "interval must be", 0},
    {"interval=nan", -EINVAL, "interval must be", 0},
    {"interval=1x", -EINVAL, "interval must be", 0},
    {"interval=", -EINVAL, "not a number", 0},
    {"interval", -EINVAL, "without '='", 0},
    {"dir=relative/path", -EINVAL, "absolute", 0},
    {"log=x", -EINVAL, "absolute", 0},
    {"dir=", 0, NULL, 0},
    {"trace_alloc=1\ninterval=2", 0, NULL, 2},
    {"trace_alloc=0", -EINVAL, "trace_alloc must be", 0},
    {"trace_alloc=101", -EINVAL, "trace_alloc must be", 0},
    {"trace_alloc=99999999999999999999", -EINVAL, "trace_alloc must be", 0},
    {"trace_alloc=-1", -EINVAL, "trace_alloc must be", 0},
    {"trace_alloc=", -EINVAL, "trace_alloc must be", 0},
};

START_TEST(attachopt_parses_table)
{
    struct attachopt o;
    char why[160];
    int r = attachopt_parse(parse_cases[_i].text, &o, why, sizeof(why));

    ck_assert_int_eq(r, parse_cases[_i].ret);
    if (r < 0) {
        ck_assert_msg(strstr(why, parse_cases[_i].why) != NULL, "reason '%s' lacks '%s'", why,
                      parse_cases[_i].why);
    } else {
        ck_assert(o.interval == parse_cases[_i].interval);
    }
}
END_TEST

START_TEST(attachopt_bounds_outside_input)
{
    static char text[ATTACHOPT_MAX + 10];
    struct attachopt o;
    char why[160];

    /* Longer than ATTACHOPT_MAX: refused without reading past the bound. */
    memset(text, 'a', sizeof(text) - 1);
    ck_assert_int_eq(attachopt_parse(text, &o, why, sizeof(why)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "longer than"));

    /* A path longer than its field. */
    memcpy(text, "dir=/", 5);
    memset(text + 5, 'd', SOCKPATH_MAX + 5);
    text[5 + SOCKPATH_MAX + 5] = '\0';
    ck_assert_int_eq(attachopt_parse(text, &o, why, sizeof(why)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "dir is longer than"));
}
END_TEST

Suite *
attachopt_suite(void)
{
    Suite *s = suite_create("attachopt");
    TCase *tc = tcase_create("text");

    tcase_add_test(tc, attachopt_round_trips);
    tcase_add_test(tc, attachopt_format_refuses);
    tcase_add_loop_test(tc, attachopt_parses_table, 0,
                        sizeof(parse_cases) / sizeof(parse_cases[0]));
    tcase_add_test(tc, attachopt_bounds_outside_input);
    suite_add_tcase(s, tc);
    return s;
}
