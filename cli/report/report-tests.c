/* SPDX-License-Identifier: MIT */
/*
 * report-tests: who is blamed for what, from the test records of a model.
 *
 * The pytest plugin records, per test, the objects each cache pinned that
 * were not pinned at the test's start (report_test_cache.new_pinned). Here
 * the rules turn those into blame:
 *
 *   - allow-listing: the plugin's marker / ini / option ("marker",
 *     "config") and the CLI's --ignore-cache patterns ("option");
 *   - warm-up: a cache that is filled once, by the first test that touches
 *     it, is not growing. Judged per cache across the run: if no process
 *     saw two tests add to it, each process's single fill is a warm-up
 *     (pytest-xdist workers each warm their own singletons); as soon as one
 *     process saw a second test add to it, the cache grows and every fill,
 *     the first one included, is blamed.
 *
 * Everything else is blamed on its test. Linear in the records (one hash
 * table over the cache identities). Thread context: none; never logs.
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

bool
report_name_matches(const char *module, const char *qualname, const char *const *patterns, size_t n)
{
    char full[1024];

    snprintf(full, sizeof(full), "%s.%s", module, qualname);
    for (size_t i = 0; i < n; i++) {
        if (fnmatch(patterns[i], qualname, 0) == 0 || fnmatch(patterns[i], full, 0) == 0) {
            return true;
        }
    }
    return false;
}

bool
report_has_tests(const struct report *r)
{
    for (size_t i = 0; i < r->nprocs; i++) {
        if (r->procs[i]->test_session) {
            return true;
        }
    }
    return false;
}

/* ---- counting fills ------------------------------------------------------------- */

/*
 * One slot per cache identity and process (proc != NULL: how many tests of
 * that process filled the cache) and one per cache identity (proc == NULL:
 * whether some process filled it twice). Records of different processes
 * interleave in a recording, so both are keyed, never "the last process".
 * Strings are interned in the model, so identity compares pointers.
 */
struct fill {
    const struct report_test_cache *key; /* NULL: empty slot */
    const struct report_process *proc;
    unsigned count;
    bool grows;
};

struct fills {
    struct fill *slots;
    size_t cap;
};

static bool
same_cache(const struct report_test_cache *a, const struct report_test_cache *b)
{
    return a->module == b->module && a->qualname == b->qualname && a->file == b->file &&
           a->kind == b->kind && a->line == b->line;
}

static size_t
slot_of(const struct report_test_cache *c, const struct report_process *p, size_t cap)
{
    uint64_t h = (uintptr_t)c->qualname * 31u + (uintptr_t)c->module * 17u +
                 (uintptr_t)c->file * 13u + (uintptr_t)c->kind + (uint64_t)c->line * 7u +
                 (uintptr_t)p * 5u;

    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 7) & (cap - 1);
}

/* The slot of (c, p), claimed when new; the table never fills (sized for
 * every entry twice over). */
static struct fill *
fill_of(struct fills *f, const struct report_test_cache *c, const struct report_process *p)
{
    size_t j = slot_of(c, p, f->cap);

    while (f->slots[j].key != NULL && !(f->slots[j].proc == p && same_cache(f->slots[j].key, c))) {
        j = (j + 1) & (f->cap - 1);
    }
    if (f->slots[j].key == NULL) {
        f->slots[j].key = c;
        f->slots[j].proc = p;
    }
    return &f->slots[j];
}

static int
fills_init(struct fills *f, size_t entries)
{
    /* Two slots per entry (per process and per cache), half full at most. */
    f->cap = 16;
    while (f->cap < entries * 4 + 4) {
        f->cap *= 2;
    }
    f->slots = calloc(f->cap, sizeof(*f->slots));
    return f->slots != NULL ? 0 : -ENOMEM;
}

/* ---- the rules ------------------------------------------------------------------ */

int
report_attribute(struct report *r, const struct report_rules *rules)
{
    static const struct report_rules none = {0};
    struct fills fills;
    size_t entries = 0;

    if (rules == NULL) {
        rules = &none;
    }
    for (size_t i = 0; i < r->ntests; i++) {
        entries += r->tests[i]->ncaches;
    }
    if (fills_init(&fills, entries) < 0) {
        return -ENOMEM;
    }
    /* Pass 1: allow-listing, and how many tests of each process fill each
     * cache; a second fill in one process makes the cache grow. */
    for (size_t i = 0; i < r->ntests; i++) {
        struct report_test *t = r->tests[i];

        for (size_t k = 0; k < t->ncaches; k++) {
            struct report_test_cache *c = &t->caches[k];

            if (c->ignored != NULL && strcmp(c->ignored, "option") == 0) {
                c->ignored = NULL; /* re-judged below with the current patterns */
            }
            if (c->ignored == NULL &&
                report_name_matches(c->module, c->qualname, rules->ignore, rules->nignore)) {
                c->ignored = "option";
            }
            c->blame = c->ignored != NULL || c->new_pinned == 0 ? REPORT_IGNORED : REPORT_BLAMED;
            if (c->blame == REPORT_IGNORED) {
                continue;
            }
            if (++fill_of(&fills, c, t->proc)->count >= 2) {
                fill_of(&fills, c, NULL)->grows = true;
            }
        }
    }
    /* Pass 2: blame. */
    for (size_t i = 0; i < r->ntests; i++) {
        struct report_test *t = r->tests[i];

        t->blamed = 0;
        t->blamed_unbounded = 0;
        for (size_t k = 0; k < t->ncaches; k++) {
            struct report_test_cache *c = &t->caches[k];

            if (c->blame == REPORT_IGNORED) {
                continue;
            }
            if (!rules->no_warmup && !fill_of(&fills, c, NULL)->grows) {
                c->blame = REPORT_WARMUP;
                continue;
            }
            t->blamed += c->new_pinned;
            if (c->maxsize < 0) {
                t->blamed_unbounded += c->new_pinned;
            }
        }
    }
    free(fills.slots);
    return 0;
}

/* ---- ordering ------------------------------------------------------------------- */

struct ranked {
    struct report_test *t;
    size_t order; /* recording order, for ties */
};

static int
worst_first(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;

    if (a->t->blamed != b->t->blamed) {
        return a->t->blamed > b->t->blamed ? -1 : 1;
    }
    return a->order < b->order ? -1 : a->order > b->order;
}

int
report_leaking_tests(const struct report *r, struct report_test ***ret)
{
    struct ranked *rank = malloc((r->ntests + 1) * sizeof(*rank));
    struct report_test **v = malloc((r->ntests + 1) * sizeof(*v));
    size_t n = 0;

    if (rank == NULL || v == NULL) {
        free(rank);
        free(v);
        return -ENOMEM;
    }
    for (size_t i = 0; i < r->ntests; i++) {
        if (r->tests[i]->blamed > 0) {
            rank[n].t = r->tests[i];
            rank[n].order = i;
            n++;
        }
    }
    qsort(rank, n, sizeof(*rank), worst_first);
    for (size_t i = 0; i < n; i++) {
        v[i] = rank[i].t;
    }
    free(rank);
    *ret = v;
    return (int)n;
}
