/* SPDX-License-Identifier: MIT */
/*
 * scan-cache: read one lru_cache wrapper - its layout, its counters and
 * every cache entry - into nodes and its row (group; which row:
 * scan-names.c).
 *
 * The wrapper's fields (cache dict, function, counters, kwd_mark) are read
 * at offsets pycompat verified on a private wrapper of the same type; any
 * other type (a 3.8/3.9 subclass) is checked against its own tp_traverse
 * and the fixed-tail rule (pycompat.c: the fields from `cache` to
 * `__dict__` keep their order in every version) first, and a wrapper that
 * does not match is skipped, never guessed at. Entries are read with
 * PyDict_Next in prefetched batches, within the sample's one GIL hold:
 * unbounded caches map key -> result, bounded ones
 * key -> link, whose result sits at the verified link offset (when that
 * layout could not be verified, bounded caches are read from their
 * traverse, key and result per link, in one GIL stretch).
 *
 * Per entry: a key tuple holds the call's positional arguments (self
 * first), then kwd_mark and keyword pairs, then types if typed=True. Every
 * object in it, and the result, gets a "cache reference"; the first
 * argument (or the value of the first keyword when called as f(self=x))
 * becomes a self of the row. A key tuple with more references than the
 * cache accounts for is in use by a running call: its objects are alive.
 * Runs with the GIL.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pycompat.h"
#include "scan-internal.h"

/* ---- type classification ---------------------------------------------------------- */

static bool
is_sub(PyObject *t, PyObject *base)
{
    return t == base ||
           ((pycompat_type_flags(t) & PYAPI_TPFLAGS_HEAPTYPE) != 0 && py.PyType_IsSubtype(t, base));
}

unsigned
scan_type_class_slow(struct scan *s, PyObject *type)
{
    size_t slot = ((uintptr_t)type >> 4) & 63;
    uint32_t v;
    unsigned tc;

    v = objmap_get(&s->type_class, type);
    if (v != OBJMAP_ABSENT) {
        s->tc_cache[slot].type = type;
        s->tc_cache[slot].tc = v;
        return v;
    }
    unsigned long f = pycompat_type_flags(type);
    if (f & (PYAPI_TPFLAGS_TYPE_SUBCLASS | PYAPI_TPFLAGS_LONG_SUBCLASS |
             PYAPI_TPFLAGS_BYTES_SUBCLASS | PYAPI_TPFLAGS_UNICODE_SUBCLASS)) {
        tc = 0; /* classes, int/bool, bytes, str */
    } else if (f & PYAPI_TPFLAGS_TUPLE_SUBCLASS) {
        tc = TC_RESULT; /* a value type, but a result tuple may hold a self */
    } else if (type == pycompat_type(py._Py_NoneStruct) || is_sub(type, py.PyFloat_Type) ||
               is_sub(type, py.PyComplex_Type) || is_sub(type, py.PyModule_Type)) {
        tc = 0;
    } else if (is_sub(type, py.PyFrozenSet_Type)) {
        tc = TC_RESULT;
    } else {
        tc = TC_SELF | TC_RESULT;
    }
    objmap_put(&s->type_class, type, tc);
    s->tc_cache[slot].type = type;
    s->tc_cache[slot].tc = tc;
    return tc;
}

/* ---- traverse collection ------------------------------------------------------------- */

static int
collect_visit(PyObject *o, void *arg)
{
    struct scan *s = arg;

    if (!pycompat_is_live(o)) {
        return 0;
    }
    /* On ENOMEM stop the traversal; the caller sees a short list and the
     * layout check fails, so nothing is misread. */
    return ptrvec_push(&s->visit, o) < 0 ? 1 : 0;
}

int
scan_traverse_collect(struct scan *s, PyObject *obj)
{
    pyapi_traverseproc_fn traverse = pycompat_type_traverse(pycompat_type(obj));

    s->visit.n = 0;
    if (traverse == NULL) {
        return 0;
    }
    return traverse(obj, collect_visit, s) == 0 ? 0 : -ENOMEM;
}

/* ---- entries --------------------------------------------------------------------------------- */

static int
add_cache_ref(struct scan *s, PyObject *o, bool external, uint32_t *ret_idx)
{
    bool fresh;
    uint32_t idx = scan_node(s, o, &fresh);

    if (idx == OBJMAP_ABSENT) {
        return -ENOMEM;
    }
    s->nodes[idx].cache_refs++;
    if (external) {
        s->nodes[idx].flags |= NODE_EXTERNAL;
    }
    *ret_idx = idx;
    return 0;
}

/* Immortal objects (3.12+) still count as selves (agent/README.md: only classes,
 * modules and value types are left out); the graph walk marks them alive, so
 * they are never pinned. As results they can hold nothing of interest. */
static bool
countable(struct scan *s, PyObject *o, unsigned need)
{
    return (scan_type_class(s, pycompat_type(o)) & need) != 0 &&
           (need == TC_SELF || !pycompat_is_immortal(o));
}

int
scan_group_add_self(struct group *g, uint32_t idx)
{
    if (g->n_selfs == g->cap_selfs) {
        size_t cap = g->cap_selfs != 0 ? g->cap_selfs * 2 : 16;
        uint32_t *p = realloc(g->selfs, cap * sizeof(*p));
        if (p == NULL) {
            return -ENOMEM;
        }
        g->selfs = p;
        g->cap_selfs = cap;
    }
    g->selfs[g->n_selfs++] = idx;
    return 0;
}

static int
cedge_push(struct scan *s, uint32_t idx)
{
    if (s->n_cedges == s->cap_cedges) {
        size_t cap = s->cap_cedges != 0 ? s->cap_cedges * 2 : 1024;
        uint32_t *p = realloc(s->cedges, cap * sizeof(*p));
        if (p == NULL) {
            return -ENOMEM;
        }
        s->cedges = p;
        s->cap_cedges = cap;
    }
    s->cedges[s->n_cedges++] = idx;
    return 0;
}

/* An object an inner wrapper's entry references (`refs` times): walked by
 * the graph phase, and an edge of the wrapper for retained_bytes. */
static int
inner_ref(struct scan *s, PyObject *o, uint32_t refs, bool external, uint32_t idx)
{
    if (idx == OBJMAP_ABSENT) {
        PyObject *t = pycompat_type(o);
        bool fresh;
        if (pycompat_is_immortal(o) ||
            (pycompat_type_flags(t) & PYAPI_TPFLAGS_TYPE_SUBCLASS) != 0 || t == py.PyModule_Type) {
            return 0; /* alive by definition: nothing to walk or size */
        }
        idx = scan_node(s, o, &fresh);
        if (idx == OBJMAP_ABSENT) {
            return -ENOMEM;
        }
        s->nodes[idx].cache_refs += refs;
        if (external) {
            s->nodes[idx].flags |= NODE_EXTERNAL;
        }
    }
    scan_own(s, &s->nodes[idx]);
    s->nodes[idx].flags |= NODE_IN_GRAPH;
    return cedge_push(s, idx);
}

static int
entry(struct scan *s, struct wrapper *w, struct group *g, uint32_t gstamp, PyObject *key,
      PyObject *result, Py_ssize_t key_refs, uint32_t first_hint)
{
    uint32_t idx;
    int r;

    if (pycompat_type(key) == py.PyTuple_Type) {
        Py_ssize_t n = pycompat_ssize_field(key, PYCOMPAT_OB_SIZE);
        PyObject **items = (PyObject **)((char *)key + pyc.tuple_items);
        bool external = pycompat_refcnt(key) > key_refs;
        Py_ssize_t first = 0;

        if (n > 0) {
            g->any_key = true;
            /* f(self=x): (kwd_mark, "self", x, ...). 3.8/3.9 keep kwd_mark
             * in a static we cannot see: recognise a bare object() followed
             * by a str. */
            bool kw = w->kwd_mark != NULL
                          ? items[0] == w->kwd_mark
                          : (pycompat_type(items[0]) == py.PyBaseObject_Type && n >= 3 &&
                             pycompat_type(items[1]) == py.PyUnicode_Type);
            if (kw) {
                first = n >= 3 ? 2 : -1;
            }
            if (n != 1 || kw) {
                g->self_only = false;
            }
        }
        if (w->inner && !external) {
            /* The key tuple goes with the cache. */
            w->own_bytes += scan_size_plain(key);
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *o = items[i];
            /* A first argument already in the node map as a candidate was
             * classified earlier in this sample: no need to read the
             * object again. (Results and inner wrappers' entries are nodes
             * too, of any type: a cached NamedTuple is no self.) */
            bool hinted = i == 0 && first_hint != OBJMAP_ABSENT &&
                          (s->nodes[first_hint].flags & NODE_CANDIDATE) != 0;
            if (!hinted && !countable(s, o, TC_SELF)) {
                if (i == first) {
                    g->self_only = false; /* no self: no cached_property */
                }
                if (w->inner && o != w->kwd_mark) {
                    r = inner_ref(s, o, 1, external, OBJMAP_ABSENT);
                    if (r < 0) {
                        return r;
                    }
                }
                continue;
            }
            if (hinted) {
                /* The batch loop already looked this object up. */
                idx = first_hint;
                s->nodes[idx].cache_refs++;
                if (external) {
                    s->nodes[idx].flags |= NODE_EXTERNAL;
                }
            } else {
                r = add_cache_ref(s, o, external, &idx);
                if (r < 0) {
                    return r;
                }
                s->nodes[idx].flags |= NODE_CANDIDATE;
            }
            if (w->inner) {
                r = inner_ref(s, o, 0, external, idx);
                if (r < 0) {
                    return r;
                }
            }
            if (i == first) {
                struct node *nd = &s->nodes[idx];
                nd->flags |= NODE_SELF;
                scan_own(s, nd);
                /* All wrappers of a row are read one after another
                 * (scan_run sorts them), so the row stamp alone tells
                 * whether this self was already counted for the row. */
                if (nd->stamp != gstamp) {
                    nd->stamp = gstamp;
                    g->selves++;
                    r = scan_group_add_self(g, idx);
                    if (r < 0) {
                        return r;
                    }
                }
            }
        }
    } else {
        g->self_only = false;
        if (w->inner) {
            /* A lone str or int argument is its own key: held by the dict
             * (and the link). */
            r = inner_ref(s, key, (uint32_t)key_refs, false, OBJMAP_ABSENT);
            if (r < 0) {
                return r;
            }
        }
    }
    if (result != NULL && countable(s, result, TC_RESULT)) {
        r = add_cache_ref(s, result, false, &idx);
        if (r < 0) {
            return r;
        }
        /* Results that can hold a self (own result, (self, x)) are walked
         * by the graph phase: keep them alive until then. */
        scan_own(s, &s->nodes[idx]);
        s->nodes[idx].flags |= NODE_IN_GRAPH;
        if (w->inner) {
            r = inner_ref(s, result, 0, false, idx);
            if (r < 0) {
                return r;
            }
        }
    } else if (result != NULL && w->inner) {
        r = inner_ref(s, result, 1, false, OBJMAP_ABSENT);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

/* ---- one wrapper -------------------------------------------------------------------------------
 */

/* Entries read through the cache dict (unbounded: key -> result; bounded,
 * links = true: key -> link, whose result pycompat verified), a batch at a
 * time. Each entry touches
 * objects scattered over the heap (key tuple, its node-map slot and node,
 * and - the first time - the first argument itself); prefetching a whole
 * batch, stage by stage, overlaps those cache misses instead of paying them
 * one after another. */
#define SCAN_BATCH 32
#define HINT_AS_BEFORE (OBJMAP_ABSENT - 1)

static int
by_dict(struct scan *s, struct wrapper *w, uint32_t gstamp, bool links)
{
    PyObject *keys[SCAN_BATCH], *vals[SCAN_BATCH];
    Py_ssize_t pos = w->from_pos;
    /* Only as many entries as the dict holds now (or, from from_pos, as
     * were added since: scan-steady.c). */
    Py_ssize_t left = w->from_pos > 0 ? w->new_entries : py.PyDict_Size(w->cache);
    unsigned done = 0;
    int r;

    for (;;) {
        int n = 0;
        /* Room for a batch's new nodes (first arguments, other key items,
         * results), grown here, between batches, rather than mid-batch. */
        r = scan_reserve(s, 4 * SCAN_BATCH);
        if (r < 0) {
            return r;
        }
        while (n < SCAN_BATCH && left > 0 && py.PyDict_Next(w->cache, &pos, &keys[n], &vals[n])) {
            __builtin_prefetch(keys[n]);
            __builtin_prefetch(vals[n]); /* the result, or the link holding it */
            n++;
            left--;
        }
        w->end_pos = pos;
        if (n == 0) {
            return 0;
        }
        PyObject *firsts[SCAN_BATCH];
        for (int i = 0; i < n; i++) {
            if (links) {
                __builtin_prefetch(pycompat_field(vals[i], PYCOMPAT_LINK_RESULT));
            }
            firsts[i] = NULL;
            if (pycompat_type(keys[i]) == py.PyTuple_Type &&
                pycompat_ssize_field(keys[i], PYCOMPAT_OB_SIZE) > 0) {
                firsts[i] = pycompat_field(keys[i], pyc.tuple_items);
                objmap_prefetch(&s->node_index, firsts[i]);
            }
        }
        uint32_t hints[SCAN_BATCH];
        for (int i = 0; i < n; i++) {
            /* The same first argument as the entry before (a method called
             * with several arguments in a row): looked up when that entry
             * has been read, in a map slot still in the CPU cache. */
            if (i > 0 && firsts[i] != NULL && firsts[i] == firsts[i - 1]) {
                hints[i] = HINT_AS_BEFORE;
                continue;
            }
            hints[i] = firsts[i] != NULL ? objmap_get(&s->node_index, firsts[i]) : OBJMAP_ABSENT;
            if (hints[i] != OBJMAP_ABSENT) {
                __builtin_prefetch(&s->nodes[hints[i]]);
            } else if (firsts[i] != NULL) {
                __builtin_prefetch(firsts[i]); /* new: entry() reads its type */
            }
        }
        for (int i = 0; i < n; i++) {
            /* Bounded: the value is the link; the key is held by the dict
             * and by the link (2 references). */
            PyObject *result = links ? pycompat_field(vals[i], PYCOMPAT_LINK_RESULT) : vals[i];
            if (links && w->inner) {
                w->own_bytes += scan_size_plain(vals[i]); /* the link */
            }
            uint32_t hint =
                hints[i] == HINT_AS_BEFORE ? objmap_get(&s->node_index, firsts[i]) : hints[i];
            r = entry(s, w, &s->groups[w->group], gstamp, keys[i], result, links ? 2 : 1, hint);
            if (r < 0) {
                return r;
            }
        }
        done += (unsigned)n;
        if (done >= 1024) {
            done = 0;
            r = scan_check_stop(s);
            if (r < 0) {
                return r;
            }
        }
    }
}

/* The last visits of a traverse, and how many there were: enough to check
 * a wrapper's fixed tail without copying a bounded cache's links. */
#define TAIL_RING 8

struct tail_ring {
    PyObject *v[TAIL_RING];
    size_t n;
};

static int
tail_visit(PyObject *o, void *arg)
{
    struct tail_ring *t = arg;

    t->v[t->n++ % TAIL_RING] = o;
    return 0;
}

/* Check the traverse tail against the offset-derived fields. Returns the
 * number of (key, result) links, or -1 when the layout does not match. */
static Py_ssize_t
check_layout(struct scan *s, struct wrapper *w, PyObject *dict)
{
    struct tail_ring ring = {.n = 0};
    pyapi_traverseproc_fn traverse = pycompat_type_traverse(pycompat_type(w->obj));

    (void)s;
    if (traverse == NULL || traverse(w->obj, tail_visit, &ring) != 0) {
        return -1;
    }
    size_t n = ring.n;
    /* v[i] for the last TAIL_RING visits only. */
#define V(i) ring.v[(i) % TAIL_RING]
    size_t tail = pyc.lru_tail + (dict != NULL ? 1 : 0);
    size_t head = pyc.lru_head;
    size_t per = pyc.lru_per_link;
    PyObject *cache = pycompat_lru_object(w->obj, PYCOMPAT_LRU_CACHE);
    PyObject *func = pycompat_lru_object(w->obj, PYCOMPAT_LRU_FUNC);

    if (n < head + tail || (n - head - tail) % per != 0) {
        return -1;
    }
    size_t links = (n - head - tail) / per;
    size_t t = head + links * per;
    /* 3.10+: cache, func, kwd_mark, elem type, info type; 3.8/3.9: func,
     * cache, info type. */
    PyObject *c = pyc.lru_tail310 ? V(t) : V(t + 1);
    PyObject *f = pyc.lru_tail310 ? V(t + 1) : V(t);
    if (c != cache || f != func || pycompat_type(cache) != py.PyDict_Type ||
        (dict != NULL && V(n - 1) != dict)) {
        return -1;
    }
    w->kwd_mark = pyc.lru_tail310 ? V(t + 2) : NULL;
    return (Py_ssize_t)links;
#undef V
}

int
scan_wrapper_prepare(struct scan *s, struct wrapper *w)
{
    PyObject *dict = pycompat_field(w->obj, (size_t)pyc.lru_dict_off); /* borrowed */
    int r;

    w->valid = false;
    if (pyc.lru_fields && pycompat_type(w->obj) == pyc.lru_type) {
        /* The exact type whose field offsets pycompat verified: O(1). */
        PyObject *cache = pycompat_lru_object(w->obj, PYCOMPAT_LRU_CACHE);
        if (cache == NULL || pycompat_type(cache) != py.PyDict_Type ||
            (dict != NULL && pycompat_type(dict) != py.PyDict_Type)) {
            return 0;
        }
        w->kwd_mark = pyc.lru_tail310 ? pycompat_lru_object(w->obj, PYCOMPAT_LRU_KWD_MARK) : NULL;
    } else if (check_layout(s, w, dict) < 0) {
        return 0; /* not a layout we understand: skip this wrapper */
    }
    PyObject *cache = pycompat_lru_object(w->obj, PYCOMPAT_LRU_CACHE);
    PyObject *func = pycompat_lru_object(w->obj, PYCOMPAT_LRU_FUNC);
    /* maxsize -1 = unbounded, 0 = no caching. */
    Py_ssize_t hits = pycompat_lru_ssize(w->obj, PYCOMPAT_LRU_HITS);
    Py_ssize_t maxsize = pycompat_lru_ssize(w->obj, PYCOMPAT_LRU_MAXSIZE);
    Py_ssize_t misses = pycompat_lru_ssize(w->obj, PYCOMPAT_LRU_MISSES);
    int typed = pycompat_lru_typed(w->obj);

    r = scan_wrapper_row(s, w, dict, func);
    if (r < 0) {
        return r;
    }
    struct group *g = &s->groups[w->group];
    g->maxsize = maxsize < 0 ? -1 : maxsize;
    w->maxsize = g->maxsize;
    g->typed = g->typed || typed != 0;
    g->hits += hits;
    g->misses += misses;
    g->wrappers++;
    g->entries += py.PyDict_Size(cache);
    /* Found by a heap walk only: it may be part of an object graph (see
     * struct wrapper). Module-level caches are alive by definition, and
     * walking their (possibly millions of) entries would buy nothing. */
    w->inner = !w->named;
    if (objmap_put(&s->stop, cache, 0) == OBJMAP_ABSENT) {
        return -ENOMEM;
    }
    w->valid = true;
    return 0;
}

static int
entries(struct scan *s, struct wrapper *w)
{
    uint32_t gstamp = w->group + 1;
    struct group *g = &s->groups[w->group];
    Py_ssize_t links;
    int r;

    if (w->inner) {
        /* dict.__sizeof__, before any borrowed entry is in use. */
        w->own_bytes = scan_size_of(s, pycompat_lru_object(w->obj, PYCOMPAT_LRU_CACHE));
    }
    if (w->maxsize != 0 && (w->maxsize < 0 || pyc.lru_links)) {
        /* Read through the dict, in slices: hold it across GIL gaps. */
        PyObject *cache = pycompat_lru_object(w->obj, PYCOMPAT_LRU_CACHE);
        py.Py_IncRef(cache);
        w->cache = cache;
        return by_dict(s, w, gstamp, w->maxsize > 0);
    }
    if (w->maxsize > 0) {
        PyObject *dict;
        /* Bounded, link layout unverified: the links come from a fresh
         * traverse, in one GIL stretch (the GIL may have
         * been released since scan_wrapper_prepare), processed in this one
         * stretch with no call into Python. The key is shared by the dict
         * and the link: 2 references. */
        dict = pycompat_field(w->obj, (size_t)pyc.lru_dict_off);
        r = scan_traverse_collect(s, w->obj);
        links = r < 0 ? -1 : check_layout(s, w, dict);
        if (links < 0 || (size_t)links * pyc.lru_per_link > s->visit.n) {
            return r < 0 ? r : 0;
        }
        size_t head = pyc.lru_head, per = pyc.lru_per_link;
        for (Py_ssize_t i = 0; i < links; i++) {
            r = entry(s, w, g, gstamp, s->visit.v[head + (size_t)i * per],
                      s->visit.v[head + (size_t)i * per + 1], 2, OBJMAP_ABSENT);
            if (r < 0) {
                return r;
            }
        }
        return 0;
    }
    return 0; /* maxsize=0: nothing is cached */
}

int
scan_wrapper_entries(struct scan *s, struct wrapper *w)
{
    int r;

    w->cedge_start = (uint32_t)s->n_cedges;
    w->own_bytes = 0;
    r = w->valid ? entries(s, w) : 0;
    w->cedge_count = (uint32_t)(s->n_cedges - w->cedge_start);
    return r;
}
