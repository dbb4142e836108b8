/* SPDX-License-Identifier: MIT */
/*
 * scan-internal: state shared by scan.c (orchestration, references),
 * scan-discover.c (finding wrappers), scan-cache.c (reading caches) and
 * scan-graph.c (pinned objects and retained memory). Not for other modules.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "objmap.h"
#include "pyapi.h"
#include "scan.h"
#include "snapshot.h"

/* ---- nodes: one per Python object the sample reasons about ------------- */
enum node_flag {
    NODE_SELF = 1 << 0,     /* first argument of some cache key */
    NODE_OWNED = 1 << 1,    /* we hold a strong reference */
    NODE_IN_GRAPH = 1 << 2, /* queued for the retained-graph walk */
    NODE_EXPANDED = 1 << 3, /* its references were followed */
    NODE_ALIVE = 1 << 4,    /* reachable from outside the caches */
    NODE_EXTERNAL = 1 << 5, /* sits in a key tuple that something else holds */
    NODE_SIZED = 1 << 6,
    NODE_WRAPPER = 1 << 7,   /* one of s->wrappers, reached by the graph walk */
    NODE_CANDIDATE = 1 << 8, /* of a type that may count as a self (TC_SELF) */
};

struct node {
    PyObject *obj;
    Py_ssize_t refcnt;   /* read when the graph walk reaches it, minus our own */
    int64_t size;        /* bytes, when NODE_SIZED */
    uint32_t cache_refs; /* references from cache entries: key tuples, results */
    uint32_t internal;   /* references from expanded nodes */
    uint32_t edge_start;
    uint32_t edge_count;
    uint32_t stamp; /* group-local marks: distinct selves, retained walk */
    uint32_t flags;
};

/* ---- wrappers and the rows (groups) they aggregate into ------------------ */
struct wrapper {
    PyObject *obj;      /* strong */
    PyObject *cache;    /* strong: the cache dict */
    PyObject *kwd_mark; /* borrowed via obj; NULL on 3.8/3.9 */
    enum snapshot_kind kind;
    uint32_t group;
    int64_t maxsize;
    bool valid; /* layout checked, names and counters read */
    bool named; /* found in a class namespace or module globals */
    /* A wrapper that no class or module names may sit inside an object
     * graph (a per-instance cache in an instance's __dict__ or slots, a
     * closure's cache): everything its entries reference is walked, and
     * what would go with it is remembered for retained_bytes. */
    bool inner;
    uint32_t cedge_start, cedge_count; /* its entries' nodes, in s->cedges */
    /* Read from this PyDict_Next position (0: all), new_entries of them
     * (scan-steady.c's growth); end_pos: the position after the last read. */
    Py_ssize_t from_pos, new_entries, end_pos;
    int64_t own_bytes; /* cache dict, key tuples, links (bounded) */
};

/* An allocation site of a row's pinned objects (scan-alloc.c). */
struct scan_site {
    char *file; /* owned */
    long line;
    int64_t count;
    bool unknown, other; /* unused here: the row keeps those counts apart */
};

struct group {
    uint64_t hash;
    char *qualname, *module, *file; /* owned */
    long line;
    enum snapshot_kind kind;
    int64_t maxsize;
    bool typed;
    bool self_only;
    bool any_key;
    int64_t entries, hits, misses, wrappers;
    int64_t selves, pinned, retained;
    uint32_t *selfs; /* node indexes */
    size_t n_selfs, cap_selfs;
    /* --trace-alloc (scan-alloc.c) */
    bool traced;
    struct scan_site *sites; /* owned, up to its fixed capacity */
    size_t n_sites;
    int64_t alloc_unknown, alloc_other, alloc_examined;
};

struct ptrvec {
    PyObject **v;
    size_t n, cap;
};

/* Attribute and key names a sample looks up once per wrapper (scan_name). */
enum scan_name {
    NAME_FUNC,
    NAME_DICT,
    NAME_WRAPPED,
    NAME_CODE,
    NAME_FILENAME,
    NAME_FIRSTLINENO,
    NAME_QUALNAME,
    NAME_MODULE,
    SCAN_NAMES,
};

/* What the last complete sample read, kept for the next (scan-steady.c):
 * raw addresses only, never a reference. */
struct steady_wrapper {
    PyObject *obj, *cache;
    Py_ssize_t misses, size;
    Py_ssize_t end_pos; /* PyDict_Next position after the last entry read */
    uint32_t group;
    bool grows; /* named, read by PyDict_Next to a dict without holes: misses append */
    bool dead; /* inner, and the last complete sample found it among what goes with pinned selves */
};

struct steady_watch {
    PyObject *obj;      /* held by a cache entry (a key item or a result) */
    Py_ssize_t refcnt;  /* the program's references, as that sample read them */
    uint32_t accounted; /* of those, from cache entries and walked objects */
    uint32_t row_mode;  /* (row + 1 it is a self of; 0: none; all ones: several) << 5
                         * | handed over (16) | alone (8) | pinned self (4) | STEADY_* mode */
};

struct steady_group {
    int64_t selves, pinned, retained;
    bool self_only, any_key;
};

/* How a kept object's reference count must compare with the one the
 * last complete sample read (scan-steady.c). */
enum {
    STEADY_EXACT,    /* pinned, dead, or held by a running call: the same count */
    STEADY_OWN,      /* alive by its own outside references: still more than accounted */
    STEADY_AT_LEAST, /* alive through another live object: no fewer */
};
#define WATCH_MODE 3u
#define WATCH_PINNED 4u
/* No walked object referenced it: entries and the program's own references
 * were all it had (scan-steady.c: a self the program let go of). */
#define WATCH_ALONE 8u
/* A pinned self handed over to an only-new _lruleak.pinned_new() call
 * (scan-steady.c: scan_steady_pinned). */
#define WATCH_HANDED 16u
#define WATCH_FLAGS (WATCH_MODE | WATCH_PINNED | WATCH_ALONE | WATCH_HANDED)
#define WATCH_ROW_SHIFT 5
#define WATCH_ROW_MANY (UINT32_MAX >> WATCH_ROW_SHIFT)

/* Whether a kept object still passes, with `now` its references less
 * those that entries read since added. */
static inline bool
watch_holds(const struct steady_watch *k, Py_ssize_t now)
{
    uint32_t mode = k->row_mode & WATCH_MODE;

    return mode == STEADY_EXACT ? now == k->refcnt
           : mode == STEADY_OWN ? now > (Py_ssize_t)k->accounted
                                : now >= k->refcnt;
}

struct u32vec {
    uint32_t *v;
    size_t n, cap;
};

struct steady {
    bool valid;
    size_t n_main; /* watch[0, n_main) and watch[n_main, n_watch) are sorted by address */
    uint64_t clears;
    struct steady_wrapper *w;
    size_t n_w, cap_w;
    struct steady_watch *watch;
    size_t n_watch, cap_watch;
    struct steady_group *g;
    size_t n_g, cap_g;
    /* Slices ahead of a sample (scan-precheck.c): watch[0, pre_next) was
     * checked, with no added references; these of them failed. */
    size_t pre_next;
    struct u32vec pre_failed;
    /* Per growth: the kept objects that new entries hold references to. */
    struct u32vec touched;
    /* Per sample: the kept selves the program let go of since (released). */
    struct u32vec released;
    /* Complete samples saved (each makes the kept objects anew), and the
     * one whose pinned selves were all handed over to pinned_new() since:
     * while the two are equal, the WATCH_HANDED marks say which pinned
     * selves the caller has. 0: none handed over. */
    uint64_t generation, handed;
    int64_t handed_pinned; /* the rows' pinned selves when they were handed over */
    /* Pinned marks of one row each (pinned_marks_complete), counted when
     * the kept objects last changed (marks_version == version). */
    uint64_t version, marks_version;
    int64_t marks;
};

/* Each wrapper's row names, kept between samples (scan-names.c). */
struct name_memo;
struct name_memos {
    struct objmap index; /* wrapper address -> v[] */
    struct name_memo *v;
    size_t n, cap;
    uint64_t clears; /* registry_clears when they were made */
    bool usable;     /* in this sample (scan_names_start) */
};

struct scan {
    const struct scan_options *opt;
    /* per sample */
    struct node *nodes;
    size_t n_nodes, cap_nodes;
    struct objmap node_index;
    uint32_t *edges;
    size_t n_edges, cap_edges;
    uint32_t *cedges; /* entry nodes (key items, results) of inner wrappers */
    size_t n_cedges, cap_cedges;
    struct wrapper *wrappers;
    size_t n_wrappers, cap_wrappers;
    struct objmap wrapper_index;
    struct group *groups;
    size_t n_groups, cap_groups;
    struct objmap group_index; /* key: hash value (never dereferenced) */
    struct objmap stop;        /* module dicts, cache dicts: never expanded */
    bool modules_stopped;      /* the module dicts are in it (scan_stop_modules) */
    uint32_t *queue;           /* graph walk order */
    size_t n_queue, cap_queue;
    struct objmap type_class; /* type -> TC_* bits */
    struct {
        PyObject *type;
        unsigned tc;
    } tc_cache[64];          /* direct-mapped front of type_class */
    struct objmap size_mode; /* type -> index into size_descr, + 1 */
    struct {
        PyObject *type;
        uint32_t mode;
    } sm_cache[64];              /* direct-mapped front of size_mode */
    struct ptrvec size_descr;    /* strong: size functions of static types (persistent) */
    struct ptrvec held;          /* strong refs that are not nodes */
    PyObject *names[SCAN_NAMES]; /* interned, this sample's (in held): scan_name */
    struct ptrvec visit;         /* scratch: objects a tp_traverse visited */
    bool truncated;
    /* persistent across samples */
    /* Nodes and edges of the last complete sample: the next one makes
     * room for as many at once, instead of doubling its way there (each
     * doubling rehashes the node map; the tables are freed between
     * samples: trim in scan.c). */
    size_t nodes_hint, edges_hint;
    PyObject *known; /* strong list of weakrefs to wrappers found by a full walk */
    struct steady steady;
    struct name_memos memos;
    bool cached_method; /* functools.cached_method, as the last complete sample saw */
};

/* Type classification bits (scan-cache.c). */
enum {
    TC_SELF = 1 << 0,   /* may count as a self (not a class/module/value type) */
    TC_RESULT = 1 << 1, /* worth following as a cache result */
};

/* ---- scan.c ---------------------------------------------------------------- */
/* -ECANCELED when the caller asked the sample to stop (exit, fork, detach),
 * else 0. Checked between units of work; the GIL stays held. */
int scan_check_stop(struct scan *s);
int scan_hold(struct scan *s, PyObject *obj); /* keep a strong ref until the end */
/* An attribute or key name as an interned str, made at its first use in a
 * sample and dropped with the sample's references: a lookup with it hashes
 * nothing and compares by identity, where PyObject_GetAttrString made a
 * new str per call. NULL (no exception left) when it cannot be made. */
PyObject *scan_name(struct scan *s, enum scan_name which);
/* Drop a strong reference taken in this sample (never the last one: see
 * scan.h). */
void scan_release(struct scan *s, PyObject *obj);
int ptrvec_push(struct ptrvec *v, PyObject *o);
/* Index of obj's node, created (zeroed) when new; OBJMAP_ABSENT on ENOMEM. */
uint32_t scan_node(struct scan *s, PyObject *obj, bool *ret_new);
/* Make room for `extra` more nodes. Call only where no borrowed reference is in use. Returns 0,
 * -ECANCELED (stop requested) or -ENOMEM; the GIL is held on return. */
int scan_reserve(struct scan *s, size_t extra);
/* Take a strong reference on a node's object once. */
void scan_own(struct scan *s, struct node *n);

/* ---- scan-discover.c -------------------------------------------------------- */
/* Fill s->wrappers (strong refs) from classes, modules, known weakrefs and,
 * when full, the GC heap. Adds module dicts to s->stop. */
int scan_discover(struct scan *s, bool full);
/* Put every module dict into s->stop, unless this sample did. 0 or -ENOMEM. */
int scan_stop_modules(struct scan *s);

/* ---- scan-cache.c ------------------------------------------------------------ */

/* Check one wrapper's layout, find its row, add its counters. */
int scan_wrapper_prepare(struct scan *s, struct wrapper *w);
/* Read a prepared wrapper's entries into nodes and its row. All wrappers of
 * one row must be read one after another (distinct selves use row stamps). */
int scan_wrapper_entries(struct scan *s, struct wrapper *w);
/* Append a node index to a row's selves. 0 or -ENOMEM. */
int scan_group_add_self(struct group *g, uint32_t idx);
/* Collect what tp_traverse of obj visits into s->visit (cleared first). */
int scan_traverse_collect(struct scan *s, PyObject *obj);

/* ---- scan-names.c ------------------------------------------------------------ */
/* Before the sample's first scan_wrapper_row: whether the names kept from
 * earlier samples may be used (the registry is complete, no wrapper was
 * freed and no cache cleared since they were kept), else forget them. */
void scan_names_start(struct scan *s);
/* Find or create w's row (its names: remembered, or read from dict, the
 * wrapper's __dict__, and func, the wrapped callable); sets w->group and,
 * for a bound method, w->kind. 0 or -ENOMEM. */
int scan_wrapper_row(struct scan *s, struct wrapper *w, PyObject *dict, PyObject *func);
void scan_names_forget(struct scan *s);
void scan_names_free(struct scan *s);
size_t scan_names_bytes(const struct scan *s);

/* ---- scan-graph.c ---------------------------------------------------------------- */
/* Walk from the selves and result containers, decide pinned, sum retained. */
int scan_graph(struct scan *s);
/* Room for this many edges (a complete sample, before its walk). 0 or -ENOMEM. */
int scan_graph_reserve(struct scan *s, size_t edges);
/* Bytes of one object as sys.getsizeof counts them: through the nearest
 * static base's __sizeof__ (never user code; GIL held), or, for
 * scan_size_plain, from the type's basic and item sizes alone (no call:
 * exact for tuples and the lru links, fine with borrowed references). */
int64_t scan_size_of(struct scan *s, PyObject *o);
int64_t scan_size_plain(PyObject *o);

/* After scan_graph: a self nothing outside the caches keeps alive. */
static inline bool
scan_node_pinned(const struct node *n)
{
    return (n->flags & (NODE_ALIVE | NODE_EXPANDED)) == NODE_EXPANDED;
}

/* ---- scan-steady.c ---------------------------------------------------------------- */
/* After discovery and scan_wrapper_prepare (wrappers sorted): whether the
 * last complete sample's counts can be carried on. STEADY_SAME: nothing
 * changed, the rows have its selves, pinned and retained. STEADY_GREW:
 * unbounded caches only gained entries; those were read and walked and the
 * rows are its counts plus theirs. STEADY_NONE: take a complete sample
 * (nothing read yet). Or -ECANCELED. */
enum { STEADY_NONE, STEADY_SAME, STEADY_GREW };
int scan_steady_try(struct scan *s);
/* After STEADY_SAME or STEADY_GREW, for opt->pinned_out: the pinned
 * selves of every row, as scan_collect_pinned; with opt->pinned_all, only
 * those not handed over before when the marks can tell. Returns 0 or
 * -ENOMEM. */
int scan_steady_pinned(struct scan *s, PyObject *out);
/* After a complete sample handed every pinned self over (opt->pinned_all):
 * mark them all handed. */
void scan_steady_handed_all(struct scan *s);
/* After a complete sample's scan_graph, before the references are
 * released: keep what the next sample checks. ENOMEM only makes the next
 * sample a complete one. */
void scan_steady_save(struct scan *s);
void scan_steady_forget(struct scan *s);
/* A cache the steady state kept is unchanged (1), or only grew since (2):
 * as many entries more as misses more (an unbounded cache appends one per
 * miss, a bounded one too until a miss evicts), in a dict read to an end
 * without holes (k->grows); else 0. */
static inline int
steady_cache_change(const struct steady_wrapper *k, Py_ssize_t misses, Py_ssize_t size)
{
    if (misses == k->misses && size == k->size) {
        return 1;
    }
    return k->grows && misses > k->misses && size - k->size == misses - k->misses ? 2 : 0;
}

/* Sort v[0, n) by address (no two alike), with tmp[0, n) as scratch
 * (watch-sort.c). */
void watch_sort(struct steady_watch *v, size_t n, struct steady_watch *tmp);
/* Milliseconds of CLOCK_MONOTONIC since *a (scan.c). */
double scan_ms_since(const struct timespec *a);
/* A cache dict's size, or -1 when it is not a dict. */
Py_ssize_t scan_cache_size(PyObject *cache);
/* Push onto a u32vec; 0 or -ENOMEM. */
int u32vec_push(struct u32vec *v, uint32_t x);

/* ---- scan-precheck.c -------------------------------------------------------------- */
/* The caches still hold every object the steady state keeps: the same
 * live wrappers, cache dicts, no clear, each cache unchanged or only grown. */
bool scan_precheck_caches_hold(const struct steady *st);
/* Forget the slices' checks (the watch list changed, or a sample used them). */
void scan_precheck_reset(struct steady *st);
void scan_steady_free(struct scan *s);
size_t scan_steady_bytes(const struct scan *s);

/* ---- scan-pinned.c ---------------------------------------------------------------- */
/* After scan_graph, before the references are released: append the pinned
 * selves of every row to opt->pinned_out (see scan.h). Returns 0 or -ENOMEM. */
int scan_collect_pinned(struct scan *s, PyObject *out);
/* One row's dict of scan_collect_pinned, for these objects. */
int scan_pinned_row(const struct group *g, PyObject *const *objs, size_t n, PyObject *out);

/* ---- scan-alloc.c ------------------------------------------------------------------ */
/* After scan_graph, before the references are released: the allocation
 * sites of every row's pinned selves, when tracemalloc traces. Sets
 * *ret_frames to its traceback limit (0: not tracing). Returns 0 or
 * -ENOMEM. */
int scan_alloc_sites(struct scan *s, int *ret_frames);

unsigned scan_type_class_slow(struct scan *s, PyObject *type);
/* TC_* bits of a type, through a small direct-mapped cache (hot path). */
static inline unsigned
scan_type_class(struct scan *s, PyObject *type)
{
    size_t slot = ((uintptr_t)type >> 4) & 63;

    if (s->tc_cache[slot].type == type) {
        return s->tc_cache[slot].tc;
    }
    return scan_type_class_slow(s, type);
}
