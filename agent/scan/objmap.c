/* SPDX-License-Identifier: MIT */
/*
 * objmap: see objmap.h. Addresses of Python objects are 16-byte aligned and
 * cluster in arenas, so the hash multiplies the address (shifted past the
 * alignment bits) by a 64-bit odd constant and keeps the high bits.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "objmap.h"

void
objmap_init(struct objmap *m)
{
    memset(m, 0, sizeof(*m));
}

void
objmap_done(struct objmap *m)
{
    free(m->slots);
    objmap_init(m);
}

void
objmap_clear(struct objmap *m)
{
    /* Empty already (a sample that used no map): nothing to write. */
    if (m->slots != NULL && m->len > 0) {
        memset(m->slots, 0, m->cap * sizeof(*m->slots));
    }
    m->len = 0;
}

static inline size_t
slot_of(const struct objmap *m, const void *key)
{
    uint64_t h = ((uint64_t)(uintptr_t)key >> 4) * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 32) & (m->cap - 1);
}

uint32_t
objmap_get(const struct objmap *m, const void *key)
{
    if (m->cap == 0 || key == NULL) {
        return OBJMAP_ABSENT;
    }
    for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key) {
            return m->slots[i].value;
        }
        if (m->slots[i].key == NULL) {
            return OBJMAP_ABSENT;
        }
    }
}

static int
grow_to(struct objmap *m, size_t cap)
{
    struct objmap_slot *old = m->slots;
    size_t old_cap = m->cap;

    m->slots = calloc(cap, sizeof(*m->slots));
    if (m->slots == NULL) {
        m->slots = old;
        return -1;
    }
    m->cap = cap;
    for (size_t j = 0; j < old_cap; j++) {
        if (old[j].key != NULL) {
            size_t i = slot_of(m, old[j].key);
            while (m->slots[i].key != NULL) {
                i = (i + 1) & (cap - 1);
            }
            m->slots[i] = old[j];
        }
    }
    free(old);
    return 0;
}

static int
grow(struct objmap *m)
{
    return grow_to(m, m->cap != 0 ? m->cap * 2 : 1024);
}

int
objmap_reserve(struct objmap *m, size_t n)
{
    size_t cap = m->cap != 0 ? m->cap : 1024;

    while (n * 2 > cap) {
        cap *= 2;
    }
    return cap == m->cap ? 0 : grow_to(m, cap) < 0 ? -ENOMEM : 0;
}

uint32_t
objmap_put(struct objmap *m, const void *key, uint32_t new_value)
{
    if (key == NULL) {
        return OBJMAP_ABSENT;
    }
    if ((m->len + 1) * 2 > m->cap && grow(m) < 0) {
        return OBJMAP_ABSENT;
    }
    size_t i = slot_of(m, key);
    while (m->slots[i].key != NULL) {
        if (m->slots[i].key == key) {
            return m->slots[i].value;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->slots[i].key = key;
    m->slots[i].value = new_value;
    m->len++;
    return new_value;
}

void
objmap_prefetch(const struct objmap *m, const void *key)
{
    if (m->cap != 0) {
        __builtin_prefetch(&m->slots[slot_of(m, key)]);
    }
}

size_t
objmap_bytes(const struct objmap *m)
{
    return m->cap * sizeof(*m->slots);
}

bool
objmap_remove(struct objmap *m, const void *key)
{
    if (m->cap == 0 || key == NULL) {
        return false;
    }
    size_t i = slot_of(m, key);
    while (m->slots[i].key != key) {
        if (m->slots[i].key == NULL) {
            return false;
        }
        i = (i + 1) & (m->cap - 1);
    }
    /* Backward shift: move every later key of the run whose home slot lies
     * at or before the hole into it, so no probe sequence is cut short. */
    for (size_t j = (i + 1) & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
        if (m->slots[j].key == NULL) {
            break;
        }
        size_t home = slot_of(m, m->slots[j].key);
        /* Is home cyclically outside (i, j]? Then the key may fill the hole. */
        bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = NULL;
    m->slots[i].value = 0;
    m->len--;
    return true;
}

bool
objmap_set(struct objmap *m, const void *key, uint32_t value)
{
    if (m->cap == 0 || key == NULL) {
        return false;
    }
    for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key) {
            m->slots[i].value = value;
            return true;
        }
        if (m->slots[i].key == NULL) {
            return false;
        }
    }
}
