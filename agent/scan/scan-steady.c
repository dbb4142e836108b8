/* SPDX-License-Identifier: MIT */
/*
 * scan-steady: a sample that costs what changed, when nothing did.
 *
 * A complete sample (read every entry, walk the graph) keeps, besides its
 * rows: each wrapper's address, cache dict, misses counter and size; the
 * number of cache_clear() calls so far (registry.h); and for every walked
 * object a cache entry holds (selves, other key items, results) its
 * address and reference count. No reference: raw addresses, never
 * dereferenced unless the check below has shown them to be live.
 *
 * The next sample finds the wrappers (registry: no heap walk) and reads
 * their counters anyway. If the registry is complete, the same wrappers
 * are there with the same cache dicts, no misses counter moved and no
 * cache_clear() ran, then no entry was added or removed: an lru cache adds
 * entries only on a miss, a bounded one evicts only on a miss, and it
 * drops all of them only in cache_clear() or when the wrapper goes (then
 * the registry no longer holds it). So every kept object is still held by
 * the same entry, alive, and its reference count can be read. Whether a
 * self is pinned is then a question of its references:
 *   - pinned (or held only by pinned objects): the count must be unchanged;
 *   - alive through references of its own from outside the caches: it must
 *     still have more than the caches and the walked objects account for
 *     (a frame that holds it for a moment changes nothing);
 *   - alive only because a live object reaches it: no fewer than before.
 * When every kept object passes, the counts are the last complete
 * sample's. What this does not see - a walked object that is no entry's
 * (a self's __dict__) changing its references while every entry object
 * keeps its count, e.g. a cycle through a self that lost its outside
 * reference on the far side - the next complete sample does: full samples
 * (the first, on request, every SAMPLER_FULL_EVERY_S in sampler.c) never
 * take this path. Runs with the GIL, inside scan_run.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "pycompat.h"
#include "registry.h"
#include "scan-internal.h"

enum {
    STEADY_EXACT,    /* pinned, dead, or held by a running call: the same count */
    STEADY_OWN,      /* alive by its own outside references: still more than accounted */
    STEADY_AT_LEAST, /* alive through another live object: no fewer */
};

static int
grow(void **v, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap) {
        return 0;
    }
    size_t c = *cap != 0 ? *cap : 64;
    while (c < want) {
        c *= 2;
    }
    void *p = realloc(*v, c * size);
    if (p == NULL) {
        return -ENOMEM;
    }
    *v = p;
    *cap = c;
    return 0;
}

static Py_ssize_t
cache_size(PyObject *cache)
{
    return cache != NULL && pycompat_type(cache) == py.PyDict_Type ? py.PyDict_Size(cache) : -1;
}

static bool
same_wrappers(struct scan *s)
{
    const struct steady *st = &s->steady;

    if (st->n_w != s->n_wrappers || st->n_g != s->n_groups) {
        return false;
    }
    for (size_t i = 0; i < s->n_wrappers; i++) {
        const struct wrapper *w = &s->wrappers[i];
        const struct steady_wrapper *k = &st->w[i];
        PyObject *cache = pycompat_lru_object(w->obj, PYCOMPAT_LRU_CACHE);
        if (w->obj != k->obj || w->group != k->group || cache != k->cache ||
            pycompat_lru_ssize(w->obj, PYCOMPAT_LRU_MISSES) != k->misses ||
            cache_size(cache) != k->size) {
            return false;
        }
    }
    return true;
}

static bool
refs_hold(const struct steady *st)
{
    for (size_t i = 0; i < st->n_watch; i++) {
        if (i + 16 < st->n_watch) {
            __builtin_prefetch(st->watch[i + 16].obj);
        }
        const struct steady_watch *k = &st->watch[i];
        Py_ssize_t now = pycompat_refcnt(k->obj);
        bool ok = k->mode == STEADY_EXACT ? now == k->refcnt
                  : k->mode == STEADY_OWN ? now > k->accounted
                                          : now >= k->refcnt;
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool
scan_steady_holds(struct scan *s)
{
    const struct scan_options *opt = s->opt;
    struct steady *st = &s->steady;
    uint64_t clears;

    if (!st->valid || opt->full || opt->pinned_out != NULL || opt->trace_alloc ||
        !registry_complete() || !registry_clears(&clears) || clears != st->clears ||
        !same_wrappers(s) || !refs_hold(st)) {
        return false;
    }
    for (size_t gi = 0; gi < s->n_groups; gi++) {
        struct group *g = &s->groups[gi];
        const struct steady_group *k = &st->g[gi];
        g->selves = k->selves;
        g->pinned = k->pinned;
        g->retained = k->retained;
        g->self_only = k->self_only;
        g->any_key = k->any_key;
    }
    return true;
}

static uint32_t
mode_of(const struct node *n)
{
    Py_ssize_t accounted = (Py_ssize_t)n->cache_refs + (Py_ssize_t)n->internal;

    if ((n->flags & NODE_ALIVE) == 0 || (n->flags & NODE_EXTERNAL) != 0) {
        return STEADY_EXACT;
    }
    return n->refcnt > accounted ? STEADY_OWN : STEADY_AT_LEAST;
}

void
scan_steady_save(struct scan *s)
{
    struct steady *st = &s->steady;
    size_t n = 0;

    st->valid = false;
    if (s->truncated || !registry_complete() || !registry_clears(&st->clears) ||
        grow((void **)&st->w, &st->cap_w, s->n_wrappers, sizeof(*st->w)) < 0 ||
        grow((void **)&st->g, &st->cap_g, s->n_groups, sizeof(*st->g)) < 0) {
        return;
    }
    for (size_t i = 0; i < s->n_wrappers; i++) {
        const struct wrapper *w = &s->wrappers[i];
        PyObject *cache = pycompat_lru_object(w->obj, PYCOMPAT_LRU_CACHE);
        st->w[i] = (struct steady_wrapper){
            .obj = w->obj,
            .cache = cache,
            .misses = pycompat_lru_ssize(w->obj, PYCOMPAT_LRU_MISSES),
            .size = cache_size(cache),
            .group = w->group,
        };
    }
    st->n_w = s->n_wrappers;
    for (size_t gi = 0; gi < s->n_groups; gi++) {
        const struct group *g = &s->groups[gi];
        st->g[gi] =
            (struct steady_group){g->selves, g->pinned, g->retained, g->self_only, g->any_key};
    }
    st->n_g = s->n_groups;
    for (size_t i = 0; i < s->n_nodes; i++) {
        const struct node *nd = &s->nodes[i];
        if (nd->cache_refs == 0 || (nd->flags & NODE_EXPANDED) == 0) {
            continue; /* no entry holds it, or the counts never looked at it */
        }
        if (grow((void **)&st->watch, &st->cap_watch, n + 1, sizeof(*st->watch)) < 0) {
            return;
        }
        st->watch[n++] = (struct steady_watch){
            .obj = nd->obj,
            .refcnt = nd->refcnt,
            .accounted = (Py_ssize_t)nd->cache_refs + (Py_ssize_t)nd->internal,
            .mode = mode_of(nd),
        };
    }
    st->n_watch = n;
    st->valid = true;
}

void
scan_steady_forget(struct scan *s)
{
    s->steady.valid = false;
}

void
scan_steady_free(struct scan *s)
{
    free(s->steady.w);
    free(s->steady.watch);
    free(s->steady.g);
    s->steady = (struct steady){0};
}

size_t
scan_steady_bytes(const struct scan *s)
{
    return s->steady.cap_w * sizeof(*s->steady.w) + s->steady.cap_watch * sizeof(*s->steady.watch) +
           s->steady.cap_g * sizeof(*s->steady.g);
}
