/* SPDX-License-Identifier: MIT */
/*
 * report-json: the JSON report of a model (`report --format json`,
 * `snapshot --format json`).
 *
 * The schema is a contract: later versions add members, never rename or
 * remove them. One object, then '\n':
 *   {"lruleak_version": "...", "processes": [{"pid", "ppid", "python",
 *    "argv", "samples", ..., "caches": [{"qualname", "module", "file",
 *    "line", "kind", "maxsize", "typed", "entries", "hits", "misses",
 *    "selves", "pinned", "retained_bytes", "verdict", "wrappers",
 *    "self_only", ..., "alloc_sites": [{"file", "line", "function", "count"}]
 *    (--trace-alloc only), "series": [{"t", "entries", "selves", "pinned",
 *    "retained_bytes"}]}]}],
 *   "tests": [{"pid", "nodeid", "outcome", "duration", "blamed", "blamed_unbounded",
 *              "caches": [{"qualname", "module", "file", "line", "kind", "maxsize",
 *                          "new", "blame", "ignored"}]}]}
 * Caches come in report order (report_sorted_caches). A big recording
 * makes a big report, so each cache is encoded and written on its own
 * instead of building the whole document in memory. Thread context: none.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "report.h"

static int
flush(struct jsonw *w, FILE *f)
{
    if (w->err < 0) {
        return w->err;
    }
    if (w->len > 0 && fwrite(w->buf, 1, w->len, f) != w->len) {
        return -(errno != 0 ? errno : EIO);
    }
    jsonw_clear(w);
    return 0;
}

/* The members naming a cache row, shared by rows and test records. */
static void
write_identity(struct jsonw *w, const char *qualname, const char *module, const char *file,
               int64_t line, const char *kind, int64_t maxsize)
{
    jsonw_kstr(w, "qualname", qualname);
    jsonw_kstr(w, "module", module);
    jsonw_kstr(w, "file", file);
    jsonw_kint(w, "line", line);
    jsonw_kstr(w, "kind", kind);
    if (maxsize < 0) {
        jsonw_knull(w, "maxsize");
    } else {
        jsonw_kint(w, "maxsize", maxsize);
    }
}

static void
write_cache(struct jsonw *w, const struct report_process *p, const struct report_cache *c)
{
    jsonw_obj_begin(w);
    write_identity(w, c->qualname, c->module, c->file, c->line, c->kind, c->maxsize);
    jsonw_kbool(w, "typed", c->typed);
    jsonw_kint(w, "entries", c->entries);
    jsonw_kint(w, "hits", c->hits);
    jsonw_kint(w, "misses", c->misses);
    jsonw_kint(w, "selves", c->selves);
    jsonw_kint(w, "pinned", c->pinned);
    jsonw_kint(w, "retained_bytes", c->retained_bytes);
    jsonw_kstr(w, "verdict", c->verdict_name);
    jsonw_kint(w, "wrappers", c->wrappers);
    jsonw_kbool(w, "self_only", c->self_only);
    /* Additions to the schema. "present": the row was in the
     * process's last sample (false: its cache was emptied since). */
    jsonw_kbool(w, "present", report_cache_present(p, c));
    jsonw_kdouble(w, "first_t", c->first_t, 3);
    jsonw_kdouble(w, "last_t", c->last_t, 3);
    jsonw_kint(w, "first_pinned", c->first_pinned);
    jsonw_kint(w, "first_retained_bytes", c->first_retained);
    if (c->has_sites) {
        jsonw_key(w, "alloc_sites");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < c->nsites; i++) {
            const struct report_site *s = &c->sites[i];

            jsonw_obj_begin(w);
            jsonw_kstr(w, "file", s->file);
            if (s->file != NULL) {
                jsonw_kint(w, "line", s->line);
            } else {
                jsonw_knull(w, "line");
            }
            jsonw_kstr(w, "function", s->function);
            jsonw_kint(w, "count", s->count);
            if (s->unknown) {
                jsonw_kbool(w, "unknown", true);
            }
            if (s->other) {
                jsonw_kbool(w, "other", true);
            }
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
        jsonw_kint(w, "alloc_examined", c->alloc_examined);
    }
    jsonw_key(w, "series");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < c->nseries; i++) {
        const struct report_point *pt = &c->series[i];

        jsonw_obj_begin(w);
        jsonw_kdouble(w, "t", pt->t, 3);
        jsonw_kint(w, "entries", pt->entries);
        jsonw_kint(w, "selves", pt->selves);
        jsonw_kint(w, "pinned", pt->pinned);
        jsonw_kint(w, "retained_bytes", pt->retained_bytes);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}

static void
write_process_head(struct jsonw *w, const struct report_process *p)
{
    jsonw_obj_begin(w);
    jsonw_kint(w, "pid", p->pid);
    if (p->ppid >= 0) {
        jsonw_kint(w, "ppid", p->ppid);
    } else {
        jsonw_knull(w, "ppid");
    }
    jsonw_kstr(w, "python", p->python);
    jsonw_kbool(w, "forked", p->forked);
    jsonw_key(w, "argv");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < p->argc; i++) {
        jsonw_str(w, p->argv[i]);
    }
    jsonw_arr_end(w);
    jsonw_kint(w, "samples", (int64_t)p->samples);
    if (p->samples > 0) {
        jsonw_kdouble(w, "first_t", p->first_t, 3);
        jsonw_kdouble(w, "last_t", p->last_t, 3);
    } else {
        jsonw_knull(w, "first_t");
        jsonw_knull(w, "last_t");
    }
    jsonw_kbool(w, "final", p->final);
    jsonw_kbool(w, "truncated", p->truncated);
    jsonw_kbool(w, "full", p->full);
    jsonw_kbool(w, "steady", p->steady);
    jsonw_kint(w, "wrappers", p->wrappers);
    if (p->start >= 0) {
        jsonw_kdouble(w, "start", p->start, 3);
    } else {
        jsonw_knull(w, "start");
    }
    jsonw_kstr(w, "agent_version", p->agent_version);
    jsonw_kstr(w, "state", p->state);
    jsonw_kstr(w, "refused", p->refused);
    jsonw_kdouble(w, "scan_ms_max", p->scan_ms_max, 3);
    jsonw_kdouble(w, "max_gil_hold_ms", p->gil_hold_ms_max, 3);
    jsonw_kint(w, "agent_mem_bytes", p->agent_mem_bytes);
    jsonw_kdouble(w, "scan_ms_total", p->scan_ms_total, 3);
    jsonw_kdouble(w, "scan_cpu_ms_total", p->scan_cpu_ms_total, 3);
    jsonw_kint(w, "alloc_frames", p->alloc_frames);
    if (p->cached_method >= 0) {
        jsonw_kbool(w, "functools_cached_method", p->cached_method > 0);
    } else {
        jsonw_knull(w, "functools_cached_method");
    }
    /* Test runner sessions (the pytest plugin). */
    jsonw_kbool(w, "test_session", p->test_session);
    jsonw_kstr(w, "runner", p->runner);
    jsonw_kstr(w, "worker", p->worker);
    jsonw_kstr(w, "session_error", p->session_error);
    jsonw_kint(w, "tests", (int64_t)p->ntests);
    jsonw_obj_end(w);
}

static const char *
blame_name(enum report_blame b)
{
    switch (b) {
    case REPORT_WARMUP:
        return "warm-up";
    case REPORT_IGNORED:
        return "allow-listed";
    case REPORT_BLAMED:
        break;
    }
    return "blamed";
}

static void
write_test(struct jsonw *w, const struct report_test *t)
{
    jsonw_obj_begin(w);
    jsonw_kint(w, "pid", t->proc->pid);
    jsonw_kstr(w, "nodeid", t->nodeid);
    jsonw_kstr(w, "outcome", t->outcome);
    jsonw_kdouble(w, "duration", t->duration, 6);
    jsonw_kint(w, "blamed", t->blamed);
    jsonw_kint(w, "blamed_unbounded", t->blamed_unbounded);
    jsonw_key(w, "caches");
    jsonw_arr_begin(w);
    for (size_t k = 0; k < t->ncaches; k++) {
        const struct report_test_cache *c = &t->caches[k];

        jsonw_obj_begin(w);
        write_identity(w, c->qualname, c->module, c->file, c->line, c->kind, c->maxsize);
        jsonw_kint(w, "new", c->new_pinned);
        jsonw_kstr(w, "blame", blame_name(c->blame));
        jsonw_kstr(w, "ignored", c->ignored);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}

static int
write_process(struct jsonw *w, FILE *f, const struct report_process *p)
{
    struct report_cache **rows = NULL;
    int n, r;

    write_process_head(w, p);
    if (w->err < 0) {
        return w->err;
    }
    /* The head is a complete object; reopen it to stream the caches. */
    if (w->len == 0 || w->buf[w->len - 1] != '}') {
        return -EINVAL;
    }
    w->len--;
    r = flush(w, f);
    if (r < 0) {
        return r;
    }
    if (fputs(",\"caches\":[", f) == EOF) {
        return -(errno != 0 ? errno : EIO);
    }
    n = report_sorted_caches(p, &rows);
    if (n < 0) {
        return n;
    }
    for (int i = 0; i < n && r == 0; i++) {
        if (i > 0 && fputc(',', f) == EOF) {
            r = -(errno != 0 ? errno : EIO);
            break;
        }
        write_cache(w, p, rows[i]);
        r = flush(w, f);
    }
    free(rows);
    if (r == 0 && fputs("]}", f) == EOF) {
        r = -(errno != 0 ? errno : EIO);
    }
    return r;
}

int
report_write_json(const struct report *r, FILE *f)
{
    struct jsonw w;
    int ret;

    errno = 0;
    jsonw_init(&w);
    jsonw_obj_begin(&w);
    jsonw_kstr(&w, "lruleak_version", LRULEAK_VERSION);
    jsonw_obj_end(&w);
    if (w.err < 0 || w.len == 0 || w.buf[w.len - 1] != '}') {
        ret = w.err < 0 ? w.err : -EINVAL;
        goto out;
    }
    w.len--;
    ret = flush(&w, f);
    if (ret < 0) {
        goto out;
    }
    fputs(",\"processes\":[", f);
    for (size_t i = 0; i < r->nprocs && ret == 0; i++) {
        if (i > 0) {
            fputc(',', f);
        }
        ret = write_process(&w, f, r->procs[i]);
    }
    if (ret < 0) {
        goto out;
    }
    /* Tests in recording order, attributed (report_attribute). */
    fputs("],\"tests\":[", f);
    for (size_t i = 0; i < r->ntests && ret == 0; i++) {
        if (i > 0) {
            fputc(',', f);
        }
        write_test(&w, r->tests[i]);
        ret = flush(&w, f);
    }
    if (ret < 0) {
        goto out;
    }
    fputs("]}\n", f);
    if (fflush(f) != 0 || ferror(f)) {
        ret = -(errno != 0 ? errno : EIO);
    }
out:
    jsonw_done(&w);
    return ret;
}
