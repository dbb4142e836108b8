/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "check-helpers.h"
#include "protocol.h"

START_TEST(protocol_parses_hello)
{
    struct protocol_request req;
    char err[128];
    ck_assert_int_eq(protocol_parse_request("{\"cmd\":\"hello\"}", 15, &req, err, sizeof(err)), 0);
    ck_assert_int_eq(req.cmd, PROTOCOL_HELLO);
}
END_TEST

Suite *
protocol_suite(void)
{
    Suite *s = suite_create("protocol");
    TCase *tc = tcase_create("requests");
    tcase_add_test(tc, protocol_parses_hello);
    suite_add_tcase(s, tc);
    return s;
}
