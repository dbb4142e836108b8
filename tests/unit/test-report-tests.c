/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for what the CLI makes of test records (the pytest plugin):
 * parsing "session"/"test" records (report.c), the attribution rules -
 * allow-listing, the warm-up rule across processes, --no-warmup
 * (report-tests.c) - the findings (report-findings.c), the gate (gate.c),
 * and the tests' place in the text, JSON, JUnit and SARIF outputs.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-helpers.h"
#include "gate.h"
#include "jsonv.h"
#include "report.h"

/* ---- fixture ------------------------------------------------------------------ */

#define TC(q, line, maxsize, n, extra)                                                             \
    "{\"module\":\"suite\",\"qualname\":\"" q "\",\"file\":\"/src/my suite.py\",\"line\":" #line   \
    ",\"kind\":\"method\",\"maxsize\":" maxsize ",\"new\":" #n extra "}"
#define TEST(pid, nodeid, caches)                                                                  \
    "{\"type\":\"test\",\"pid\":" #pid ",\"nodeid\":\"" nodeid                                     \
    "\",\"outcome\":\"passed\",\"duration\":0.5,\"caches\":[" caches "]}\n"

/*
 * Two xdist workers (10, 11) and their controller (9), plus a plain child
 * process (20) that leaks on its own:
 *   Leak.add:   worker 10 fills it in two tests, worker 11 in one: it grows,
 *               all three fills are blamed;
 *   Single.get: each worker fills it once: warm-ups;
 *   Pool.take:  allow-listed by marker; Audit.log by config;
 *   Lru.keep:   bounded (maxsize 4), filled by two tests of worker 11.
 */
/* clang-format off */
static const char fixture[] =
    "{\"type\":\"process\",\"pid\":9,\"ppid\":1,\"argv\":[\"pytest\",\"-n\",\"2\"]}\n"
    "{\"type\":\"session\",\"pid\":9,\"event\":\"start\",\"runner\":\"pytest\",\"worker\":null}\n"
    "{\"type\":\"process\",\"pid\":10,\"ppid\":9,\"argv\":[\"python3\",\"-c\",\"x\"]}\n"
    "{\"type\":\"session\",\"pid\":10,\"event\":\"start\",\"runner\":\"pytest\",\"worker\":\"gw0\"}\n"
    "{\"type\":\"process\",\"pid\":11,\"ppid\":9,\"argv\":[\"python3\",\"-c\",\"x\"]}\n"
    "{\"type\":\"session\",\"pid\":11,\"event\":\"start\",\"runner\":\"pytest\",\"worker\":\"gw1\"}\n"
    TEST(10, "t/test_a.py::test_leak[1]", TC("Leak.add", 5, "null", 3, "") "," TC("Single.get", 9, "null", 1, ""))
    TEST(11, "t/test_a.py::test_leak[2]", TC("Leak.add", 5, "null", 5, "") "," TC("Single.get", 9, "null", 1, ""))
    TEST(10, "t/test_a.py::test_leak[3]", TC("Leak.add", 5, "null", 7, ""))
    TEST(10, "t/test_a.py::TestB::test_pool", TC("Pool.take", 12, "null", 6, ",\"ignored\":\"marker\""))
    TEST(11, "t/test_a.py::test_audit", TC("Audit.log", 14, "null", 2, ",\"ignored\":\"config\""))
    TEST(11, "t/test_a.py::test_lru[<&\\\"x]", TC("Lru.keep", 20, "4", 2, ""))
    TEST(11, "t/test_a.py::test_lru2", TC("Lru.keep", 20, "4", 1, ""))
    TEST(10, "t/test_a.py::test_plain", "")
    "{\"type\":\"session\",\"pid\":10,\"event\":\"finish\",\"tests\":5,\"exitstatus\":0}\n"
    "{\"type\":\"process\",\"pid\":20,\"ppid\":10,\"forked\":true,\"argv\":[\"python3\",\"child.py\"]}\n"
    "{\"type\":\"sample\",\"pid\":20,\"t\":0.1,\"final\":true,\"caches\":["
    "{\"qualname\":\"Child.run\",\"module\":\"child\",\"file\":\"/elsewhere/child.py\",\"line\":3,"
    "\"kind\":\"method\",\"maxsize\":null,\"entries\":4,\"selves\":4,\"pinned\":4,"
    "\"retained_bytes\":400,\"verdict\":\"leak\"}]}\n";
/* clang-format on */

static struct report *
load(const char *text)
{
    struct report *r = report_new(REPORT_NO_SERIES);
    char err[256] = "";

    ck_assert_ptr_nonnull(r);
    while (*text != '\0') {
        size_t len = strcspn(text, "\n");
        if (report_feed_line(r, text, len, err, sizeof(err)) < 0) {
            ck_abort_msg("the fixture does not load: %s: %.*s", err, (int)len, text);
        }
        text += len + (text[len] == '\n');
    }
    return r;
}

static struct report *
attributed(const struct report_rules *rules)
{
    struct report *r = load(fixture);

    ck_assert_int_eq(report_attribute(r, rules), 0);
    return r;
}

static const struct report_test *
test_named(const struct report *r, const char *nodeid)
{
    for (size_t i = 0; i < r->ntests; i++) {
        if (strcmp(r->tests[i]->nodeid, nodeid) == 0) {
            return r->tests[i];
        }
    }
    ck_abort_msg("no test %s", nodeid);
    return NULL;
}

static enum report_blame
blame_of(const struct report *r, const char *nodeid, const char *qualname)
{
    const struct report_test *t = test_named(r, nodeid);

    for (size_t k = 0; k < t->ncaches; k++) {
        if (strcmp(t->caches[k].qualname, qualname) == 0) {
            return t->caches[k].blame;
        }
    }
    ck_abort_msg("%s has no %s", nodeid, qualname);
    return REPORT_BLAMED;
}

/* Output of one writer into a malloc'ed string. */
enum writer { W_TEXT, W_JSON, W_JUNIT, W_SARIF, W_GATE };

static char *
output(const struct report *r, enum writer w, const struct gate_rules *gate, int *ret)
{
    struct report_rules rules = {0};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc = -1;

    ck_assert_ptr_nonnull(f);
    switch (w) {
    case W_TEXT:
        rc = report_write_text(r, f, NULL);
        break;
    case W_JSON:
        rc = report_write_json(r, f);
        break;
    case W_JUNIT:
        rc = report_write_junit(r, &rules, gate_threshold(gate), f);
        break;
    case W_SARIF:
        rc = report_write_sarif(r, &rules, "/src", f);
        break;
    case W_GATE:
        rc = gate_check(r, &rules, gate, f);
        break;
    }
    fclose(f);
    if (ret != NULL) {
        *ret = rc;
    } else {
        ck_assert_int_eq(rc, 0);
    }
    return buf;
}

/* ---- records ---------------------------------------------------------------- */

START_TEST(report_tests_parses_sessions_and_tests)
{
    struct report *r = load(fixture);
    const struct report_process *ctl = report_find_process(r, 9);
    const struct report_process *gw1 = report_find_process(r, 11);
    const struct report_test *t = test_named(r, "t/test_a.py::TestB::test_pool");

    ck_assert_int_eq(r->ntests, 8);
    ck_assert(ctl->test_session);
    ck_assert_ptr_null(ctl->worker);
    ck_assert_uint_eq(ctl->ntests, 0);
    ck_assert_str_eq(gw1->worker, "gw1");
    ck_assert_uint_eq(gw1->ntests, 4);
    ck_assert(!report_find_process(r, 20)->test_session);
    ck_assert(report_find_process(r, 20)->forked);
    ck_assert(!report_find_process(r, 10)->forked);
    ck_assert_int_eq(t->proc->pid, 10);
    ck_assert_str_eq(t->outcome, "passed");
    ck_assert_uint_eq(t->ncaches, 1);
    ck_assert_str_eq(t->caches[0].ignored, "marker");
    ck_assert_int_eq(t->caches[0].new_pinned, 6);
    ck_assert_int_eq(t->caches[0].maxsize, -1);
    ck_assert_str_eq(t->caches[0].file, "/src/my suite.py");
    report_free(r);
}
END_TEST

static const struct {
    const char *line;
    const char *why;
} bad_tests[] = {
    {"{\"type\":\"test\",\"pid\":1,\"caches\":[]}", "nodeid"},
    {"{\"type\":\"test\",\"pid\":1,\"nodeid\":\"x\",\"caches\":{}}", "caches"},
    {"{\"type\":\"test\",\"pid\":1,\"nodeid\":\"x\",\"caches\":[{\"new\":1}]}", "qualname"},
    {"{\"type\":\"test\",\"pid\":1,\"nodeid\":\"x\",\"caches\":[{\"qualname\":\"q\",\"new\":-1}]}",
     "new"},
    {"{\"type\":\"test\",\"nodeid\":\"x\",\"caches\":[]}", "pid"},
    {"{\"type\":\"session\",\"pid\":0,\"event\":\"start\"}", "pid"},
};

START_TEST(report_tests_rejects_bad_records)
{
    struct report *r = report_new(0);
    char err[256] = "";

    ck_assert_int_eq(
        report_feed_line(r, bad_tests[_i].line, strlen(bad_tests[_i].line), err, sizeof(err)),
        -EINVAL);
    ck_assert_contains(err, bad_tests[_i].why);
    ck_assert_uint_eq(r->ntests, 0);
    report_free(r);
}
END_TEST

/* ---- the rules ------------------------------------------------------------------ */

START_TEST(report_tests_warmup_and_growth_across_processes)
{
    struct report *r = attributed(NULL);

    /* Leak.add: two fills in gw0 make it grow: gw1's single fill is blamed too. */
    ck_assert_int_eq(blame_of(r, "t/test_a.py::test_leak[1]", "Leak.add"), REPORT_BLAMED);
    ck_assert_int_eq(blame_of(r, "t/test_a.py::test_leak[2]", "Leak.add"), REPORT_BLAMED);
    ck_assert_int_eq(blame_of(r, "t/test_a.py::test_leak[3]", "Leak.add"), REPORT_BLAMED);
    /* Single.get: once per worker. */
    ck_assert_int_eq(blame_of(r, "t/test_a.py::test_leak[1]", "Single.get"), REPORT_WARMUP);
    ck_assert_int_eq(blame_of(r, "t/test_a.py::test_leak[2]", "Single.get"), REPORT_WARMUP);
    ck_assert_int_eq(blame_of(r, "t/test_a.py::TestB::test_pool", "Pool.take"), REPORT_IGNORED);
    ck_assert_int_eq(blame_of(r, "t/test_a.py::test_audit", "Audit.log"), REPORT_IGNORED);
    ck_assert_int_eq(test_named(r, "t/test_a.py::test_leak[1]")->blamed, 3);
    ck_assert_int_eq(test_named(r, "t/test_a.py::test_leak[3]")->blamed_unbounded, 7);
    ck_assert_int_eq(test_named(r, "t/test_a.py::test_lru2")->blamed, 1);
    ck_assert_int_eq(test_named(r, "t/test_a.py::test_lru2")->blamed_unbounded, 0);
    ck_assert_int_eq(test_named(r, "t/test_a.py::test_plain")->blamed, 0);
    report_free(r);
}
END_TEST

START_TEST(report_tests_no_warmup_and_ignore_option)
{
    static const char *const ignore[] = {"suite.Leak.*", "Lru.keep"};
    struct report_rules rules = {.no_warmup = true};
    struct report *r = attributed(&rules);

    ck_assert_int_eq(blame_of(r, "t/test_a.py::test_leak[1]", "Single.get"), REPORT_BLAMED);
    ck_assert_int_eq(test_named(r, "t/test_a.py::test_leak[1]")->blamed, 4);
    /* Patterns match module.qualname or qualname; attributing again with
     * other rules re-judges "option" but keeps the plugin's reasons. */
    rules = (struct report_rules){.ignore = ignore, .nignore = 2};
    ck_assert_int_eq(report_attribute(r, &rules), 0);
    ck_assert_int_eq(blame_of(r, "t/test_a.py::test_leak[3]", "Leak.add"), REPORT_IGNORED);
    ck_assert_str_eq(test_named(r, "t/test_a.py::test_leak[3]")->caches[0].ignored, "option");
    ck_assert_int_eq(blame_of(r, "t/test_a.py::test_lru2", "Lru.keep"), REPORT_IGNORED);
    ck_assert_int_eq(test_named(r, "t/test_a.py::test_leak[1]")->blamed, 0);
    ck_assert_int_eq(report_attribute(r, NULL), 0);
    ck_assert_int_eq(blame_of(r, "t/test_a.py::test_leak[3]", "Leak.add"), REPORT_BLAMED);
    ck_assert_int_eq(blame_of(r, "t/test_a.py::TestB::test_pool", "Pool.take"), REPORT_IGNORED);
    report_free(r);
}
END_TEST

START_TEST(report_tests_worst_first_and_findings)
{
    struct report *r = attributed(NULL);
    struct report_test **v = NULL;
    struct report_finding *fs = NULL;
    int n = report_leaking_tests(r, &v);

    /* 7, 5, 3, then the bounded ones: 2 and 1. */
    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(v[0]->nodeid, "t/test_a.py::test_leak[3]");
    ck_assert_str_eq(v[1]->nodeid, "t/test_a.py::test_leak[2]");
    ck_assert_str_eq(v[2]->nodeid, "t/test_a.py::test_leak[1]");
    ck_assert_str_eq(v[4]->nodeid, "t/test_a.py::test_lru2");
    free(v);

    n = report_findings(r, NULL, &fs);
    /* Leak.add (15, from 3 tests), Child.run (4, process 20), Lru.keep. */
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(fs[0].qualname, "Leak.add");
    ck_assert_int_eq(fs[0].pinned, 15);
    ck_assert_uint_eq(fs[0].ntests, 3);
    ck_assert_str_eq(fs[0].worst->nodeid, "t/test_a.py::test_leak[3]");
    ck_assert_str_eq(fs[1].qualname, "Child.run");
    ck_assert_int_eq(fs[1].pinned, 4);
    ck_assert_uint_eq(fs[1].nprocs, 1);
    ck_assert_int_eq(fs[1].pid, 20);
    ck_assert_int_eq(fs[2].verdict, REPORT_VERDICT_BOUNDED);
    ck_assert_int_eq(fs[2].maxsize, 4);
    free(fs);
    report_free(r);
}
END_TEST

/* ---- the gate ----------------------------------------------------------------- */

START_TEST(report_tests_gate_rules)
{
    struct report *r = attributed(NULL);
    struct gate_rules gate = {.fail_on = CLI_FAIL_ON_NONE, .max_pinned = -1};
    char *text;
    int rc;

    text = output(r, W_GATE, &gate, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(text, "");
    free(text);

    gate.fail_on = CLI_FAIL_ON_LEAK;
    text = output(r, W_GATE, &gate, &rc);
    ck_assert_int_eq(rc, 1);
    ck_assert_contains(text, "lruleak: --fail-on leak failed: 3 tests left objects pinned in "
                             "unbounded caches: t/test_a.py::test_leak[3] (+7 Leak.add)");
    ck_assert_contains(text, "; 1 cache leaks: Child.run (leak, child.py:3, pid 20)");
    ck_assert_ptr_null(strstr(text, "test_lru"));
    free(text);

    /* 15 + 4 + 3 objects in all. */
    gate = (struct gate_rules){.fail_on = CLI_FAIL_ON_NONE, .max_pinned = 22};
    text = output(r, W_GATE, &gate, &rc);
    ck_assert_int_eq(rc, 0);
    free(text);
    gate.max_pinned = 21;
    text = output(r, W_GATE, &gate, &rc);
    ck_assert_int_eq(rc, 1);
    ck_assert_contains(text, "--max-pinned 21 failed: 22 objects pinned (18 blamed on 5 tests, 4 "
                             "in the last samples of other processes)");
    free(text);

    gate = (struct gate_rules){.fail_on = CLI_FAIL_ON_BOUNDED, .max_pinned = -1};
    text = output(r, W_GATE, &gate, &rc);
    ck_assert_int_eq(rc, 1);
    ck_assert_contains(text, "5 tests left objects pinned in lru caches");
    ck_assert_contains(text, "t/test_a.py::test_lru2 (+1 Lru.keep)");
    free(text);
    report_free(r);
}
END_TEST

/* ---- outputs ----------------------------------------------------------------------- */

START_TEST(report_tests_text_and_json)
{
    struct report *r = attributed(NULL);
    char *text = output(r, W_TEXT, NULL, NULL);
    const struct jsonv *doc = NULL, *tests;

    ck_assert_contains(text, "8 tests recorded: 5 left 18 objects pinned by lru caches (worst "
                             "first)\n      +7  t/test_a.py::test_leak[3]  (pid 10, gw0)\n");
    ck_assert_contains(text, "Single.get +1 in t/test_a.py::test_leak[1] (warm-up");
    ck_assert_contains(text,
                       "Pool.take +6 in t/test_a.py::TestB::test_pool (allow-listed: marker)");
    ck_assert_contains(text, "pytest session (worker gw1): 4 tests recorded");
    ck_assert_contains(text, "pid 20 (ppid 10, forked)  python ?  python3 child.py");
    free(text);

    text = output(r, W_JSON, NULL, NULL);
    ck_assert_int_eq(jsonv_parse(text, strlen(text), &doc, NULL, 0), 0);
    tests = jsonv_get(doc, "tests");
    ck_assert(jsonv_is(tests, JSONV_ARRAY));
    ck_assert_uint_eq(tests->u.arr.n, 8);
    ck_assert_str_eq(jsonv_get_str(&tests->u.arr.items[0], "nodeid"), "t/test_a.py::test_leak[1]");
    ck_assert_str_eq(
        jsonv_get_str(&jsonv_get(&tests->u.arr.items[0], "caches")->u.arr.items[1], "blame"),
        "warm-up");
    jsonv_free(doc);
    free(text);
    report_free(r);
}
END_TEST

START_TEST(report_tests_junit)
{
    struct report *r = attributed(NULL);
    struct gate_rules bounded = {.fail_on = CLI_FAIL_ON_BOUNDED, .max_pinned = -1};
    char *text = output(r, W_JUNIT, NULL, NULL);

    ck_assert_contains(text, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuites "
                             "name=\"lruleak\" tests=\"9\" failures=\"4\"");
    ck_assert_contains(text, "<testsuite name=\"lruleak.tests\" tests=\"8\" failures=\"3\"");
    /* pytest's mangling: path dots, no .py, classes joined, params kept. */
    ck_assert_contains(text, "<testcase classname=\"t.test_a.TestB\" name=\"test_pool\"");
    ck_assert_contains(text, "classname=\"t.test_a\" name=\"test_lru[&lt;&amp;&quot;x]\"");
    ck_assert_contains(text, "<failure type=\"lruleak.leak\" message=\"left 7 new objects pinned "
                             "by lru caches\">Leak.add (unbounded) at /src/my suite.py:5: +7");
    ck_assert_contains(text, "<system-out>Pool.take: +6 pinned, not blamed (marker)");
    ck_assert_contains(text, "<testsuite name=\"lruleak.caches\" tests=\"1\" failures=\"1\"");
    ck_assert_contains(text, "classname=\"lruleak.caches.child\" name=\"Child.run\"");
    free(text);
    /* --fail-on bounded fails the bounded tests too. */
    text = output(r, W_JUNIT, &bounded, NULL);
    ck_assert_contains(text, "<testsuite name=\"lruleak.tests\" tests=\"8\" failures=\"5\"");
    ck_assert_contains(text, "<failure type=\"lruleak.bounded\"");
    free(text);
    report_free(r);
}
END_TEST

START_TEST(report_tests_sarif)
{
    struct report *r = attributed(NULL);
    char *text = output(r, W_SARIF, NULL, NULL);
    const struct jsonv *doc = NULL, *run, *results, *loc;

    ck_assert_int_eq(jsonv_parse(text, strlen(text), &doc, NULL, 0), 0);
    ck_assert_str_eq(jsonv_get_str(doc, "version"), "2.1.0");
    run = &jsonv_get(doc, "runs")->u.arr.items[0];
    ck_assert_str_eq(jsonv_get_str(jsonv_get(jsonv_get(run, "tool"), "driver"), "name"), "lruleak");
    ck_assert_str_eq(
        jsonv_get_str(jsonv_get(jsonv_get(run, "originalUriBaseIds"), "SRCROOT"), "uri"),
        "file:///src/");
    results = jsonv_get(run, "results");
    ck_assert_uint_eq(results->u.arr.n, 3);
    /* Leak.add: inside the base directory, relative, space encoded. */
    ck_assert_str_eq(jsonv_get_str(&results->u.arr.items[0], "ruleId"), "lruleak.leak");
    ck_assert_str_eq(jsonv_get_str(&results->u.arr.items[0], "level"), "error");
    loc = jsonv_get(&jsonv_get(&results->u.arr.items[0], "locations")->u.arr.items[0],
                    "physicalLocation");
    ck_assert_str_eq(jsonv_get_str(jsonv_get(loc, "artifactLocation"), "uri"), "my%20suite.py");
    ck_assert_str_eq(jsonv_get_str(jsonv_get(loc, "artifactLocation"), "uriBaseId"), "SRCROOT");
    int64_t line = 0;
    ck_assert(jsonv_get_int(jsonv_get(loc, "region"), "startLine", &line));
    ck_assert_int_eq(line, 5);
    ck_assert_contains(jsonv_get_str(jsonv_get(&results->u.arr.items[0], "message"), "text"),
                       "pins 15 objects; 3 tests left them behind, the most "
                       "t/test_a.py::test_leak[3] (+7)");
    /* Child.run: outside it, an absolute file URI. */
    loc = jsonv_get(&jsonv_get(&results->u.arr.items[1], "locations")->u.arr.items[0],
                    "physicalLocation");
    ck_assert_str_eq(jsonv_get_str(jsonv_get(loc, "artifactLocation"), "uri"),
                     "file:///elsewhere/child.py");
    ck_assert_str_eq(jsonv_get_str(&results->u.arr.items[2], "ruleId"), "lruleak.bounded");
    ck_assert_str_eq(jsonv_get_str(&results->u.arr.items[2], "level"), "warning");
    jsonv_free(doc);
    free(text);
    report_free(r);
}
END_TEST

Suite *
report_tests_suite(void)
{
    Suite *s = suite_create("report-tests");
    TCase *tc = tcase_create("records");

    tcase_add_test(tc, report_tests_parses_sessions_and_tests);
    tcase_add_loop_test(tc, report_tests_rejects_bad_records, 0,
                        sizeof(bad_tests) / sizeof(bad_tests[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("rules");
    tcase_add_test(tc, report_tests_warmup_and_growth_across_processes);
    tcase_add_test(tc, report_tests_no_warmup_and_ignore_option);
    tcase_add_test(tc, report_tests_worst_first_and_findings);
    tcase_add_test(tc, report_tests_gate_rules);
    suite_add_tcase(s, tc);

    tc = tcase_create("outputs");
    tcase_add_test(tc, report_tests_text_and_json);
    tcase_add_test(tc, report_tests_junit);
    tcase_add_test(tc, report_tests_sarif);
    suite_add_tcase(s, tc);
    return s;
}
