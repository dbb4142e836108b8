/* SPDX-License-Identifier: MIT */
/*
 * report-text: the human report of a model (`report`, `snapshot`, the end
 * of `run`).
 *
 * Layout, kept within 100 columns: a one-line summary, then per process a
 * header (pid, ppid, python, argv, samples, duration), then every cache
 * that pins objects (leak first, then bounded, by pinned) as a block with
 * its location, counts, retained memory, growth over the run and the fix
 * that fits its kind, then one compact line per remaining cache (only a
 * count past OK_LIST_MAX unless verbose). It only reads the model; the
 * caller owns the stream. Every string of the model comes from the
 * analysed program (names, paths, command line) and is printed through
 * util_printable(), so no control character or escape sequence of its
 * choosing reaches the terminal. Thread context: none.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

/* The width the report is laid out for. */
#define TEXT_WIDTH 100
/* Past this many ok caches, print a count unless verbose. */
#define OK_LIST_MAX 20
/* A per-minute growth rate is only shown for rows seen this long. */
#define RATE_MIN_SECONDS 10.0
/* Indentation of the lines under a cache's title. */
#define BODY "           "
/* Room for one escaped name or path; longer ones are cut with "...". */
#define SHOWN_MAX 512

static const char *
plural(int64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/*
 * The command line, quoted only where a shell would split, so it can be
 * copied; cut with "..." to fit width columns (the JSON report has it all).
 */
static void
print_argv(FILE *f, const struct report_process *p, int width)
{
    char buf[512];
    size_t used = 0;

    if (p->argc == 0) {
        fputs("(command line unknown)", f);
        return;
    }
    for (size_t i = 0; i < p->argc && used + 8 < sizeof(buf); i++) {
        char shown[SHOWN_MAX];
        const char *a = util_printable(p->argv[i], shown, sizeof(shown));
        bool quote = a[0] == '\0' || strpbrk(a, " '\"\\$`*?;&|<>()") != NULL;

        if (i > 0) {
            buf[used++] = ' ';
        }
        if (quote) {
            buf[used++] = '\'';
        }
        for (; *a != '\0' && used + 8 < sizeof(buf); a++) {
            if (quote && *a == '\'') {
                memcpy(buf + used, "'\\''", 4);
                used += 4;
            } else {
                buf[used++] = *a;
            }
        }
        if (quote) {
            buf[used++] = '\'';
        }
    }
    buf[used] = '\0';
    if (width < 20) {
        width = 20;
    }
    if (used > (size_t)width) {
        memcpy(buf + width - 3, "...", 4);
    }
    fputs(buf, f);
}

/* ---- one leaking cache ------------------------------------------------------ */

static void
print_fix(FILE *f, const struct report_process *p, const struct report_cache *c)
{
    struct report_advice a;
    char shown[SHOWN_MAX];

    report_advice(p, c, &a);
    if (a.bounded[0] != '\0') {
        fprintf(f, BODY "%s\n", util_printable(a.bounded, shown, sizeof(shown)));
    }
    for (size_t i = 0; i < a.nprose; i++) {
        fprintf(f, BODY "%s%s\n", i == 0 ? "fix: " : "     ",
                util_printable(a.prose[i], shown, sizeof(shown)));
    }
    for (size_t i = 0; i < a.ncode; i++) {
        fprintf(f, BODY "         %s\n", util_printable(a.code[i], shown, sizeof(shown)));
    }
    for (size_t i = 0; i < a.nafter; i++) {
        fprintf(f, BODY "     %s\n", util_printable(a.after[i], shown, sizeof(shown)));
    }
}

/* Where the pinned objects were made (--trace-alloc): the top sites. */
#define SITES_SHOWN 3

static void
print_sites(FILE *f, const struct report_cache *c)
{
    char file[SHOWN_MAX], fn[SHOWN_MAX];
    int64_t more = 0, unknown = 0;
    size_t shown = 0;

    if (!c->has_sites) {
        return;
    }
    fprintf(f, BODY "pinned objects were created at");
    if (c->alloc_examined < c->pinned) {
        fprintf(f, " (estimated from %" PRId64 " of %" PRId64 ")", c->alloc_examined, c->pinned);
    }
    fputs(":\n", f);
    for (size_t i = 0; i < c->nsites; i++) {
        const struct report_site *s = &c->sites[i];

        if (s->unknown) {
            unknown += s->count;
            continue;
        }
        if (s->other || shown == SITES_SHOWN) {
            more += s->count;
            continue;
        }
        shown++;
        fprintf(f, BODY "    %s:%" PRId64, util_printable(s->file, file, sizeof(file)), s->line);
        if (s->function != NULL) {
            fprintf(f, " in %s()", util_printable(s->function, fn, sizeof(fn)));
        }
        fprintf(f, ": %" PRId64 "\n", s->count);
    }
    if (more > 0) {
        fprintf(f, BODY "    elsewhere: %" PRId64 "\n", more);
    }
    if (unknown > 0) {
        fprintf(f, BODY "    unknown (no traceback: created before tracing started): %" PRId64 "\n",
                unknown);
    }
}

static void
print_growth(FILE *f, const struct report_cache *c)
{
    double span = c->last_t - c->first_t;
    int64_t d = c->pinned - c->first_pinned;
    char dur[32], b0[32], b1[32];

    if (span <= 0) {
        util_format_duration(c->last_t, b1, sizeof(b1));
        fprintf(f, BODY "growth: seen in one sample only (t=%s)\n", b1);
        return;
    }
    util_format_duration(span, dur, sizeof(dur));
    if (d == 0) {
        util_format_duration(c->first_t, b0, sizeof(b0));
        util_format_duration(c->last_t, b1, sizeof(b1));
        fprintf(f, BODY "growth: none, %" PRId64 " pinned from t=%s to t=%s\n", c->pinned, b0, b1);
        return;
    }
    util_format_bytes(c->first_retained, b0, sizeof(b0));
    util_format_bytes(c->retained_bytes, b1, sizeof(b1));
    fprintf(f, BODY "growth: pinned %" PRId64 " -> %" PRId64 " (%+" PRId64, c->first_pinned,
            c->pinned, d);
    if (span >= RATE_MIN_SECONDS) {
        fprintf(f, ", %+.0f/min", (double)d * 60.0 / span);
    }
    fprintf(f, "), retained %s -> %s, over %s\n", b0, b1, dur);
}

/* For a test session's cache: what its tests did to it. */
static void
print_tests_of_cache(FILE *f, const struct report *r, const struct report_process *p,
                     const struct report_cache *c)
{
    int64_t blamed = 0, warm = 0, ignored = 0, worst_new = 0;
    size_t nblamed = 0;
    const struct report_test *worst = NULL, *warmer = NULL;
    const char *why = NULL;

    for (size_t i = 0; i < r->ntests; i++) {
        const struct report_test *t = r->tests[i];

        for (size_t k = 0; t->proc == p && k < t->ncaches; k++) {
            const struct report_test_cache *tc = &t->caches[k];

            if (tc->qualname != c->qualname || tc->module != c->module || tc->file != c->file ||
                tc->line != c->line || tc->kind != c->kind) {
                continue;
            }
            if (tc->blame == REPORT_BLAMED) {
                blamed += tc->new_pinned;
                nblamed++;
                if (tc->new_pinned > worst_new) {
                    worst = t;
                    worst_new = tc->new_pinned;
                }
            } else if (tc->blame == REPORT_WARMUP) {
                warm += tc->new_pinned;
                warmer = t;
            } else {
                ignored += tc->new_pinned;
                why = tc->ignored;
            }
        }
    }
    if (blamed > 0) {
        fprintf(f, BODY "tests: %zu %s left %" PRId64 " behind (the most: %s, +%" PRId64 ")\n",
                nblamed, plural((int64_t)nblamed, "test", "tests"), blamed, worst->nodeid,
                worst_new);
    }
    if (warm > 0) {
        fprintf(f, BODY "warm-up: filled once (+%" PRId64 ") by %s, not blamed\n", warm,
                warmer->nodeid);
    }
    if (ignored > 0) {
        fprintf(f, BODY "allow-listed (%s): +%" PRId64 " in tests, not blamed\n", why, ignored);
    }
    if (blamed + warm + ignored == 0) {
        fprintf(f, BODY "tests: none added to it (pinned at import, collection or by a "
                        "wider-scoped fixture)\n");
    }
}

static void
print_pinning(FILE *f, const struct report *r, const struct report_process *p,
              const struct report_cache *c, const struct report_text_opts *opts)
{
    char maxsize[32], bytes[32], qualname[SHOWN_MAX], kind[64], file[SHOWN_MAX], module[SHOWN_MAX];

    if (c->maxsize < 0) {
        snprintf(maxsize, sizeof(maxsize), "unbounded");
    } else {
        snprintf(maxsize, sizeof(maxsize), "maxsize %" PRId64, c->maxsize);
    }
    util_format_bytes(c->retained_bytes, bytes, sizeof(bytes));
    fprintf(f, "  %-8s %s  (%s, %s%s)\n", c->verdict == REPORT_VERDICT_LEAK ? "LEAK" : "BOUNDED",
            util_printable(c->qualname, qualname, sizeof(qualname)),
            util_printable(c->kind, kind, sizeof(kind)), maxsize, c->typed ? ", typed" : "");
    fprintf(f, BODY "%s:%" PRId64 "%s%s\n",
            c->file[0] != '\0' ? util_printable(c->file, file, sizeof(file)) : "(unknown file)",
            c->line, c->module[0] != '\0' ? "  in module " : "",
            util_printable(c->module, module, sizeof(module)));
    fprintf(f, BODY "pins %" PRId64 " %s", c->pinned, plural(c->pinned, "object", "objects"));
    if (c->selves > 0) {
        fprintf(f, " (%" PRId64 " %s)", c->selves, plural(c->selves, "self", "selves"));
    }
    fprintf(f, " in %" PRId64 " %s; retains %s%s\n", c->entries,
            plural(c->entries, "entry", "entries"), p->truncated ? "at least " : "", bytes);
    if (c->wrappers > 1) {
        fprintf(f, BODY "%" PRId64 " wrappers share this definition\n", c->wrappers);
    }
    if (!opts->no_growth) {
        print_growth(f, c);
    }
    if (p->test_session) {
        print_tests_of_cache(f, r, p, c);
    }
    print_sites(f, c);
    print_fix(f, p, c);
}

/* ---- the rest, one line each ---------------------------------------------- */

static void
print_compact(FILE *f, const struct report_process *p, const struct report_cache *c, int qw)
{
    char size[32], where[96], base[64], qualname[SHOWN_MAX], kind[64], verdict[64];

    util_printable(util_basename(c->file), base, sizeof(base));
    if (c->maxsize < 0) {
        snprintf(size, sizeof(size), "unbounded");
    } else {
        snprintf(size, sizeof(size), "max %" PRId64, c->maxsize);
    }
    snprintf(where, sizeof(where), "%s:%" PRId64, base[0] != '\0' ? base : "?", c->line);
    fprintf(f, "    %-*s  %-12s  %-9s %6" PRId64 " %-7s  %s", qw,
            util_printable(c->qualname, qualname, sizeof(qualname)),
            util_printable(c->kind, kind, sizeof(kind)), size, c->entries,
            plural(c->entries, "entry", "entries"), where);
    if (c->wrappers > 1) {
        fprintf(f, "  (%" PRId64 " wrappers)", c->wrappers);
    }
    if (c->verdict == REPORT_VERDICT_OK && strcmp(c->verdict_name, "ok") != 0) {
        fprintf(f, "  [%s]", util_printable(c->verdict_name, verdict, sizeof(verdict)));
    }
    if (!report_cache_present(p, c)) {
        fprintf(f, "  (emptied since t=%.1f s)", c->last_t);
    }
    fputc('\n', f);
}

static void
print_rest(FILE *f, const struct report_process *p, struct report_cache **rows, size_t n,
           const struct report_text_opts *opts)
{
    int qw = 0;

    if (n == 0) {
        return;
    }
    fprintf(f, "\n  %zu other %s pin%s nothing%s\n", n, plural((int64_t)n, "cache", "caches"),
            n == 1 ? "s" : "", n > OK_LIST_MAX && !opts->verbose ? " (--verbose lists them)" : "");
    if (n > OK_LIST_MAX && !opts->verbose) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char shown[SHOWN_MAX];
        int len = (int)strlen(util_printable(rows[i]->qualname, shown, sizeof(shown)));

        qw = len > qw ? len : qw;
    }
    /* Long qualnames push their own line, not the whole column. */
    qw = qw > 32 ? 32 : qw;
    for (size_t i = 0; i < n; i++) {
        print_compact(f, p, rows[i], qw);
    }
}

/* ---- processes -------------------------------------------------------------- */

static bool
is_pinning(const struct report_process *p, const struct report_cache *c)
{
    return report_cache_present(p, c) && c->verdict != REPORT_VERDICT_OK;
}

static int
print_process(FILE *f, const struct report *r, const struct report_process *p,
              const struct report_text_opts *opts)
{
    struct report_cache **rows = NULL;
    char dur[32], shown[SHOWN_MAX];
    size_t npin = 0;
    int n, len;

    len = fprintf(f, "pid %" PRId64, p->pid);
    if (p->ppid >= 0) {
        len += fprintf(f, " (ppid %" PRId64 "%s)", p->ppid, p->forked ? ", forked" : "");
    }
    len += fprintf(f, "  python %s  ",
                   p->python != NULL ? util_printable(p->python, shown, sizeof(shown)) : "?");
    print_argv(f, p, TEXT_WIDTH - len);
    fputc('\n', f);

    if (p->test_session) {
        fprintf(f, "  %s session%s%s%s: %zu %s recorded\n", p->runner != NULL ? p->runner : "test",
                p->worker != NULL ? " (worker " : "", p->worker != NULL ? p->worker : "",
                p->worker != NULL ? ")" : "", p->ntests,
                plural((int64_t)p->ntests, "test", "tests"));
    }
    if (p->session_error != NULL) {
        fprintf(f, "  per-test attribution stopped: %s\n", p->session_error);
    }
    if (p->refused != NULL) {
        fprintf(f, "  the agent refused this interpreter: %s\n",
                util_printable(p->refused, shown, sizeof(shown)));
        return 0;
    }
    if (p->samples == 0) {
        fprintf(f, "  no sample (the process ended before the agent took one)\n");
        return 0;
    }
    util_format_duration(p->last_t, dur, sizeof(dur));
    if (p->samples == 1) {
        fprintf(f, "  1 sample at t=%s%s", dur, p->final ? " (at exit)" : "");
    } else {
        char first[32];

        util_format_duration(p->first_t, first, sizeof(first));
        fprintf(f, "  %zu samples from t=%s to t=%s%s", p->samples, first, dur,
                p->final ? ", the last at exit" : "");
    }
    if (p->state != NULL) {
        fprintf(f, "; agent %s", util_printable(p->state, shown, sizeof(shown)));
    }
    fprintf(f, "; %" PRId64 " cache %s\n", p->wrappers, plural(p->wrappers, "wrapper", "wrappers"));
    if (p->truncated) {
        fprintf(f, "  the retained-graph walk hit its budget: pinned and retained are lower "
                   "bounds\n");
    }

    n = report_sorted_caches(p, &rows);
    if (n < 0) {
        return n;
    }
    while (npin < (size_t)n && is_pinning(p, rows[npin])) {
        fputc('\n', f);
        print_pinning(f, r, p, rows[npin], opts);
        npin++;
    }
    if (npin == 0) {
        fprintf(f, "\n  no cache pins objects\n");
    }
    print_rest(f, p, rows + npin, (size_t)n - npin, opts);
    free(rows);
    return 0;
}

/* ---- tests ------------------------------------------------------------------ */

/* Past this many leaking tests, print a count unless verbose. */
#define TESTS_LIST_MAX 20

static void
print_test(FILE *f, const struct report_test *t)
{
    fprintf(f, "  %+6" PRId64 "  ", t->blamed);
    util_put_printable(f, t->nodeid);
    fprintf(f, "  (pid %" PRId64 "%s%s)\n", t->proc->pid, t->proc->worker != NULL ? ", " : "",
            t->proc->worker != NULL ? t->proc->worker : "");
    for (size_t k = 0; k < t->ncaches; k++) {
        const struct report_test_cache *c = &t->caches[k];

        if (c->blame != REPORT_BLAMED) {
            continue;
        }
        fprintf(f, "          %-32s %+6" PRId64 "  %s, %s  %s:%" PRId64 "\n", c->qualname,
                c->new_pinned, c->kind, c->maxsize < 0 ? "unbounded" : "bounded",
                util_basename(c->file), c->line);
    }
}

/* The caches tests filled without being blamed: warm-ups, allow-listed. */
static void
print_not_blamed(FILE *f, const struct report *r, bool verbose)
{
    size_t shown = 0, total = 0;

    for (size_t i = 0; i < r->ntests; i++) {
        const struct report_test *t = r->tests[i];

        for (size_t k = 0; k < t->ncaches; k++) {
            const struct report_test_cache *c = &t->caches[k];

            if (c->blame == REPORT_BLAMED || c->new_pinned == 0) {
                continue;
            }
            total++;
            if (shown >= TESTS_LIST_MAX && !verbose) {
                continue;
            }
            if (shown++ == 0) {
                fprintf(f, "\n  not blamed:\n");
            }
            fprintf(f, "    %s %+" PRId64 " in ", c->qualname, c->new_pinned);
            util_put_printable(f, t->nodeid);
            if (c->blame == REPORT_WARMUP) {
                fprintf(f, " (warm-up: the only test that filled it)\n");
            } else {
                fprintf(f, " (allow-listed: %s)\n", c->ignored);
            }
        }
    }
    if (total > shown) {
        fprintf(f, "    and %zu more (--verbose lists them)\n", total - shown);
    }
}

static int
print_tests(FILE *f, const struct report *r, const struct report_text_opts *opts)
{
    struct report_test **v = NULL;
    int64_t objects = 0;
    int n;

    n = report_leaking_tests(r, &v);
    if (n < 0) {
        return n;
    }
    for (int i = 0; i < n; i++) {
        objects += v[i]->blamed;
    }
    fputc('\n', f);
    if (n == 0) {
        fprintf(f, "%zu %s recorded: none left objects pinned by lru caches\n", r->ntests,
                plural((int64_t)r->ntests, "test", "tests"));
    } else {
        fprintf(f, "%zu %s recorded: %d left %" PRId64 " %s pinned by lru caches (worst first)\n",
                r->ntests, plural((int64_t)r->ntests, "test", "tests"), n, objects,
                plural(objects, "object", "objects"));
    }
    for (int i = 0; i < n && (i < TESTS_LIST_MAX || opts->verbose); i++) {
        print_test(f, v[i]);
    }
    if (n > TESTS_LIST_MAX && !opts->verbose) {
        fprintf(f, "  and %d more (--verbose lists them)\n", n - TESTS_LIST_MAX);
    }
    print_not_blamed(f, r, opts->verbose);
    free(v);
    return 0;
}

int
report_write_text(const struct report *r, FILE *f, const struct report_text_opts *opts)
{
    static const struct report_text_opts defaults = {0};
    size_t leak = 0, bounded = 0, caches = 0, procs_pinning = 0;
    int ret = 0;

    if (opts == NULL) {
        opts = &defaults;
    }
    for (size_t i = 0; i < r->nprocs; i++) {
        const struct report_process *p = r->procs[i];
        size_t before = leak + bounded;

        for (size_t k = 0; k < p->ncaches; k++) {
            const struct report_cache *c = p->caches[k];

            caches++;
            if (is_pinning(p, c)) {
                leak += c->verdict == REPORT_VERDICT_LEAK;
                bounded += c->verdict == REPORT_VERDICT_BOUNDED;
            }
        }
        procs_pinning += leak + bounded > before;
    }

    if (r->nprocs == 0) {
        fprintf(f, "no Python process was recorded\n");
    } else if (leak + bounded == 0) {
        fprintf(f, "no cache pins objects (%zu %s in %zu %s)\n", caches,
                plural((int64_t)caches, "cache", "caches"), r->nprocs,
                plural((int64_t)r->nprocs, "process", "processes"));
    } else {
        fprintf(f, "%zu %s %s objects in %zu of %zu %s: %zu %s, %zu bounded\n", leak + bounded,
                plural((int64_t)(leak + bounded), "cache", "caches"),
                leak + bounded == 1 ? "pins" : "pin", procs_pinning, r->nprocs,
                plural((int64_t)r->nprocs, "process", "processes"), leak,
                plural((int64_t)leak, "leak", "leaks"), bounded);
    }
    if (r->ntests > 0 || report_has_tests(r)) {
        ret = print_tests(f, r, opts);
    }
    for (size_t i = 0; i < r->nprocs && ret == 0; i++) {
        fputc('\n', f);
        ret = print_process(f, r, r->procs[i], opts);
    }
    errno = 0;
    if (ret == 0 && (fflush(f) != 0 || ferror(f))) {
        ret = -(errno != 0 ? errno : EIO);
    }
    return ret;
}
