/* SPDX-License-Identifier: MIT */
/*
 * report: builds the model of a recording from parsed records (see
 * report.h for what the model holds and who feeds it).
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
#include "report-source.h"

#define MIN_INDEX_CAP 16

/* ---- hashing and interning ---------------------------------------------- */

static uint64_t
fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t
hash_str(uint64_t h, const char *s)
{
    /* Hash the terminating NUL too, so ("ab","c") and ("a","bc") differ. */
    return fnv1a(h, s, strlen(s) + 1);
}

static uint64_t
row_hash(const char *module, const char *qualname, const char *file, int64_t line, const char *kind)
{
    uint64_t h = 14695981039346656037ull;

    h = hash_str(h, module);
    h = hash_str(h, qualname);
    h = hash_str(h, file);
    h = fnv1a(h, &line, sizeof(line));
    return hash_str(h, kind);
}

static int
strings_grow(struct report *rep)
{
    size_t cap = rep->strings_cap ? rep->strings_cap * 2 : 64;
    char **slots = calloc(cap, sizeof(*slots));

    if (slots == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < rep->strings_cap; i++) {
        char *s = rep->strings[i];
        size_t j;

        if (s == NULL) {
            continue;
        }
        j = hash_str(14695981039346656037ull, s) & (cap - 1);
        while (slots[j] != NULL) {
            j = (j + 1) & (cap - 1);
        }
        slots[j] = s;
    }
    free(rep->strings);
    rep->strings = slots;
    rep->strings_cap = cap;
    return 0;
}

/* The model's copy of s (NULL on OOM). Equal strings share one copy. */
static const char *
intern(struct report *rep, const char *s)
{
    size_t j;

    if ((rep->nstrings + 1) * 2 > rep->strings_cap && strings_grow(rep) < 0) {
        return NULL;
    }
    j = hash_str(14695981039346656037ull, s) & (rep->strings_cap - 1);
    while (rep->strings[j] != NULL) {
        if (strcmp(rep->strings[j], s) == 0) {
            return rep->strings[j];
        }
        j = (j + 1) & (rep->strings_cap - 1);
    }
    rep->strings[j] = strdup(s);
    if (rep->strings[j] == NULL) {
        return NULL;
    }
    rep->nstrings++;
    return rep->strings[j];
}

/* ---- life cycle ---------------------------------------------------------- */

struct report *
report_new(unsigned flags)
{
    struct report *rep = calloc(1, sizeof(*rep));

    if (rep != NULL) {
        rep->flags = flags;
    }
    return rep;
}

static void
process_free(struct report_process *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->ncaches; i++) {
        free(p->caches[i]->series);
        free(p->caches[i]->sites);
        free(p->caches[i]);
    }
    for (size_t i = 0; i < p->argc; i++) {
        free(p->argv[i]);
    }
    free(p->argv);
    free(p->caches);
    free(p->index);
    free(p);
}

struct report *
report_free(struct report *rep)
{
    if (rep == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < rep->ntests; i++) {
        free(rep->tests[i]->caches);
        free(rep->tests[i]);
    }
    free(rep->tests);
    for (size_t i = 0; i < rep->nprocs; i++) {
        process_free(rep->procs[i]);
    }
    for (size_t i = 0; i < rep->strings_cap; i++) {
        free(rep->strings[i]);
    }
    free(rep->procs);
    free(rep->pid_index);
    free(rep->strings);
    free(rep);
    return NULL;
}

const char *
report_verdict_name(enum report_verdict v)
{
    switch (v) {
    case REPORT_VERDICT_LEAK:
        return "leak";
    case REPORT_VERDICT_BOUNDED:
        return "bounded";
    case REPORT_VERDICT_OK:
        break;
    }
    return "ok";
}

/* ---- processes ------------------------------------------------------------ */

static size_t
pid_slot(int64_t pid, size_t cap)
{
    return fnv1a(14695981039346656037ull, &pid, sizeof(pid)) & (cap - 1);
}

static int
pid_index_rebuild(struct report *rep, size_t cap)
{
    size_t *slots = calloc(cap, sizeof(*slots));

    if (slots == NULL) {
        return -ENOMEM;
    }
    /* Later processes overwrite earlier ones with the same pid: the index
     * always names the latest generation. */
    for (size_t i = 0; i < rep->nprocs; i++) {
        size_t j = pid_slot(rep->procs[i]->pid, cap);

        while (slots[j] != 0 && rep->procs[slots[j] - 1]->pid != rep->procs[i]->pid) {
            j = (j + 1) & (cap - 1);
        }
        slots[j] = i + 1;
    }
    free(rep->pid_index);
    rep->pid_index = slots;
    rep->pid_index_cap = cap;
    return 0;
}

struct report_process *
report_find_process(const struct report *rep, int64_t pid)
{
    size_t j;

    if (rep->pid_index_cap == 0) {
        return NULL;
    }
    j = pid_slot(pid, rep->pid_index_cap);
    while (rep->pid_index[j] != 0) {
        struct report_process *p = rep->procs[rep->pid_index[j] - 1];

        if (p->pid == pid) {
            return p;
        }
        j = (j + 1) & (rep->pid_index_cap - 1);
    }
    return NULL;
}

static int
new_process(struct report *rep, int64_t pid, struct report_process **ret)
{
    struct report_process *p;
    size_t j;
    int r;

    if (rep->nprocs == rep->procs_cap) {
        size_t cap = rep->procs_cap ? rep->procs_cap * 2 : 4;
        struct report_process **procs = realloc(rep->procs, cap * sizeof(*procs));

        if (procs == NULL) {
            return -ENOMEM;
        }
        rep->procs = procs;
        rep->procs_cap = cap;
    }
    if ((rep->nprocs + 1) * 2 > rep->pid_index_cap) {
        r = pid_index_rebuild(rep, rep->pid_index_cap ? rep->pid_index_cap * 2 : MIN_INDEX_CAP);
        if (r < 0) {
            return r;
        }
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return -ENOMEM;
    }
    p->pid = pid;
    p->ppid = -1;
    p->start = -1;
    p->cached_method = -1;
    rep->procs[rep->nprocs++] = p;

    j = pid_slot(pid, rep->pid_index_cap);
    while (rep->pid_index[j] != 0 && rep->procs[rep->pid_index[j] - 1]->pid != pid) {
        j = (j + 1) & (rep->pid_index_cap - 1);
    }
    rep->pid_index[j] = rep->nprocs;
    *ret = p;
    return 0;
}

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
    *ret = intern(rep, s);
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
        r = new_process(rep, pid, &p);
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
        r = new_process(rep, pid, &p);
        if (r < 0) {
            goto out;
        }
    }
    reason = jsonv_get_str(rec, "reason");
    p->refused = intern(rep, reason != NULL ? reason : "(no reason given)");
    if (p->refused == NULL) {
        r = -ENOMEM;
    }
out:
    if (r == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    return r;
}

/* ---- cache rows ----------------------------------------------------------- */

static int
row_index_rebuild(struct report_process *p, size_t cap)
{
    size_t *slots = calloc(cap, sizeof(*slots));

    if (slots == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < p->ncaches; i++) {
        size_t j = p->caches[i]->hash & (cap - 1);

        while (slots[j] != 0) {
            j = (j + 1) & (cap - 1);
        }
        slots[j] = i + 1;
    }
    free(p->index);
    p->index = slots;
    p->index_cap = cap;
    return 0;
}

struct row_key {
    const char *module;
    const char *qualname;
    const char *file;
    const char *kind;
    int64_t line;
    uint64_t hash;
};

static struct report_cache *
row_find(const struct report_process *p, const struct row_key *k)
{
    size_t j;

    if (p->index_cap == 0) {
        return NULL;
    }
    j = k->hash & (p->index_cap - 1);
    while (p->index[j] != 0) {
        struct report_cache *c = p->caches[p->index[j] - 1];

        if (c->hash == k->hash && c->line == k->line && strcmp(c->qualname, k->qualname) == 0 &&
            strcmp(c->module, k->module) == 0 && strcmp(c->file, k->file) == 0 &&
            strcmp(c->kind, k->kind) == 0) {
            return c;
        }
        j = (j + 1) & (p->index_cap - 1);
    }
    return NULL;
}

static int
row_add(struct report *rep, struct report_process *p, const struct row_key *k,
        struct report_cache **ret)
{
    struct report_cache *c;
    size_t j;
    int r;

    if (p->ncaches == p->caches_cap) {
        size_t cap = p->caches_cap ? p->caches_cap * 2 : 8;
        struct report_cache **v = realloc(p->caches, cap * sizeof(*v));

        if (v == NULL) {
            return -ENOMEM;
        }
        p->caches = v;
        p->caches_cap = cap;
    }
    if ((p->ncaches + 1) * 2 > p->index_cap) {
        r = row_index_rebuild(p, p->index_cap ? p->index_cap * 2 : MIN_INDEX_CAP);
        if (r < 0) {
            return r;
        }
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return -ENOMEM;
    }
    c->module = intern(rep, k->module);
    c->qualname = intern(rep, k->qualname);
    c->file = intern(rep, k->file);
    c->kind = intern(rep, k->kind);
    if (c->module == NULL || c->qualname == NULL || c->file == NULL || c->kind == NULL) {
        free(c);
        return -ENOMEM;
    }
    c->line = k->line;
    c->hash = k->hash;
    p->caches[p->ncaches++] = c;
    j = c->hash & (p->index_cap - 1);
    while (p->index[j] != 0) {
        j = (j + 1) & (p->index_cap - 1);
    }
    p->index[j] = p->ncaches;
    *ret = c;
    return 0;
}

static const char *
str_or_empty(const struct jsonv *obj, const char *key)
{
    const char *s = jsonv_get_str(obj, key);

    return s != NULL ? s : "";
}

/*
 * A count of a cache row (entries, pinned, retained_bytes...): 0 when
 * absent, else a whole number in [0, REPORT_COUNT_MAX], also when written
 * as a float. Anything else is a corrupt record (-EINVAL): the renderers
 * subtract and add counts, which must not overflow.
 */
static int
count_member(const struct jsonv *obj, const char *key, size_t idx, int64_t *ret, char *err,
             size_t errlen)
{
    const struct jsonv *v = jsonv_get(obj, key);
    double d;

    *ret = 0;
    if (v == NULL) {
        return 0;
    }
    if (jsonv_is(v, JSONV_NUMBER) && v->u.num.is_int) {
        d = v->u.num.i >= 0 && v->u.num.i <= REPORT_COUNT_MAX ? (double)v->u.num.i : -1;
    } else {
        d = jsonv_is(v, JSONV_NUMBER) ? v->u.num.d : -1;
    }
    if (d >= 0 && d <= (double)REPORT_COUNT_MAX && d == (double)(int64_t)d) {
        *ret = (int64_t)d;
        return 0;
    }
    snprintf(err, errlen, "sample: caches[%zu]: \"%s\" is not a count from 0 to 2^53", idx, key);
    return -EINVAL;
}

static int64_t
int_or_zero(const struct jsonv *obj, const char *key)
{
    int64_t v;
    double d;

    if (jsonv_get_int(obj, key, &v)) {
        return v;
    }
    /* Tolerate a count written as a float by some future agent. */
    if (jsonv_get_double(obj, key, &d) && d >= -9.2e18 && d <= 9.2e18) {
        return (int64_t)d;
    }
    return 0;
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
            c->verdict_name = intern(rep, name);
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
    r = count_member(o, "alloc_examined", idx, &c->alloc_examined, err, errlen);
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
        r = count_member(s, "count", idx, &site->count, err, errlen);
        if (r < 0) {
            return r;
        }
        (void)jsonv_get_bool(s, "unknown", &site->unknown);
        (void)jsonv_get_bool(s, "other", &site->other);
        file = jsonv_get_str(s, "file");
        fn = jsonv_get_str(s, "function");
        site->line = int_or_zero(s, "line");
        if (file != NULL && !site->unknown && !site->other) {
            site->file = intern(rep, file);
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
            site->function = intern(rep, fn);
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
    struct row_key k;
    bool fresh = false;
    int r;

    if (!jsonv_is(o, JSONV_OBJECT)) {
        snprintf(err, errlen, "sample: caches[%zu] is not an object", idx);
        return -EINVAL;
    }
    k.qualname = jsonv_get_str(o, "qualname");
    if (k.qualname == NULL) {
        snprintf(err, errlen, "sample: caches[%zu] has no \"qualname\"", idx);
        return -EINVAL;
    }
    k.module = str_or_empty(o, "module");
    k.file = str_or_empty(o, "file");
    k.kind = str_or_empty(o, "kind");
    k.line = int_or_zero(o, "line");
    k.hash = row_hash(k.module, k.qualname, k.file, k.line, k.kind);

    c = row_find(p, &k);
    if (c == NULL) {
        r = row_add(rep, p, &k, &c);
        if (r < 0) {
            return r;
        }
        fresh = true;
    }

    if (!jsonv_get_int(o, "maxsize", &c->maxsize) || c->maxsize < 0) {
        c->maxsize = -1;
    }
    c->typed = false;
    (void)jsonv_get_bool(o, "typed", &c->typed);
    static const struct {
        const char *key;
        size_t off;
    } counts[] = {
        {"entries", offsetof(struct report_cache, entries)},
        {"hits", offsetof(struct report_cache, hits)},
        {"misses", offsetof(struct report_cache, misses)},
        {"selves", offsetof(struct report_cache, selves)},
        {"pinned", offsetof(struct report_cache, pinned)},
        {"retained_bytes", offsetof(struct report_cache, retained_bytes)},
        {"wrappers", offsetof(struct report_cache, wrappers)},
    };
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        r = count_member(o, counts[i].key, idx, (int64_t *)((char *)c + counts[i].off), err,
                         errlen);
        if (r < 0) {
            return r;
        }
    }
    if (jsonv_get(o, "wrappers") == NULL) {
        c->wrappers = 1;
    }
    c->self_only = false;
    (void)jsonv_get_bool(o, "self_only", &c->self_only);
    r = parse_verdict(rep, str_or_empty(o, "verdict"), c);
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
            struct report_point *v = realloc(c->series, cap * sizeof(*v));

            if (v == NULL) {
                return -ENOMEM;
            }
            c->series = v;
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
    double t = 0, ms;
    int r;

    r = get_pid(sample, "sample", &pid, err, errlen);
    if (r < 0) {
        return r;
    }
    caches = jsonv_get(sample, "caches");
    if (!jsonv_is(caches, JSONV_ARRAY)) {
        snprintf(err, errlen, "sample without a \"caches\" array");
        return -EINVAL;
    }
    if (!jsonv_get_double(sample, "t", &t) || t < 0) {
        snprintf(err, errlen, "sample without a valid \"t\"");
        return -EINVAL;
    }
    /* A sample for a pid without a process line is accepted (a recording
     * may start mid-way, or the process line may have been lost). */
    p = report_find_process(rep, pid);
    if (p == NULL || p->refused != NULL) {
        r = new_process(rep, pid, &p);
        if (r < 0) {
            goto out;
        }
    }

    p->samples++;
    if (p->samples == 1) {
        p->first_t = t;
    }
    p->last_t = t;
    p->last_seq = int_or_zero(sample, "seq");
    p->final = false;
    (void)jsonv_get_bool(sample, "final", &p->final);
    p->truncated = false;
    (void)jsonv_get_bool(sample, "truncated", &p->truncated);
    p->wrappers = int_or_zero(sample, "wrappers");
    p->agent_mem_bytes = int_or_zero(sample, "agent_mem_bytes");
    if (jsonv_get_double(sample, "scan_ms", &ms) && ms > p->scan_ms_max) {
        p->scan_ms_max = ms;
    }
    if (jsonv_get_double(sample, "max_gil_hold_ms", &ms) && ms > p->gil_hold_ms_max) {
        p->gil_hold_ms_max = ms;
    }
    if (jsonv_get_double(sample, "scan_ms", &ms) && ms >= 0 && ms < 1e9) {
        p->scan_ms_total += ms;
    }
    if (jsonv_get_double(sample, "scan_cpu_ms", &ms) && ms >= 0 && ms < 1e9) {
        p->scan_cpu_ms_total += ms;
    }
    p->alloc_frames = int_or_zero(sample, "alloc_frames");
    {
        bool cm;

        if (jsonv_get_bool(sample, "functools_cached_method", &cm)) {
            p->cached_method = cm;
        }
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

struct report_cache *
report_find_cache(const struct report_process *p, const char *module, const char *qualname,
                  const char *file, int64_t line, const char *kind)
{
    struct row_key k = {
        .module = module,
        .qualname = qualname,
        .file = file,
        .kind = kind,
        .line = line,
        .hash = row_hash(module, qualname, file, line, kind),
    };

    return row_find(p, &k);
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
        r = new_process(rep, pid, ret);
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
        p->session_error = intern(rep, str_or_empty(rec, "reason"));
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
    tc->qualname = intern(rep, qualname);
    tc->module = intern(rep, str_or_empty(o, "module"));
    tc->file = intern(rep, str_or_empty(o, "file"));
    tc->kind = intern(rep, str_or_empty(o, "kind"));
    tc->line = int_or_zero(o, "line");
    if (!jsonv_get_int(o, "maxsize", &tc->maxsize) || tc->maxsize < 0) {
        tc->maxsize = -1;
    }
    tc->ignored = NULL;
    if (jsonv_get_str(o, "ignored") != NULL) {
        tc->ignored = intern(rep, jsonv_get_str(o, "ignored"));
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
    t->nodeid = intern(rep, nodeid);
    t->outcome = intern(rep, jsonv_get_str(rec, "outcome") != NULL ? jsonv_get_str(rec, "outcome")
                                                                   : "unknown");
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

/* ---- ordering ------------------------------------------------------------- */

static const struct report_process *sort_proc; /* qsort has no context pointer */

static int
cmp_i64_desc(int64_t a, int64_t b)
{
    return a < b ? 1 : a > b ? -1 : 0;
}

static int
cmp_rows(const void *pa, const void *pb)
{
    const struct report_cache *a = *(struct report_cache *const *)pa;
    const struct report_cache *b = *(struct report_cache *const *)pb;
    bool ap = report_cache_present(sort_proc, a), bp = report_cache_present(sort_proc, b);
    int c;

    if (ap != bp) {
        return ap ? -1 : 1;
    }
    if (a->verdict != b->verdict) {
        return a->verdict > b->verdict ? -1 : 1;
    }
    c = cmp_i64_desc(a->pinned, b->pinned);
    if (c == 0) {
        c = cmp_i64_desc(a->entries, b->entries);
    }
    if (c == 0) {
        c = strcmp(a->qualname, b->qualname);
    }
    if (c == 0) {
        c = strcmp(a->file, b->file);
    }
    if (c == 0) {
        c = a->line < b->line ? -1 : a->line > b->line;
    }
    return c;
}

int
report_sorted_caches(const struct report_process *p, struct report_cache ***ret)
{
    struct report_cache **v = malloc((p->ncaches + 1) * sizeof(*v));

    if (v == NULL) {
        return -ENOMEM;
    }
    if (p->ncaches > 0) {
        memcpy(v, p->caches, p->ncaches * sizeof(*v));
    }
    sort_proc = p;
    qsort(v, p->ncaches, sizeof(*v), cmp_rows);
    sort_proc = NULL;
    *ret = v;
    return (int)p->ncaches;
}
