/* SPDX-License-Identifier: MIT */
/*
 * gate: see gate.h. --fail-on leak fails on any leaking finding (an
 * unbounded cache that pins objects: blamed on a test, or in another
 * process's last sample), --fail-on bounded also on bounded ones;
 * --max-pinned N fails when the findings pin more than N objects in all.
 * The message names the tests (worst first) and the caches behind it, at
 * most GATE_NAMES_MAX of each.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "util.h"

#define GATE_NAMES_MAX 5

enum report_verdict
gate_threshold(const struct gate_rules *gate)
{
    return gate != NULL && gate->fail_on == CLI_FAIL_ON_BOUNDED ? REPORT_VERDICT_BOUNDED
                                                                : REPORT_VERDICT_LEAK;
}

static bool
test_fails(const struct report_test *t, enum report_verdict min)
{
    return min == REPORT_VERDICT_LEAK ? t->blamed_unbounded > 0 : t->blamed > 0;
}

/* The caches of t that made it fail, as "+N Qual.name, ...". */
static void
print_test(FILE *f, const struct report_test *t, enum report_verdict min)
{
    const char *sep = "";

    fprintf(f, " %s (", t->nodeid);
    for (size_t k = 0; k < t->ncaches; k++) {
        const struct report_test_cache *c = &t->caches[k];

        if (c->blame != REPORT_BLAMED || (min == REPORT_VERDICT_LEAK && c->maxsize >= 0)) {
            continue;
        }
        fprintf(f, "%s+%" PRId64 " %s", sep, c->new_pinned, c->qualname);
        sep = ", ";
    }
    fputc(')', f);
}

static void
verdict_rule(const struct report_finding *fs, size_t nf, struct report_test **tests, size_t nt,
             enum report_verdict min, const char *rule, FILE *f)
{
    size_t ntests = 0, ncaches = 0, shown = 0;
    const char *sep = ":";

    for (size_t i = 0; i < nt; i++) {
        ntests += test_fails(tests[i], min);
    }
    for (size_t i = 0; i < nf; i++) {
        ncaches += fs[i].verdict >= min && fs[i].nprocs > 0;
    }
    fprintf(f, "lruleak: --fail-on %s failed", rule);
    if (ntests > 0) {
        fprintf(f, "%s %zu %s left objects pinned in %s caches:", sep, ntests,
                ntests == 1 ? "test" : "tests", min == REPORT_VERDICT_LEAK ? "unbounded" : "lru");
        for (size_t i = 0; i < nt && shown < GATE_NAMES_MAX; i++) {
            if (test_fails(tests[i], min)) {
                fprintf(f, "%s", shown > 0 ? "," : "");
                print_test(f, tests[i], min);
                shown++;
            }
        }
        if (ntests > shown) {
            fprintf(f, " and %zu more", ntests - shown);
        }
        sep = ";";
    }
    if (ncaches > 0) {
        shown = 0;
        fprintf(f, "%s %zu %s %s:", sep, ncaches, ncaches == 1 ? "cache" : "caches",
                min == REPORT_VERDICT_LEAK ? (ncaches == 1 ? "leaks" : "leak")
                                           : (ncaches == 1 ? "pins objects" : "pin objects"));
        for (size_t i = 0; i < nf && shown < GATE_NAMES_MAX; i++) {
            const struct report_finding *x = &fs[i];

            if (x->verdict < min || x->nprocs == 0) {
                continue;
            }
            fprintf(f, "%s %s (%s, %s:%" PRId64 ", pid %" PRId64 ")", shown > 0 ? "," : "",
                    x->qualname, report_verdict_name(x->verdict), util_basename(x->file), x->line,
                    x->pid);
            shown++;
        }
        if (ncaches > shown) {
            fprintf(f, " and %zu more", ncaches - shown);
        }
    }
    fputc('\n', f);
}

int
gate_check(const struct report *rep, const struct report_rules *rules,
           const struct gate_rules *gate, FILE *f)
{
    struct report_finding *fs = NULL;
    struct report_test **tests = NULL;
    int nf, nt, failed = 0;

    if (gate->fail_on == CLI_FAIL_ON_NONE && gate->max_pinned < 0) {
        return 0;
    }
    nf = report_findings(rep, rules, &fs);
    nt = nf < 0 ? -ENOMEM : report_leaking_tests(rep, &tests);
    if (nf < 0 || nt < 0) {
        free(fs);
        return -ENOMEM;
    }
    if (gate->fail_on != CLI_FAIL_ON_NONE) {
        enum report_verdict min = gate_threshold(gate);
        bool hit = false;

        for (int i = 0; i < nf; i++) {
            hit = hit || fs[i].verdict >= min;
        }
        if (hit) {
            verdict_rule(fs, (size_t)nf, tests, (size_t)nt, min,
                         gate->fail_on == CLI_FAIL_ON_LEAK ? "leak" : "bounded", f);
            failed = 1;
        }
    }
    if (gate->max_pinned >= 0) {
        int64_t total = 0, in_tests = 0;

        for (int i = 0; i < nt; i++) {
            in_tests += tests[i]->blamed;
        }
        for (int i = 0; i < nf; i++) {
            total += fs[i].pinned;
        }
        if (total > gate->max_pinned) {
            fprintf(f,
                    "lruleak: --max-pinned %" PRId64 " failed: %" PRId64 " objects pinned (%" PRId64
                    " blamed on %d %s, %" PRId64 " in the last samples of other processes)\n",
                    gate->max_pinned, total, in_tests, nt, nt == 1 ? "test" : "tests",
                    total - in_tests);
            failed = 1;
        }
    }
    free(fs);
    free(tests);
    return failed;
}
