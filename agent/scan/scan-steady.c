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
 * sample's. When caches only gained entries (one per miss: unbounded ones,
 * and bounded ones that evicted nothing, their dicts read to an end with
 * no holes so that positions survive a resize), the new entries are read
 * from where the last read stopped and walked from their new selves; a
 * closure's cache (an inner wrapper) too, unless the walk finds it among
 * what would go with the pinned selves. A self the program let go of since
 * (released: alive by references of its own then, none but its entries'
 * now, no walked object referencing it) is walked from too, and kept as
 * pinned from then on. What this does not see - a walked object that is
 * no entry's (a self's __dict__) changing its references while every entry
 * object keeps its count, e.g. a cycle through a self that lost its outside
 * reference on the far side - the next complete sample does: full samples
 * (the first, on request, every SAMPLER_FULL_EVERY_S in sampler.c) never
 * take this path. The reference checks of a periodic sample may have run
 * ahead of it, in slices (scan-precheck.c: opt->prechecked). Runs with the
 * GIL, inside scan_run.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pycompat.h"
#include "registry.h"
#include "scan-internal.h"

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

Py_ssize_t
scan_cache_size(PyObject *cache)
{
    return cache != NULL && pycompat_type(cache) == py.PyDict_Type ? py.PyDict_Size(cache) : -1;
}

/* Compare the wrappers with the last complete sample's. Returns 1 when
 * they are the same and none changed, 2 when some only grew (their
 * from_pos and new_entries set), 0 otherwise. */
static int
compare_wrappers(struct scan *s)
{
    const struct steady *st = &s->steady;
    bool grew = false;

    if (st->n_w != s->n_wrappers || st->n_g != s->n_groups) {
        return 0;
    }
    for (size_t i = 0; i < s->n_wrappers; i++) {
        struct wrapper *w = &s->wrappers[i];
        const struct steady_wrapper *k = &st->w[i];
        PyObject *cache = pycompat_lru_object(w->obj, PYCOMPAT_LRU_CACHE);
        if (w->obj != k->obj || w->group != k->group || cache != k->cache) {
            return 0;
        }
        Py_ssize_t misses = pycompat_lru_ssize(w->obj, PYCOMPAT_LRU_MISSES);
        Py_ssize_t size = scan_cache_size(cache);
        int change = steady_cache_change(k, misses, size);
        if (change == 1) {
            continue;
        }
        if (change == 0 || !w->valid) {
            return 0;
        }
        w->from_pos = k->end_pos;
        w->new_entries = size - k->size;
        grew = true;
    }
    return grew ? 2 : 1;
}

/* added: per watched object, references that entries read in this sample
 * added to it (NULL: none). */
#define WATCH_ABSENT SIZE_MAX
/* Released selves one sample walks from; more make it a complete one. */
#define STEADY_RELEASED_MAX 4096

static size_t
bsearch_obj(const struct steady_watch *v, size_t n, const PyObject *obj)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].obj < obj) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && v[lo].obj == obj ? lo : WATCH_ABSENT;
}

/* Index of obj in the watch list: two sorted runs, main and tail. */
static size_t
watch_find(const struct steady *st, const PyObject *obj)
{
    if (st->n_watch == 0) {
        return WATCH_ABSENT; /* and st->watch may be NULL */
    }
    size_t i = bsearch_obj(st->watch, st->n_main, obj);

    if (i != WATCH_ABSENT) {
        return i;
    }
    i = bsearch_obj(st->watch + st->n_main, st->n_watch - st->n_main, obj);
    return i == WATCH_ABSENT ? i : st->n_main + i;
}

/* A kept self that failed its check only because the program let go of
 * it: alive by references of its own at the last sample, none but its
 * entries' now (no walked object referenced it then, no new entry does
 * now), and a self of one row. It is pinned now; a walk from it tells
 * what goes with it (scan_steady_try). A frame that held the object while
 * that sample ran (a request in flight) leaves exactly this behind. */
static bool
released(const struct steady_watch *k, Py_ssize_t now, uint32_t added)
{
    uint32_t row = k->row_mode >> WATCH_ROW_SHIFT;

    return (k->row_mode & WATCH_MODE) == STEADY_OWN && (k->row_mode & WATCH_ALONE) != 0 &&
           row != 0 && row != WATCH_ROW_MANY && added == 0 && now == (Py_ssize_t)k->accounted;
}

/* One kept object's check: true when it holds or was released (noted in
 * st->released, up to a cap: each costs a walk). */
static bool
watch_check(struct steady *st, size_t i, const uint32_t *added)
{
    const struct steady_watch *k = &st->watch[i];
    uint32_t more = added != NULL ? added[i] : 0;
    Py_ssize_t now = pycompat_refcnt(k->obj) - (Py_ssize_t)more;

    if (watch_holds(k, now)) {
        return true;
    }
    return released(k, now, more) && st->released.n < STEADY_RELEASED_MAX &&
           u32vec_push(&st->released, (uint32_t)i) == 0;
}

static bool
refs_hold(struct steady *st, const uint32_t *added)
{
    for (size_t i = 0; i < st->n_watch; i++) {
        if (i + 16 < st->n_watch) {
            __builtin_prefetch(st->watch[i + 16].obj);
        }
        if (!watch_check(st, i, added)) {
            return false;
        }
    }
    return true;
}

/* refs_hold after slices checked every kept object ahead of the sample
 * (scan-precheck.c): only those that failed there, and those new entries
 * hold references to, are checked again. */
static bool
listed_refs_hold(struct steady *st, const uint32_t *added)
{
    const struct u32vec *lists[2] = {&st->pre_failed, &st->touched};

    for (int l = 0; l < 2; l++) {
        for (size_t j = 0; j < lists[l]->n; j++) {
            /* One index in both lists has entries added: never released twice. */
            if (!watch_check(st, lists[l]->v[j], added)) {
                return false;
            }
        }
    }
    return true;
}

int
u32vec_push(struct u32vec *v, uint32_t x)
{
    if (grow((void **)&v->v, &v->cap, v->n + 1, sizeof(*v->v)) < 0) {
        return -ENOMEM;
    }
    v->v[v->n++] = x;
    return 0;
}

static void
fill_rows(struct scan *s)
{
    const struct steady *st = &s->steady;

    for (size_t gi = 0; gi < s->n_groups; gi++) {
        struct group *g = &s->groups[gi];
        const struct steady_group *k = &st->g[gi];
        g->selves = k->selves;
        g->pinned = k->pinned;
        g->retained = k->retained;
        g->self_only = k->self_only;
        g->any_key = k->any_key;
    }
}

/* Undo a growth that cannot be used: the sample goes on as a complete one,
 * from the entries on. */
static void
undo_growth(struct scan *s)
{
    for (size_t i = 0; i < s->n_nodes; i++) {
        if (s->nodes[i].flags & NODE_OWNED) {
            scan_release(s, s->nodes[i].obj);
        }
    }
    s->n_nodes = 0;
    s->n_edges = 0;
    s->n_cedges = 0;
    objmap_clear(&s->node_index);
    for (size_t i = 0; i < s->n_wrappers; i++) {
        struct wrapper *w = &s->wrappers[i];
        if (w->cache != NULL) {
            scan_release(s, w->cache);
            w->cache = NULL;
        }
        w->from_pos = 0;
        w->new_entries = 0;
    }
    for (size_t gi = 0; gi < s->n_groups; gi++) {
        struct group *g = &s->groups[gi];
        g->selves = 0;
        g->n_selfs = 0;
        g->pinned = 0;
        g->retained = 0;
        g->any_key = false;
        g->self_only = true;
    }
    s->steady.valid = false;
    scan_precheck_reset(&s->steady);
}

/* The new entries' selves that a row had already: not new to it, and not
 * walked; the kept objects they hold references to in st->touched. 1 when
 * they can be told apart (each new self of a row is either one of its own
 * or an object no kept entry holds), else 0, or -ENOMEM. */
static int
known_selves(struct scan *s, uint32_t *added)
{
    struct steady *st = &s->steady;

    st->touched.n = 0;
    for (size_t i = 0; i < s->n_nodes; i++) {
        struct node *n = &s->nodes[i];
        size_t wi = n->cache_refs != 0 ? watch_find(st, n->obj) : WATCH_ABSENT;
        if (wi != WATCH_ABSENT) {
            if (added[wi] == 0 && u32vec_push(&st->touched, (uint32_t)wi) < 0) {
                return -ENOMEM;
            }
            added[wi] += n->cache_refs;
            n->stamp = 1; /* known: see below */
        } else {
            n->stamp = 0;
        }
    }
    for (size_t gi = 0; gi < s->n_groups; gi++) {
        struct group *g = &s->groups[gi];
        size_t keep = 0;
        for (size_t k = 0; k < g->n_selfs; k++) {
            struct node *n = &s->nodes[g->selfs[k]];
            if (n->stamp == 0) {
                g->selfs[keep++] = g->selfs[k];
            } else if (st->watch[watch_find(st, n->obj)].row_mode >> WATCH_ROW_SHIFT == gi + 1) {
                g->selves--; /* counted by the last complete sample */
            } else {
                return 0; /* a kept object new to this row: only a complete sample can tell */
            }
        }
        g->n_selfs = keep;
    }
    /* Known objects are no roots of this walk: their other references are
     * the kept entries', which it does not see (they would look alive). */
    for (size_t i = 0; i < s->n_nodes; i++) {
        if (s->nodes[i].stamp == 1) {
            s->nodes[i].flags &= ~(uint32_t)(NODE_SELF | NODE_IN_GRAPH);
        }
        s->nodes[i].stamp = 0;
    }
    return 1;
}

static void save_growth(struct scan *s, const uint32_t *added);
static bool dead_wrapper_walked(const struct scan *s);

/* The kept rows' pinned selves, all rows together. */
static int64_t
rows_pinned(const struct steady *st)
{
    int64_t pinned = 0;

    for (size_t gi = 0; gi < st->n_g; gi++) {
        pinned += st->g[gi].pinned;
    }
    return pinned;
}

/* Can the pinned selves be handed over from the marks? A pinned self of
 * several rows is marked with none of them: such a row counts more pinned
 * than it has marks, and a complete sample hands them over instead. The
 * marks are counted again only when the kept objects changed. */
static bool
pinned_marks_complete(struct scan *s)
{
    struct steady *st = &s->steady;

    if (st->marks_version != st->version || st->version == 0) {
        st->marks = 0;
        for (size_t i = 0; i < st->n_watch; i++) {
            uint32_t rm = st->watch[i].row_mode;
            uint32_t row = rm >> WATCH_ROW_SHIFT;
            st->marks += (rm & WATCH_PINNED) != 0 && row != 0 && row != WATCH_ROW_MANY;
        }
        st->marks_version = st->version;
    }
    return st->marks == rows_pinned(st);
}

void
scan_steady_handed_all(struct scan *s)
{
    struct steady *st = &s->steady;

    if (!st->valid) {
        return; /* no marks to keep: the next hand-over is a complete one */
    }
    for (size_t i = 0; i < st->n_watch; i++) {
        if (st->watch[i].row_mode & WATCH_PINNED) {
            st->watch[i].row_mode |= WATCH_HANDED;
        }
    }
    st->handed = st->generation;
    st->handed_pinned = rows_pinned(st);
}

/* A kept object that this hand-over gives, as a self of row `row` (index
 * + 1), or 0. */
static uint32_t
handed_row(const struct scan *s, uint32_t rm, bool only_new)
{
    uint32_t row = rm >> WATCH_ROW_SHIFT;

    if ((rm & WATCH_PINNED) == 0 || row == 0 || row > s->n_groups ||
        (only_new && (rm & WATCH_HANDED) != 0)) {
        return 0;
    }
    return row;
}

int
scan_steady_pinned(struct scan *s, PyObject *out)
{
    struct steady *st = &s->steady;
    /* Only what no earlier pinned_new() call has: every pinned self stayed
     * pinned since (a change to one is a complete sample), and the new
     * ones - a growth's, released selves - are not marked handed yet. */
    bool only_new = s->opt->pinned_all != NULL && !*s->opt->pinned_all && st->handed != 0 &&
                    st->handed == st->generation;

    if (only_new && rows_pinned(st) == st->handed_pinned) {
        /* Pinned selves only come (they stay pinned until a complete
         * sample): as many as were handed over, so none is new. */
        *s->opt->pinned_all = false;
        return 0;
    }
    size_t *first = calloc(s->n_groups + 1, sizeof(*first)); /* row -> start in objs */
    PyObject **objs = malloc((st->n_watch + 1) * sizeof(*objs));
    int r = first != NULL && objs != NULL ? 0 : -ENOMEM;

    /* One pass to count the marks per row, one to place them, row by row. */
    for (size_t i = 0; r == 0 && i < st->n_watch; i++) {
        uint32_t row = handed_row(s, st->watch[i].row_mode, only_new);
        if (row != 0) {
            first[row]++; /* row = index + 1: counts land one to the right */
        }
    }
    for (size_t gi = 0; r == 0 && gi < s->n_groups; gi++) {
        first[gi + 1] += first[gi];
    }
    for (size_t i = 0; r == 0 && i < st->n_watch; i++) {
        uint32_t row = handed_row(s, st->watch[i].row_mode, only_new);
        if (row != 0) {
            objs[first[row - 1]++] = st->watch[i].obj;
            if (s->opt->pinned_all != NULL) {
                st->watch[i].row_mode |= WATCH_HANDED; /* void below if not handed */
            }
        }
    }
    /* first[gi] is now the end of row gi, the start of row gi + 1. */
    for (size_t gi = 0, start = 0; r == 0 && gi < s->n_groups; start = first[gi], gi++) {
        if (only_new ? first[gi] > start : s->groups[gi].pinned > 0) {
            r = scan_pinned_row(&s->groups[gi], objs + start, first[gi] - start, out);
        }
    }
    free(first);
    free(objs);
    scan_clear_error();
    if (s->opt->pinned_all != NULL) {
        /* Every pinned self is marked now (the marks are complete: see
         * scan_steady_try); when the rows could not be made, the marks are
         * wrong and the next call hands over everything. */
        st->handed = r == 0 && st->valid ? st->generation : 0;
        st->handed_pinned = rows_pinned(st);
        *s->opt->pinned_all = !only_new;
    }
    return r;
}

/* Nodes for the released selves, roots of this sample's walk: every
 * reference they have is an entry's (no new self of their rows counted
 * them: the rows keep the last sample's selves). 0, 1 (cannot) or -ENOMEM. */
static int
add_released(struct scan *s)
{
    struct steady *st = &s->steady;
    int r = scan_reserve(s, st->released.n);

    for (size_t j = 0; r == 0 && j < st->released.n; j++) {
        const struct steady_watch *k = &st->watch[st->released.v[j]];
        uint32_t row = k->row_mode >> WATCH_ROW_SHIFT; /* one row: released() */
        if (row > s->n_groups) {
            return 1;
        }
        struct group *g = &s->groups[row - 1];
        bool fresh;
        uint32_t idx = scan_node(s, k->obj, &fresh);
        if (idx == OBJMAP_ABSENT) {
            return -ENOMEM;
        }
        if (!fresh) {
            return 1; /* a new entry's object after all */
        }
        s->nodes[idx].cache_refs = k->accounted;
        s->nodes[idx].flags |= NODE_SELF | NODE_CANDIDATE;
        scan_own(s, &s->nodes[idx]);
        r = scan_group_add_self(g, idx);
    }
    return r;
}

/* After the walk from released selves: each is pinned (nothing alive
 * reaches it), and the walk met no other kept object (one that was alive
 * through a released self may go with it now, which only a complete
 * sample, seeing the entries' references to it, can tell). */
static bool
released_walk_alone(const struct scan *s)
{
    const struct steady *st = &s->steady;
    size_t released = 0;

    for (size_t i = 0; i < s->n_nodes; i++) {
        const struct node *n = &s->nodes[i];
        if (n->cache_refs != 0 || watch_find(st, n->obj) == WATCH_ABSENT) {
            continue; /* a new entry's object, or one no entry held */
        }
        return false;
    }
    for (size_t j = 0; j < st->released.n; j++) {
        uint32_t idx = objmap_get(&s->node_index, st->watch[st->released.v[j]].obj);
        released += idx != OBJMAP_ABSENT && scan_node_pinned(&s->nodes[idx]);
    }
    return released == st->released.n;
}

int
scan_steady_try(struct scan *s)
{
    const struct scan_options *opt = s->opt;
    struct steady *st = &s->steady;
    uint64_t clears;
    int r;

    if (!st->valid || opt->full || opt->trace_alloc || !registry_complete() ||
        !registry_clears(&clears) || clears != st->clears) {
        return STEADY_NONE;
    }
    int cmp = compare_wrappers(s);
    if (cmp == 0) {
        undo_growth(s);
        return STEADY_NONE;
    }
    /* Slices checked every kept object ahead of this sample (the caches
     * held still or only grew meanwhile: compare_wrappers says so now). */
    bool pre = opt->prechecked && st->pre_next == st->n_watch;
    st->released.n = 0;
    if (cmp == 1) {
        st->touched.n = 0;
        bool held = pre ? listed_refs_hold(st, NULL) : refs_hold(st, NULL);
        if (!held || (opt->pinned_out != NULL && !pinned_marks_complete(s))) {
            return STEADY_NONE;
        }
        if (st->released.n == 0) {
            fill_rows(s);
            return STEADY_SAME;
        }
        /* Selves the program let go of: the growth path below, with no new
         * entry to read, walks from them (their checks are done). */
    }
    /* Growth: read the new entries only, and walk from their new selves. */
    uint32_t *added = calloc(st->n_watch + 1, sizeof(*added));
    if (added == NULL) {
        undo_growth(s);
        return STEADY_NONE;
    }
    r = 0;
    for (size_t i = 0; r >= 0 && i < s->n_wrappers; i++) {
        if (s->wrappers[i].new_entries > 0) {
            r = scan_wrapper_entries(s, &s->wrappers[i]);
        }
    }
    if (r >= 0 && cmp == 2) {
        r = known_selves(s, added); /* 1: told apart */
        if (r == 1) {
            bool held = pre ? listed_refs_hold(st, added) : refs_hold(st, added);
            r = held ? 0 : 1;
        } else if (r == 0) {
            r = 1;
        }
    }
    if (r == 0 && st->released.n > 0) {
        r = add_released(s);
    }
    if (r == 0) {
        r = scan_graph(s);
    }
    if (r == 0 && dead_wrapper_walked(s)) {
        r = 1;
    }
    if (r == 0 && st->released.n > 0 && !released_walk_alone(s)) {
        r = 1;
    }
    if (r != 0) {
        free(added);
        undo_growth(s);
        return r < 0 && r != -ENOMEM ? r : STEADY_NONE;
    }
    for (size_t gi = 0; gi < s->n_groups; gi++) {
        struct group *g = &s->groups[gi];
        const struct steady_group *k = &st->g[gi];
        g->selves += k->selves;
        g->pinned += k->pinned;
        g->retained += k->retained;
        g->self_only = g->self_only && k->self_only;
        g->any_key = g->any_key || k->any_key;
    }
    for (size_t j = 0; j < st->released.n; j++) {
        /* Pinned now: its count must stay as it is. (Before save_growth,
         * whose merge of new entries moves the indexes.) */
        struct steady_watch *k = &st->watch[st->released.v[j]];
        k->refcnt = (Py_ssize_t)k->accounted;
        k->row_mode = (k->row_mode & ~WATCH_MODE) | STEADY_EXACT;
    }
    st->released.n = 0;
    save_growth(s, added);
    free(added);
    if (opt->pinned_out != NULL && (!st->valid || !pinned_marks_complete(s))) {
        undo_growth(s); /* the selves are handed over by a complete sample */
        return STEADY_NONE;
    }
    return STEADY_GREW;
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

/* Merge the sorted runs a[0, na) and b[0, nb) into out[0, na + nb), from the
 * end (out may be a's own storage, with room after it). */
static void
merge_back(struct steady_watch *out, const struct steady_watch *a, size_t na,
           const struct steady_watch *b, size_t nb)
{
    while (nb > 0) {
        if (na > 0 && a[na - 1].obj > b[nb - 1].obj) {
            out[na + nb - 1] = a[na - 1];
            na--;
        } else {
            out[na + nb - 1] = b[nb - 1];
            nb--;
        }
    }
}

/* A self of row gi, pinned or not, into a watch entry's row_mode. */
static uint32_t
row_marked(uint32_t row_mode, size_t gi, bool pinned)
{
    uint32_t row = row_mode >> WATCH_ROW_SHIFT;
    uint32_t bits = row_mode & WATCH_FLAGS;

    row = row == 0 || row == gi + 1 ? (uint32_t)gi + 1 : WATCH_ROW_MANY;
    return row << WATCH_ROW_SHIFT | bits | (pinned ? WATCH_PINNED : 0);
}

/* Mark the selves of every row in their watch entries (found by address:
 * after a growth, old entries are selves of new rows too). */
static void
mark_rows(struct scan *s)
{
    struct steady *st = &s->steady;

    for (size_t gi = 0; gi < s->n_groups; gi++) {
        const struct group *g = &s->groups[gi];
        for (size_t k = 0; k < g->n_selfs; k++) {
            size_t wi = watch_find(st, s->nodes[g->selfs[k]].obj);
            if (wi != WATCH_ABSENT) {
                st->watch[wi].row_mode = row_marked(st->watch[wi].row_mode, gi,
                                                    scan_node_pinned(&s->nodes[g->selfs[k]]));
            }
        }
    }
}

/* After a complete sample, the same marks by node index, before the
 * entries exist: no search. NULL when there is no memory for it. */
static uint32_t *
node_rows(const struct scan *s)
{
    uint32_t *marks = calloc(s->n_nodes > 0 ? s->n_nodes : 1, sizeof(*marks));

    for (size_t gi = 0; marks != NULL && gi < s->n_groups; gi++) {
        const struct group *g = &s->groups[gi];
        for (size_t k = 0; k < g->n_selfs; k++) {
            uint32_t i = g->selfs[k];
            marks[i] = row_marked(marks[i], gi, scan_node_pinned(&s->nodes[i]));
        }
    }
    return marks;
}

static bool
is_new(const struct steady *st, const struct node *nd, size_t n0)
{
    /* No entry holds it, the counts never looked at it, or kept already. */
    return nd->cache_refs != 0 && (nd->flags & NODE_EXPANDED) != 0 &&
           (n0 == 0 || watch_find(st, nd->obj) == WATCH_ABSENT);
}

/* Keep the entry objects this sample walked that are not kept yet (all of
 * them after a complete sample, which emptied the list first). The list
 * grows by an eighth over what it needs: it is the agent's memory between
 * samples. */
static int
keep_nodes(struct scan *s)
{
    struct steady *st = &s->steady;
    size_t n0 = st->n_watch, k = 0;

    st->version++; /* the marks pinned_marks_complete counted change */
    for (size_t i = 0; i < s->n_nodes; i++) {
        k += is_new(st, &s->nodes[i], n0);
    }
    size_t n = n0 + k;
    if (n > st->cap_watch) {
        size_t cap = n + n / 8 + 64;
        struct steady_watch *p = realloc(st->watch, cap * sizeof(*p));
        if (p == NULL) {
            return -ENOMEM;
        }
        st->watch = p;
        st->cap_watch = cap;
    }
    size_t at = n0;
    uint32_t *marks = n0 == 0 ? node_rows(s) : NULL;
    for (size_t i = 0; i < s->n_nodes; i++) {
        const struct node *nd = &s->nodes[i];
        if (is_new(st, nd, n0)) {
            st->watch[at++] = (struct steady_watch){
                .obj = nd->obj,
                .refcnt = nd->refcnt,
                .accounted = nd->cache_refs + nd->internal,
                .row_mode = mode_of(nd) | (nd->internal == 0 ? WATCH_ALONE : 0) |
                            (marks != NULL ? marks[i] : 0),
            };
        }
    }
    /* Scratch for the sort and the merges: the new run, or the tail and
     * the new run. */
    size_t tail = n0 - st->n_main;
    struct steady_watch *tmp = k > 0 ? malloc((tail + k) * sizeof(*tmp)) : NULL;
    if (k > 0 && tmp == NULL) {
        free(marks);
        return -ENOMEM;
    }
    if (k > 1) {
        watch_sort(st->watch + n0, k, tmp);
    }
    if (n0 == 0) {
        st->n_main = n;
    } else if (k > 0) {
        /* The new run joins the tail; a tail grown past an eighth of the
         * main run joins that (both merges from the end, in place). */
        memcpy(tmp, st->watch + n0, k * sizeof(*tmp));
        merge_back(st->watch + st->n_main, st->watch + st->n_main, tail, tmp, k);
        tail += k;
        if (tail > st->n_main / 8 + 1024) {
            memcpy(tmp, st->watch + st->n_main, tail * sizeof(*tmp));
            merge_back(st->watch, st->watch, st->n_main, tmp, tail);
            st->n_main = n;
        }
    }
    free(tmp);
    st->n_watch = n;
    if (marks != NULL) {
        free(marks);
    } else {
        mark_rows(s);
    }
    return 0;
}

/* An inner wrapper (struct wrapper) that the walk found among the objects
 * that would go with the pinned selves: its entries' retained bytes are
 * its rows' too, which only a complete sample counts. */
static bool
goes_with_selves(const struct scan *s, const struct wrapper *w)
{
    uint32_t idx = w->inner ? objmap_get(&s->node_index, w->obj) : OBJMAP_ABSENT;

    return idx != OBJMAP_ABSENT && (s->nodes[idx].flags & NODE_ALIVE) == 0;
}

/* After a growth's walk: whether it found a wrapper that would go with the
 * pinned selves (a new self holds a cache of its own, say). */
static bool
dead_wrapper_walked(const struct scan *s)
{
    for (size_t i = 0; i < s->n_nodes; i++) {
        if ((s->nodes[i].flags & (NODE_WRAPPER | NODE_ALIVE)) == NODE_WRAPPER) {
            return true;
        }
    }
    return false;
}

/* complete: after a complete sample; else after a growth, whose walk saw
 * only the new entries' objects (st->w still holds the same wrappers, in
 * the same order: compare_wrappers checked). */
static void
keep_wrappers_and_rows(struct scan *s, bool complete)
{
    struct steady *st = &s->steady;

    for (size_t i = 0; i < s->n_wrappers; i++) {
        const struct wrapper *w = &s->wrappers[i];
        PyObject *cache = pycompat_lru_object(w->obj, PYCOMPAT_LRU_CACHE);
        bool dead = goes_with_selves(s, w) || (!complete && st->w[i].dead);
        st->w[i] = (struct steady_wrapper){
            .obj = w->obj,
            .cache = cache,
            .misses = pycompat_lru_ssize(w->obj, PYCOMPAT_LRU_MISSES),
            .size = scan_cache_size(cache),
            .end_pos = w->end_pos,
            .group = w->group,
            /* Read through the dict to its end, which has no holes (so a
             * resize keeps the positions): later entries follow end_pos.
             * A bounded cache too, as long as no miss evicts. */
            .grows = w->valid && (w->maxsize < 0 || pyc.lru_links) && w->maxsize != 0 &&
                     w->end_pos > 0 && w->end_pos == scan_cache_size(cache) && !dead,
            .dead = dead,
        };
    }
    st->n_w = s->n_wrappers;
    for (size_t gi = 0; gi < s->n_groups; gi++) {
        const struct group *g = &s->groups[gi];
        st->g[gi] =
            (struct steady_group){g->selves, g->pinned, g->retained, g->self_only, g->any_key};
    }
    st->n_g = s->n_groups;
}

void
scan_steady_save(struct scan *s)
{
    struct steady *st = &s->steady;

    st->valid = false;
    st->n_watch = 0;
    st->n_main = 0;
    st->generation++; /* the kept objects are made anew: no handed marks */
    scan_precheck_reset(st);
    if (s->truncated || !registry_complete() || !registry_clears(&st->clears) ||
        grow((void **)&st->w, &st->cap_w, s->n_wrappers, sizeof(*st->w)) < 0 ||
        grow((void **)&st->g, &st->cap_g, s->n_groups, sizeof(*st->g)) < 0) {
        return;
    }
    keep_wrappers_and_rows(s, true);
    st->valid = keep_nodes(s) == 0;
}

/* After a growth: the kept objects that new entries hold more of, the new
 * ones, the wrappers' new counters and the rows' sums. */
static void
save_growth(struct scan *s, const uint32_t *added)
{
    struct steady *st = &s->steady;

    for (size_t j = 0; j < st->touched.n; j++) {
        size_t i = st->touched.v[j];
        st->watch[i].refcnt += (Py_ssize_t)added[i];
        st->watch[i].accounted += added[i];
    }
    scan_precheck_reset(st);
    if (s->truncated) {
        st->valid = false;
        return;
    }
    for (size_t i = 0; i < s->n_wrappers; i++) {
        if (s->wrappers[i].new_entries == 0) {
            s->wrappers[i].end_pos = st->w[i].end_pos; /* not read this time */
        }
    }
    keep_wrappers_and_rows(s, false);
    st->valid = keep_nodes(s) == 0;
}

void
scan_steady_forget(struct scan *s)
{
    s->steady.valid = false;
    scan_precheck_reset(&s->steady);
}

void
scan_steady_free(struct scan *s)
{
    free(s->steady.w);
    free(s->steady.watch);
    free(s->steady.g);
    free(s->steady.pre_failed.v);
    free(s->steady.touched.v);
    free(s->steady.released.v);
    s->steady = (struct steady){0};
}

size_t
scan_steady_bytes(const struct scan *s)
{
    size_t n = s->steady.cap_w * sizeof(*s->steady.w) +
               s->steady.cap_watch * sizeof(*s->steady.watch) +
               s->steady.cap_g * sizeof(*s->steady.g) +
               (s->steady.pre_failed.cap + s->steady.touched.cap + s->steady.released.cap) *
                   sizeof(uint32_t);

    return n;
}
