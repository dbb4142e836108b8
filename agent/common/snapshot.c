/* SPDX-License-Identifier: MIT */
/*
 * snapshot: see snapshot.h. Pure data: the verdict rule and the JSON field
 * names are the contract documented in agent/README.md ("A sample").
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

void
snapshot_init(struct snapshot *s)
{
    memset(s, 0, sizeof(*s));
}

void
snapshot_clear(struct snapshot *s)
{
    for (size_t i = 0; i < s->n_caches; i++) {
        free(s->caches[i].qualname);
        free(s->caches[i].module);
        free(s->caches[i].file);
        for (size_t k = 0; k < s->caches[i].n_sites; k++) {
            free(s->caches[i].sites[k].file);
        }
        free(s->caches[i].sites);
    }
    s->n_caches = 0;
}

void
snapshot_done(struct snapshot *s)
{
    snapshot_clear(s);
    free(s->caches);
    snapshot_init(s);
}

struct snapshot_cache *
snapshot_add(struct snapshot *s, const char *qualname, const char *module, const char *file)
{
    struct snapshot_cache *c;

    if (s->n_caches == s->cap_caches) {
        size_t cap = s->cap_caches != 0 ? s->cap_caches * 2 : 32;
        c = realloc(s->caches, cap * sizeof(*c));
        if (c == NULL) {
            return NULL;
        }
        s->caches = c;
        s->cap_caches = cap;
    }
    c = &s->caches[s->n_caches];
    memset(c, 0, sizeof(*c));
    c->qualname = strdup(qualname != NULL ? qualname : "?");
    c->module = strdup(module != NULL ? module : "?");
    c->file = file != NULL ? strdup(file) : NULL;
    if (c->qualname == NULL || c->module == NULL || (file != NULL && c->file == NULL)) {
        free(c->qualname);
        free(c->module);
        free(c->file);
        return NULL;
    }
    c->maxsize = -1;
    s->n_caches++;
    return c;
}

int
snapshot_cache_sites(struct snapshot_cache *c, size_t n)
{
    c->sites = calloc(n > 0 ? n : 1, sizeof(*c->sites));
    if (c->sites == NULL) {
        return -ENOMEM;
    }
    c->n_sites = 0;
    c->cap_sites = n;
    return 0;
}

void
snapshot_cache_add_site(struct snapshot_cache *c, const char *file, long line, int64_t count,
                        enum snapshot_site_kind kind)
{
    struct snapshot_site *s;

    if (count <= 0 || c->n_sites >= c->cap_sites) {
        return;
    }
    s = &c->sites[c->n_sites];
    s->file = kind == SNAPSHOT_SITE_TRACED && file != NULL ? strdup(file) : NULL;
    if (kind == SNAPSHOT_SITE_TRACED && s->file == NULL) {
        return; /* out of memory: the site is left out */
    }
    s->line = line;
    s->count = count;
    s->kind = kind;
    c->n_sites++;
}

const char *
snapshot_verdict(const struct snapshot_cache *c)
{
    if (c->pinned <= 0) {
        return "ok";
    }
    return c->maxsize < 0 ? "leak" : "bounded";
}

const char *
snapshot_kind_name(enum snapshot_kind kind)
{
    switch (kind) {
    case SNAPSHOT_METHOD:
        return "method";
    case SNAPSHOT_CLASSMETHOD:
        return "classmethod";
    case SNAPSHOT_STATICMETHOD:
        return "staticmethod";
    case SNAPSHOT_PER_INSTANCE:
        return "per-instance";
    case SNAPSHOT_FUNCTION:
        break;
    }
    return "function";
}

static int
compare_rows(const void *pa, const void *pb)
{
    const struct snapshot_cache *a = pa, *b = pb;

    if (a->pinned != b->pinned) {
        return a->pinned > b->pinned ? -1 : 1;
    }
    if (a->entries != b->entries) {
        return a->entries > b->entries ? -1 : 1;
    }
    return strcmp(a->qualname, b->qualname);
}

void
snapshot_sort(struct snapshot *s)
{
    if (s->n_caches > 1) {
        qsort(s->caches, s->n_caches, sizeof(*s->caches), compare_rows);
    }
}

static void
write_cache(const struct snapshot_cache *c, struct jsonw *w)
{
    jsonw_obj_begin(w);
    jsonw_kstr(w, "qualname", c->qualname);
    jsonw_kstr(w, "module", c->module);
    jsonw_kstr(w, "file", c->file);
    if (c->line > 0) {
        jsonw_kint(w, "line", c->line);
    } else {
        jsonw_knull(w, "line");
    }
    jsonw_kstr(w, "kind", snapshot_kind_name(c->kind));
    if (c->maxsize < 0) {
        jsonw_knull(w, "maxsize");
    } else {
        jsonw_kint(w, "maxsize", c->maxsize);
    }
    jsonw_kbool(w, "typed", c->typed);
#define WRITE_COUNT(name) jsonw_kint(w, #name, c->name);
    SNAPSHOT_CACHE_COUNTS(WRITE_COUNT)
#undef WRITE_COUNT
    jsonw_kstr(w, "verdict", snapshot_verdict(c));
    jsonw_kbool(w, "self_only", c->self_only);
    if (c->sites != NULL) {
        jsonw_key(w, "alloc_sites");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < c->n_sites; i++) {
            const struct snapshot_site *s = &c->sites[i];

            jsonw_obj_begin(w);
            jsonw_kstr(w, "file", s->file);
            if (s->kind == SNAPSHOT_SITE_TRACED) {
                jsonw_kint(w, "line", s->line);
            } else {
                jsonw_knull(w, "line");
            }
            /* tracemalloc frames carry no function name. */
            jsonw_knull(w, "function");
            jsonw_kint(w, "count", s->count);
            if (s->kind == SNAPSHOT_SITE_UNKNOWN) {
                jsonw_kbool(w, "unknown", true);
            } else if (s->kind == SNAPSHOT_SITE_OTHER) {
                jsonw_kbool(w, "other", true);
            }
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
        jsonw_kint(w, "alloc_examined", c->alloc_examined);
    }
    jsonw_obj_end(w);
}

void
snapshot_write_json(const struct snapshot *s, struct jsonw *w)
{
    jsonw_obj_begin(w);
    jsonw_kstr(w, "type", "sample");
    jsonw_kint(w, "pid", s->pid);
    jsonw_kint(w, "seq", (int64_t)s->seq);
    jsonw_kdouble(w, "t", s->t, 3);
    jsonw_kbool(w, "final", s->final);
    jsonw_kbool(w, "full", s->full);
    jsonw_kbool(w, "steady", s->steady);
    jsonw_kint(w, "entries_read", s->entries_read);
    jsonw_kdouble(w, "scan_ms", s->scan_ms, 3);
    jsonw_kdouble(w, "scan_cpu_ms", s->scan_cpu_ms, 3);
    jsonw_kdouble(w, "max_gil_hold_ms", s->max_gil_hold_ms, 3);
    jsonw_kint(w, "gil_holds", s->gil_holds);
    jsonw_kint(w, "agent_mem_bytes", s->agent_mem_bytes);
    jsonw_kint(w, "wrappers", s->wrappers);
    jsonw_kbool(w, "truncated", s->truncated);
    if (s->alloc_frames > 0) {
        jsonw_kint(w, "alloc_frames", s->alloc_frames);
        jsonw_kdouble(w, "alloc_ms", s->alloc_ms, 3);
    }
    jsonw_kbool(w, "functools_cached_method", s->cached_method);
    jsonw_key(w, "caches");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < s->n_caches; i++) {
        if (s->caches[i].entries > 0) {
            write_cache(&s->caches[i], w);
        }
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}
