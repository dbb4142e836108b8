/* SPDX-License-Identifier: MIT */
/*
 * scan-precheck: a steady sample's reference checks in slices, each its
 * own short GIL hold, ahead of the sample (the sampler thread's periodic
 * samples; sampler.c). The checks are scan-steady.c's: every object the
 * last complete sample kept still has the references it had.
 *
 * Reading a kept object is safe as long as an entry still holds it. Each
 * slice first makes sure of that, with the GIL held and no Python code run
 * since: the registry is complete and no cache lost entries since the
 * steady state was saved (no cache_clear(), no wrapper freed: the counter
 * of registry.h), every wrapper it knew has the same cache dict, and each
 * cache is either as it was or only grew (as many entries more as misses
 * more: no eviction). Then it checks the next objects of the watch list
 * for up to its budget, as scan-steady.c would with no entry added since,
 * and notes the indexes that fail. The sample itself (scan_run, with
 * opt->prechecked) checks again only those and the objects that entries
 * added since hold references to; if the caches changed beyond growth
 * meanwhile it sees that too, and takes a complete sample as before.
 *
 * What this trades: the objects are read over the slices, not in one
 * instant. A reference taken or dropped between two slices by an object
 * checked earlier is seen by the next sample, as if it had happened right
 * after this one.
 */
#include "config.h"

#include <errno.h>
#include <time.h>

#include "pycompat.h"
#include "registry.h"
#include "scan-internal.h"

/* Kept objects checked between two looks at the clock. */
#define PRECHECK_STRIDE 2048
/* Failed checks noted before the slices give up: past that, a complete
 * sample is what comes anyway. */
#define PRECHECK_FAILED_MAX 4096

bool
scan_precheck_caches_hold(const struct steady *st)
{
    uint64_t clears;

    if (!st->valid || !registry_complete() || !registry_clears(&clears) || clears != st->clears) {
        return false;
    }
    /* No wrapper was freed since: each one kept is the live object it was. */
    for (size_t i = 0; i < st->n_w; i++) {
        const struct steady_wrapper *k = &st->w[i];
        PyObject *cache = pycompat_lru_object(k->obj, PYCOMPAT_LRU_CACHE);
        if (cache != k->cache) {
            return false;
        }
        Py_ssize_t misses = pycompat_lru_ssize(k->obj, PYCOMPAT_LRU_MISSES);
        if (steady_cache_change(k, misses, scan_cache_size(cache)) == 0) {
            return false;
        }
    }
    return true;
}

void
scan_precheck_reset(struct steady *st)
{
    st->pre_next = 0;
    st->pre_failed.n = 0;
}

int
scan_precheck(struct scan *s, double budget_ms)
{
    struct steady *st = &s->steady;
    struct timespec start;

    clock_gettime(CLOCK_MONOTONIC, &start);
    if (!scan_precheck_caches_hold(st)) {
        scan_precheck_reset(st);
        return -EAGAIN;
    }
    while (st->pre_next < st->n_watch) {
        size_t end = st->pre_next + PRECHECK_STRIDE;
        if (end > st->n_watch) {
            end = st->n_watch;
        }
        for (size_t i = st->pre_next; i < end; i++) {
            if (i + 16 < end) {
                __builtin_prefetch(st->watch[i + 16].obj);
            }
            const struct steady_watch *k = &st->watch[i];
            if (!watch_holds(k, pycompat_refcnt(k->obj)) &&
                (st->pre_failed.n >= PRECHECK_FAILED_MAX ||
                 u32vec_push(&st->pre_failed, (uint32_t)i) < 0)) {
                scan_precheck_reset(st);
                return -EAGAIN;
            }
        }
        st->pre_next = end;
        if (scan_ms_since(&start) >= budget_ms) {
            break;
        }
    }
    return st->pre_next < st->n_watch ? 1 : 0;
}
