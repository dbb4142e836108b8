/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the CLI report model (cli/report/report.c) and its two renderers
 * (report-text.c, report-json.c): recording lines go in through
 * report_read_file, and we check the model (processes, exec generations,
 * row identity across samples, latest fields, first appearance, series),
 * the key parts of the text report (order, location, counts, growth, the
 * fix for each kind) and of the JSON report (parsed back with jsonv), and
 * that corrupt input is rejected with its line number.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-helpers.h"
#include "jsonv.h"
#include "report.h"

/* ---- fixture ---------------------------------------------------------------- */

#define SEED "\"module\":\"__main__\",\"file\":\"/abs/seed.py\""
#define CACHE(q, line, kind, maxsize, entries, selves, pinned, bytes, verdict, self_only)          \
    "{\"qualname\":\"" q "\"," SEED ",\"line\":" #line ",\"kind\":\"" kind                         \
    "\",\"maxsize\":" maxsize ",\"typed\":false,\"entries\":" #entries                             \
    ",\"hits\":1,\"misses\":2,\"selves\":" #selves ",\"pinned\":" #pinned                          \
    ",\"retained_bytes\":" #bytes ",\"verdict\":\"" verdict                                        \
    "\",\"wrappers\":1,\"self_only\":" self_only "}"

/* Three samples of the seed program, a child process, an unknown record
 * type and a refused interpreter. Cache rows appear in a different order
 * in each sample; Temp.value is absent from the last one. */
/* clang-format off */
static const char fixture[] =
    "{\"type\":\"process\",\"pid\":100,\"ppid\":1,\"python\":\"3.11.2\","
    "\"argv\":[\"python3\",\"seed.py\"],\"start\":1763900000.25,\"lruleak_version\":\"0.1.0\"}\n"
    "{\"type\":\"sample\",\"pid\":100,\"seq\":1,\"t\":0.5,\"final\":false,\"wrappers\":7,"
    "\"truncated\":false,\"scan_ms\":1.5,\"caches\":["
    CACHE("SlowAdder.calculate", 18, "method", "null", 20, 10, 10, 1000, "leak", "false") ","
    CACHE("Temp.value", 50, "method", "null", 1, 1, 1, 10, "leak", "false") "]}\n"
    "\n"
    "{\"type\":\"future-record\",\"pid\":100,\"whatever\":[1,2,3]}\n"
    "{\"type\":\"sample\",\"pid\":100,\"seq\":2,\"t\":30.5,\"final\":false,\"wrappers\":7,"
    "\"truncated\":false,\"scan_ms\":2.5,\"caches\":["
    CACHE("Config.parse", 45, "staticmethod", "32", 10, 0, 0, 0, "ok", "false") ","
    CACHE("Temp.value", 50, "method", "null", 2, 2, 2, 20, "leak", "false") ","
    CACHE("SlowAdder.calculate", 18, "method", "null", 40, 20, 20, 2000, "leak", "false") "]}\n"
    "{\"type\":\"process\",\"pid\":200,\"ppid\":100,\"python\":\"3.11.2\","
    "\"argv\":[\"python3\",\"-c\",\"import worker\"]}\n"
    "{\"type\":\"sample\",\"pid\":200,\"seq\":1,\"t\":0.2,\"final\":true,\"wrappers\":1,"
    "\"truncated\":false,\"caches\":["
    CACHE("lookup", 7, "function", "null", 5, 0, 5, 320, "leak", "false") "]}\n"
    "{\"type\":\"sample\",\"pid\":100,\"seq\":3,\"t\":60.5,\"final\":true,\"wrappers\":8,"
    "\"truncated\":false,\"scan_ms\":0.5,\"caches\":["
    CACHE("SlowAdder.calculate", 18, "method", "null", 60, 30, 30, 3000, "leak", "false") ","
    CACHE("SlowAdder.scaled", 22, "method", "16", 16, 16, 16, 1600, "bounded", "false") ","
    CACHE("Report.total", 60, "method", "null", 3, 3, 3, 300, "leak", "true") ","
    CACHE("Config.parse", 45, "staticmethod", "32", 10, 0, 0, 0, "ok", "false") "]}\n"
    "{\"type\":\"refused\",\"pid\":300,\"reason\":\"Python 2.7 is not supported\"}\n";
/* clang-format on */

static struct report *
load(const char *text, unsigned flags)
{
    struct report *r = report_new(flags);
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    char err[256] = "";

    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(f);
    if (report_read_file(r, f, "fixture", err, sizeof(err)) != 0) {
        ck_abort_msg("loading the fixture failed: %s", err);
    }
    fclose(f);
    return r;
}

static struct report_cache *
find_row(const struct report_process *p, const char *qualname)
{
    for (size_t i = 0; i < p->ncaches; i++) {
        if (strcmp(p->caches[i]->qualname, qualname) == 0) {
            return p->caches[i];
        }
    }
    return NULL;
}

/* Render into a malloc'ed string. */
static char *
render(const struct report *r, bool json, const struct report_text_opts *opts)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    if (json) {
        ck_assert_int_eq(report_write_json(r, f), 0);
    } else {
        ck_assert_int_eq(report_write_text(r, f, opts), 0);
    }
    fclose(f);
    return buf;
}

/* ---- model ------------------------------------------------------------------ */

START_TEST(report_builds_processes)
{
    struct report *r = load(fixture, 0);
    struct report_process *p;

    ck_assert_uint_eq(r->nprocs, 3);
    p = report_find_process(r, 100);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->ppid, 1);
    ck_assert_str_eq(p->python, "3.11.2");
    ck_assert_uint_eq(p->argc, 2);
    ck_assert_str_eq(p->argv[1], "seed.py");
    ck_assert_uint_eq(p->samples, 3);
    ck_assert(p->first_t == 0.5);
    ck_assert(p->last_t == 60.5);
    ck_assert(p->final);
    ck_assert_int_eq(p->wrappers, 8);
    ck_assert(p->scan_ms_max == 2.5);

    p = report_find_process(r, 200);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->ppid, 100);
    ck_assert_uint_eq(p->samples, 1);

    p = report_find_process(r, 300);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->refused, "Python 2.7 is not supported");
    ck_assert_uint_eq(p->samples, 0);
    ck_assert_ptr_null(report_find_process(r, 400));
    report_free(r);
}
END_TEST

START_TEST(report_tracks_rows_across_samples)
{
    struct report *r = load(fixture, 0);
    struct report_process *p = report_find_process(r, 100);
    struct report_cache *c;

    /* calculate, value, parse, scaled, total: one row each, whatever the
     * order they came in. */
    ck_assert_uint_eq(p->ncaches, 5);
    c = find_row(p, "SlowAdder.calculate");
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->module, "__main__");
    ck_assert_str_eq(c->file, "/abs/seed.py");
    ck_assert_int_eq(c->line, 18);
    ck_assert_str_eq(c->kind, "method");
    ck_assert_int_eq(c->maxsize, -1);
    ck_assert_int_eq(c->entries, 60);
    ck_assert_int_eq(c->selves, 30);
    ck_assert_int_eq(c->pinned, 30);
    ck_assert_int_eq(c->retained_bytes, 3000);
    ck_assert_int_eq(c->hits, 1);
    ck_assert_int_eq(c->misses, 2);
    ck_assert_int_eq(c->verdict, REPORT_VERDICT_LEAK);
    ck_assert_int_eq(c->first_pinned, 10);
    ck_assert_int_eq(c->first_retained, 1000);
    ck_assert(c->first_t == 0.5 && c->last_t == 60.5);
    ck_assert(report_cache_present(p, c));
    ck_assert_uint_eq(c->nseries, 3);
    ck_assert(c->series[0].t == 0.5 && c->series[0].pinned == 10 && c->series[0].entries == 20);
    ck_assert(c->series[2].t == 60.5 && c->series[2].pinned == 30 && c->series[2].selves == 30);

    /* Seen in the first two samples only. */
    c = find_row(p, "Temp.value");
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->nseries, 2);
    ck_assert(!report_cache_present(p, c));

    c = find_row(p, "SlowAdder.scaled");
    ck_assert_int_eq(c->maxsize, 16);
    ck_assert_int_eq(c->verdict, REPORT_VERDICT_BOUNDED);
    ck_assert_uint_eq(c->nseries, 1);
    c = find_row(p, "Report.total");
    ck_assert(c->self_only);
    report_free(r);
}
END_TEST

START_TEST(report_no_series_keeps_first_and_last)
{
    struct report *r = load(fixture, REPORT_NO_SERIES);
    struct report_cache *c = find_row(report_find_process(r, 100), "SlowAdder.calculate");

    ck_assert_uint_eq(c->nseries, 0);
    ck_assert_int_eq(c->first_pinned, 10);
    ck_assert_int_eq(c->pinned, 30);
    report_free(r);
}
END_TEST

START_TEST(report_identity_includes_every_key_field)
{
    /* Same qualname, different line / kind / module / file: four rows. */
    static const char text[] =
        "{\"type\":\"sample\",\"pid\":5,\"t\":1,\"caches\":["
        "{\"qualname\":\"f\",\"module\":\"m\",\"file\":\"/a.py\",\"line\":1,\"kind\":\"function\"},"
        "{\"qualname\":\"f\",\"module\":\"m\",\"file\":\"/a.py\",\"line\":2,\"kind\":\"function\"},"
        "{\"qualname\":\"f\",\"module\":\"m\",\"file\":\"/a.py\",\"line\":1,\"kind\":\"method\"},"
        "{\"qualname\":\"f\",\"module\":\"n\",\"file\":\"/a.py\",\"line\":1,\"kind\":\"function\"},"
        "{\"qualname\":\"f\",\"module\":\"m\",\"file\":\"/b.py\",\"line\":1,\"kind\":\"function\"}"
        "]}\n";
    struct report *r = load(text, 0);
    struct report_process *p = report_find_process(r, 5);

    /* A sample without a process line is accepted. */
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->ppid, -1);
    ck_assert_ptr_null(p->python);
    ck_assert_uint_eq(p->ncaches, 5);
    report_free(r);
}
END_TEST

START_TEST(report_exec_starts_a_new_generation)
{
    /* An exec keeps the pid; the new agent writes a new process line. */
    static const char text[] =
        "{\"type\":\"process\",\"pid\":9,\"argv\":[\"sh\",\"-c\",\"exec python3 b.py\"]}\n"
        "{\"type\":\"sample\",\"pid\":9,\"t\":1,\"caches\":[]}\n"
        "{\"type\":\"process\",\"pid\":9,\"argv\":[\"python3\",\"b.py\"]}\n"
        "{\"type\":\"sample\",\"pid\":9,\"t\":2,\"caches\":[]}\n"
        "{\"type\":\"sample\",\"pid\":9,\"t\":3,\"caches\":[]}\n";
    struct report *r = load(text, 0);
    struct report_process *p;

    ck_assert_uint_eq(r->nprocs, 2);
    ck_assert_uint_eq(r->procs[0]->samples, 1);
    p = report_find_process(r, 9);
    ck_assert_ptr_eq(p, r->procs[1]);
    ck_assert_str_eq(p->argv[1], "b.py");
    ck_assert_uint_eq(p->samples, 2);
    report_free(r);
}
END_TEST

START_TEST(report_many_rows_and_processes)
{
    /* Enough rows and pids to make both hash tables grow several times. */
    struct report *r = report_new(0);
    char line[256], err[128];

    for (int s = 0; s < 3; s++) {
        for (int pid = 1; pid <= 40; pid++) {
            int n = snprintf(line, sizeof(line),
                             "{\"type\":\"sample\",\"pid\":%d,\"t\":%d,"
                             "\"caches\":[",
                             pid, s);
            for (int k = 0; k < 3; k++) {
                n += snprintf(line + n, sizeof(line) - (size_t)n,
                              "%s{\"qualname\":\"q%d\",\"line\":%d,\"entries\":%d}", k ? "," : "",
                              (s * 3 + k) % 50, pid, s);
            }
            snprintf(line + n, sizeof(line) - (size_t)n, "]}");
            ck_assert_int_eq(report_feed_line(r, line, strlen(line), err, sizeof(err)), 0);
        }
    }
    ck_assert_uint_eq(r->nprocs, 40);
    for (int pid = 1; pid <= 40; pid++) {
        struct report_process *p = report_find_process(r, pid);

        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(p->ncaches, 9);
        ck_assert_uint_eq(p->samples, 3);
    }
    report_free(r);
}
END_TEST

/* ---- corrupt input ------------------------------------------------------------ */

static const struct {
    const char *line;
    const char *why;
} corrupt[] = {
    {"{\"type\":\"sample\",\"pid\":1,", "invalid JSON"},
    {"not json at all", "invalid JSON"},
    {"[1,2,3]", "not a JSON object"},
    {"{\"pid\":1}", "without a \"type\""},
    {"{\"type\":\"sample\",\"t\":1,\"caches\":[]}", "\"pid\""},
    {"{\"type\":\"sample\",\"pid\":-4,\"t\":1,\"caches\":[]}", "\"pid\""},
    {"{\"type\":\"sample\",\"pid\":1,\"t\":1}", "\"caches\""},
    {"{\"type\":\"sample\",\"pid\":1,\"caches\":[]}", "\"t\""},
    {"{\"type\":\"sample\",\"pid\":1,\"t\":1,\"caches\":[7]}", "caches[0] is not an object"},
    {"{\"type\":\"sample\",\"pid\":1,\"t\":1,\"caches\":[{\"qualname\":\"a\"},{}]}",
     "caches[1] has no \"qualname\""},
    {"{\"type\":\"process\",\"pid\":\"12\"}", "\"pid\""},
    /* Counts are whole numbers in [0, 2^53]: the renderers subtract them. */
    {"{\"type\":\"sample\",\"pid\":1,\"t\":1,\"caches\":[{\"qualname\":\"a\",\"pinned\":-1}]}",
     "caches[0]: \"pinned\" is not a count"},
    {"{\"type\":\"sample\",\"pid\":1,\"t\":1,\"caches\":[{\"qualname\":\"a\","
     "\"entries\":9007199254740993}]}",
     "caches[0]: \"entries\" is not a count"},
    {"{\"type\":\"sample\",\"pid\":1,\"t\":1,\"caches\":[{\"qualname\":\"a\","
     "\"retained_bytes\":1.5}]}",
     "\"retained_bytes\" is not a count"},
    {"{\"type\":\"sample\",\"pid\":1,\"t\":1,\"caches\":[{\"qualname\":\"a\",\"hits\":\"3\"}]}",
     "\"hits\" is not a count"},
};

START_TEST(report_rejects_corrupt_line_with_its_number)
{
    char text[1024], err[256] = "", want[64];
    struct report *r = report_new(0);
    FILE *f;

    /* Two good lines, a blank one, then the corrupt one: line 4. */
    snprintf(text, sizeof(text),
             "{\"type\":\"process\",\"pid\":1}\n"
             "{\"type\":\"sample\",\"pid\":1,\"t\":1,\"caches\":[]}\n"
             "   \n"
             "%s\n"
             "{\"type\":\"sample\",\"pid\":1,\"t\":2,\"caches\":[]}\n",
             corrupt[_i].line);
    f = fmemopen(text, strlen(text), "r");
    ck_assert_int_eq(report_read_file(r, f, "rec.jsonl", err, sizeof(err)), -EINVAL);
    snprintf(want, sizeof(want), "rec.jsonl:4: ");
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got \"%s\"", err);
    ck_assert_msg(strstr(err, corrupt[_i].why) != NULL, "\"%s\" lacks \"%s\"", err,
                  corrupt[_i].why);
    fclose(f);
    report_free(r);
}
END_TEST

/* The largest counts load, render, and their growth does not overflow. */
START_TEST(report_extreme_counts)
{
    static const char text[] =
        "{\"type\":\"sample\",\"pid\":1,\"t\":1,\"caches\":[{\"qualname\":\"A.f\","
        "\"kind\":\"method\",\"maxsize\":null,\"verdict\":\"leak\",\"pinned\":0,"
        "\"entries\":2e3,\"retained_bytes\":0}]}\n"
        "{\"type\":\"sample\",\"pid\":1,\"t\":90,\"caches\":[{\"qualname\":\"A.f\","
        "\"kind\":\"method\",\"maxsize\":null,\"verdict\":\"leak\","
        "\"pinned\":9007199254740992,\"entries\":9007199254740992,"
        "\"retained_bytes\":9007199254740992}]}\n";
    struct report *r = load(text, 0);
    char *out = render(r, false, NULL);

    ck_assert_int_eq(r->procs[0]->caches[0]->first_entries, 2000);
    ck_assert_contains(out, "growth: pinned 0 -> 9007199254740992 (+9007199254740992");
    free(out);
    report_free(r);
}
END_TEST

/* Names from the analysed program reach the terminal escaped. */
START_TEST(report_text_escapes_control_characters)
{
    static const char text[] =
        "{\"type\":\"process\",\"pid\":1,\"python\":\"3.11\\u001b[2J\","
        "\"argv\":[\"app\\u009b31m\"]}\n"
        "{\"type\":\"sample\",\"pid\":1,\"t\":1,\"caches\":[{\"qualname\":"
        "\"A.f\\u001b]0;x\\u0007\",\"kind\":\"method\",\"maxsize\":null,\"verdict\":\"leak\","
        "\"pinned\":1,\"file\":\"/a/\\nb.py\",\"module\":\"m\\r\"},"
        "{\"qualname\":\"g\\t\",\"kind\":\"function\",\"verdict\":\"ok\\u001b\"}]}\n";
    static const struct report_text_opts verbose = {.verbose = true};
    struct report *r = load(text, 0);
    char *out = render(r, false, &verbose);

    for (const char *c = out; *c != '\0'; c++) {
        ck_assert_msg((unsigned char)*c >= 0x20 || *c == '\n', "control 0x%02x in:\n%s",
                      (unsigned char)*c, out);
        ck_assert_msg(!((unsigned char)c[0] == 0xc2 && (unsigned char)c[1] < 0xa0),
                      "C1 control in:\n%s", out);
    }
    ck_assert_contains(out, "python 3.11\\x1b[2J");
    ck_assert_contains(out, "app\\u009b31m");
    ck_assert_contains(out, "LEAK     A.f\\x1b]0;x\\x07  (method, unbounded)");
    ck_assert_contains(out, "/a/\\nb.py:0  in module m\\x0d");
    ck_assert_contains(out, "g\\t");
    ck_assert_contains(out, "[ok\\x1b]");
    free(out);
    report_free(r);
}
END_TEST

START_TEST(report_last_line_without_newline)
{
    static const char text[] = "{\"type\":\"process\",\"pid\":1}\n"
                               "{\"type\":\"sample\",\"pid\":1,\"t\":1,\"caches\":[]}";
    struct report *r = load(text, 0);

    ck_assert_uint_eq(r->procs[0]->samples, 1);
    report_free(r);
}
END_TEST

/* ---- text ----------------------------------------------------------------------- */

START_TEST(report_text_names_leaks_with_fixes)
{
    struct report *r = load(fixture, 0);
    char *text = render(r, false, NULL);
    const char *calc, *total, *scaled, *parse;

    ck_assert_contains(text, "4 caches pin objects in 2 of 3 processes: 3 leaks, 1 bounded");
    ck_assert_contains(text, "pid 100 (ppid 1)  python 3.11.2  python3 seed.py");
    ck_assert_contains(text, "3 samples from t=0.50 s to t=1 min 01 s, the last at exit");
    /* Leaks first, by pinned; then bounded; then the rest. */
    calc = strstr(text, "LEAK     SlowAdder.calculate  (method, unbounded)");
    total = strstr(text, "LEAK     Report.total  (method, unbounded)");
    scaled = strstr(text, "BOUNDED  SlowAdder.scaled  (method, maxsize 16)");
    parse = strstr(text, "Config.parse");
    ck_assert_ptr_nonnull(calc);
    ck_assert_ptr_nonnull(total);
    ck_assert_ptr_nonnull(scaled);
    ck_assert_ptr_nonnull(parse);
    ck_assert(calc < total && total < scaled && scaled < parse);
    ck_assert_contains(text, "/abs/seed.py:18");
    ck_assert_contains(text, "pins 30 objects (30 selves) in 60 entries; retains 2.9 KiB");
    ck_assert_contains(text, "growth: pinned 10 -> 30 (+20, +20/min), retained 1000 B -> 2.9 KiB");
    /* The fix that fits each kind. */
    ck_assert_contains(text, "self.calculate = functools.lru_cache(maxsize=None)(self._calculate)");
    ck_assert_contains(text, "@functools.cached_property");
    ck_assert_contains(text, "def total(self): ...");
    ck_assert_contains(text, "bounded: it holds up to 16 instances alive");
    ck_assert_contains(text, "self.scaled = functools.lru_cache(maxsize=16)(self._scaled)");
    ck_assert_contains(text, "key it on\n");
    ck_assert_contains(text, "@functools.lru_cache(maxsize=N)");
    /* A row emptied before the end is not a leak any more. */
    ck_assert_ptr_null(strstr(text, "LEAK     Temp.value"));
    ck_assert_contains(text, "emptied since t=30.5 s");
    ck_assert_contains(text, "the agent refused this interpreter: Python 2.7 is not supported");
    free(text);
    report_free(r);
}
END_TEST

START_TEST(report_text_fits_100_columns)
{
    struct report *r = load(fixture, 0);
    char *text = render(r, false, NULL);

    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        ck_assert_msg(strlen(line) <= 100, "too long: %s", line);
    }
    free(text);
    report_free(r);
}
END_TEST

START_TEST(report_text_counts_many_ok_caches)
{
    struct report *r = report_new(0);
    struct report_text_opts verbose = {.verbose = true};
    char line[2048], err[128], *text;
    size_t n;

    n = (size_t)snprintf(line, sizeof(line), "{\"type\":\"sample\",\"pid\":3,\"t\":1,\"caches\":[");
    for (int k = 0; k < 25; k++) {
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s{\"qualname\":\"c%d\"}", k ? "," : "",
                              k);
    }
    snprintf(line + n, sizeof(line) - n, "]}");
    ck_assert_int_eq(report_feed_line(r, line, strlen(line), err, sizeof(err)), 0);
    text = render(r, false, NULL);
    ck_assert_contains(text, "no cache pins objects (25 caches in 1 process)");
    ck_assert_contains(text, "25 other caches pin nothing (--verbose lists them)");
    ck_assert_ptr_null(strstr(text, "c24"));
    free(text);
    text = render(r, false, &verbose);
    ck_assert_contains(text, "c24");
    free(text);
    report_free(r);
}
END_TEST

/* ---- JSON ----------------------------------------------------------------------- */

START_TEST(report_json_schema)
{
    struct report *r = load(fixture, 0);
    char *text = render(r, true, NULL);
    const struct jsonv *root = NULL, *procs, *p, *caches, *c, *series;
    char err[128];
    int64_t v;
    bool b;

    ck_assert_int_eq(jsonv_parse(text, strlen(text), &root, err, sizeof(err)), 0);
    ck_assert_str_eq(jsonv_get_str(root, "lruleak_version"), LRULEAK_VERSION);
    procs = jsonv_get(root, "processes");
    ck_assert(jsonv_is(procs, JSONV_ARRAY));
    ck_assert_uint_eq(procs->u.arr.n, 3);
    p = &procs->u.arr.items[0];
    ck_assert(jsonv_get_int(p, "pid", &v) && v == 100);
    ck_assert(jsonv_get_int(p, "ppid", &v) && v == 1);
    ck_assert_str_eq(jsonv_get_str(p, "python"), "3.11.2");
    ck_assert(jsonv_get_int(p, "samples", &v) && v == 3);
    ck_assert_uint_eq(jsonv_get(p, "argv")->u.arr.n, 2);
    ck_assert(jsonv_get_int(p, "wrappers", &v) && v == 8);

    caches = jsonv_get(p, "caches");
    ck_assert_uint_eq(caches->u.arr.n, 5);
    c = &caches->u.arr.items[0];
    ck_assert_str_eq(jsonv_get_str(c, "qualname"), "SlowAdder.calculate");
    ck_assert_str_eq(jsonv_get_str(c, "module"), "__main__");
    ck_assert_str_eq(jsonv_get_str(c, "file"), "/abs/seed.py");
    ck_assert(jsonv_get_int(c, "line", &v) && v == 18);
    ck_assert_str_eq(jsonv_get_str(c, "kind"), "method");
    ck_assert(jsonv_is(jsonv_get(c, "maxsize"), JSONV_NULL));
    ck_assert(jsonv_get_bool(c, "typed", &b) && !b);
    ck_assert(jsonv_get_int(c, "entries", &v) && v == 60);
    ck_assert(jsonv_get_int(c, "hits", &v) && v == 1);
    ck_assert(jsonv_get_int(c, "misses", &v) && v == 2);
    ck_assert(jsonv_get_int(c, "selves", &v) && v == 30);
    ck_assert(jsonv_get_int(c, "pinned", &v) && v == 30);
    ck_assert(jsonv_get_int(c, "retained_bytes", &v) && v == 3000);
    ck_assert_str_eq(jsonv_get_str(c, "verdict"), "leak");
    ck_assert(jsonv_get_int(c, "wrappers", &v) && v == 1);
    ck_assert(jsonv_get_bool(c, "self_only", &b) && !b);
    series = jsonv_get(c, "series");
    ck_assert_uint_eq(series->u.arr.n, 3);
    {
        double t;

        ck_assert(jsonv_get_double(&series->u.arr.items[1], "t", &t) && t == 30.5);
        ck_assert(jsonv_get_int(&series->u.arr.items[1], "pinned", &v) && v == 20);
        ck_assert(jsonv_get_int(&series->u.arr.items[1], "entries", &v) && v == 40);
        ck_assert(jsonv_get_int(&series->u.arr.items[1], "selves", &v) && v == 20);
    }
    /* Bounded after the leaks; maxsize as a number. */
    c = &caches->u.arr.items[2];
    ck_assert_str_eq(jsonv_get_str(c, "verdict"), "bounded");
    ck_assert(jsonv_get_int(c, "maxsize", &v) && v == 16);

    p = &procs->u.arr.items[2];
    ck_assert_str_eq(jsonv_get_str(p, "refused"), "Python 2.7 is not supported");
    ck_assert_uint_eq(jsonv_get(p, "caches")->u.arr.n, 0);
    jsonv_free(root);
    free(text);
    report_free(r);
}
END_TEST

START_TEST(report_json_empty)
{
    struct report *r = report_new(0);
    char *text = render(r, true, NULL);

    ck_assert_str_eq(text, "{\"lruleak_version\":\"" LRULEAK_VERSION
                           "\",\"processes\":[],\"tests\":[]}\n");
    free(text);
    report_free(r);
}
END_TEST

/* ---- allocation sites, advice, HTML --------------------------------------------- */

/* clang-format off */
static const char sites_fixture[] =
    "{\"type\":\"process\",\"pid\":10,\"ppid\":1,\"python\":\"3.16.0\",\"argv\":[\"python3\",\"app.py\"]}\n"
    "{\"type\":\"sample\",\"pid\":10,\"seq\":1,\"t\":1.5,\"alloc_frames\":2,"
    "\"functools_cached_method\":true,\"caches\":["
    "{\"qualname\":\"Shop.order\",\"module\":\"app\",\"file\":\"/app.py\",\"line\":5,"
    "\"kind\":\"method\",\"maxsize\":null,\"entries\":900,\"selves\":900,\"pinned\":900,"
    "\"retained_bytes\":9000,\"verdict\":\"leak\",\"alloc_examined\":300,\"alloc_sites\":["
    "{\"file\":\"/app.py\",\"line\":88,\"function\":null,\"count\":812},"
    "{\"file\":\"/lib.py\",\"line\":3,\"function\":\"make\",\"count\":60},"
    "{\"file\":null,\"line\":null,\"function\":null,\"count\":20,\"other\":true},"
    "{\"file\":null,\"line\":null,\"function\":null,\"count\":8,\"unknown\":true}]},"
    "{\"qualname\":\"Shop.total\",\"module\":\"app\",\"file\":\"/app.py\",\"line\":9,"
    "\"kind\":\"method\",\"maxsize\":null,\"entries\":4,\"selves\":4,\"pinned\":4,"
    "\"retained_bytes\":40,\"verdict\":\"leak\",\"self_only\":true}]}\n";
/* clang-format on */

START_TEST(report_reads_alloc_sites)
{
    struct report *r = load(sites_fixture, 0);
    struct report_process *p = r->procs[0];
    struct report_cache *c = find_row(p, "Shop.order");

    ck_assert_int_eq(p->alloc_frames, 2);
    ck_assert_int_eq(p->cached_method, 1);
    ck_assert(c->has_sites);
    ck_assert_uint_eq(c->nsites, 4);
    ck_assert_int_eq(c->alloc_examined, 300);
    ck_assert_str_eq(c->sites[0].file, "/app.py");
    ck_assert_int_eq(c->sites[0].line, 88);
    ck_assert_ptr_null(c->sites[0].function);
    ck_assert_str_eq(c->sites[1].function, "make");
    ck_assert(c->sites[2].other && c->sites[2].file == NULL);
    ck_assert(c->sites[3].unknown && c->sites[3].count == 8);
    ck_assert(!find_row(p, "Shop.total")->has_sites);
    report_free(r);
}
END_TEST

START_TEST(report_text_shows_sites_and_cached_method)
{
    struct report *r = load(sites_fixture, 0);
    char *text = render(r, false, NULL);

    ck_assert_contains(text, "pinned objects were created at (estimated from 300 of 900):\n");
    ck_assert_contains(text, "    /app.py:88: 812\n");
    ck_assert_contains(text, "    /lib.py:3 in make(): 60\n");
    ck_assert_contains(text, "    elsewhere: 20\n");
    ck_assert_contains(text, "    unknown (no traceback: created before tracing started): 8\n");
    /* The interpreter has functools.cached_method: suggested for a method
     * with arguments; a self-only method still gets cached_property. */
    ck_assert_contains(text, "@functools.cached_method\n");
    ck_assert_contains(text, "def order(self, ...): ...");
    ck_assert_contains(text, "@functools.cached_property");
    free(text);
    report_free(r);

    /* Without the flag (older agents: unknown), never suggested. */
    r = load(fixture, 0);
    text = render(r, false, NULL);
    ck_assert_ptr_null(strstr(text, "cached_method"));
    free(text);
    report_free(r);
}
END_TEST

START_TEST(report_rejects_bad_sites)
{
    static const char *const bad[] = {
        "{\"type\":\"sample\",\"pid\":1,\"t\":1,\"caches\":[{\"qualname\":\"a\","
        "\"alloc_sites\":{}}]}",
        "{\"type\":\"sample\",\"pid\":1,\"t\":1,\"caches\":[{\"qualname\":\"a\","
        "\"alloc_sites\":[7]}]}",
        "{\"type\":\"sample\",\"pid\":1,\"t\":1,\"caches\":[{\"qualname\":\"a\","
        "\"alloc_sites\":[{\"file\":\"x\",\"line\":1,\"count\":-1}]}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct report *r = report_new(0);
        char err[256];

        ck_assert_int_eq(report_feed_line(r, bad[i], strlen(bad[i]), err, sizeof(err)), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "alloc_sites") != NULL ? err : strstr(err, "count"));
        report_free(r);
    }
}
END_TEST

START_TEST(report_html_escapes_and_plots)
{
    static const char evil[] =
        "{\"type\":\"process\",\"pid\":7,\"argv\":[\"<b>argv</b>\"],\"python\":\"<i>3</i>\"}\n"
        "{\"type\":\"sample\",\"pid\":7,\"t\":1,\"caches\":[{\"qualname\":\"<script>x</script>\","
        "\"file\":\"/a\\\"b'.py\",\"module\":\"m&n\",\"kind\":\"method\",\"line\":2,\"entries\":1,"
        "\"selves\":1,\"pinned\":1,\"retained_bytes\":5,\"verdict\":\"leak\"}]}\n"
        "{\"type\":\"sample\",\"pid\":7,\"t\":2,\"caches\":[{\"qualname\":\"<script>x</script>\","
        "\"file\":\"/a\\\"b'.py\",\"module\":\"m&n\",\"kind\":\"method\",\"line\":2,\"entries\":3,"
        "\"selves\":3,\"pinned\":3,\"retained_bytes\":15,\"verdict\":\"leak\"}]}\n";
    struct report *r = load(evil, 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_int_eq(report_attribute(r, &(struct report_rules){0}), 0);
    ck_assert_int_eq(report_write_html(r, f), 0);
    fclose(f);
    ck_assert_ptr_null(strstr(buf, "<script"));
    ck_assert_ptr_null(strstr(buf, "<b>argv"));
    ck_assert_ptr_null(strstr(buf, "<i>3"));
    ck_assert_contains(buf, "&lt;script&gt;x&lt;/script&gt;");
    ck_assert_contains(buf, "/a&quot;b&#39;.py:2");
    ck_assert_contains(buf, "m&amp;n");
    ck_assert_contains(buf, "&lt;b&gt;argv&lt;/b&gt;");
    ck_assert_contains(buf, "data-t=\"1.000 2.000\" data-v=\"1 3\"");
    ck_assert_contains(buf, "data-t=\"1.000 2.000\" data-v=\"5 15\"");
    ck_assert_contains(buf, "Content-Security-Policy");
    free(buf);
    report_free(r);
}
END_TEST

Suite *
report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc;

    tc = tcase_create("model");
    tcase_add_test(tc, report_builds_processes);
    tcase_add_test(tc, report_tracks_rows_across_samples);
    tcase_add_test(tc, report_no_series_keeps_first_and_last);
    tcase_add_test(tc, report_identity_includes_every_key_field);
    tcase_add_test(tc, report_exec_starts_a_new_generation);
    tcase_add_test(tc, report_many_rows_and_processes);
    suite_add_tcase(s, tc);

    tc = tcase_create("corrupt");
    tcase_add_loop_test(tc, report_rejects_corrupt_line_with_its_number, 0,
                        sizeof(corrupt) / sizeof(corrupt[0]));
    tcase_add_test(tc, report_last_line_without_newline);
    tcase_add_test(tc, report_extreme_counts);
    suite_add_tcase(s, tc);

    tc = tcase_create("text");
    tcase_add_test(tc, report_text_names_leaks_with_fixes);
    tcase_add_test(tc, report_text_fits_100_columns);
    tcase_add_test(tc, report_text_counts_many_ok_caches);
    tcase_add_test(tc, report_text_escapes_control_characters);
    suite_add_tcase(s, tc);

    tc = tcase_create("json");
    tcase_add_test(tc, report_json_schema);
    tcase_add_test(tc, report_json_empty);
    suite_add_tcase(s, tc);

    tc = tcase_create("sites");
    tcase_add_test(tc, report_reads_alloc_sites);
    tcase_add_test(tc, report_text_shows_sites_and_cached_method);
    tcase_add_test(tc, report_rejects_bad_sites);
    tcase_add_test(tc, report_html_escapes_and_plots);
    suite_add_tcase(s, tc);
    return s;
}
