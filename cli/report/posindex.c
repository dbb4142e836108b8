/* SPDX-License-Identifier: MIT */
/*
 * posindex: see posindex.h.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "posindex.h"

#define POSINDEX_MIN_CAP 16

size_t *
posindex_slot(const struct posindex *ix, uint64_t h, posindex_match_fn match, const void *ctx,
              const void *key)
{
    if (ix->cap == 0) {
        return NULL;
    }
    size_t j = (size_t)h & (ix->cap - 1);
    while (ix->slots[j] != 0 && !match(ctx, ix->slots[j] - 1, key)) {
        j = (j + 1) & (ix->cap - 1);
    }
    return &ix->slots[j];
}

int
posindex_reserve(struct posindex *ix, size_t n, posindex_hash_fn hash_of, posindex_match_fn match,
                 const void *(*key_of)(const void *ctx, size_t pos), const void *ctx)
{
    if (n * 2 <= ix->cap) {
        return 0;
    }
    size_t cap = ix->cap ? ix->cap : POSINDEX_MIN_CAP;
    while (n * 2 > cap) {
        cap *= 2;
    }
    struct posindex grown = {calloc(cap, sizeof(size_t)), cap};
    if (grown.slots == NULL) {
        return -ENOMEM;
    }
    /* Every position indexed so far is below n - 1 (the caller reserves
     * before it adds one): index them again, in order. */
    for (size_t i = 0; i < n - 1; i++) {
        *posindex_slot(&grown, hash_of(ctx, i), match, ctx, key_of(ctx, i)) = i + 1;
    }
    free(ix->slots);
    *ix = grown;
    return 0;
}

void
posindex_done(struct posindex *ix)
{
    free(ix->slots);
    ix->slots = NULL;
    ix->cap = 0;
}
