/* SPDX-License-Identifier: MIT */
/*
 * objmap: an open-addressing hash map from object addresses to 32-bit
 * indexes, the identity set behind every count the scanner makes.
 *
 * Keys are compared by address only and never dereferenced, so a map may
 * outlive the objects whose addresses it holds. Index UINT32_MAX is
 * reserved ("absent"). Linear probing, load factor at most 1/2; the
 * scanner's maps are cleared and reused per sample, the wrapper registry
 * (registry.h) removes keys one by one (backward-shift deletion). Pure C,
 * no Python; one thread at a time.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OBJMAP_ABSENT UINT32_MAX

struct objmap_slot {
    const void *key;
    uint32_t value;
};

struct objmap {
    struct objmap_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t len;
};

void objmap_init(struct objmap *m);
void objmap_done(struct objmap *m);
/* Forget every key; keep the memory. */
void objmap_clear(struct objmap *m);

/* The value for key, or OBJMAP_ABSENT. */
uint32_t objmap_get(const struct objmap *m, const void *key);
/*
 * Find key; if absent insert it with value new_value. Returns the stored
 * value (existing or new), or OBJMAP_ABSENT when growing failed (ENOMEM).
 */
uint32_t objmap_put(struct objmap *m, const void *key, uint32_t new_value);
/* Remove key; false when it was absent. Never allocates. */
bool objmap_remove(struct objmap *m, const void *key);
/* Replace the value of a key already present; false when it is absent. */
bool objmap_set(struct objmap *m, const void *key, uint32_t value);
/* Grow so that n keys fit without another growth. Returns 0 or -ENOMEM. */
int objmap_reserve(struct objmap *m, size_t n);
/* Hint the CPU to load key's first probe slot (no effect on results). */
void objmap_prefetch(const struct objmap *m, const void *key);
/* Bytes of memory the map holds. */
size_t objmap_bytes(const struct objmap *m);
