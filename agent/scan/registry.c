/* SPDX-License-Identifier: MIT */
/*
 * registry: see registry.h. The forwarders are the only agent code that
 * runs inside the program's own calls (making and freeing an lru wrapper):
 * a hash-set update each, no Python call, no output, nothing held.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "objmap.h"
#include "pycompat.h"
#include "registry.h"

static struct {
    struct objmap set; /* wrapper address -> REGISTRY_* bits */
    /* The type's own functions; set once, kept after an uninstall (see
     * registry.h: a subclass may still call the forwarders). */
    pyapi_newfunc_fn orig_new;
    pyapi_destructor_fn orig_dealloc;
    PyObject *type; /* the hooked type (pyc.lru_type); never dereferenced after uninstall */
    /* cache_clear(): its PyMethodDef in the type's method table (NULL when
     * that table is not writable memory), the type's own function, and how
     * many times a cache lost its entries while the hooks were in (it ran,
     * or a wrapper was freed). */
    struct pyapi_method_def *clear_def;
    PyObject *(*orig_clear)(PyObject *self, PyObject *args);
    atomic_uint_least64_t clears;
    bool installed;
    bool seeded;
    bool lost; /* a hook could not add a wrapper (ENOMEM) */
} rg;

static void **
slot(PyObject *type, size_t off)
{
    return (void **)((char *)type + off);
}

static PyObject *
forward_new(PyObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *w = rg.orig_new(type, args, kwds);

    /* Subinterpreters before 3.10 share the static type: serve the main one only. */
    if (w != NULL && rg.installed && pycompat_in_main_interpreter() &&
        objmap_put(&rg.set, w, 0) == OBJMAP_ABSENT) {
        rg.lost = true;
    }
    return w;
}

static void
forward_dealloc(PyObject *w)
{
    if (rg.set.len != 0) {
        objmap_remove(&rg.set, w);
    }
    /* Its entries go too (and its address may be a new wrapper's soon). */
    atomic_fetch_add(&rg.clears, 1);
    rg.orig_dealloc(w);
}

static PyObject *
forward_clear(PyObject *self, PyObject *args)
{
    atomic_fetch_add(&rg.clears, 1);
    return rg.orig_clear(self, args);
}

/* Is [p, p + n) inside one writable mapping of this process? */
static bool
writable(const void *p, size_t n)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[512];
    bool ok = false;

    if (f == NULL) {
        return false;
    }
    while (!ok && fgets(line, sizeof(line), f) != NULL) {
        unsigned long lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && (uintptr_t)p >= lo &&
            (uintptr_t)p + n <= hi) {
            ok = perms[1] == 'w';
            break;
        }
    }
    fclose(f);
    return ok;
}

/* The cache_clear entry of the type's method table (tp_methods), if it is
 * writable memory. */
static struct pyapi_method_def *
find_clear_def(PyObject *type)
{
    struct pyapi_method_def *m = *(struct pyapi_method_def **)slot(type, PYCOMPAT_TP_METHODS);

    for (int i = 0; m != NULL && m[i].name != NULL && i < 64; i++) {
        if (strcmp(m[i].name, "cache_clear") == 0 && (m[i].flags & PYAPI_METH_NOARGS) != 0) {
            return writable(&m[i], sizeof(m[i])) ? &m[i] : NULL;
        }
    }
    return NULL;
}

int
registry_install(void)
{
    PyObject *type = pyc.lru_type;

    if (rg.installed) {
        return 0;
    }
    if (objmap_reserve(&rg.set, 256) < 0) {
        return -ENOMEM;
    }
    pyapi_newfunc_fn cur_new = (pyapi_newfunc_fn)*slot(type, PYCOMPAT_TP_NEW);
    pyapi_destructor_fn cur_dealloc = (pyapi_destructor_fn)*slot(type, PYCOMPAT_TP_DEALLOC);
    if (rg.orig_new == NULL) {
        rg.orig_new = cur_new;
        rg.orig_dealloc = cur_dealloc;
    } else if ((cur_new != forward_new && cur_new != rg.orig_new) ||
               (cur_dealloc != forward_dealloc && cur_dealloc != rg.orig_dealloc)) {
        return -EBUSY; /* someone else hooked the type since: leave it be */
    }
    rg.type = type;
    rg.seeded = false;
    rg.lost = false;
    rg.installed = true;
    *slot(type, PYCOMPAT_TP_NEW) = (void *)forward_new;
    *slot(type, PYCOMPAT_TP_DEALLOC) = (void *)forward_dealloc;
    if (rg.clear_def == NULL) {
        rg.clear_def = find_clear_def(type);
        rg.orig_clear = rg.clear_def != NULL ? rg.clear_def->meth : NULL;
    }
    if (rg.clear_def != NULL && rg.clear_def->meth == rg.orig_clear) {
        rg.clear_def->meth = forward_clear;
    }
    return 0;
}

void
registry_uninstall(void)
{
    if (!rg.installed) {
        return;
    }
    if (*slot(rg.type, PYCOMPAT_TP_NEW) == (void *)forward_new) {
        *slot(rg.type, PYCOMPAT_TP_NEW) = (void *)rg.orig_new;
    }
    if (*slot(rg.type, PYCOMPAT_TP_DEALLOC) == (void *)forward_dealloc) {
        *slot(rg.type, PYCOMPAT_TP_DEALLOC) = (void *)rg.orig_dealloc;
    }
    if (rg.clear_def != NULL && rg.clear_def->meth == forward_clear) {
        rg.clear_def->meth = rg.orig_clear;
    }
    rg.installed = false;
    rg.seeded = false;
    objmap_done(&rg.set);
}

bool
registry_installed(void)
{
    return rg.installed;
}

bool
registry_complete(void)
{
    return rg.installed && rg.seeded && !rg.lost;
}

int
registry_seed(PyObject *const *wrappers, size_t n)
{
    if (!rg.installed) {
        return 0;
    }
    if (objmap_reserve(&rg.set, rg.set.len + n) < 0) {
        rg.seeded = false;
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        objmap_put(&rg.set, wrappers[i], 0); /* reserved: cannot fail */
    }
    rg.seeded = true;
    rg.lost = false;
    return 0;
}

bool
registry_next(size_t *pos, PyObject **ret_wrapper, uint32_t *ret_info)
{
    for (; *pos < rg.set.cap; (*pos)++) {
        const struct objmap_slot *sl = &rg.set.slots[*pos];
        if (sl->key != NULL) {
            *ret_wrapper = (PyObject *)sl->key;
            *ret_info = sl->value;
            (*pos)++;
            return true;
        }
    }
    return false;
}

bool
registry_classify(PyObject *wrapper, uint32_t info)
{
    return objmap_set(&rg.set, wrapper, info);
}

size_t
registry_count(void)
{
    return rg.set.len;
}

size_t
registry_bytes(void)
{
    return objmap_bytes(&rg.set);
}

bool
registry_info(PyObject *wrapper, uint32_t *ret_info)
{
    uint32_t v = objmap_get(&rg.set, wrapper);

    *ret_info = v;
    return v != OBJMAP_ABSENT;
}

bool
registry_clears(uint64_t *ret_clears)
{
    *ret_clears = atomic_load(&rg.clears);
    return rg.installed && rg.clear_def != NULL && rg.clear_def->meth == forward_clear;
}
