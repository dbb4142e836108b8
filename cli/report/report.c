/* SPDX-License-Identifier: MIT */
/*
 * report: the model of a recording (see report.h for what it holds and
 * who feeds it): processes by pid, cache rows by identity, interned
 * strings; the records are decoded into it by report-read.c.
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
#include "report-internal.h"
#include "report-source.h"

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

uint64_t
report_row_hash(const char *module, const char *qualname, const char *file, int64_t line,
                const char *kind)
{
    uint64_t h = 14695981039346656037ull;

    h = hash_str(h, module);
    h = hash_str(h, qualname);
    h = hash_str(h, file);
    h = fnv1a(h, &line, sizeof(line));
    return hash_str(h, kind);
}

static uint64_t
string_hash(const char *s)
{
    return hash_str(14695981039346656037ull, s);
}

static bool
string_match(const void *ctx, size_t pos, const void *key)
{
    return strcmp(((const struct report *)ctx)->strings[pos], key) == 0;
}

static uint64_t
string_hash_at(const void *ctx, size_t pos)
{
    return string_hash(((const struct report *)ctx)->strings[pos]);
}

static const void *
string_at(const void *ctx, size_t pos)
{
    return ((const struct report *)ctx)->strings[pos];
}

/* The model's copy of s (NULL on OOM). Equal strings share one copy. */
const char *
report_intern(struct report *rep, const char *s)
{
    uint64_t h = string_hash(s);
    size_t *slot = posindex_slot(&rep->string_index, h, string_match, rep, s);

    if (slot != NULL && *slot != 0) {
        return rep->strings[*slot - 1];
    }
    if (rep->nstrings == rep->strings_cap) {
        size_t cap = rep->strings_cap ? rep->strings_cap * 2 : 64;
        char **v = realloc(rep->strings, cap * sizeof(*v));
        if (v == NULL) {
            return NULL;
        }
        rep->strings = v;
        rep->strings_cap = cap;
    }
    if (posindex_reserve(&rep->string_index, rep->nstrings + 1, string_hash_at, string_match,
                         string_at, rep) < 0) {
        return NULL;
    }
    char *copy = strdup(s);
    if (copy == NULL) {
        return NULL;
    }
    rep->strings[rep->nstrings++] = copy;
    *posindex_slot(&rep->string_index, h, string_match, rep, s) = rep->nstrings;
    return copy;
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
    posindex_done(&p->index);
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
    for (size_t i = 0; i < rep->nstrings; i++) {
        free(rep->strings[i]);
    }
    free(rep->procs);
    posindex_done(&rep->pid_index);
    free(rep->strings);
    posindex_done(&rep->string_index);
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

static uint64_t
pid_hash(int64_t pid)
{
    return fnv1a(14695981039346656037ull, &pid, sizeof(pid));
}

static bool
pid_match(const void *ctx, size_t pos, const void *key)
{
    return ((const struct report *)ctx)->procs[pos]->pid == *(const int64_t *)key;
}

static uint64_t
pid_hash_at(const void *ctx, size_t pos)
{
    return pid_hash(((const struct report *)ctx)->procs[pos]->pid);
}

static const void *
pid_at(const void *ctx, size_t pos)
{
    return &((const struct report *)ctx)->procs[pos]->pid;
}

struct report_process *
report_find_process(const struct report *rep, int64_t pid)
{
    size_t *slot = posindex_slot(&rep->pid_index, pid_hash(pid), pid_match, rep, &pid);

    return slot != NULL && *slot != 0 ? rep->procs[*slot - 1] : NULL;
}

int
report_new_process(struct report *rep, int64_t pid, struct report_process **ret)
{
    struct report_process *p;
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
    r = posindex_reserve(&rep->pid_index, rep->nprocs + 1, pid_hash_at, pid_match, pid_at, rep);
    if (r < 0) {
        return r;
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
    /* A later process with the same pid takes its slot (an exec). */
    *posindex_slot(&rep->pid_index, pid_hash(pid), pid_match, rep, &pid) = rep->nprocs;
    *ret = p;
    return 0;
}

/* ---- cache rows ----------------------------------------------------------- */

static bool
row_match(const void *ctx, size_t pos, const void *key)
{
    const struct report_cache *c = ((const struct report_process *)ctx)->caches[pos];
    const struct report_row_key *k = key;

    return c->hash == k->hash && c->line == k->line && strcmp(c->qualname, k->qualname) == 0 &&
           strcmp(c->module, k->module) == 0 && strcmp(c->file, k->file) == 0 &&
           strcmp(c->kind, k->kind) == 0;
}

/* Rows are unique per process: when the index grows, no row can match
 * another, so a row's "key" only needs to match nothing else. */
static bool
row_match_pos(const void *ctx, size_t pos, const void *key)
{
    (void)ctx;
    (void)pos;
    (void)key;
    return false;
}

static uint64_t
row_hash_at(const void *ctx, size_t pos)
{
    return ((const struct report_process *)ctx)->caches[pos]->hash;
}

static const void *
row_at(const void *ctx, size_t pos)
{
    return ((const struct report_process *)ctx)->caches[pos];
}

struct report_cache *
report_row_find(const struct report_process *p, const struct report_row_key *k)
{
    size_t *slot = posindex_slot(&p->index, k->hash, row_match, p, k);

    return slot != NULL && *slot != 0 ? p->caches[*slot - 1] : NULL;
}

int
report_row_add(struct report *rep, struct report_process *p, const struct report_row_key *k,
               struct report_cache **ret)
{
    struct report_cache *c;
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
    r = posindex_reserve(&p->index, p->ncaches + 1, row_hash_at, row_match_pos, row_at, p);
    if (r < 0) {
        return r;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return -ENOMEM;
    }
    c->module = report_intern(rep, k->module);
    c->qualname = report_intern(rep, k->qualname);
    c->file = report_intern(rep, k->file);
    c->kind = report_intern(rep, k->kind);
    if (c->module == NULL || c->qualname == NULL || c->file == NULL || c->kind == NULL) {
        free(c);
        return -ENOMEM;
    }
    c->line = k->line;
    c->hash = k->hash;
    p->caches[p->ncaches++] = c;
    *posindex_slot(&p->index, c->hash, row_match, p, k) = p->ncaches;
    *ret = c;
    return 0;
}

struct report_cache *
report_find_cache(const struct report_process *p, const char *module, const char *qualname,
                  const char *file, int64_t line, const char *kind)
{
    struct report_row_key k = {
        .module = module,
        .qualname = qualname,
        .file = file,
        .kind = kind,
        .line = line,
        .hash = report_row_hash(module, qualname, file, line, kind),
    };

    return report_row_find(p, &k);
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
