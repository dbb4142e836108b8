/* SPDX-License-Identifier: MIT */
/*
 * scan-graph: which selves nothing but lru caches keeps alive (pinned), and
 * how much memory goes with them (retained).
 *
 * A trial deletion in the manner of CPython's own cycle collector, on the
 * subgraph reachable from the selves and the cached results: for every
 * object in it, refcount minus the references held by cache entries minus
 * the references from other objects in the subgraph leaves the references
 * from outside. Objects with such outside references, and everything they
 * reach, are alive; the rest would be freed if the caches let go. That
 * makes the count exact for selves held by several caches, selves that are
 * (inside) their own cached result and self-referencing cycles.
 *
 * The walk never enters classes, modules, module globals, code objects,
 * immortal objects or cache dicts (all alive or accounted for by
 * definition), follows an lru wrapper only to its function and __dict__
 * (its entries are cache references already), and stops adding objects
 * after opt->max_nodes: objects it could not follow then look referenced
 * from outside, so a truncated walk can only under-count (the sample says
 * truncated). Every object walked is held strongly so the walk can yield
 * the GIL. Sizes come from the built-in types' own __sizeof__ (never a user
 * override) plus the GC and managed-dict pre-headers, as sys.getsizeof.
 * Runs with the GIL.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pycompat.h"
#include "scan-internal.h"

static int
queue_push(struct scan *s, uint32_t idx)
{
    if (s->n_queue == s->cap_queue) {
        size_t cap = s->cap_queue != 0 ? s->cap_queue * 2 : 4096;
        uint32_t *p = realloc(s->queue, cap * sizeof(*p));
        if (p == NULL) {
            return -ENOMEM;
        }
        s->queue = p;
        s->cap_queue = cap;
    }
    s->queue[s->n_queue++] = idx;
    return 0;
}

static int
edge_push(struct scan *s, uint32_t idx)
{
    if (s->n_edges == s->cap_edges) {
        size_t cap = s->cap_edges != 0 ? s->cap_edges * 2 : 8192;
        uint32_t *p = realloc(s->edges, cap * sizeof(*p));
        if (p == NULL) {
            return -ENOMEM;
        }
        s->edges = p;
        s->cap_edges = cap;
    }
    s->edges[s->n_edges++] = idx;
    return 0;
}

static bool
is_stop(struct scan *s, PyObject *o)
{
    PyObject *t = pycompat_type(o);

    return (pycompat_type_flags(t) & PYAPI_TPFLAGS_TYPE_SUBCLASS) != 0 || t == py.PyModule_Type ||
           t == py.PyCode_Type || pycompat_is_immortal(o) ||
           objmap_get(&s->stop, o) != OBJMAP_ABSENT;
}

struct edge_ctx {
    struct scan *s;
    int err;
};

static int
visit_edge(PyObject *child, void *arg)
{
    struct edge_ctx *c = arg;
    struct scan *s = c->s;
    bool fresh;
    uint32_t idx;

    if (!pycompat_is_live(child) || is_stop(s, child)) {
        return 0;
    }
    idx = objmap_get(&s->node_index, child);
    if (idx == OBJMAP_ABSENT || (s->nodes[idx].flags & NODE_IN_GRAPH) == 0) {
        if (s->n_queue >= s->opt->max_nodes) {
            s->truncated = true;
            return 0;
        }
        idx = scan_node(s, child, &fresh);
        if (idx == OBJMAP_ABSENT || queue_push(s, idx) < 0) {
            c->err = -ENOMEM;
            return 1;
        }
        s->nodes[idx].flags |= NODE_IN_GRAPH;
        scan_own(s, &s->nodes[idx]);
    }
    s->nodes[idx].internal++;
    if (edge_push(s, idx) < 0) {
        c->err = -ENOMEM;
        return 1;
    }
    return 0;
}

static int
expand(struct scan *s, uint32_t idx)
{
    struct edge_ctx c = {.s = s};
    PyObject *obj = s->nodes[idx].obj;
    PyObject *type = pycompat_type(obj);

    /* Our own strong reference is not the program's. */
    s->nodes[idx].refcnt = pycompat_refcnt(obj) - ((s->nodes[idx].flags & NODE_OWNED) ? 1 : 0);
    s->nodes[idx].edge_start = (uint32_t)s->n_edges;
    s->nodes[idx].flags |= NODE_EXPANDED;
    if (pycompat_is_immortal(obj)) {
        s->nodes[idx].flags |= NODE_ALIVE;
        return 0;
    }
    if (pycompat_is_lru(obj)) {
        if (objmap_get(&s->wrapper_index, obj) != OBJMAP_ABSENT) {
            /* One of the sample's wrappers: s->wrappers holds a reference
             * of ours too. Its entries are the cache's references (and,
             * for an inner wrapper, edges for retained_bytes only). */
            s->nodes[idx].refcnt--;
            s->nodes[idx].flags |= NODE_WRAPPER;
        }
        visit_edge(pycompat_lru_object(obj, PYCOMPAT_LRU_FUNC), &c);
        visit_edge(pycompat_field(obj, (size_t)pyc.lru_dict_off), &c);
    } else {
        pyapi_traverseproc_fn traverse = pycompat_type_traverse(type);
        if (traverse != NULL && pycompat_is_gc(obj)) {
            traverse(obj, visit_edge, &c);
        }
    }
    /* Edges were appended contiguously by this node's traversal. */
    s->nodes[idx].edge_count = (uint32_t)(s->n_edges - s->nodes[idx].edge_start);
    return c.err;
}

/* ---- sizes ------------------------------------------------------------------------------- */

/* Index + 1 of the size function for type in s->size_descr, or 0 for the
 * basicsize/itemsize formula of object.__sizeof__. */
static uint32_t
size_mode(struct scan *s, PyObject *type)
{
    size_t slot = ((uintptr_t)type >> 4) & 63;
    uint32_t m;
    PyObject *base = type;

    if (s->sm_cache[slot].type == type) {
        return s->sm_cache[slot].mode;
    }
    m = objmap_get(&s->size_mode, type);
    if (m != OBJMAP_ABSENT) {
        s->sm_cache[slot].type = type;
        s->sm_cache[slot].mode = m;
        return m;
    }
    /* The nearest static base decides: user overrides of __sizeof__ are
     * user code and are never called. */
    for (int i = 0;
         base != NULL && i < 64 && (pycompat_type_flags(base) & PYAPI_TPFLAGS_HEAPTYPE) != 0; i++) {
        base = pycompat_field(base, PYCOMPAT_TP_BASE);
    }
    m = 0;
    if (base != NULL && base != py.PyBaseObject_Type) {
        PyObject *fn = py.PyObject_GetAttrString(base, "__sizeof__"); /* owned; static type */
        if (fn != NULL && fn != pyc.object_sizeof && ptrvec_push(&s->size_descr, fn) == 0) {
            m = (uint32_t)s->size_descr.n;
            fn = NULL;
        }
        py.Py_DecRef(fn);
        scan_clear_error();
    }
    if (objmap_put(&s->size_mode, type, m) != OBJMAP_ABSENT) {
        s->sm_cache[slot].type = type;
        s->sm_cache[slot].mode = m;
    }
    return m;
}

static int64_t
headers(PyObject *type)
{
    unsigned long flags = pycompat_type_flags(type);

    return ((flags & PYAPI_TPFLAGS_HAVE_GC) ? 16 : 0) + ((flags & pyc.preheader_mask) ? 16 : 0);
}

static int64_t
formula(PyObject *o, PyObject *type)
{
    Py_ssize_t basic = pycompat_ssize_field(type, PYCOMPAT_TP_BASICSIZE);
    Py_ssize_t item = pycompat_ssize_field(type, PYCOMPAT_TP_ITEMSIZE);
    Py_ssize_t n = item != 0 ? pycompat_ssize_field(o, PYCOMPAT_OB_SIZE) : 0;

    return (int64_t)basic + (int64_t)item * (n < 0 ? -n : n);
}

int64_t
scan_size_plain(PyObject *o)
{
    PyObject *type = pycompat_type(o);

    return formula(o, type) + headers(type);
}

int64_t
scan_size_of(struct scan *s, PyObject *o)
{
    PyObject *type = pycompat_type(o);
    uint32_t m = size_mode(s, type);
    int64_t size = -1;

    if (m > 0) {
        PyObject *r = py.PyObject_CallFunctionObjArgs(s->size_descr.v[m - 1], o, NULL);
        if (r != NULL) {
            size = (int64_t)py.PyLong_AsSsize_t(r);
            py.Py_DecRef(r);
        }
        scan_clear_error();
    }
    if (size < 0) {
        size = formula(o, type);
    }
    return size + headers(type);
}

static void
clear_size_modes(struct scan *s)
{
    for (size_t i = 0; i < s->size_descr.n; i++) {
        py.Py_DecRef(s->size_descr.v[i]);
    }
    s->size_descr.n = 0;
    objmap_clear(&s->size_mode);
    memset(s->sm_cache, 0, sizeof(s->sm_cache));
}

/* ---- the walk ------------------------------------------------------------------------------- */

static int
walk(struct scan *s)
{
    int r = 0;

    s->n_queue = 0;
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        struct node *n = &s->nodes[i];
        if ((n->flags & (NODE_SELF | NODE_IN_GRAPH)) != 0) {
            n->flags |= NODE_IN_GRAPH;
            scan_own(s, n);
            r = queue_push(s, i);
            if (r < 0) {
                return r;
            }
        }
    }
    for (size_t q = 0; q < s->n_queue; q++) {
        /* Objects are scattered over the heap: ask for the ones a few steps
         * ahead while this one is expanded. */
        if (q + 8 < s->n_queue) {
            __builtin_prefetch(s->nodes[s->queue[q + 8]].obj);
        }
        if ((q & 255) == 0) {
            /* Between expansions no borrowed reference is in use: grow the
             * tables here (an object rarely has more than 4096 children). */
            r = scan_reserve(s, 4096);
            if (r < 0) {
                return r;
            }
        }
        r = expand(s, s->queue[q]);
        if (r >= 0 && (q & 255) == 255) {
            r = scan_check_stop(s);
        }
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

static void
mark_alive(struct scan *s)
{
    size_t top = 0;

    /* Roots: objects with references from outside the subgraph and the
     * caches, or in a key tuple held by a running call. The queue array is
     * reused as the stack: every node in it has been expanded. */
    for (size_t q = 0; q < s->n_queue; q++) {
        struct node *n = &s->nodes[s->queue[q]];
        Py_ssize_t outside = n->refcnt - (Py_ssize_t)n->cache_refs - (Py_ssize_t)n->internal;
        if (outside > 0 || (n->flags & (NODE_EXTERNAL | NODE_ALIVE)) != 0) {
            n->flags |= NODE_ALIVE;
            s->queue[top++] = s->queue[q];
        }
    }
    while (top > 0) {
        struct node *n = &s->nodes[s->queue[--top]];
        for (uint32_t e = 0; e < n->edge_count; e++) {
            struct node *child = &s->nodes[s->edges[n->edge_start + e]];
            if ((child->flags & NODE_ALIVE) == 0) {
                child->flags |= NODE_ALIVE;
                s->queue[top++] = s->edges[n->edge_start + e];
            }
        }
    }
}

static int
size_dead(struct scan *s)
{
    unsigned done = 0;
    int r = 0;

    for (uint32_t i = 0; i < s->n_nodes && r >= 0; i++) {
        struct node *n = &s->nodes[i];
        if ((n->flags & (NODE_IN_GRAPH | NODE_EXPANDED | NODE_ALIVE)) ==
            (NODE_IN_GRAPH | NODE_EXPANDED)) {
            n->size = scan_size_of(s, n->obj);
            n->flags |= NODE_SIZED;
            if ((++done & 255) == 0) {
                r = scan_check_stop(s);
            }
        }
    }
    clear_size_modes(s);
    return r;
}

/* The inner wrapper a dead node is, if any. */
static const struct wrapper *
dead_wrapper(struct scan *s, const struct node *n)
{
    uint32_t wi;

    if ((n->flags & NODE_WRAPPER) == 0) {
        return NULL;
    }
    wi = objmap_get(&s->wrapper_index, n->obj);
    if (wi == OBJMAP_ABSENT || wi >= s->n_wrappers || !s->wrappers[wi].inner) {
        return NULL;
    }
    return &s->wrappers[wi];
}

static void
count_groups(struct scan *s)
{
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        s->nodes[i].stamp = 0;
    }
    for (size_t gi = 0; gi < s->n_groups; gi++) {
        struct group *g = &s->groups[gi];
        uint32_t stamp = (uint32_t)gi + 1;
        size_t top = 0;

        for (size_t k = 0; k < g->n_selfs; k++) {
            struct node *n = &s->nodes[g->selfs[k]];
            if (!scan_node_pinned(n)) {
                continue;
            }
            g->pinned++;
            if (n->stamp != stamp) {
                n->stamp = stamp;
                s->queue[top++] = g->selfs[k];
            }
        }
        /* Everything dead that the pinned selves reach goes with them,
         * the entries of dead wrappers among it included. */
        while (top > 0) {
            struct node *n = &s->nodes[s->queue[--top]];
            /* No edge was recorded at all: s->edges is NULL, and even a
             * zero offset from it is undefined. */
            const uint32_t *edges = n->edge_count > 0 ? &s->edges[n->edge_start] : NULL;
            uint32_t n_edges = n->edge_count;
            if (n->flags & NODE_SIZED) {
                g->retained += n->size;
            }
            for (int pass = 0; pass < 2; pass++) {
                for (uint32_t e = 0; e < n_edges; e++) {
                    struct node *child = &s->nodes[edges[e]];
                    if ((child->flags & NODE_ALIVE) == 0 && child->stamp != stamp) {
                        child->stamp = stamp;
                        s->queue[top++] = edges[e];
                    }
                }
                const struct wrapper *w = pass == 0 ? dead_wrapper(s, n) : NULL;
                if (w == NULL) {
                    break;
                }
                g->retained += w->own_bytes;
                edges = w->cedge_count > 0 ? &s->cedges[w->cedge_start] : NULL;
                n_edges = w->cedge_count;
            }
        }
    }
}

int
scan_graph_reserve(struct scan *s, size_t edges)
{
    if (edges <= s->cap_edges) {
        return 0;
    }
    uint32_t *p = realloc(s->edges, edges * sizeof(*p));
    if (p == NULL) {
        return -ENOMEM;
    }
    s->edges = p;
    s->cap_edges = edges;
    return 0;
}

int
scan_graph(struct scan *s)
{
    int r;

    r = scan_stop_modules(s);
    if (r < 0) {
        return r;
    }
    /* s->wrappers was sorted by row since discovery: index it again. */
    objmap_clear(&s->wrapper_index);
    for (size_t i = 0; i < s->n_wrappers; i++) {
        if (objmap_put(&s->wrapper_index, s->wrappers[i].obj, (uint32_t)i) == OBJMAP_ABSENT) {
            return -ENOMEM;
        }
    }
    r = walk(s);
    if (r < 0) {
        return r;
    }
    mark_alive(s);
    r = size_dead(s);
    if (r < 0) {
        return r;
    }
    count_groups(s);
    return 0;
}
