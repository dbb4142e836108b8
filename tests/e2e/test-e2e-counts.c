/* SPDX-License-Identifier: MIT */
/*
 * test-e2e-counts: the agent's numbers against each program's own truth.
 *
 * Every test starts one victim from tests/scenarios/ under the agent, takes
 * snapshots through the socket and through `lruleak snapshot --format json`
 * after READY (full ones, then a plain one; see e2e_truth_check), then lets
 * the victim compute its truth (e2e_truth.py: it clears its caches and
 * counts which of its weakly referenced objects die) and compares every row
 * (e2e_check_truth). No expected number is written
 * here: the assertions on the truth below only make sure each scenario
 * really contains what it is meant to exercise, so a test cannot pass
 * vacuously.
 */
#include "config.h"

#include <string.h>

#include "e2e-helpers.h"

static const struct jsonv *
truth_row(const struct jsonv *truth, const char *qualname)
{
    const struct jsonv *t = jsonv_get(truth, qualname);
    ck_assert_msg(jsonv_is(t, JSONV_OBJECT), "the truth has no row %s", qualname);
    return t;
}

static int64_t
truth_int(const struct jsonv *truth, const char *qualname, const char *key)
{
    return e2e_int(truth_row(truth, qualname), key, qualname);
}

/* The row pins some but not all of its selves. */
static void
assert_partly_pinned(const struct jsonv *truth, const char *qualname)
{
    int64_t pinned = truth_int(truth, qualname, "pinned");
    int64_t selves = truth_int(truth, qualname, "selves");
    ck_assert_msg(pinned > 0 && pinned < selves,
                  "scenario broken: %s should pin some of its %lld selves, pins %lld", qualname,
                  (long long)selves, (long long)pinned);
}

START_TEST(counts_seed)
{
    const struct jsonv *truth = e2e_truth_scenario("seed_truth.py", NULL);

    assert_partly_pinned(truth, "SlowAdder.calculate");
    assert_partly_pinned(truth, "SlowAdder.scaled");
    ck_assert_int_gt(truth_int(truth, "FixedAdder._calculate", "wrappers"), 1);
    ck_assert_int_gt(truth_int(truth, "FixedAdder._calculate", "entries"), 0);
    ck_assert_int_gt(truth_int(truth, "Config.load", "entries"), 0);
    ck_assert_int_gt(truth_int(truth, "Config.parse", "entries"), 0);
    ck_assert_int_eq(truth_int(truth, "NeverCalled.idle", "entries"), 0);
}
END_TEST

START_TEST(counts_bounded_vs_unbounded)
{
    const struct jsonv *truth = e2e_truth_scenario("bounded.py", NULL);

    assert_partly_pinned(truth, "Item.small");
    assert_partly_pinned(truth, "Item.big");
    ck_assert_int_lt(truth_int(truth, "Item.small", "selves"),
                     truth_int(truth, "Item.big", "selves"));
}
END_TEST

START_TEST(counts_live_instances_not_pinned)
{
    const struct jsonv *truth = e2e_truth_scenario("live.py", NULL);

    assert_partly_pinned(truth, "Node.key");
    ck_assert_int_gt(truth_int(truth, "Color.shade", "selves"), 0);
    ck_assert_int_eq(truth_int(truth, "Color.shade", "pinned"), 0);
}
END_TEST

START_TEST(counts_function_closure_and_dynamic_classes)
{
    const struct jsonv *truth = e2e_truth_scenario("shapes.py", NULL);

    assert_partly_pinned(truth, "render");
    assert_partly_pinned(truth, "make_pipeline.<locals>.stage");
    assert_partly_pinned(truth, "Dyn.compute");
    assert_partly_pinned(truth, "patched_lookup");
}
END_TEST

START_TEST(counts_cycles_and_own_results)
{
    const struct jsonv *truth = e2e_truth_scenario("cycles.py", NULL);

    assert_partly_pinned(truth, "Selfish.get");
    assert_partly_pinned(truth, "Caller.run");
    assert_partly_pinned(truth, "Builder.build");
    assert_partly_pinned(truth, "Builder.pair");
    assert_partly_pinned(truth, "Builder.listed");
}
END_TEST

/* Issue 13: the only way in is a class-level cache; the cycle runs through
 * per-instance wrappers (in __dict__ and slots), partials and closures. */
START_TEST(counts_cycles_through_instance_state)
{
    const struct jsonv *truth = e2e_truth_scenario("instcycles.py", NULL);
    static const char *const rows[] = {
        "Resolver.subschemas",
        "Resolver.find_in_subschemas",
        "Slotted.tag",
        "Partial.label",
        "Closure.value",
        "Multi.a",
        "Multi.b",
        "Multi.c",
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_partly_pinned(truth, rows[i]);
    }
    ck_assert_int_gt(truth_int(truth, "Resolver.resolve_from_url", "wrappers"), 1);
    ck_assert_int_gt(truth_int(truth, "Slotted._find", "wrappers"), 1);
    ck_assert_int_gt(truth_int(truth, "Point.norm", "entries"), 0);
    ck_assert_int_eq(truth_int(truth, "Point.norm", "selves"), 0);
    /* retained_bytes is checked against what the per-instance caches hold. */
    ck_assert_int_gt(truth_int(truth, "Resolver.subschemas", "pinned_bytes"),
                     truth_int(truth, "Resolver.subschemas", "pinned") * 20000 - 1);
}
END_TEST

START_TEST(counts_several_caches_one_instance)
{
    const struct jsonv *truth = e2e_truth_scenario("several.py", NULL);

    assert_partly_pinned(truth, "Doc.title");
    assert_partly_pinned(truth, "Doc.words");
    assert_partly_pinned(truth, "summarize");
}
END_TEST

START_TEST(counts_keyword_self_and_typed)
{
    const struct jsonv *truth = e2e_truth_scenario("keys.py", NULL);

    assert_partly_pinned(truth, "Account.balance");
    assert_partly_pinned(truth, "Account.rate");
    ck_assert(e2e_bool(truth_row(truth, "Account.rate"), "typed", "truth"));
    assert_partly_pinned(truth, "Same.tag");
    ck_assert_int_gt(truth_int(truth, "marker", "selves"), 0);
    ck_assert_int_eq(truth_int(truth, "marker", "pinned"), 0);
    ck_assert_int_gt(truth_int(truth, "subscribe", "pinned"), 0);
}
END_TEST

START_TEST(counts_object_graph)
{
    const struct jsonv *truth = e2e_truth_scenario("graph.py", NULL);

    assert_partly_pinned(truth, "Part.spec");
    assert_partly_pinned(truth, "compile_handler");
    ck_assert_int_gt(truth_int(truth, "Slotted.weight", "pinned"), 0);
    ck_assert_int_gt(truth_int(truth, "Factory.make", "selves"), 0);
    ck_assert_int_eq(truth_int(truth, "Factory.make", "pinned"), 0);
    assert_partly_pinned(truth, "Part.area");
    assert_partly_pinned(truth, "Part.parse");
    assert_partly_pinned(truth, "Index._find");
    ck_assert_int_gt(truth_int(truth, "Part.variant", "entries"), 0);
    ck_assert_int_eq(truth_int(truth, "Part.variant", "selves"), 0);
}
END_TEST

START_TEST(counts_after_gc_freeze)
{
    const struct jsonv *truth = e2e_truth_scenario("frozen.py", NULL);

    assert_partly_pinned(truth, "Session.token");
    assert_partly_pinned(truth, "lookup_session");
}
END_TEST

/* Frozen wrappers that are not in a class or module dict. */
START_TEST(counts_after_gc_freeze_heap_wrappers)
{
    char *args[] = {"heap", NULL};
    const struct jsonv *truth = e2e_truth_scenario("frozen.py", args);

    assert_partly_pinned(truth, "Session.token");
    assert_partly_pinned(truth, "make_router.<locals>.route");
    ck_assert_int_gt(truth_int(truth, "Handler._handle", "wrappers"), 1);
}
END_TEST

START_TEST(counts_retained_bytes)
{
    const struct jsonv *truth = e2e_truth_scenario("retained.py", NULL);

    assert_partly_pinned(truth, "Blob.digest");
    ck_assert_int_gt(truth_int(truth, "Blob.digest", "pinned_bytes"),
                     truth_int(truth, "Blob.digest", "pinned") * 100000 - 1);
}
END_TEST

/*
 * `lruleak snapshot PID` without --full, the way a user runs it, on caches
 * that only a heap walk finds (per-instance and closure caches created
 * after the agent's first sample).
 */
START_TEST(counts_plain_snapshot_finds_late_wrappers)
{
    char **env = e2e_env_agent("0.05", NULL);
    struct e2e_proc *v = e2e_victim(env, "late.py", NULL);
    e2e_wait_agent(v);
    const struct jsonv *truth = e2e_truth_check(v, false);

    assert_partly_pinned(truth, "make_cache.<locals>.lookup");
    ck_assert_int_gt(truth_int(truth, "Widget._render", "wrappers"), 1);
}
END_TEST

static Suite *
counts_suite(void)
{
    Suite *s = suite_create("e2e-counts");
    TCase *tc = e2e_tcase("truth");

    tcase_add_test(tc, counts_seed);
    tcase_add_test(tc, counts_bounded_vs_unbounded);
    tcase_add_test(tc, counts_live_instances_not_pinned);
    tcase_add_test(tc, counts_function_closure_and_dynamic_classes);
    tcase_add_test(tc, counts_cycles_and_own_results);
    tcase_add_test(tc, counts_cycles_through_instance_state);
    tcase_add_test(tc, counts_several_caches_one_instance);
    tcase_add_test(tc, counts_keyword_self_and_typed);
    tcase_add_test(tc, counts_object_graph);
    tcase_add_test(tc, counts_after_gc_freeze);
    tcase_add_test(tc, counts_after_gc_freeze_heap_wrappers);
    tcase_add_test(tc, counts_retained_bytes);
    suite_add_tcase(s, tc);

    tc = e2e_tcase("plain-snapshot");
    tcase_add_test(tc, counts_plain_snapshot_finds_late_wrappers);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return e2e_main(counts_suite);
}
