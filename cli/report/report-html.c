/* SPDX-License-Identifier: MIT */
/*
 * report-html: one self-contained HTML page of a model (`report --html`,
 * `run --html`).
 *
 * Layout: a summary line, the tests that leaked (worst first), then per
 * process a header table (pid, parent, argv, Python, duration, samples,
 * the agent's own cost), a plot of every pinning cache's pinned objects
 * (with a legend) when there are several, the table of caches that pin
 * objects, and per such cache a block with its plots (pinned objects,
 * retained bytes over time), where its pinned objects were created
 * (--trace-alloc) and the fix as code; the caches that pin nothing are
 * listed in a <details> element. Plots are inline SVG (svgplot.c).
 *
 * Self-contained and inert: inline CSS, no script, no external reference;
 * a Content-Security-Policy of default-src 'none' makes the browser refuse
 * any request or script the page might still carry. Every string of the
 * analysed program (qualnames, modules, files, argv, test ids, reasons)
 * goes through markup_put, so markup in a name shows as text. Size
 * is bounded: series are downsampled to SVGPLOT_BUCKETS min/max buckets,
 * and at most HTML_PLOTS_MAX caches get plots (the table lists them all).
 * Thread context: none.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "markup.h"
#include "report.h"
#include "svgplot.h"
#include "util.h"

/* Caches with plots, over the whole page (the rest: table rows only). */
#define HTML_PLOTS_MAX 40
/* Series in one process's overview plot. */
#define HTML_OVERVIEW_MAX 8
/* Tests listed (the page says how many more). */
#define HTML_TESTS_MAX 200
/* Caches that pin nothing, listed per process. */
#define HTML_OK_MAX 200

#define put markup_put

static const char style[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1100px}"
    "h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;"
    "margin-top:2em}h3{font-size:1.05em;margin-bottom:.3em}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}"
    "th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "table.head th{width:11em}"
    ".leak{color:#b00020;font-weight:bold}.bounded{color:#8a5a00;font-weight:bold}"
    ".ok{color:#2e7d32}"
    "pre{background:#f6f8fa;border:1px solid #ddd;padding:.6em;overflow-x:auto}"
    "code{font-family:monospace}"
    ".cache{border-left:4px solid #ddd;padding-left:1em;margin:1.5em 0}"
    ".cache.verdict-leak{border-color:#b00020}.cache.verdict-bounded{border-color:#e69f00}"
    ".plots{display:flex;flex-wrap:wrap;gap:1em}"
    ".note{color:#555;font-size:.9em}";

static void
put_bytes(FILE *f, int64_t b)
{
    char buf[32];

    util_format_bytes(b, buf, sizeof(buf));
    fputs(buf, f);
}

static void
put_seconds(FILE *f, double s)
{
    char buf[32];

    util_format_duration(s, buf, sizeof(buf));
    fputs(buf, f);
}

static const char *
verdict_class(enum report_verdict v)
{
    return v == REPORT_VERDICT_LEAK ? "leak" : v == REPORT_VERDICT_BOUNDED ? "bounded" : "ok";
}

static bool
is_pinning(const struct report_process *p, const struct report_cache *c)
{
    return report_cache_present(p, c) && c->verdict != REPORT_VERDICT_OK;
}

/* ---- plots ------------------------------------------------------------------ */

struct arrays {
    double *t, *pinned, *retained;
};

static void
arrays_free(struct arrays *a)
{
    free(a->t);
    free(a->pinned);
    free(a->retained);
}

static int
arrays_of(const struct report_cache *c, struct arrays *a)
{
    size_t n = c->nseries > 0 ? c->nseries : 1;

    a->t = malloc(n * sizeof(double));
    a->pinned = malloc(n * sizeof(double));
    a->retained = malloc(n * sizeof(double));
    if (a->t == NULL || a->pinned == NULL || a->retained == NULL) {
        arrays_free(a);
        return -ENOMEM;
    }
    for (size_t i = 0; i < c->nseries; i++) {
        a->t[i] = c->series[i].t;
        a->pinned[i] = (double)c->series[i].pinned;
        a->retained[i] = (double)c->series[i].retained_bytes;
    }
    return 0;
}

static int
cache_plots(FILE *f, const struct report_cache *c, size_t id)
{
    struct arrays a = {0};
    char title[96];
    int r;

    r = arrays_of(c, &a);
    if (r < 0) {
        return r;
    }
    (void)id;
    fputs("<div class=\"plots\">\n", f);
    snprintf(title, sizeof(title), "pinned objects over time");
    struct svgplot pp = {.title = title,
                         .y_title = "pinned objects",
                         .y_unit = SVGPLOT_COUNT,
                         .width = 520,
                         .height = 240};
    struct svgplot_series sp = {
        .label = "pinned objects", .t = a.t, .v = a.pinned, .n = c->nseries, .name = "pinned"};
    r = svgplot_write(f, &pp, &sp, 1);
    if (r == 0) {
        struct svgplot rp = {.title = "retained memory over time",
                             .y_title = "retained",
                             .y_unit = SVGPLOT_BYTES,
                             .width = 520,
                             .height = 240};
        struct svgplot_series sr = {.label = "retained bytes",
                                    .t = a.t,
                                    .v = a.retained,
                                    .n = c->nseries,
                                    .name = "retained"};
        r = svgplot_write(f, &rp, &sr, 1);
    }
    fputs("</div>\n", f);
    arrays_free(&a);
    return r;
}

/* Every pinning cache's pinned objects in one plot, with a legend. */
static int
overview_plot(FILE *f, struct report_cache **rows, size_t n)
{
    struct svgplot_series s[HTML_OVERVIEW_MAX];
    struct arrays a[HTML_OVERVIEW_MAX];
    char labels[HTML_OVERVIEW_MAX][320];
    size_t k = n < HTML_OVERVIEW_MAX ? n : HTML_OVERVIEW_MAX;
    int r = 0;

    memset(a, 0, sizeof(a));
    for (size_t i = 0; i < k && r == 0; i++) {
        r = arrays_of(rows[i], &a[i]);
        snprintf(labels[i], sizeof(labels[i]), "%s (%s:%" PRId64 ")", rows[i]->qualname,
                 util_basename(rows[i]->file), rows[i]->line);
        s[i] = (struct svgplot_series){.label = labels[i],
                                       .t = a[i].t,
                                       .v = a[i].pinned,
                                       .n = rows[i]->nseries,
                                       .name = "pinned overview"};
    }
    if (r == 0) {
        struct svgplot p = {.title = "pinned objects per cache",
                            .y_title = "pinned objects",
                            .y_unit = SVGPLOT_COUNT,
                            .width = 1000,
                            .height = 280};

        fputs("<div class=\"overview\">\n", f);
        r = svgplot_write(f, &p, s, k);
        if (n > k) {
            fprintf(f, "<p class=\"note\">the %zu caches that pin most; %zu more below</p>\n", k,
                    n - k);
        }
        fputs("</div>\n", f);
    }
    for (size_t i = 0; i < k; i++) {
        arrays_free(&a[i]);
    }
    return r;
}

/* ---- one cache ------------------------------------------------------------------ */

static void
put_location(FILE *f, const struct report_cache *c)
{
    fputs("<code>", f);
    if (c->file[0] != '\0') {
        put(f, c->file);
    } else {
        fputs("(unknown file)", f);
    }
    fprintf(f, ":%" PRId64 "</code>", c->line);
}

static void
put_growth(FILE *f, const struct report_cache *c)
{
    double span = c->last_t - c->first_t;
    int64_t d = c->pinned - c->first_pinned;

    if (span <= 0) {
        fputs("one sample", f);
        return;
    }
    fprintf(f, "%+" PRId64 " pinned in ", d);
    put_seconds(f, span);
    if (span >= 10) {
        fprintf(f, " (%+.0f/min)", (double)d * 60.0 / span);
    }
}

static void
sites(FILE *f, const struct report_cache *c)
{
    if (!c->has_sites) {
        return;
    }
    fputs("<h4>Where the pinned objects were created</h4>\n", f);
    if (c->alloc_examined < c->pinned) {
        fprintf(f,
                "<p class=\"note\">estimated: the agent looked up %" PRId64 " of the %" PRId64
                " pinned objects and scaled the counts</p>\n",
                c->alloc_examined, c->pinned);
    }
    fputs("<table class=\"sites\"><tr><th>file:line</th><th>function</th><th>objects</th></tr>\n",
          f);
    for (size_t i = 0; i < c->nsites; i++) {
        const struct report_site *s = &c->sites[i];

        fputs("<tr><td>", f);
        if (s->unknown) {
            fputs("unknown (no traceback: created before tracing started)", f);
        } else if (s->other) {
            fputs("other sites", f);
        } else {
            fputs("<code>", f);
            put(f, s->file);
            fprintf(f, ":%" PRId64 "</code>", s->line);
        }
        fputs("</td><td>", f);
        if (s->function != NULL) {
            fputs("<code>", f);
            put(f, s->function);
            fputs("()</code>", f);
        } else {
            fputs("?", f);
        }
        fprintf(f, "</td><td class=\"num\">%" PRId64 "</td></tr>\n", s->count);
    }
    fputs("</table>\n", f);
}

static void
fix(FILE *f, const struct report_process *p, const struct report_cache *c)
{
    struct report_advice a;

    report_advice(p, c, &a);
    fputs("<div class=\"fix\">", f);
    if (a.bounded[0] != '\0') {
        fputs("<p>", f);
        put(f, a.bounded);
        fputs("</p>", f);
    }
    fprintf(f, "<p><b>Fix</b> (%s): ", a.kind);
    for (size_t i = 0; i < a.nprose; i++) {
        if (i > 0) {
            fputc(' ', f);
        }
        put(f, a.prose[i]);
    }
    fputs("</p>\n", f);
    if (a.ncode > 0) {
        fputs("<pre><code class=\"language-python\">", f);
        for (size_t i = 0; i < a.ncode; i++) {
            put(f, a.code[i]);
            fputc('\n', f);
        }
        fputs("</code></pre>\n", f);
    }
    for (size_t i = 0; i < a.nafter; i++) {
        fputs("<p>", f);
        put(f, a.after[i]);
        fputs("</p>\n", f);
    }
    fputs("</div>\n", f);
}

static int
cache_block(FILE *f, const struct report_process *p, const struct report_cache *c, size_t id,
            size_t *plots)
{
    int r = 0;

    fprintf(f, "<div class=\"cache verdict-%s\">\n", verdict_class(c->verdict));
    fprintf(f, "<h3><span class=\"%s\">%s</span> <code class=\"qualname\">",
            verdict_class(c->verdict), c->verdict == REPORT_VERDICT_LEAK ? "LEAK" : "BOUNDED");
    put(f, c->qualname);
    fputs("</code></h3>\n<p>", f);
    put(f, c->kind);
    if (c->maxsize < 0) {
        fputs(", unbounded", f);
    } else {
        fprintf(f, ", maxsize %" PRId64, c->maxsize);
    }
    fputs(", at ", f);
    put_location(f, c);
    if (c->module[0] != '\0') {
        fputs(" in module <code>", f);
        put(f, c->module);
        fputs("</code>", f);
    }
    fprintf(f,
            ". It pins %" PRId64 " objects (%" PRId64 " selves) in %" PRId64
            " entries and retains %s",
            c->pinned, c->selves, c->entries, p->truncated ? "at least " : "");
    put_bytes(f, c->retained_bytes);
    fputs("; growth: ", f);
    put_growth(f, c);
    fputs(".</p>\n", f);
    if (c->nseries > 0 && *plots < HTML_PLOTS_MAX) {
        (*plots)++;
        r = cache_plots(f, c, id);
    } else if (c->nseries > 0) {
        fputs("<p class=\"note\">(no plot: the page shows at most 40)</p>\n", f);
    }
    sites(f, c);
    fix(f, p, c);
    fputs("</div>\n", f);
    return r;
}

/* ---- one process ------------------------------------------------------------------ */

static void
head_row(FILE *f, const char *name)
{
    fprintf(f, "<tr><th>%s</th><td>", name);
}

static void
process_head(FILE *f, const struct report_process *p)
{
    fputs("<table class=\"head\">\n", f);
    head_row(f, "pid");
    fprintf(f, "%" PRId64 "</td></tr>\n", p->pid);
    head_row(f, "parent");
    if (p->ppid >= 0) {
        fprintf(f, "%" PRId64 "%s", p->ppid, p->forked ? " (forked)" : "");
    } else {
        fputs("unknown", f);
    }
    fputs("</td></tr>\n", f);
    head_row(f, "command line");
    fputs("<code class=\"argv\">", f);
    for (size_t i = 0; i < p->argc; i++) {
        if (i > 0) {
            fputc(' ', f);
        }
        put(f, p->argv[i]);
    }
    fputs(p->argc == 0 ? "(unknown)</code>" : "</code>", f);
    fputs("</td></tr>\n", f);
    head_row(f, "Python");
    put(f, p->python != NULL ? p->python : "?");
    fputs("</td></tr>\n", f);
    head_row(f, "duration");
    if (p->samples > 0) {
        fputs("sampled from t=", f);
        put_seconds(f, p->first_t);
        fputs(" to t=", f);
        put_seconds(f, p->last_t);
        fputs(p->final ? " (the last sample at exit)" : "", f);
    } else {
        fputs("no sample", f);
    }
    fputs("</td></tr>\n", f);
    head_row(f, "samples");
    fprintf(f, "%zu</td></tr>\n", p->samples);
    head_row(f, "agent cost");
    fprintf(f,
            "%.1f ms of sampling in all (%.1f ms CPU), the longest sample %.1f ms, the longest "
            "GIL hold %.2f ms, scanner memory ",
            p->scan_ms_total, p->scan_cpu_ms_total, p->scan_ms_max, p->gil_hold_ms_max);
    put_bytes(f, p->agent_mem_bytes);
    fputs("</td></tr>\n", f);
    head_row(f, "allocation sites");
    if (p->alloc_frames > 0) {
        fprintf(f, "traced (tracemalloc, %" PRId64 " frame%s)", p->alloc_frames,
                p->alloc_frames == 1 ? "" : "s");
    } else {
        fputs("not traced (lruleak run --trace-alloc)", f);
    }
    fputs("</td></tr>\n", f);
    if (p->test_session) {
        head_row(f, "test session");
        put(f, p->runner != NULL ? p->runner : "test");
        if (p->worker != NULL) {
            fputs(", worker ", f);
            put(f, p->worker);
        }
        fprintf(f, ", %zu tests recorded", p->ntests);
        if (p->session_error != NULL) {
            fputs("; per-test attribution stopped: ", f);
            put(f, p->session_error);
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void
caches_table(FILE *f, size_t pi, struct report_cache **rows, size_t n)
{
    fputs("<table class=\"caches\">\n<tr><th>verdict</th><th>cache</th><th>kind</th>"
          "<th>file:line</th><th>pinned</th><th>selves</th><th>entries</th><th>retained</th>"
          "<th>growth</th></tr>\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const struct report_cache *c = rows[i];

        fprintf(f, "<tr class=\"row-%s\"><td class=\"%s\">%s</td><td><a href=\"#cache-%zu-%zu\">",
                verdict_class(c->verdict), verdict_class(c->verdict), verdict_class(c->verdict), pi,
                i);
        fputs("<code>", f);
        put(f, c->qualname);
        fputs("</code></a></td><td>", f);
        put(f, c->kind);
        fputs("</td><td>", f);
        put_location(f, c);
        fprintf(f,
                "</td><td class=\"num\">%" PRId64 "</td><td class=\"num\">%" PRId64
                "</td><td class=\"num\">%" PRId64 "</td><td class=\"num\">",
                c->pinned, c->selves, c->entries);
        put_bytes(f, c->retained_bytes);
        fputs("</td><td>", f);
        put_growth(f, c);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void
ok_list(FILE *f, const struct report_process *p, struct report_cache **rows, size_t n)
{
    if (n == 0) {
        return;
    }
    fprintf(f, "<details><summary>%zu other cache%s pin%s nothing</summary>\n<table>\n", n,
            n == 1 ? "" : "s", n == 1 ? "s" : "");
    fputs("<tr><th>cache</th><th>kind</th><th>max</th><th>entries</th><th>file:line</th></tr>\n",
          f);
    for (size_t i = 0; i < n && i < HTML_OK_MAX; i++) {
        const struct report_cache *c = rows[i];

        fputs("<tr><td><code>", f);
        put(f, c->qualname);
        fputs("</code></td><td>", f);
        put(f, c->kind);
        if (c->maxsize < 0) {
            fputs("</td><td>unbounded", f);
        } else {
            fprintf(f, "</td><td class=\"num\">%" PRId64, c->maxsize);
        }
        fprintf(f, "</td><td class=\"num\">%" PRId64 "</td><td>", c->entries);
        put_location(f, c);
        fputs(report_cache_present(p, c) ? "" : " (emptied since)", f);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
    if (n > HTML_OK_MAX) {
        fprintf(f, "<p class=\"note\">and %zu more</p>\n", n - HTML_OK_MAX);
    }
    fputs("</details>\n", f);
}

static int
process_section(FILE *f, const struct report_process *p, size_t pi, size_t *plots)
{
    struct report_cache **rows = NULL;
    size_t npin = 0;
    int n, r = 0;

    fprintf(f,
            "<section class=\"process\" id=\"proc-%zu\" data-pid=\"%" PRId64 "\">\n<h2>pid %" PRId64
            "</h2>\n",
            pi, p->pid, p->pid);
    process_head(f, p);
    if (p->refused != NULL) {
        fputs("<p>The agent refused this interpreter: ", f);
        put(f, p->refused);
        fputs("</p>\n</section>\n", f);
        return 0;
    }
    if (p->truncated) {
        fputs("<p class=\"note\">the retained-graph walk hit its budget: pinned and retained "
              "are lower bounds</p>\n",
              f);
    }
    n = report_sorted_caches(p, &rows);
    if (n < 0) {
        return n;
    }
    while (npin < (size_t)n && is_pinning(p, rows[npin])) {
        npin++;
    }
    if (npin == 0) {
        fputs("<p class=\"ok\">No cache pins objects.</p>\n", f);
    } else {
        if (npin > 1) {
            r = overview_plot(f, rows, npin);
        }
        caches_table(f, pi, rows, npin);
        for (size_t i = 0; i < npin && r == 0; i++) {
            /* The anchor the table links to. */
            fprintf(f, "<a id=\"cache-%zu-%zu\"></a>\n", pi, i);
            r = cache_block(f, p, rows[i], i, plots);
        }
    }
    ok_list(f, p, rows + npin, (size_t)n - npin);
    fputs("</section>\n", f);
    free(rows);
    return r;
}

/* ---- tests ---------------------------------------------------------------------------- */

static int
tests_section(FILE *f, const struct report *r)
{
    struct report_test **v = NULL;
    int n = report_leaking_tests(r, &v);

    if (n < 0) {
        return n;
    }
    fputs("<section class=\"tests\" id=\"tests\">\n<h2>Tests that leaked</h2>\n", f);
    if (n == 0) {
        fprintf(f, "<p>%zu tests recorded: none left objects pinned by lru caches.</p>\n",
                r->ntests);
    } else {
        fprintf(f,
                "<p>%zu tests recorded: %d left objects pinned by lru caches (worst first).</p>\n",
                r->ntests, n);
        fputs("<table class=\"tests\"><tr><th>objects</th><th>test</th><th>outcome</th>"
              "<th>pid</th><th>caches</th></tr>\n",
              f);
        for (int i = 0; i < n && i < HTML_TESTS_MAX; i++) {
            const struct report_test *t = v[i];

            fprintf(f, "<tr><td class=\"num\">%+" PRId64 "</td><td><code class=\"nodeid\">",
                    t->blamed);
            put(f, t->nodeid);
            fputs("</code></td><td>", f);
            put(f, t->outcome);
            fprintf(f, "</td><td>%" PRId64 "</td><td>", t->proc->pid);
            for (size_t k = 0, shown = 0; k < t->ncaches; k++) {
                const struct report_test_cache *c = &t->caches[k];

                if (c->blame != REPORT_BLAMED) {
                    continue;
                }
                fputs(shown++ > 0 ? "<br>" : "", f);
                fputs("<code>", f);
                put(f, c->qualname);
                fprintf(f, "</code> %+" PRId64, c->new_pinned);
            }
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
        if (n > HTML_TESTS_MAX) {
            fprintf(f, "<p class=\"note\">and %d more</p>\n", n - HTML_TESTS_MAX);
        }
    }
    fputs("</section>\n", f);
    free(v);
    return 0;
}

/* ---- the page ------------------------------------------------------------------------- */

int
report_write_html(const struct report *r, FILE *f)
{
    size_t leak = 0, bounded = 0, procs_pinning = 0, plots = 0;
    int ret = 0;

    for (size_t i = 0; i < r->nprocs; i++) {
        const struct report_process *p = r->procs[i];
        size_t before = leak + bounded;

        for (size_t k = 0; k < p->ncaches; k++) {
            if (is_pinning(p, p->caches[k])) {
                leak += p->caches[k]->verdict == REPORT_VERDICT_LEAK;
                bounded += p->caches[k]->verdict == REPORT_VERDICT_BOUNDED;
            }
        }
        procs_pinning += leak + bounded > before;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"lruleak " LRULEAK_VERSION "\">\n"
          "<title>lruleak report</title>\n<style>",
          f);
    fputs(style, f);
    fputs("</style>\n</head>\n<body>\n<h1>lruleak report</h1>\n<p class=\"summary\">", f);
    if (r->nprocs == 0) {
        fputs("No Python process was recorded.", f);
    } else if (leak + bounded == 0) {
        fprintf(f, "No cache pins objects (%zu process%s).", r->nprocs, r->nprocs == 1 ? "" : "es");
    } else {
        fprintf(f, "%zu cache%s pin%s objects in %zu of %zu process%s: %zu leak%s, %zu bounded.",
                leak + bounded, leak + bounded == 1 ? "" : "s", leak + bounded == 1 ? "s" : "",
                procs_pinning, r->nprocs, r->nprocs == 1 ? "" : "es", leak, leak == 1 ? "" : "s",
                bounded);
    }
    fputs("</p>\n", f);
    if (r->ntests > 0 || report_has_tests(r)) {
        ret = tests_section(f, r);
    }
    for (size_t i = 0; i < r->nprocs && ret == 0; i++) {
        ret = process_section(f, r->procs[i], i, &plots);
    }
    fprintf(f,
            "<p class=\"note\">Made by lruleak %s. Times are seconds since each process "
            "started.</p>\n</body>\n</html>\n",
            LRULEAK_VERSION);
    errno = 0;
    if (ret == 0 && (fflush(f) != 0 || ferror(f))) {
        ret = -(errno != 0 ? errno : EIO);
    }
    return ret;
}
