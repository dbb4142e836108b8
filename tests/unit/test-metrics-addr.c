/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for metrics-addr (CLI): the --listen ADDR forms of
 * `lruleak metrics`, which of them are loopback, and the refusals (names
 * other than localhost, bad ports, unbracketed IPv6), table-driven.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check-helpers.h"
#include "metrics-addr.h"

/* clang-format off */
static const struct {
    const char *in;
    int ret;
    const char *shown; /* metrics_addr_format of the result */
    bool loopback;
} addr_cases[] = {
    {"127.0.0.1:9464", 0, "127.0.0.1:9464", true},
    {"9464", 0, "127.0.0.1:9464", true},
    {":9464", 0, "127.0.0.1:9464", true},
    {"localhost:9464", 0, "127.0.0.1:9464", true},
    {"127.1.2.3:0", 0, "127.1.2.3:0", true},
    {"[::1]:9464", 0, "[::1]:9464", true},
    {"[::ffff:127.0.0.1]:80", 0, "[::ffff:127.0.0.1]:80", true},
    /* Typed as numbers: served (with a warning), never implied. */
    {"0.0.0.0:9464", 0, "0.0.0.0:9464", false},
    {"192.0.2.7:9464", 0, "192.0.2.7:9464", false},
    {"[::]:9464", 0, "[::]:9464", false},
    {"[2001:db8::1]:1", 0, "[2001:db8::1]:1", false},
    /* Refused. */
    {"", -EINVAL, NULL, false},
    {"example.com:9464", -EINVAL, NULL, false},
    {"*:9464", -EINVAL, NULL, false},
    {"127.0.0.1", -EINVAL, NULL, false},
    {"127.0.0.1:", -EINVAL, NULL, false},
    {"127.0.0.1:65536", -EINVAL, NULL, false},
    {"127.0.0.1:-1", -EINVAL, NULL, false},
    {"127.0.0.1:94x", -EINVAL, NULL, false},
    {"::1:9464", -EINVAL, NULL, false},
    {"[::1]9464", -EINVAL, NULL, false},
    {"[::1:9464", -EINVAL, NULL, false},
    {"[not-v6]:9464", -EINVAL, NULL, false},
    {"1.2.3:9464", -EINVAL, NULL, false},
    {"\x1b[31m:1", -EINVAL, NULL, false},
};
/* clang-format on */

START_TEST(metrics_addr_parses)
{
    struct metrics_addr a;
    char err[256], shown[80];
    int r;

    memset(err, 'X', sizeof(err));
    r = metrics_addr_parse(addr_cases[_i].in, &a, err, sizeof(err));
    ck_assert_msg(r == addr_cases[_i].ret, "case %d '%s': %d (%s)", _i, addr_cases[_i].in, r, err);
    if (r == 0) {
        ck_assert_str_eq(metrics_addr_format(&a, shown, sizeof(shown)), addr_cases[_i].shown);
        ck_assert_msg(a.loopback == addr_cases[_i].loopback, "case %d: loopback %d", _i,
                      a.loopback);
    } else {
        /* One line, no raw control characters. */
        ck_assert_uint_gt(strlen(err), 0);
        for (const char *p = err; *p != '\0'; p++) {
            ck_assert_msg((unsigned char)*p >= 0x20, "case %d: control in '%s'", _i, err);
        }
    }
}
END_TEST

Suite *
metrics_addr_suite(void)
{
    Suite *s = suite_create("metrics-addr");
    TCase *tc = tcase_create("parse");

    tcase_add_loop_test(tc, metrics_addr_parses, 0, sizeof(addr_cases) / sizeof(addr_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}
