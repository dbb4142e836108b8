/* SPDX-License-Identifier: MIT */
/*
 * gate: the exit-code rules of `run` and `report` for CI (--fail-on,
 * --max-pinned), judged on an attributed model (report_attribute). Test
 * sessions are judged by the objects blamed on their tests; every other
 * process by the last sample of its caches. Never exits; prints the rules
 * that failed, one line each. Thread context: none.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "report.h"

struct gate_rules {
    enum cli_fail_on fail_on; /* CLI_FAIL_ON_NONE: no verdict rule */
    int64_t max_pinned;       /* < 0: no limit */
};

/*
 * Whether the model breaks a rule; each broken rule is explained on f as
 * "lruleak: --RULE failed: ..." naming what broke it. Returns 1 (failed),
 * 0 (passed) or -ENOMEM.
 */
int gate_check(const struct report *rep, const struct report_rules *rules,
               const struct gate_rules *gate, FILE *f);

/* The verdict a test or finding must reach to fail: --fail-on, else leak
 * (what JUnit marks as a failure without a gate). */
enum report_verdict gate_threshold(const struct gate_rules *gate);
