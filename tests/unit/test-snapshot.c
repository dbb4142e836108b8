/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>

#include <string.h>

#include "check-helpers.h"
#include "jsonv.h"
#include "snapshot.h"

START_TEST(snapshot_verdict_table)
{
    static const struct {
        int64_t pinned, maxsize;
        const char *verdict;
    } rows[] = {
        {0, -1, "ok"},     {0, 128, "ok"},      {5, -1, "leak"},
        {5, 0, "bounded"}, {1, 128, "bounded"}, {-1, -1, "ok"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct snapshot_cache c = {.pinned = rows[i].pinned, .maxsize = rows[i].maxsize};
        ck_assert_str_eq(snapshot_verdict(&c), rows[i].verdict);
    }
}
END_TEST

START_TEST(snapshot_sort_by_pinned_then_entries)
{
    struct snapshot s;
    snapshot_init(&s);
    snapshot_add(&s, "b", "m", NULL)->entries = 10;
    struct snapshot_cache *c = snapshot_add(&s, "a", "m", "/f.py");
    c->pinned = 3;
    snapshot_add(&s, "c", "m", NULL)->entries = 20;
    snapshot_sort(&s);
    ck_assert_str_eq(s.caches[0].qualname, "a");
    ck_assert_str_eq(s.caches[1].qualname, "c");
    ck_assert_str_eq(s.caches[2].qualname, "b");
    snapshot_done(&s);
}
END_TEST

START_TEST(snapshot_json_has_contract_fields)
{
    struct snapshot s;
    struct jsonw w;
    const struct jsonv *root = NULL;
    char err[128];

    snapshot_init(&s);
    s.pid = 42;
    s.seq = 3;
    s.t = 1.5;
    struct snapshot_cache *c = snapshot_add(&s, "SlowAdder.calculate", "__main__", "/a.py");
    c->line = 12;
    c->kind = SNAPSHOT_METHOD;
    c->entries = 50;
    c->selves = 50;
    c->pinned = 49;
    c->retained_bytes = 1234;
    c->wrappers = 1;
    snapshot_add(&s, "empty", "m", NULL); /* entries 0: left out */
    jsonw_init(&w);
    snapshot_write_json(&s, &w);
    ck_assert_int_eq(w.err, 0);
    ck_assert_int_eq(jsonv_parse(w.buf, w.len, &root, err, sizeof(err)), 0);
    ck_assert_str_eq(jsonv_get_str(root, "type"), "sample");
    const struct jsonv *caches = jsonv_get(root, "caches");
    ck_assert(jsonv_is(caches, JSONV_ARRAY));
    ck_assert_uint_eq(caches->u.arr.n, 1);
    const struct jsonv *row = &caches->u.arr.items[0];
    static const char *fields[] = {"qualname",       "module",  "file",     "line",
                                   "kind",           "maxsize", "typed",    "entries",
                                   "hits",           "misses",  "selves",   "pinned",
                                   "retained_bytes", "verdict", "wrappers", "self_only"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        ck_assert_msg(jsonv_get(row, fields[i]) != NULL, "missing %s", fields[i]);
    }
    ck_assert_str_eq(jsonv_get_str(row, "verdict"), "leak");
    ck_assert(jsonv_is(jsonv_get(row, "maxsize"), JSONV_NULL));
    int64_t v;
    ck_assert(jsonv_get_int(row, "pinned", &v) && v == 49);
    jsonv_free(root);
    jsonw_done(&w);
    snapshot_done(&s);
}
END_TEST

/* What the writer writes, the reader reads back, field for field. */
START_TEST(snapshot_reads_back_what_it_writes)
{
    struct snapshot s;
    struct jsonw w;
    const struct jsonv *root = NULL;
    char err[128];

    snapshot_init(&s);
    s.pid = 4242;
    s.seq = 9;
    s.t = 2.25;
    s.final = true;
    s.scan_ms = 3.5;
    s.scan_cpu_ms = 3.25;
    s.max_gil_hold_ms = 1.5;
    s.agent_mem_bytes = 65536;
    s.wrappers = 7;
    s.cached_method = true;
    struct snapshot_cache *c = snapshot_add(&s, "Repo.lookup", "app.repo", "/srv/app/repo.py");
    c->line = 40;
    c->kind = SNAPSHOT_METHOD;
    c->maxsize = 128;
    c->typed = true;
    c->self_only = true;
    c->entries = 128;
    c->hits = 1000;
    c->misses = 900;
    c->selves = 64;
    c->pinned = 60;
    c->retained_bytes = 123456;
    c->wrappers = 2;
    jsonw_init(&w);
    snapshot_write_json(&s, &w);
    ck_assert_int_eq(jsonv_parse(w.buf, w.len, &root, err, sizeof(err)), 0);

    struct snapshot_view v;
    ck_assert_int_eq(snapshot_read(root, "sample", &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v.pid, 4242);
    ck_assert_int_eq(v.seq, 9);
    ck_assert(v.t == 2.25 && v.final && !v.truncated);
    ck_assert(v.scan_ms == 3.5 && v.scan_cpu_ms == 3.25 && v.max_gil_hold_ms == 1.5);
    ck_assert_int_eq(v.agent_mem_bytes, 65536);
    ck_assert_int_eq(v.wrappers, 7);
    ck_assert_int_eq(v.cached_method, 1);
    ck_assert_uint_eq(v.caches->u.arr.n, 1);

    struct snapshot_row_view r;
    ck_assert_int_eq(snapshot_read_row(&v.caches->u.arr.items[0], 0, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.qualname, "Repo.lookup");
    ck_assert_str_eq(r.module, "app.repo");
    ck_assert_str_eq(r.file, "/srv/app/repo.py");
    ck_assert_str_eq(r.kind, "method");
    ck_assert_str_eq(r.verdict, "bounded");
    ck_assert_int_eq(r.line, 40);
    ck_assert_int_eq(r.maxsize, 128);
    ck_assert(r.typed && r.self_only);
#define SAME_COUNT(name) ck_assert_int_eq(r.name, c->name);
    SNAPSHOT_CACHE_COUNTS(SAME_COUNT)
#undef SAME_COUNT
    jsonv_free(root);
    jsonw_done(&w);
    snapshot_done(&s);

    /* The reader's refusals: one line each. */
    static const struct {
        const char *row, *why;
    } bad[] = {
        {"[]", "is not an object"},
        {"{\"module\":\"m\"}", "has no \"qualname\""},
        {"{\"qualname\":\"q\",\"pinned\":-1}", "\"pinned\" is not a count"},
        {"{\"qualname\":\"q\",\"entries\":1.5}", "\"entries\" is not a count"},
        {"{\"qualname\":\"q\",\"selves\":9007199254740993}", "\"selves\" is not a count"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(jsonv_parse(bad[i].row, strlen(bad[i].row), &root, err, sizeof(err)), 0);
        ck_assert_int_eq(snapshot_read_row(root, 3, &r, err, sizeof(err)), -EINVAL);
        ck_assert_msg(strstr(err, bad[i].why) != NULL, "%s: \"%s\"", bad[i].row, err);
        jsonv_free(root);
    }
}
END_TEST

Suite *
snapshot_suite(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("rows");
    tcase_add_test(tc, snapshot_verdict_table);
    tcase_add_test(tc, snapshot_sort_by_pinned_then_entries);
    tcase_add_test(tc, snapshot_json_has_contract_fields);
    tcase_add_test(tc, snapshot_reads_back_what_it_writes);
    suite_add_tcase(s, tc);
    return s;
}
