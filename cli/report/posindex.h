/* SPDX-License-Identifier: MIT */
/*
 * posindex: a hash index over the positions of an array the caller owns
 * (open addressing, linear probing, load at most 1/2). It stores
 * position + 1 per slot, 0 for an empty one; the caller hashes and
 * compares its own items. The report model (report.c) indexes its
 * processes by pid, each process's cache rows by identity, and its
 * interned strings with it. Never logs. Thread context: none.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct posindex {
    size_t *slots;
    size_t cap; /* a power of two, or 0 */
};

/* Does the item at pos have key (what key points to is the caller's)? */
typedef bool (*posindex_match_fn)(const void *ctx, size_t pos, const void *key);
/* The hash of the item at pos. */
typedef uint64_t (*posindex_hash_fn)(const void *ctx, size_t pos);

/*
 * The slot for key (hashed h): the one that holds the position of a
 * matching item, else the empty slot where it goes. NULL when the index
 * has no room yet (posindex_reserve first).
 */
size_t *posindex_slot(const struct posindex *ix, uint64_t h, posindex_match_fn match,
                      const void *ctx, const void *key);

/*
 * Room for n items (positions 0..n-1 of the caller's array, which are
 * indexed again when the index grows; of items with equal keys, as match
 * says when given a position's own item as key, the later wins). key_of
 * gives what match takes as the key of an item. Returns 0 or -ENOMEM.
 */
int posindex_reserve(struct posindex *ix, size_t n, posindex_hash_fn hash_of,
                     posindex_match_fn match, const void *(*key_of)(const void *ctx, size_t pos),
                     const void *ctx);

void posindex_done(struct posindex *ix);
