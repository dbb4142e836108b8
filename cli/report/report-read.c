/* SPDX-License-Identifier: MIT */
/*
 * report-read: decodes records (process, hello, sample, session and test
 * lines; whole recordings) into the model of report.c (see report.h).
 *
 * Recordings can be hundreds of megabytes with thousands of samples, so
 * everything here is linear in the input: the file is read one line at a
 * time (one jsonv tree alive at a time), cache rows are found by hashing
 * their identity (module, qualname, file, line, kind), processes by pid,
 * and identity strings are interned once per model. Input is untrusted: a
 * malformed record is an -EINVAL with a reason, never a crash; missing
 * optional members take neutral defaults so older and newer agents both
 * load. Never logs. Thread context: none.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "snapshot.h"
#include "report-internal.h"
#include "report-source.h"

/* ---- processes ------------------------------------------------------------ */

static int
get_pid(const struct jsonv *rec, const char *what, int64_t *ret, char *err, size_t errlen)
{
    int64_t pid;

    if (!jsonv_get_int(rec, "pid", &pid) || pid <= 0 || pid > INT32_MAX) {
        snprintf(err, errlen, "%s record without a valid \"pid\"", what);
        return -EINVAL;
    }
    *ret = pid;
    return 0;
}

static int
set_argv(struct report_process *p, const struct jsonv *argv)
{
    char **v;

    if (!jsonv_is(argv, JSONV_ARRAY)) {
        return 0;
    }
    v = calloc(argv->u.arr.n + 1, sizeof(*v));
    if (v == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < argv->u.arr.n; i++) {
        const struct jsonv *a = &argv->u.arr.items[i];

        v[i] = strdup(jsonv_is(a, JSONV_STRING) ? a->u.str.s : "?");
        if (v[i] == NULL) {
            for (size_t k = 0; k < i; k++) {
                free(v[k]);
            }
            free(v);
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < p->argc; i++) {
        free(p->argv[i]);
    }
    free(p->argv);
    p->argv = v;
    p->argc = argv->u.arr.n;
    return 0;
}

/* Optional string member, interned; *ret untouched when absent. */
static int
set_str(struct report *rep, const struct jsonv *obj, const char *key, const char **ret)
{
    const char *s = jsonv_get_str(obj, key);

    if (s == NULL) {
        return 0;
    }
    *ret = report_intern(rep, s);
    return *ret != NULL ? 0 : -ENOMEM;
}

/*
 * The process a "process" line or a hello reply describes. An exec keeps
 * the pid but starts a new interpreter (and agent), which writes a new
 * process line: once a pid has a process line or samples, the next process
 * line starts a new generation.
 */
static int
describe_process(struct report *rep, const struct jsonv *rec, const char *what,
                 struct report_process **ret, char *err, size_t errlen)
{
    struct report_process *p;
    int64_t pid;
    int r;

    r = get_pid(rec, what, &pid, err, errlen);
    if (r < 0) {
        return r;
    }
    p = report_find_process(rep, pid);
    if (p == NULL || p->has_process_line || p->samples > 0) {
        r = report_new_process(rep, pid, &p);
        if (r < 0) {
            goto out;
        }
    }
    p->has_process_line = true;
    (void)jsonv_get_int(rec, "ppid", &p->ppid);
    (void)jsonv_get_double(rec, "start", &p->start);
    (void)jsonv_get_bool(rec, "forked", &p->forked);
    r = set_str(rep, rec, "python", &p->python);
    if (r < 0) {
        goto out;
    }
    r = set_str(rep, rec, "lruleak_version", &p->agent_version);
    if (r < 0) {
        goto out;
    }
    r = set_argv(p, jsonv_get(rec, "argv"));
    if (r < 0) {
        goto out;
    }
    *ret = p;
out:
    if (r == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    return r;
}

int
report_add_process(struct report *rep, const struct jsonv *rec, char *err, size_t errlen)
{
    struct report_process *p;

    return describe_process(rep, rec, "process", &p, err, errlen);
}

int
report_add_hello(struct report *rep, const struct jsonv *hello, char *err, size_t errlen)
{
    struct report_process *p;
    int r;

    r = describe_process(rep, hello, "hello", &p, err, errlen);
    if (r < 0) {
        return r;
    }
    r = set_str(rep, hello, "state", &p->state);
    if (r == 0) {
        r = set_str(rep, hello, "reason", &p->refused);
    }
    if (r < 0) {
        snprintf(err, errlen, "out of memory");
    }
    return r;
}

int
report_add_refused(struct report *rep, const struct jsonv *rec, char *err, size_t errlen)
{
    struct report_process *p;
    const char *reason;
    int64_t pid;
    int r;

    r = get_pid(rec, "refused", &pid, err, errlen);
    if (r < 0) {
        return r;
    }
    p = report_find_process(rep, pid);
    if (p == NULL || p->samples > 0 || p->refused != NULL) {
        r = report_new_process(rep, pid, &p);
        if (r < 0) {
            goto out;
        }
    }
    reason = jsonv_get_str(rec, "reason");
    p->refused = report_intern(rep, reason != NULL ? reason : "(no reason given)");
    if (p->refused == NULL) {
        r = -ENOMEM;
    }
out:
    if (r == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    return r;
}

/* ---- samples -------------------------------------------------------------- */

static const char *
str_or_empty(const struct jsonv *obj, const char *key)
{
    const char *s = jsonv_get_str(obj, key);

    return s != NULL ? s : "";
}

static int
parse_verdict(struct report *rep, const char *name, struct report_cache *c)
{
    if (strcmp(name, "leak") == 0) {
        c->verdict = REPORT_VERDICT_LEAK;
    } else if (strcmp(name, "bounded") == 0) {
        c->verdict = REPORT_VERDICT_BOUNDED;
    } else {
        /* "ok", or a verdict this CLI does not know: rank it with ok but
         * keep the agent's word for the output. */
        c->verdict = REPORT_VERDICT_OK;
        if (strcmp(name, "ok") != 0) {
            c->verdict_name = report_intern(rep, name);
            return c->verdict_name != NULL ? 0 : -ENOMEM;
        }
    }
    c->verdict_name = report_verdict_name(c->verdict);
    return 0;
}

/*
 * "alloc_sites": [{"file", "line", "function", "count"[, "unknown"][, "other"]}]
 * and "alloc_examined" (`--trace-alloc`). Absent: the row keeps no sites.
 */
static int
parse_sites(struct report *rep, struct report_cache *c, const struct jsonv *o, size_t idx,
            char *err, size_t errlen)
{
    const struct jsonv *v = jsonv_get(o, "alloc_sites");
    struct report_site *sites;
    int r;

    c->has_sites = false;
    c->nsites = 0;
    if (v == NULL || jsonv_is(v, JSONV_NULL)) {
        return 0;
    }
    if (!jsonv_is(v, JSONV_ARRAY)) {
        snprintf(err, errlen, "sample: caches[%zu]: \"alloc_sites\" is not an array", idx);
        return -EINVAL;
    }
    r = snapshot_read_count(o, "alloc_examined", idx, &c->alloc_examined, err, errlen);
    if (r < 0) {
        return r;
    }
    sites = realloc(c->sites, (v->u.arr.n + 1) * sizeof(*sites));
    if (sites == NULL) {
        return -ENOMEM;
    }
    c->sites = sites;
    for (size_t i = 0; i < v->u.arr.n; i++) {
        const struct jsonv *s = &v->u.arr.items[i];
        struct report_site *site = &c->sites[i];
        const char *file, *fn;

        if (!jsonv_is(s, JSONV_OBJECT)) {
            snprintf(err, errlen, "sample: caches[%zu]: alloc_sites[%zu] is not an object", idx, i);
            return -EINVAL;
        }
        memset(site, 0, sizeof(*site));
        r = snapshot_read_count(s, "count", idx, &site->count, err, errlen);
        if (r < 0) {
            return r;
        }
        (void)jsonv_get_bool(s, "unknown", &site->unknown);
        (void)jsonv_get_bool(s, "other", &site->other);
        file = jsonv_get_str(s, "file");
        fn = jsonv_get_str(s, "function");
        site->line = snapshot_int_or_zero(s, "line");
        if (file != NULL && !site->unknown && !site->other) {
            site->file = report_intern(rep, file);
            if (site->file == NULL) {
                return -ENOMEM;
            }
        } else if (!site->other) {
            site->unknown = true;
        }
        /* tracemalloc names no function: read it from the source now. */
        char name[128];
        if (fn == NULL && site->file != NULL && site->line > 0 &&
            report_source_function(site->file, site->line, name, sizeof(name)) == 0) {
            fn = name;
        }
        if (fn != NULL) {
            site->function = report_intern(rep, fn);
            if (site->function == NULL) {
                return -ENOMEM;
            }
        }
        c->nsites++;
    }
    c->has_sites = true;
    return 0;
}

static int
add_cache(struct report *rep, struct report_process *p, const struct jsonv *o, double t, size_t idx,
          char *err, size_t errlen)
{
    struct report_cache *c;
    struct report_row_key k;
    bool fresh = false;
    int r;

    struct snapshot_row_view v;
    r = snapshot_read_row(o, idx, &v, err, errlen);
    if (r < 0) {
        return r;
    }
    k.qualname = v.qualname;
    k.module = v.module;
    k.file = v.file;
    k.kind = v.kind;
    k.line = v.line;
    k.hash = report_row_hash(k.module, k.qualname, k.file, k.line, k.kind);

    c = report_row_find(p, &k);
    if (c == NULL) {
        r = report_row_add(rep, p, &k, &c);
        if (r < 0) {
            return r;
        }
        fresh = true;
    }
    c->maxsize = v.maxsize;
    c->typed = v.typed;
    c->self_only = v.self_only;
#define COPY_COUNT(name) c->name = v.name;
    SNAPSHOT_CACHE_COUNTS(COPY_COUNT)
#undef COPY_COUNT
    r = parse_verdict(rep, v.verdict, c);
    if (r < 0) {
        return r;
    }
    r = parse_sites(rep, c, o, idx, err, errlen);
    if (r < 0) {
        return r;
    }
    if (fresh) {
        c->first_t = t;
        c->first_entries = c->entries;
        c->first_selves = c->selves;
        c->first_pinned = c->pinned;
        c->first_retained = c->retained_bytes;
    }
    c->last_t = t;

    if (!(rep->flags & REPORT_NO_SERIES)) {
        /* The same row twice in one sample (should not happen): the later
         * one replaces the point instead of adding a second. */
        if (c->last_sample == p->samples && c->nseries > 0) {
            c->nseries--;
        }
        if (c->nseries == c->series_cap) {
            size_t cap = c->series_cap ? c->series_cap * 2 : 4;
            struct report_point *grown = realloc(c->series, cap * sizeof(*grown));

            if (grown == NULL) {
                return -ENOMEM;
            }
            c->series = grown;
            c->series_cap = cap;
        }
        c->series[c->nseries++] = (struct report_point){
            .t = t,
            .entries = c->entries,
            .selves = c->selves,
            .pinned = c->pinned,
            .retained_bytes = c->retained_bytes,
        };
    }
    c->last_sample = p->samples;
    return 0;
}

int
report_add_sample(struct report *rep, const struct jsonv *sample, char *err, size_t errlen)
{
    const struct jsonv *caches;
    struct report_process *p;
    int64_t pid;
    double t = 0;
    int r;

    struct snapshot_view v;
    r = snapshot_read(sample, "sample", &v, err, errlen);
    if (r < 0) {
        return r;
    }
    pid = v.pid;
    t = v.t;
    caches = v.caches;
    /* A sample for a pid without a process line is accepted (a recording
     * may start mid-way, or the process line may have been lost). */
    p = report_find_process(rep, pid);
    if (p == NULL || p->refused != NULL) {
        r = report_new_process(rep, pid, &p);
        if (r < 0) {
            goto out;
        }
    }

    p->samples++;
    if (p->samples == 1) {
        p->first_t = t;
    }
    p->last_t = t;
    p->last_seq = v.seq;
    p->final = v.final;
    p->truncated = v.truncated;
    p->full = v.full;
    p->steady = v.steady;
    p->wrappers = v.wrappers;
    p->agent_mem_bytes = v.agent_mem_bytes;
    if (v.scan_ms > p->scan_ms_max) {
        p->scan_ms_max = v.scan_ms;
    }
    if (v.max_gil_hold_ms > p->gil_hold_ms_max) {
        p->gil_hold_ms_max = v.max_gil_hold_ms;
    }
    if (v.scan_ms >= 0 && v.scan_ms < 1e9) {
        p->scan_ms_total += v.scan_ms;
    }
    if (v.scan_cpu_ms >= 0 && v.scan_cpu_ms < 1e9) {
        p->scan_cpu_ms_total += v.scan_cpu_ms;
    }
    p->alloc_frames = v.alloc_frames;
    if (v.cached_method >= 0) {
        p->cached_method = v.cached_method;
    }

    for (size_t i = 0; i < caches->u.arr.n; i++) {
        r = add_cache(rep, p, &caches->u.arr.items[i], t, i, err, errlen);
        if (r < 0) {
            goto out;
        }
    }
out:
    if (r == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    return r;
}

/* ---- test sessions and tests (the pytest plugin) ------------------------- */

/* The process a session or test record belongs to (created when new). */
static int
record_process(struct report *rep, const struct jsonv *rec, const char *what,
               struct report_process **ret, char *err, size_t errlen)
{
    int64_t pid;
    int r;

    r = get_pid(rec, what, &pid, err, errlen);
    if (r < 0) {
        return r;
    }
    *ret = report_find_process(rep, pid);
    if (*ret == NULL) {
        r = report_new_process(rep, pid, ret);
        if (r < 0) {
            snprintf(err, errlen, "out of memory");
        }
    }
    return r;
}

int
report_add_session(struct report *rep, const struct jsonv *rec, char *err, size_t errlen)
{
    struct report_process *p;
    const char *event;
    int r;

    r = record_process(rep, rec, "session", &p, err, errlen);
    if (r < 0) {
        return r;
    }
    event = str_or_empty(rec, "event");
    if (strcmp(event, "start") == 0) {
        p->test_session = true;
        r = set_str(rep, rec, "runner", &p->runner);
        if (r == 0) {
            r = set_str(rep, rec, "worker", &p->worker);
        }
    } else if (strcmp(event, "error") == 0) {
        p->session_error = report_intern(rep, str_or_empty(rec, "reason"));
        r = p->session_error != NULL ? 0 : -ENOMEM;
    }
    if (r < 0) {
        snprintf(err, errlen, "out of memory");
    }
    return r;
}

static int
add_test_cache(struct report *rep, struct report_test_cache *tc, const struct jsonv *o, size_t idx,
               char *err, size_t errlen)
{
    const char *qualname = jsonv_get_str(o, "qualname");
    int64_t n;

    if (!jsonv_is(o, JSONV_OBJECT) || qualname == NULL) {
        snprintf(err, errlen, "test: caches[%zu] is not a cache with a \"qualname\"", idx);
        return -EINVAL;
    }
    if (!jsonv_get_int(o, "new", &n) || n < 0) {
        snprintf(err, errlen, "test: caches[%zu] without a valid \"new\" count", idx);
        return -EINVAL;
    }
    tc->new_pinned = n;
    tc->qualname = report_intern(rep, qualname);
    tc->module = report_intern(rep, str_or_empty(o, "module"));
    tc->file = report_intern(rep, str_or_empty(o, "file"));
    tc->kind = report_intern(rep, str_or_empty(o, "kind"));
    tc->line = snapshot_int_or_zero(o, "line");
    if (!jsonv_get_int(o, "maxsize", &tc->maxsize) || tc->maxsize < 0) {
        tc->maxsize = -1;
    }
    tc->ignored = NULL;
    if (jsonv_get_str(o, "ignored") != NULL) {
        tc->ignored = report_intern(rep, jsonv_get_str(o, "ignored"));
        if (tc->ignored == NULL) {
            return -ENOMEM;
        }
    }
    tc->blame = REPORT_BLAMED;
    if (tc->qualname == NULL || tc->module == NULL || tc->file == NULL || tc->kind == NULL) {
        return -ENOMEM;
    }
    return 0;
}

int
report_add_test(struct report *rep, const struct jsonv *rec, char *err, size_t errlen)
{
    const struct jsonv *caches = jsonv_get(rec, "caches");
    const char *nodeid = jsonv_get_str(rec, "nodeid");
    struct report_process *p;
    struct report_test *t = NULL;
    int r;

    if (nodeid == NULL || !jsonv_is(caches, JSONV_ARRAY)) {
        snprintf(err, errlen, "test record without a \"nodeid\" and a \"caches\" array");
        return -EINVAL;
    }
    r = record_process(rep, rec, "test", &p, err, errlen);
    if (r < 0) {
        return r;
    }
    r = -ENOMEM;
    if (rep->ntests == rep->tests_cap) {
        size_t cap = rep->tests_cap ? rep->tests_cap * 2 : 16;
        struct report_test **v = realloc(rep->tests, cap * sizeof(*v));

        if (v == NULL) {
            goto out;
        }
        rep->tests = v;
        rep->tests_cap = cap;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        goto out;
    }
    t->caches = calloc(caches->u.arr.n + 1, sizeof(*t->caches));
    t->nodeid = report_intern(rep, nodeid);
    t->outcome = report_intern(
        rep, jsonv_get_str(rec, "outcome") != NULL ? jsonv_get_str(rec, "outcome") : "unknown");
    if (t->caches == NULL || t->nodeid == NULL || t->outcome == NULL) {
        goto out;
    }
    (void)jsonv_get_double(rec, "duration", &t->duration);
    t->proc = p;
    for (size_t i = 0; i < caches->u.arr.n; i++) {
        r = add_test_cache(rep, &t->caches[i], &caches->u.arr.items[i], i, err, errlen);
        if (r < 0) {
            goto out;
        }
        t->ncaches++;
    }
    rep->tests[rep->ntests++] = t;
    p->ntests++;
    t = NULL;
    r = 0;
out:
    if (r == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    if (t != NULL) {
        free(t->caches);
        free(t);
    }
    return r;
}

/* ---- records and files --------------------------------------------------- */

int
report_feed(struct report *rep, const struct jsonv *rec, char *err, size_t errlen)
{
    const char *type;

    if (!jsonv_is(rec, JSONV_OBJECT)) {
        snprintf(err, errlen, "record is not a JSON object");
        return -EINVAL;
    }
    type = jsonv_get_str(rec, "type");
    if (type == NULL) {
        snprintf(err, errlen, "record without a \"type\"");
        return -EINVAL;
    }
    if (strcmp(type, "sample") == 0) {
        return report_add_sample(rep, rec, err, errlen);
    }
    if (strcmp(type, "process") == 0) {
        return report_add_process(rep, rec, err, errlen);
    }
    if (strcmp(type, "refused") == 0) {
        return report_add_refused(rep, rec, err, errlen);
    }
    if (strcmp(type, "test") == 0) {
        return report_add_test(rep, rec, err, errlen);
    }
    if (strcmp(type, "session") == 0) {
        return report_add_session(rep, rec, err, errlen);
    }
    /* Forward compatibility: newer agents may add record types. */
    return 0;
}

int
report_feed_line(struct report *rep, const char *line, size_t len, char *err, size_t errlen)
{
    const struct jsonv *root = NULL;
    char why[160];
    size_t i;
    int r;

    for (i = 0; i < len; i++) {
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n') {
            break;
        }
    }
    if (i == len) {
        return 0;
    }
    why[0] = '\0';
    r = jsonv_parse(line, len, &root, why, sizeof(why));
    if (r == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (r < 0) {
        snprintf(err, errlen, "invalid JSON: %s", why[0] != '\0' ? why : "syntax error");
        goto out;
    }
    r = report_feed(rep, root, err, errlen);
out:
    jsonv_free(root);
    return r;
}

int
report_read_file(struct report *rep, FILE *f, const char *name, char *err, size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    unsigned long lineno = 0;
    char why[256];
    ssize_t n;
    int r = 0;

    for (;;) {
        errno = 0;
        n = getline(&line, &cap, f);
        if (n < 0) {
            if (ferror(f)) {
                r = errno != 0 ? -errno : -EIO;
                snprintf(err, errlen, "%s: %s", name, strerror(-r));
            }
            break;
        }
        lineno++;
        r = report_feed_line(rep, line, (size_t)n, why, sizeof(why));
        if (r < 0) {
            snprintf(err, errlen, "%s:%lu: %s", name, lineno, why);
            break;
        }
    }
    free(line);
    return r;
}
