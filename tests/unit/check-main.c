/* SPDX-License-Identifier: MIT */
/*
 * Shared main() for the check test executables: runs the file's suite with
 * TAP output on stdout so meson reports every test case. Focus with
 * CK_RUN_SUITE / CK_RUN_CASE; debug with CK_FORK=no under gdb.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "check-helpers.h"

int
main(void)
{
    SRunner *sr = srunner_create(TEST_SUITE());
    srunner_set_tap(sr, "-");
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
