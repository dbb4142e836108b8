/* SPDX-License-Identifier: MIT */
/*
 * The handful of helpers every check-based test file shares. Keep it small:
 * no framework on top of check. Each test file defines
 * `Suite *<module>_suite(void)`; meson passes its name to check-main.c,
 * which runs it with TAP output.
 */
#pragma once

#include <check.h>

/* check-main.c calls the suite named by -DTEST_SUITE=<module>_suite. */
Suite *TEST_SUITE(void);

/* Diagnostics must go to stderr: stdout carries the TAP stream. */
#define ck_diag(...) fprintf(stderr, __VA_ARGS__)

/* hay (a string) contains needle; on failure hay goes to stderr. */
#define ck_assert_contains(hay, needle)                                                            \
    do {                                                                                           \
        if (strstr((hay), (needle)) == NULL) {                                                     \
            ck_diag("%s\n", (hay));                                                                \
            ck_abort_msg("missing \"%s\" (the text is on stderr)", (needle));                      \
        }                                                                                          \
    } while (0)
