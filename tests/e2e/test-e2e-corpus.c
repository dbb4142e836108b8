/* SPDX-License-Identifier: MIT */
/*
 * test-e2e-corpus: real libraries installed from Debian (python3-*), driven
 * through their public API by the victims scenarios/corpus_*.py, under the
 * agent. Each victim registers every live lru_cache wrapper of the library
 * and tracks the first arguments of their keys with weak references
 * (corpus_truth.py), then prints the truth of e2e_truth.py: clear the
 * caches, gc.collect(), count what died. Every row is compared with the
 * agent's through the socket and `lruleak snapshot` (e2e_truth_check). The
 * assertions here only make sure each library really shows what it is
 * there for (pinned instances, per-instance caches), so that a test cannot
 * pass vacuously, e.g. after a library upgrade that drops its caches.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e-helpers.h"

static const struct jsonv *
row(const struct jsonv *truth, const char *qualname)
{
    const struct jsonv *t = jsonv_get(truth, qualname);
    ck_assert_msg(jsonv_is(t, JSONV_OBJECT), "the truth has no row %s", qualname);
    return t;
}

static int64_t
num(const struct jsonv *truth, const char *qualname, const char *key)
{
    return e2e_int(row(truth, qualname), key, qualname);
}

static void
assert_partly_pinned(const struct jsonv *truth, const char *qualname)
{
    int64_t pinned = num(truth, qualname, "pinned");
    int64_t selves = num(truth, qualname, "selves");
    ck_assert_msg(pinned > 0 && pinned < selves,
                  "scenario broken: %s should pin some of its %lld selves, pins %lld", qualname,
                  (long long)selves, (long long)pinned);
}

/* A per-instance cache with one wrapper per live instance. */
static void
assert_per_instance(const struct jsonv *truth, const char *qualname)
{
    const char *kind = jsonv_get_str(row(truth, qualname), "kind");
    ck_assert_msg(kind != NULL && strcmp(kind, "per-instance") == 0, "%s: kind %s", qualname,
                  kind != NULL ? kind : "(none)");
    ck_assert_int_gt(num(truth, qualname, "wrappers"), 1);
    ck_assert_int_gt(num(truth, qualname, "entries"), 0);
}

/* jsonschema's RefResolver: class-level caches key resolvers, each of which
 * owns a per-instance cache around its bound method (issue 13). */
START_TEST(corpus_jsonschema)
{
    const struct jsonv *truth = e2e_truth_scenario("corpus_jsonschema.py", NULL);

    assert_partly_pinned(truth, "RefResolver._get_subschemas_cache");
    assert_partly_pinned(truth, "RefResolver._find_in_subschemas");
    assert_per_instance(truth, "RefResolver.resolve_from_url");
}
END_TEST

START_TEST(corpus_pygments)
{
    const struct jsonv *truth = e2e_truth_scenario("corpus_pygments.py", NULL);

    assert_partly_pinned(truth, "HtmlFormatter._translate_parts");
}
END_TEST

START_TEST(corpus_rich)
{
    const struct jsonv *truth = e2e_truth_scenario("corpus_rich.py", NULL);

    assert_partly_pinned(truth, "ProgressBar._get_pulse_segments");
    ck_assert_int_gt(num(truth, "Color.parse", "entries"), 0);
    ck_assert_int_eq(num(truth, "Color.parse", "pinned"), 0);
}
END_TEST

START_TEST(corpus_jwt)
{
    const struct jsonv *truth = e2e_truth_scenario("corpus_jwt.py", NULL);

    assert_partly_pinned(truth, "verified_claims");
    assert_per_instance(truth, "PyJWKClient.get_signing_key");
}
END_TEST

START_TEST(corpus_arrow)
{
    const struct jsonv *truth = e2e_truth_scenario("corpus_arrow.py", NULL);

    assert_partly_pinned(truth, "Feed.stamp");
    assert_per_instance(truth, "DateTimeParser._generate_pattern_re");
}
END_TEST

static Suite *
corpus_suite(void)
{
    Suite *s = suite_create("e2e-corpus");
    TCase *tc = e2e_tcase("debian");

    tcase_add_test(tc, corpus_jsonschema);
    tcase_add_test(tc, corpus_pygments);
    tcase_add_test(tc, corpus_rich);
    tcase_add_test(tc, corpus_jwt);
    tcase_add_test(tc, corpus_arrow);
    suite_add_tcase(s, tc);
    return s;
}

/* Can PYTHON import the corpus's libraries? 0 yes, 1 no, -1 could not run. */
static int
probe_libraries(const char *python, const char *targets)
{
    static const char code[] = "import corpus_truth, jsonschema, pygments, rich, jwt, arrow";
    pid_t pid = fork();
    int status;

    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, STDERR_FILENO); /* an ImportError's traceback */
        }
        if (chdir(targets) == 0) {
            execl(python, python, "-c", code, (char *)NULL);
        }
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid) {
        return -1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int
main(void)
{
    const char *python = getenv("PYTHON"), *targets = getenv("E2E_SCENARIOS");
    const char *required = getenv("E2E_CORPUS_REQUIRED");

    if (python != NULL && *python != '\0' && targets != NULL && access(python, X_OK) == 0 &&
        probe_libraries(python, targets) != 0) {
        if (required != NULL && strcmp(required, "1") == 0) {
            fprintf(stderr,
                    "e2e-corpus: %s cannot import the corpus's libraries "
                    "(scripts/setup.sh installs them)\n",
                    python);
            return 1;
        }
        fprintf(stderr, "e2e-corpus: %s cannot import the corpus's libraries: skipping\n", python);
        return 77;
    }
    return e2e_main(corpus_suite);
}
