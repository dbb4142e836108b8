/* SPDX-License-Identifier: MIT */
/*
 * watch-sort: the steady state's watch entries (scan-internal.h) in
 * address order, for the binary searches of scan-steady.c.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "scan-internal.h"

/* Sort v[0, n) by address, with tmp[0, n) as scratch: a least significant
 * digit radix sort, one byte of the address a pass, passes in which every
 * address has the same byte skipped (the high ones, mostly). qsort's
 * comparison calls cost a complete sample of a small heap a sixth of its
 * time. */
void
watch_sort(struct steady_watch *v, size_t n, struct steady_watch *tmp)
{
    enum { DIGITS = sizeof(uintptr_t) };
    size_t count[DIGITS][256];
    struct steady_watch *from = v, *to = tmp;

    if (n < 32) {
        for (size_t i = 1; i < n; i++) {
            struct steady_watch x = v[i];
            size_t j = i;
            for (; j > 0 && v[j - 1].obj > x.obj; j--) {
                v[j] = v[j - 1];
            }
            v[j] = x;
        }
        return;
    }
    memset(count, 0, sizeof(count));
    for (size_t i = 0; i < n; i++) {
        uintptr_t a = (uintptr_t)v[i].obj;
        for (size_t d = 0; d < DIGITS; d++) {
            count[d][(a >> (8 * d)) & 0xff]++;
        }
    }
    for (size_t d = 0; d < DIGITS; d++) {
        size_t *c = count[d];
        if (c[((uintptr_t)v[0].obj >> (8 * d)) & 0xff] == n) {
            continue; /* one bucket holds everything: nothing moves */
        }
        for (size_t b = 0, sum = 0; b < 256; b++) {
            size_t k = c[b];
            c[b] = sum;
            sum += k;
        }
        for (size_t i = 0; i < n; i++) {
            to[c[((uintptr_t)from[i].obj >> (8 * d)) & 0xff]++] = from[i];
        }
        struct steady_watch *t = from;
        from = to;
        to = t;
    }
    if (from != v) {
        memcpy(v, from, n * sizeof(*v));
    }
}
