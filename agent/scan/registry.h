/* SPDX-License-Identifier: MIT */
/*
 * registry: every live functools._lru_cache_wrapper of the main
 * interpreter, learnt of when it is made and forgotten when it is freed,
 * so that a sample finds the wrappers without walking the heap.
 *
 * The agent puts two forwarding functions into the lru wrapper type's
 * tp_new and tp_dealloc slots (registry_install): each calls the type's own
 * function and adds or removes one address in a hash set. A third one, in
 * the method table entry of cache_clear(), counts the calls, and the
 * dealloc forwarder the wrappers freed (registry_clears): with the misses
 * counters, that tells a sample that no cache lost an entry since the last
 * one and that every wrapper it knew is still the same live object
 * (scan-steady.c). Nothing else
 * changes: the same objects are made and freed, by the same code, and no
 * Python object is created, held or called. Wrappers made before the hooks
 * went in are added by the first full heap walk after them
 * (registry_seed); from then on the set is exact (registry_complete) and
 * the addresses in it are live objects, because a wrapper leaves the set
 * before its memory is freed. Two gaps keep the set incomplete, and the
 * scanner then walks the heap as before: a failed allocation in a hook
 * (until the next full walk seeds it again), and on 3.8/3.9 instances of
 * an lru wrapper subclass made before the hooks went in (such a subclass
 * copied the type's tp_new when it was made; full walks still find them).
 *
 * Each wrapper carries a classification (REGISTRY_*): where a class or
 * module names it and as what, learnt from the last class walk
 * (scan-discover.c), so a sample walks classes only when a wrapper that may
 * be named was born since.
 *
 * Everything here runs with the GIL held (the hooks run inside CPython's
 * own tp_new and tp_dealloc calls), so the set needs no lock of its own.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pyapi.h"

/* Classification bits, kept with each wrapper. */
enum {
    REGISTRY_CLASSIFIED = 1u << 0, /* the rest of the bits are known */
    REGISTRY_NAMED = 1u << 1,      /* a class or module namespace holds it */
    REGISTRY_KIND_SHIFT = 4,       /* then enum snapshot_kind (4 bits) */
    REGISTRY_MISSED_SHIFT = 8,     /* class walks that found it nowhere, while unclassified */

};

/* Put the hooks in (GIL held, pycompat ready). Returns 0 or -ENOMEM. The
 * set starts unseeded. Again after registry_uninstall: hooks back in. */
int registry_install(void);
/* Take the hooks out where they are still ours, and forget every wrapper
 * (a detach). GIL held. Instances of a subclass made meanwhile keep
 * calling the forwarders, which then only forward. */
void registry_uninstall(void);
/* The hooks are in. */
bool registry_installed(void);
/* The set holds every live wrapper (installed, seeded, nothing lost). */
bool registry_complete(void);

/* A full heap walk found these wrappers: add those not in the set and mark
 * it seeded (and no longer lost). Returns 0 or -ENOMEM (then unseeded). */
int registry_seed(PyObject *const *wrappers, size_t n);

/* Iterate: for (size_t pos = 0; registry_next(&pos, &w, &info);). The set
 * must not change meanwhile (no Python code runs between the calls). */
bool registry_next(size_t *pos, PyObject **ret_wrapper, uint32_t *ret_info);
/* Update a wrapper's classification; false when it is not in the set. */
bool registry_classify(PyObject *wrapper, uint32_t info);
/* Wrappers in the set. */
size_t registry_count(void);
/* Bytes the set holds. */
size_t registry_bytes(void);
/* A wrapper's classification; false when it is not in the set. */
bool registry_info(PyObject *wrapper, uint32_t *ret_info);
/* Calls of cache_clear() and wrappers freed since the hooks first went in
 * (each time a cache lost its entries), into *ret_clears;
 * false when they are not counted (not installed, or the method table is
 * not writable memory: then nothing tells a clear apart). */
bool registry_clears(uint64_t *ret_clears);
