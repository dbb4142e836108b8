/* SPDX-License-Identifier: MIT */
/*
 * scan: one sample, start to end (see scan.h for the contract).
 *
 *   discover -> read caches -> graph walk -> rows
 *
 * This file owns the sample's life cycle: the node table, the strong
 * references a sample takes, and their release before scan_run returns.
 * The whole sample is one GIL hold (scan.h says why); scan_check_stop lets
 * an exit, a fork or a detach cut it short.
 * Runs on whichever thread calls scan_run, with the GIL.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gil.h"
#include "pycompat.h"
#include "registry.h"
#include "scan-internal.h"

/* ---- small helpers ---------------------------------------------------------- */

double
scan_ms_since(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

static double
thread_cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int
ptrvec_push(struct ptrvec *v, PyObject *o)
{
    if (v->n == v->cap) {
        size_t cap = v->cap != 0 ? v->cap * 2 : 256;
        PyObject **p = realloc(v->v, cap * sizeof(*p));
        if (p == NULL) {
            return -ENOMEM;
        }
        v->v = p;
        v->cap = cap;
    }
    v->v[v->n++] = o;
    return 0;
}

bool
scan_clear_error(void)
{
    if (py.PyErr_Occurred() == NULL) {
        return false;
    }
    py.PyErr_Clear();
    return true;
}

int
scan_hold(struct scan *s, PyObject *obj)
{
    if (ptrvec_push(&s->held, obj) < 0) {
        return -ENOMEM;
    }
    py.Py_IncRef(obj);
    return 0;
}

uint32_t
scan_node(struct scan *s, PyObject *obj, bool *ret_new)
{
    uint32_t idx = objmap_put(&s->node_index, obj, (uint32_t)s->n_nodes);

    if (idx == OBJMAP_ABSENT) {
        return OBJMAP_ABSENT;
    }
    *ret_new = idx == s->n_nodes;
    if (!*ret_new) {
        return idx;
    }
    if (s->n_nodes == s->cap_nodes) {
        size_t cap = s->cap_nodes != 0 ? s->cap_nodes * 2 : 4096;
        struct node *p = realloc(s->nodes, cap * sizeof(*p));
        if (p == NULL) {
            /* The map now names an index we cannot back: make it a dead end. */
            objmap_clear(&s->node_index);
            return OBJMAP_ABSENT;
        }
        s->nodes = p;
        s->cap_nodes = cap;
    }
    memset(&s->nodes[idx], 0, sizeof(s->nodes[idx]));
    s->nodes[idx].obj = obj;
    s->n_nodes++;
    return idx;
}

int
scan_reserve(struct scan *s, size_t extra)
{
    size_t want = s->n_nodes + extra;
    bool nodes_full = want > s->cap_nodes;
    bool map_full = (s->node_index.len + extra) * 2 > s->node_index.cap;
    int r = 0;

    if (!nodes_full && !map_full) {
        return 0;
    }
    if (map_full) {
        r = objmap_reserve(&s->node_index, s->node_index.len * 2 + extra);
    }
    if (r == 0 && nodes_full) {
        size_t cap = s->cap_nodes != 0 ? s->cap_nodes : 4096;
        while (cap < want * 2) {
            cap *= 2;
        }
        struct node *p = realloc(s->nodes, cap * sizeof(*p));
        if (p == NULL) {
            r = -ENOMEM;
        } else {
            s->nodes = p;
            s->cap_nodes = cap;
        }
    }
    return r;
}

void
scan_own(struct scan *s, struct node *n)
{
    if ((n->flags & NODE_OWNED) == 0) {
        py.Py_IncRef(n->obj);
        n->flags |= NODE_OWNED;
    }
}

/* ---- stopping and releasing ---------------------------------------------------- */

int
scan_check_stop(struct scan *s)
{
    return s->opt->stop != NULL && *s->opt->stop ? -ECANCELED : 0;
}

void
scan_release(struct scan *s, PyObject *obj)
{
    (void)s;
    py.Py_DecRef(obj);
}

PyObject *
scan_name(struct scan *s, enum scan_name which)
{
    static const char *const text[SCAN_NAMES] = {
        [NAME_FUNC] = "__func__",         [NAME_DICT] = "__dict__",
        [NAME_WRAPPED] = "__wrapped__",   [NAME_CODE] = "__code__",
        [NAME_FILENAME] = "co_filename",  [NAME_FIRSTLINENO] = "co_firstlineno",
        [NAME_QUALNAME] = "__qualname__", [NAME_MODULE] = "__module__",
    };

    if (s->names[which] == NULL) {
        PyObject *o = py.PyUnicode_InternFromString(text[which]); /* owned */
        int r = o != NULL ? scan_hold(s, o) : -ENOMEM;
        py.Py_DecRef(o); /* the hold keeps it, if it could */
        if (r < 0) {
            scan_clear_error();
            return NULL;
        }
        s->names[which] = o;
    }
    return s->names[which];
}

static void
release_all(struct scan *s)
{
    for (size_t i = 0; i < s->n_nodes; i++) {
        if (s->nodes[i].flags & NODE_OWNED) {
            scan_release(s, s->nodes[i].obj);
            s->nodes[i].flags &= ~(uint32_t)NODE_OWNED;
        }
    }
    for (size_t i = 0; i < s->n_wrappers; i++) {
        if (s->wrappers[i].cache != NULL) {
            scan_release(s, s->wrappers[i].cache);
        }
        scan_release(s, s->wrappers[i].obj);
    }
    for (size_t i = 0; i < s->held.n; i++) {
        scan_release(s, s->held.v[i]);
    }
    s->held.n = 0;
    memset(s->names, 0, sizeof(s->names));
    s->n_wrappers = 0;
    s->n_nodes = 0;
}

/* ---- life cycle ------------------------------------------------------------------- */

struct scan *
scan_new(void)
{
    return calloc(1, sizeof(struct scan));
}

static void
clear_groups(struct scan *s)
{
    for (size_t i = 0; i < s->n_groups; i++) {
        free(s->groups[i].qualname);
        free(s->groups[i].module);
        free(s->groups[i].file);
        free(s->groups[i].selfs);
        for (size_t k = 0; k < s->groups[i].n_sites; k++) {
            free(s->groups[i].sites[k].file);
        }
        free(s->groups[i].sites);
    }
    s->n_groups = 0;
}

struct scan *
scan_free(struct scan *s)
{
    if (s == NULL) {
        return NULL;
    }
    clear_groups(s);
    free(s->groups);
    free(s->nodes);
    free(s->edges);
    free(s->cedges);
    free(s->wrappers);
    free(s->held.v);
    free(s->visit.v);
    free(s->size_descr.v);
    objmap_done(&s->node_index);
    objmap_done(&s->wrapper_index);
    objmap_done(&s->group_index);
    objmap_done(&s->stop);
    free(s->queue);
    objmap_done(&s->type_class);
    objmap_done(&s->size_mode);
    scan_steady_free(s);
    scan_names_free(s);
    free(s);
    return NULL;
}

void
scan_forget(struct scan *s)
{
    py.Py_DecRef(s->known); /* a list of weak references: no finaliser of the host's */
    s->known = NULL;
    scan_steady_forget(s);
    scan_names_forget(s);
}

/* Between samples the scanner keeps the steady state (scan-steady.c), not a
 * complete sample's tables: those are as large as the heap it walked, and
 * the next one that needs them grows them again. */
static void
trim(struct scan *s)
{
    if (!s->steady.valid || s->cap_nodes <= 65536) {
        return;
    }
    free(s->nodes);
    s->nodes = NULL;
    s->cap_nodes = 0;
    free(s->edges);
    s->edges = NULL;
    s->cap_edges = 0;
    free(s->cedges);
    s->cedges = NULL;
    s->cap_cedges = 0;
    free(s->queue);
    s->queue = NULL;
    s->cap_queue = 0;
    objmap_done(&s->node_index);
    objmap_done(&s->stop);
    for (size_t i = 0; i < s->n_groups; i++) {
        free(s->groups[i].selfs);
        s->groups[i].selfs = NULL;
        s->groups[i].n_selfs = s->groups[i].cap_selfs = 0;
    }
}

static int64_t
memory_bytes(const struct scan *s)
{
    return (
        int64_t)(s->cap_nodes * sizeof(struct node) +
                 (s->cap_edges + s->cap_cedges) * sizeof(uint32_t) +
                 s->cap_wrappers * sizeof(struct wrapper) + s->cap_groups * sizeof(struct group) +
                 (s->held.cap + s->visit.cap) * sizeof(PyObject *) + objmap_bytes(&s->node_index) +
                 objmap_bytes(&s->wrapper_index) + objmap_bytes(&s->group_index) +
                 objmap_bytes(&s->stop) + s->cap_queue * sizeof(uint32_t) +
                 objmap_bytes(&s->type_class) + objmap_bytes(&s->size_mode) + registry_bytes() +
                 scan_steady_bytes(s) + scan_names_bytes(s));
}

static int
fill_snapshot(struct scan *s, struct snapshot *out)
{
    for (size_t i = 0; i < s->n_groups; i++) {
        const struct group *g = &s->groups[i];
        struct snapshot_cache *c = snapshot_add(out, g->qualname, g->module, g->file);
        if (c == NULL) {
            return -ENOMEM;
        }
        c->line = g->line;
        c->kind = g->kind;
        c->maxsize = g->maxsize;
        c->typed = g->typed;
        c->self_only = g->self_only && g->any_key;
        c->entries = g->entries;
        c->hits = g->hits;
        c->misses = g->misses;
        c->selves = g->selves;
        c->pinned = g->pinned;
        c->retained_bytes = g->retained;
        c->wrappers = g->wrappers;
        if (g->traced && snapshot_cache_sites(c, g->n_sites + 2) < 0) {
            return -ENOMEM;
        }
        for (size_t k = 0; g->traced && k < g->n_sites; k++) {
            snapshot_cache_add_site(c, g->sites[k].file, g->sites[k].line, g->sites[k].count,
                                    SNAPSHOT_SITE_TRACED);
        }
        if (g->traced) {
            snapshot_cache_add_site(c, NULL, 0, g->alloc_other, SNAPSHOT_SITE_OTHER);
            snapshot_cache_add_site(c, NULL, 0, g->alloc_unknown, SNAPSHOT_SITE_UNKNOWN);
            c->alloc_examined = g->alloc_examined;
        }
    }
    snapshot_sort(out);
    return 0;
}

/* Entries this sample read: none when steady, the new ones after a growth,
 * every row's entries (as scan_wrapper_prepare counted them) otherwise. */
static int64_t
entries_read(const struct scan *s, int steady)
{
    int64_t n = 0;

    for (size_t i = 0; steady == STEADY_GREW && i < s->n_wrappers; i++) {
        n += s->wrappers[i].new_entries;
    }
    for (size_t gi = 0; steady == STEADY_NONE && gi < s->n_groups; gi++) {
        n += s->groups[gi].entries;
    }
    return n;
}

static int
by_address(const void *pa, const void *pb)
{
    const struct wrapper *a = pa, *b = pb;

    return a->obj < b->obj ? -1 : a->obj > b->obj;
}

static int
by_group(const void *pa, const void *pb)
{
    const struct wrapper *a = pa, *b = pb;

    if (a->group != b->group) {
        return a->group < b->group ? -1 : 1;
    }
    return by_address(pa, pb);
}

/* Whether functools has cached_method (a proposal for a future CPython):
 * looked up in the module's dict, so no module __getattr__ runs. */
static bool
has_cached_method(void)
{
    PyObject *name = py.PyUnicode_FromString("functools");
    PyObject *mod = name != NULL ? py.PyImport_GetModule(name) : NULL; /* owned */
    bool found = false;

    if (mod != NULL && pycompat_type(mod) == py.PyModule_Type) {
        PyObject *dict = py.PyModule_GetDict(mod); /* borrowed */
        found = dict != NULL && py.PyDict_GetItemString(dict, "cached_method") != NULL;
    }
    py.Py_DecRef(mod);
    py.Py_DecRef(name);
    scan_clear_error();
    return found;
}

int
scan_run(struct scan *s, const struct scan_options *opt, struct snapshot *out)
{
    struct timespec start;
    double cpu0 = thread_cpu_ms();
    int r;

    clock_gettime(CLOCK_MONOTONIC, &start);
    s->opt = opt;
    s->truncated = false;
    s->n_edges = 0;
    s->n_cedges = 0;
    clear_groups(s);
    objmap_clear(&s->node_index);
    objmap_clear(&s->wrapper_index);
    objmap_clear(&s->group_index);
    objmap_clear(&s->stop);
    s->modules_stopped = false;
    objmap_clear(&s->type_class);
    memset(s->tc_cache, 0, sizeof(s->tc_cache));
    memset(s->sm_cache, 0, sizeof(s->sm_cache));
    snapshot_clear(out);

    r = scan_discover(s, opt->full);
    scan_names_start(s);
    /* Rows are numbered in wrapper order: make that order the same whatever
     * found the wrappers (a class walk or the registry), so that a steady
     * sample meets the rows of the last complete one (scan-steady.c). */
    if (s->n_wrappers > 1) {
        qsort(s->wrappers, s->n_wrappers, sizeof(*s->wrappers), by_address);
    }
    for (size_t i = 0; r >= 0 && i < s->n_wrappers; i++) {
        r = scan_wrapper_prepare(s, &s->wrappers[i]);
        if (r >= 0) {
            r = scan_check_stop(s);
        }
    }
    if (s->n_wrappers > 1) {
        qsort(s->wrappers, s->n_wrappers, sizeof(*s->wrappers), by_group);
    }
    /* Nothing changed since the last complete sample, or its unbounded
     * caches only grew: its counts stand, plus the new entries'. */
    int st = r >= 0 ? scan_steady_try(s) : STEADY_NONE;
    if (st < 0) {
        r = st;
    }
    bool steady = st == STEADY_SAME || st == STEADY_GREW;
    if (r >= 0 && !steady && s->nodes_hint > 0) {
        r = scan_reserve(s, s->nodes_hint + s->nodes_hint / 8);
        if (r >= 0) {
            r = scan_graph_reserve(s, s->edges_hint + s->edges_hint / 8);
        }
    }
    for (size_t i = 0; r >= 0 && !steady && i < s->n_wrappers; i++) {
        r = scan_wrapper_entries(s, &s->wrappers[i]);
        if (r >= 0) {
            r = scan_check_stop(s);
        }
    }
    if (r >= 0 && !steady) {
        r = scan_graph(s);
    }
    if (r >= 0 && !steady) {
        scan_steady_save(s);
    }
    /* While every pinned self is still held by the node table. */
    if (r >= 0 && opt->pinned_out != NULL) {
        r = steady ? scan_steady_pinned(s, opt->pinned_out)
                   : scan_collect_pinned(s, opt->pinned_out);
        if (r >= 0 && !steady && opt->pinned_all != NULL) {
            scan_steady_handed_all(s);
            *opt->pinned_all = true;
        }
    }
    if (r >= 0 && opt->trace_alloc) {
        struct timespec a0;
        int frames = 0;

        clock_gettime(CLOCK_MONOTONIC, &a0);
        r = scan_alloc_sites(s, &frames);
        out->alloc_frames = frames;
        out->alloc_ms = scan_ms_since(&a0);
    }
    /* A hint, not a count: a steady sample carries it on. */
    if (!steady) {
        s->cached_method = has_cached_method();
    }
    out->cached_method = s->cached_method;
    out->wrappers = (int64_t)s->n_wrappers;
    out->entries_read = entries_read(s, st);
    if (r >= 0 && !steady) {
        s->nodes_hint = s->n_nodes;
        s->edges_hint = s->n_edges;
    }
    release_all(s);
    scan_clear_error();
    if (r >= 0) {
        r = fill_snapshot(s, out);
    }
    out->full = opt->full;
    out->steady = steady;
    out->truncated = s->truncated;
    /* The slices' checks served this sample or are stale now. */
    scan_precheck_reset(&s->steady);
    double hold_ms = scan_ms_since(&start); /* this call is one hold (scan.h) */
    out->scan_ms = hold_ms + opt->pre_wall_ms;
    out->scan_cpu_ms = thread_cpu_ms() - cpu0 + opt->pre_cpu_ms;
    out->max_gil_hold_ms = hold_ms > opt->pre_max_hold_ms ? hold_ms : opt->pre_max_hold_ms;
    out->gil_holds = 1 + opt->pre_holds;
    trim(s);
    out->agent_mem_bytes = memory_bytes(s);
    return r;
}
