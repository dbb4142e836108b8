/* SPDX-License-Identifier: MIT */
/*
 * test-e2e-pytest: `lruleak run -- python -m pytest` on the fixture suite
 * (scenarios/pytest-suite), checked against the suite's own ground truth.
 *
 * The suite's conftest counts, per test and per cache, the objects the test
 * created that are still alive once it is over (weak references and
 * gc.collect(), after every fixture's teardown): exactly the objects it
 * left pinned. For every test, the plugin's record must name the same
 * caches with the same counts, and the report must blame them as the rules
 * say: allow-listed caches (marker, pytest.ini) never, a cache that one
 * test per process fills is a warm-up, every other fill is blamed. Only
 * test_leak[*] is blamed. Then: the exit code follows --fail-on and
 * --max-pinned, the JUnit file matches pytest's own junitxml names and
 * fails exactly the blamed tests, and the SARIF file validates against the
 * published schema with one result at Leaky.compute's file:line
 * (tests/sarif/check_ci_files.py). The same under pytest-xdist (-n 2), with
 * cache_clear() refills that reuse addresses (test_refill.py), with the
 * plugin loaded by hand (-p lruleak, its terminal summary), and a plain
 * `python -c` under run sees no PYTHONPATH/PYTEST_PLUGINS of ours.
 *
 * Needs pytest, pytest-xdist and jsonschema in $PYTHON (Debian's
 * python3-pytest, python3-pytest-xdist, python3-jsonschema belong to
 * /usr/bin/python3.11); without them the whole executable exits 77.
 */
#include "config.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e-helpers.h"

extern char **environ;

/* ---- running the suite ----------------------------------------------------- */

struct suite_run {
    struct e2e_proc *run; /* lruleak run */
    const char *rec, *junit, *sarif, *pytest_junit;
    const struct jsonv **truth; /* one line per test, from conftest.py */
    size_t ntruth;
    const struct jsonv *report; /* lruleak report REC --format json */
};

static const char *
suite_dir(void)
{
    return e2e_strdupf("%s/pytest-suite", e2e_cfg.scenarios);
}

/*
 * lruleak run --output --junit --sarif LRULEAK_ARGS -- python -m pytest -q
 * --junitxml PYTEST_ARGS SUITE/FILE, with the truth going to a side file.
 */
static struct suite_run
run_suite(const char *file, const char *const *lruleak_args, const char *const *pytest_args)
{
    struct suite_run sr = {0};
    const char *truth = e2e_strdupf("%s/truth.jsonl", e2e_recdir);
    const char *vars[] = {e2e_strdupf("SUITE_TRUTH=%s", truth), NULL};
    char *argv[64];
    size_t n = 0;

    sr.rec = e2e_strdupf("%s/rec.jsonl", e2e_recdir);
    sr.junit = e2e_strdupf("%s/lruleak.xml", e2e_recdir);
    sr.sarif = e2e_strdupf("%s/lruleak.sarif", e2e_recdir);
    sr.pytest_junit = e2e_strdupf("%s/pytest.xml", e2e_recdir);
    argv[n++] = (char *)e2e_cfg.cli;
    argv[n++] = "run";
    argv[n++] = "--output";
    argv[n++] = (char *)sr.rec;
    argv[n++] = "--junit";
    argv[n++] = (char *)sr.junit;
    argv[n++] = "--sarif";
    argv[n++] = (char *)sr.sarif;
    for (size_t i = 0; lruleak_args != NULL && lruleak_args[i] != NULL; i++) {
        argv[n++] = (char *)lruleak_args[i];
    }
    argv[n++] = "--";
    argv[n++] = (char *)e2e_cfg.python;
    argv[n++] = "-m";
    argv[n++] = "pytest";
    argv[n++] = "-q";
    argv[n++] = "--junitxml";
    argv[n++] = (char *)sr.pytest_junit;
    for (size_t i = 0; pytest_args != NULL && pytest_args[i] != NULL; i++) {
        argv[n++] = (char *)pytest_args[i];
    }
    argv[n++] = e2e_strdupf("%s/%s", suite_dir(), file);
    argv[n] = NULL;
    sr.run = e2e_run(argv, e2e_env_cli(vars), NULL, 3 * E2E_CLI_MS);
    sr.ntruth = e2e_json_lines(e2e_read_file(truth), &sr.truth, "the suite's truth");
    ck_assert_msg(sr.ntruth > 0, "the suite ran no test: %s", e2e_buf_str(&sr.run->out));

    struct e2e_proc *rep = e2e_cli(e2e_env_cli(NULL), "report", sr.rec, "--format", "json", NULL);
    ck_assert_msg(rep->status == 0, "lruleak report exited %d: %s", rep->status,
                  e2e_buf_str(&rep->err));
    sr.report = e2e_json(e2e_buf_str(&rep->out), rep->out.len, "lruleak report --format json");
    return sr;
}

/* The report's record of a test, or a failure. */
static const struct jsonv *
test_record(const struct suite_run *sr, const char *nodeid)
{
    const struct jsonv *tests = jsonv_get(sr->report, "tests");

    ck_assert_msg(jsonv_is(tests, JSONV_ARRAY), "the report has no tests array");
    for (size_t i = 0; i < tests->u.arr.n; i++) {
        const struct jsonv *t = &tests->u.arr.items[i];
        if (strcmp(e2e_str(t, "nodeid", "report test"), nodeid) == 0) {
            return t;
        }
    }
    ck_abort_msg("the report has no test %s", nodeid);
    return NULL;
}

/* ---- the rules, applied to the truth ------------------------------------------ */

/* How the suite allow-lists: the marker on test_allow_listed, pytest.ini. */
static const char *
allow_listed(const char *qualname)
{
    if (strcmp(qualname, "Pool.checkout") == 0) {
        return "marker";
    }
    if (strcmp(qualname, "Audit.record") == 0) {
        return "config";
    }
    return NULL;
}

/* Whether some process had two or more tests leave objects in qualname. */
static bool
grows(const struct suite_run *sr, const char *qualname)
{
    for (size_t i = 0; i < sr->ntruth; i++) {
        int64_t pid = e2e_int(sr->truth[i], "pid", "truth");
        size_t fills = 0;
        for (size_t k = 0; k < sr->ntruth; k++) {
            int64_t n = 0;
            if (e2e_int(sr->truth[k], "pid", "truth") == pid &&
                jsonv_get_int(jsonv_get(sr->truth[k], "pinned"), qualname, &n) && n > 0) {
                fills++;
            }
        }
        if (fills >= 2) {
            return true;
        }
    }
    return false;
}

static const char *
expected_blame(const struct suite_run *sr, const char *qualname)
{
    if (allow_listed(qualname) != NULL) {
        return "allow-listed";
    }
    return grows(sr, qualname) ? "blamed" : "warm-up";
}

/*
 * Every test's record names exactly the caches its truth has objects left
 * in, with the same counts, blamed as the rules say. Returns the total
 * blamed; *ret_blamed_tests counts the tests with blamed objects.
 */
static int64_t
check_attribution(const struct suite_run *sr, size_t *ret_blamed_tests)
{
    int64_t total = 0;
    size_t blamed_tests = 0;

    for (size_t i = 0; i < sr->ntruth; i++) {
        const struct jsonv *truth = sr->truth[i];
        const char *nodeid = e2e_str(truth, "nodeid", "truth");
        const struct jsonv *pinned = jsonv_get(truth, "pinned");
        const struct jsonv *rec = test_record(sr, nodeid);
        const struct jsonv *caches = jsonv_get(rec, "caches");
        int64_t blamed = 0;
        size_t listed = 0;

        ck_assert_msg(e2e_int(rec, "pid", nodeid) == e2e_int(truth, "pid", "truth"),
                      "%s: recorded in pid %lld, ran in pid %lld", nodeid,
                      (long long)e2e_int(rec, "pid", nodeid),
                      (long long)e2e_int(truth, "pid", "truth"));
        for (size_t k = 0; k < pinned->u.obj.n; k++) {
            const char *q = pinned->u.obj.members[k].key;
            int64_t want = 0;
            const struct jsonv *row = NULL;

            (void)jsonv_get_int(pinned, q, &want);
            for (size_t c = 0; c < caches->u.arr.n; c++) {
                if (strcmp(e2e_str(&caches->u.arr.items[c], "qualname", nodeid), q) == 0) {
                    row = &caches->u.arr.items[c];
                }
            }
            if (want == 0) {
                ck_assert_msg(row == NULL, "%s: %s left nothing pinned, the record says +%lld",
                              nodeid, q, (long long)e2e_int(row, "new", nodeid));
                continue;
            }
            listed++;
            ck_assert_msg(row != NULL, "%s: left %lld objects in %s, the record does not say",
                          nodeid, (long long)want, q);
            ck_assert_msg(e2e_int(row, "new", nodeid) == want,
                          "%s: left %lld objects in %s, the record says %lld", nodeid,
                          (long long)want, q, (long long)e2e_int(row, "new", nodeid));
            const char *blame = expected_blame(sr, q);
            ck_assert_msg(strcmp(e2e_str(row, "blame", nodeid), blame) == 0,
                          "%s: %s should be %s, the report says %s", nodeid, q, blame,
                          e2e_str(row, "blame", nodeid));
            if (allow_listed(q) != NULL) {
                ck_assert_str_eq(e2e_str(row, "ignored", nodeid), allow_listed(q));
            }
            if (strcmp(blame, "blamed") == 0) {
                blamed += want;
            }
        }
        ck_assert_msg(caches->u.arr.n == listed,
                      "%s: the record names %zu caches, the test left objects in %zu", nodeid,
                      caches->u.arr.n, listed);
        ck_assert_msg(e2e_int(rec, "blamed", nodeid) == blamed,
                      "%s: %lld objects blamed, the truth says %lld", nodeid,
                      (long long)e2e_int(rec, "blamed", nodeid), (long long)blamed);
        if (blamed > 0) {
            /* The suite's only leaking test is the parametrized one. */
            ck_assert_msg(strncmp(nodeid, "test_suite.py::test_leak[", 25) == 0 ||
                              strncmp(nodeid, "test_refill.py::test_refill[", 28) == 0,
                          "%s is blamed but does not leak", nodeid);
            blamed_tests++;
        }
        total += blamed;
    }
    *ret_blamed_tests = blamed_tests;
    return total;
}

/* ---- JUnit and SARIF ------------------------------------------------------------ */

static void
check_ci_files(const struct suite_run *sr, size_t blamed_tests)
{
    char *checker = e2e_strdupf("%s/../sarif/check_ci_files.py", e2e_cfg.scenarios);
    char *schema = e2e_strdupf("%s/../sarif/sarif-schema-2.1.0.json", e2e_cfg.scenarios);
    char *argv[] = {(char *)e2e_cfg.python,   checker, schema, (char *)sr->sarif, (char *)sr->junit,
                    (char *)sr->pytest_junit, NULL};
    struct e2e_proc *p = e2e_run(argv, e2e_env(NULL), NULL, E2E_CLI_MS);

    ck_assert_msg(p->status == 0, "check_ci_files.py: %s", e2e_buf_str(&p->err));
    const struct jsonv *doc = e2e_json(e2e_buf_str(&p->out), p->out.len, "check_ci_files.py");
    const struct jsonv *junit = jsonv_get(doc, "junit");
    const struct jsonv *sarif = jsonv_get(doc, "sarif");
    size_t failures = 0;

    for (size_t i = 0; i < junit->u.arr.n; i++) {
        const struct jsonv *c = &junit->u.arr.items[i];
        const char *name = e2e_str(c, "name", "junit");
        if (!e2e_bool(c, "failure", "junit")) {
            continue;
        }
        failures++;
        /* A failing testcase is a blamed test: find its record by name. */
        const char *nodeid = e2e_strdupf(
            "%s::%s",
            strcmp(e2e_str(c, "classname", "junit"), "test_refill") == 0 ? "test_refill.py"
                                                                         : "test_suite.py",
            name);
        ck_assert_msg(e2e_int(test_record(sr, nodeid), "blamed", nodeid) > 0,
                      "JUnit fails %s, which is not blamed", nodeid);
    }
    ck_assert_msg(failures == blamed_tests, "JUnit fails %zu testcases, %zu tests are blamed",
                  failures, blamed_tests);

    /* One result per leaking cache: Leaky.compute, at its decorator. */
    ck_assert_msg(sarif->u.arr.n == 1, "SARIF has %zu results, one cache leaks", sarif->u.arr.n);
    const struct jsonv *res = &sarif->u.arr.items[0];
    const char *uri = e2e_str(res, "uri", "sarif");
    const char *suffix = "/pytest-suite/test_suite.py";
    ck_assert_str_eq(e2e_str(res, "ruleId", "sarif"), "lruleak.leak");
    ck_assert_str_eq(e2e_str(res, "level", "sarif"), "error");
    ck_assert_str_eq(e2e_str(res, "name", "sarif"), "test_suite.Leaky.compute");
    ck_assert_msg(strlen(uri) > strlen(suffix) &&
                      strcmp(uri + strlen(uri) - strlen(suffix), suffix) == 0,
                  "SARIF locates the leak in %s", uri);
    for (size_t i = 0; i < sr->ntruth; i++) {
        const struct jsonv *where = jsonv_get(jsonv_get(sr->truth[i], "where"), "Leaky.compute");
        if (where != NULL) {
            int64_t line = where->u.arr.items[1].u.num.i;
            ck_assert_msg(e2e_int(res, "startLine", "sarif") == line,
                          "SARIF puts Leaky.compute at line %lld, its decorator is at %lld",
                          (long long)e2e_int(res, "startLine", "sarif"), (long long)line);
            return;
        }
    }
    ck_abort_msg("the truth has no location for Leaky.compute");
}

/* ---- tests -------------------------------------------------------------------- */

START_TEST(pytest_blames_only_the_leaking_test)
{
    struct suite_run sr = run_suite("test_suite.py", NULL, NULL);
    size_t blamed_tests = 0;

    ck_assert_msg(sr.run->status == 0, "lruleak run exited %d: %s", sr.run->status,
                  e2e_buf_str(&sr.run->err));
    ck_assert_msg(strstr(e2e_buf_str(&sr.run->out), " passed") != NULL,
                  "pytest's own output is missing: %s", e2e_buf_str(&sr.run->out));
    int64_t total = check_attribution(&sr, &blamed_tests);
    ck_assert_msg(blamed_tests == 3 && total > 0, "%zu tests blamed for %lld objects", blamed_tests,
                  (long long)total);
    /* The text report says who leaked. */
    ck_assert_msg(strstr(e2e_buf_str(&sr.run->err), "test_suite.py::test_leak[3]") != NULL,
                  "the report does not name test_leak[3]: %s", e2e_buf_str(&sr.run->err));
    check_ci_files(&sr, blamed_tests);
}
END_TEST

START_TEST(pytest_gate_options)
{
    const char *fail_on[] = {"--fail-on", "leak", NULL};
    struct suite_run sr = run_suite("test_suite.py", fail_on, NULL);
    size_t blamed_tests = 0;
    int64_t total = check_attribution(&sr, &blamed_tests);
    const char *err = e2e_buf_str(&sr.run->err);

    ck_assert_msg(sr.run->status == 10, "run --fail-on leak exited %d, expected 10: %s",
                  sr.run->status, err);
    ck_assert_msg(strstr(err, "--fail-on leak failed") != NULL &&
                      strstr(err, "test_suite.py::test_leak[") != NULL,
                  "the gate does not say which rule and test failed: %s", err);

    char *limit = e2e_strdupf("%lld", (long long)total);
    char *below = e2e_strdupf("%lld", (long long)total - 1);
    struct {
        const char *args[6];
        int status;
        const char *says;
    } cases[] = {
        {{"--fail-on", "leak", NULL}, 10, "--fail-on leak failed"},
        {{"--fail-on", "leak", "--ignore-cache", "Leaky.*", NULL}, 0, NULL},
        {{"--fail-on", "leak", "--ignore-cache", "test_suite.Leaky.compute", NULL}, 0, NULL},
        {{"--max-pinned", limit, NULL}, 0, NULL},
        {{"--max-pinned", below, NULL}, 10, "--max-pinned"},
        /* Without the warm-up rule the singleton's first fill is blamed. */
        {{"--fail-on", "bounded", "--no-warmup", NULL}, 10, "test_singleton_first"},
        {{"--fail-on", "bounded", NULL}, 10, "test_leak["},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *argv[16];
        size_t n = 0;
        argv[n++] = (char *)e2e_cfg.cli;
        argv[n++] = "report";
        argv[n++] = (char *)sr.rec;
        for (size_t k = 0; cases[i].args[k] != NULL; k++) {
            argv[n++] = (char *)cases[i].args[k];
        }
        argv[n] = NULL;
        struct e2e_proc *p = e2e_run(argv, e2e_env_cli(NULL), NULL, E2E_CLI_MS);
        ck_assert_msg(p->status == cases[i].status, "report %s %s: exit %d, expected %d: %s",
                      cases[i].args[0], cases[i].args[1], p->status, cases[i].status,
                      e2e_buf_str(&p->err));
        if (cases[i].says != NULL) {
            ck_assert_msg(strstr(e2e_buf_str(&p->err), cases[i].says) != NULL,
                          "report %s %s does not say \"%s\": %s", cases[i].args[0],
                          cases[i].args[1], cases[i].says, e2e_buf_str(&p->err));
        }
    }
}
END_TEST

START_TEST(pytest_xdist_workers)
{
    const char *xdist[] = {"-n", "2", NULL};
    struct suite_run sr = run_suite("test_suite.py", NULL, xdist);
    size_t blamed_tests = 0, workers = 0, controllers = 0;

    ck_assert_msg(sr.run->status == 0, "lruleak run -- pytest -n 2 exited %d: %s", sr.run->status,
                  e2e_buf_str(&sr.run->err));
    check_attribution(&sr, &blamed_tests);
    ck_assert_int_eq(blamed_tests, 3);
    const struct jsonv *procs = jsonv_get(sr.report, "processes");
    for (size_t i = 0; i < procs->u.arr.n; i++) {
        const struct jsonv *p = &procs->u.arr.items[i];
        bool session = false;
        (void)jsonv_get_bool(p, "test_session", &session);
        if (!session) {
            continue;
        }
        if (jsonv_get_str(p, "worker") != NULL) {
            workers++;
            ck_assert_msg(e2e_int(p, "tests", "worker") > 0, "worker %s ran no test",
                          jsonv_get_str(p, "worker"));
        } else {
            controllers++;
            ck_assert_int_eq(e2e_int(p, "tests", "controller"), 0);
        }
    }
    ck_assert_msg(workers == 2 && controllers == 1,
                  "%zu worker and %zu controller sessions recorded, expected 2 and 1", workers,
                  controllers);
    check_ci_files(&sr, blamed_tests);
}
END_TEST

START_TEST(pytest_refill_after_cache_clear)
{
    struct suite_run sr = run_suite("test_refill.py", NULL, NULL);
    size_t blamed_tests = 0;

    ck_assert_msg(sr.run->status == 0, "lruleak run exited %d: %s", sr.run->status,
                  e2e_buf_str(&sr.run->err));
    check_attribution(&sr, &blamed_tests);
    ck_assert_int_eq(blamed_tests, sr.ntruth);
}
END_TEST

/* The plugin by hand (-p lruleak, no `run`, no LD_PRELOAD): it loads the
 * agent next to it and, with nothing recording, names the leaking tests and
 * the warm-ups in pytest's terminal summary, with the counts the suite
 * measured; allow-listed caches and clean tests are not named. */
START_TEST(pytest_plugin_by_hand)
{
    const char *truth = e2e_strdupf("%s/truth.jsonl", e2e_recdir);
    char *agent_dir = e2e_strdupf("%s", e2e_cfg.agent);
    *strrchr(agent_dir, '/') = '\0';
    const char *vars[] = {e2e_strdupf("SUITE_TRUTH=%s", truth),
                          e2e_strdupf("PYTHONPATH=%s/pytest-plugin", agent_dir), NULL};
    char *argv[] = {(char *)e2e_cfg.python,
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "lruleak",
                    e2e_strdupf("%s/test_suite.py", suite_dir()),
                    NULL};
    struct e2e_proc *p = e2e_run(argv, e2e_env(vars), NULL, 3 * E2E_CLI_MS);
    const char *out = e2e_buf_str(&p->out);
    const struct jsonv **t;
    size_t n = e2e_json_lines(e2e_read_file(truth), &t, "the suite's truth");

    ck_assert_msg(p->status == 0, "pytest -p lruleak exited %d: %s %s", p->status, out,
                  e2e_buf_str(&p->err));
    ck_assert_msg(strstr(out, "lruleak: tests that left objects pinned by lru caches") != NULL,
                  "no lruleak summary: %s", out);
    struct suite_run sr = {.truth = t, .ntruth = n};
    for (size_t i = 0; i < n; i++) {
        const char *nodeid = e2e_str(t[i], "nodeid", "truth");
        const struct jsonv *pinned = jsonv_get(t[i], "pinned");
        bool listed = false;

        for (size_t k = 0; k < pinned->u.obj.n; k++) {
            const char *q = pinned->u.obj.members[k].key;
            int64_t count = pinned->u.obj.members[k].value.u.num.i;
            const char *blame = expected_blame(&sr, q);
            char *line = NULL;

            if (count > 0 && strcmp(blame, "blamed") == 0) {
                line = e2e_strdupf("%6lld  %s  (%s +%lld)", (long long)count, nodeid, q,
                                   (long long)count);
            } else if (count > 0 && strcmp(blame, "warm-up") == 0) {
                line =
                    e2e_strdupf("warm-up, not blamed: %s (%s +%lld)", nodeid, q, (long long)count);
            }
            if (line != NULL) {
                listed = true;
                ck_assert_msg(strstr(out, line) != NULL, "the summary lacks \"%s\": %s", line, out);
            }
        }
        if (!listed) {
            ck_assert_msg(strstr(out, nodeid) == NULL, "%s is in the summary: %s", nodeid, out);
        }
    }
}
END_TEST

/* A Python program that is not pytest sees the same environment and
 * sys.path under `run` as without it. */
START_TEST(plain_python_sees_no_plugin)
{
    const char *code = "import os, sys; print(os.environ.get('PYTHONPATH'), "
                       "os.environ.get('PYTEST_PLUGINS'), sys.path[1:])";
    const char *vars[] = {"PYTHONPATH=/nonexistent/a", NULL};
    char *plain[] = {(char *)e2e_cfg.python, "-c", (char *)code, NULL};
    char *under[] = {(char *)e2e_cfg.cli,
                     "run",
                     "--output",
                     e2e_strdupf("%s/plain.jsonl", e2e_recdir),
                     "--",
                     (char *)e2e_cfg.python,
                     "-c",
                     (char *)code,
                     NULL};
    struct e2e_proc *a = e2e_run(plain, e2e_env_cli(vars), NULL, E2E_CLI_MS);
    struct e2e_proc *b = e2e_run(under, e2e_env_cli(vars), NULL, E2E_CLI_MS);

    ck_assert_int_eq(a->status, 0);
    ck_assert_int_eq(b->status, 0);
    ck_assert_msg(strcmp(e2e_buf_str(&a->out), e2e_buf_str(&b->out)) == 0,
                  "python -c sees %s under run, %s without", e2e_buf_str(&b->out),
                  e2e_buf_str(&a->out));
}
END_TEST

static Suite *
pytest_suite(void)
{
    Suite *s = suite_create("e2e-pytest");
    TCase *tc = e2e_tcase("pytest");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, pytest_blames_only_the_leaking_test);
    tcase_add_test(tc, pytest_gate_options);
    tcase_add_test(tc, pytest_xdist_workers);
    tcase_add_test(tc, pytest_refill_after_cache_clear);
    tcase_add_test(tc, pytest_plugin_by_hand);
    tcase_add_test(tc, plain_python_sees_no_plugin);
    suite_add_tcase(s, tc);
    return s;
}

/* 0 when $PYTHON imports pytest, xdist and jsonschema. */
static int
python_has_modules(const char *python)
{
    char *argv[] = {(char *)python, "-c", "import pytest, xdist, jsonschema", NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = 0;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid, python, &fa, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status) == 0 ? 0 : -1;
}

int
main(void)
{
    const char *python = getenv("PYTHON");

    if (python != NULL && python[0] != '\0' && python_has_modules(python) < 0) {
        fprintf(stderr,
                "SKIP: %s lacks pytest, pytest-xdist or jsonschema (Debian: "
                "python3-pytest python3-pytest-xdist python3-jsonschema)\n",
                python);
        return 77;
    }
    return e2e_main(pytest_suite);
}
