/* SPDX-License-Identifier: MIT */
/*
 * registry: see registry.h. The forwarders are the only agent code that
 * runs inside the program's own calls (making and freeing an lru wrapper):
 * a hash-set update each, no Python call, no output, nothing held.
 */
#include "config.h"

#include <errno.h>

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
    rg.orig_dealloc(w);
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
