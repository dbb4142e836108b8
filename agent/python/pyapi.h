/* SPDX-License-Identifier: MIT */
/*
 * pyapi: the only place that knows how CPython's entry points are found.
 *
 * The agent never includes Python.h and never links libpython: it declares
 * PyObject as an opaque type and resolves every function and data symbol of
 * pyapi-list.h at run time, first through the global scope
 * (dlsym(RTLD_DEFAULT)) - which covers a static python executable built
 * with -export-dynamic and an --enable-shared libpython - then through a
 * libpython that the host loaded with RTLD_LOCAL (found with
 * dl_iterate_phdr and reopened with RTLD_NOLOAD).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct pyobject_opaque PyObject;
typedef ssize_t Py_ssize_t;

/* The stable Py_tp_* slot numbers and tp_flags bits the agent uses. */
#define PYAPI_SLOT_TP_DEALLOC 52
#define PYAPI_SLOT_TP_METHODS 64
#define PYAPI_SLOT_TP_NEW 65
#define PYAPI_SLOT_TP_TRAVERSE 71
#define PYAPI_TPFLAGS_HEAPTYPE (1UL << 9)
#define PYAPI_TPFLAGS_BASETYPE (1UL << 10)
#define PYAPI_TPFLAGS_HAVE_GC (1UL << 14)
#define PYAPI_TPFLAGS_LONG_SUBCLASS (1UL << 24)
#define PYAPI_TPFLAGS_TUPLE_SUBCLASS (1UL << 26)
#define PYAPI_TPFLAGS_BYTES_SUBCLASS (1UL << 27)
#define PYAPI_TPFLAGS_UNICODE_SUBCLASS (1UL << 28)
#define PYAPI_TPFLAGS_DICT_SUBCLASS (1UL << 29)
#define PYAPI_TPFLAGS_TYPE_SUBCLASS (1UL << 31)
#define PYAPI_METH_NOARGS 0x0004

/* PyMethodDef, in its stable-ABI layout (for the C functions the agent
 * hands to Python: the exit and fork hooks, the _lruleak module). */
struct pyapi_method_def {
    const char *name;
    PyObject *(*meth)(PyObject *self, PyObject *args);
    int flags;
    const char *doc;
};

typedef PyObject *(*pyapi_newfunc_fn)(PyObject *type, PyObject *args, PyObject *kwds);
typedef void (*pyapi_destructor_fn)(PyObject *self);
typedef int (*pyapi_visitproc_fn)(PyObject *obj, void *arg);
typedef int (*pyapi_traverseproc_fn)(PyObject *self, pyapi_visitproc_fn visit, void *arg);

struct pyapi {
#define PYAPI_FN(req, ret, name, args) ret(*name) args;
#define PYAPI_DATA(req, name) PyObject *name;
#define PYAPI_DATA_PTR(req, name) PyObject *name;
#include "pyapi-list.h"
#undef PYAPI_FN
#undef PYAPI_DATA
#undef PYAPI_DATA_PTR
};

/* The resolved table; valid after pyapi_resolve() returned 0. */
extern struct pyapi py;

/*
 * Cheap probe used by the constructor: does this process contain a CPython
 * runtime at all? Resolves only Py_IsInitialized. Async-signal-unsafe
 * (dlsym), no Python call. Returns the function or NULL.
 */
int (*pyapi_probe(void))(void);

/* Py_GetVersion() found by name, or NULL. A pure C function: safe without
 * the GIL, before initialisation and after finalisation. */
const char *pyapi_version_string(void);

/* One symbol by name (dlsym, then the RTLD_LOCAL libpython), or NULL. */
void *pyapi_symbol(const char *name);

/*
 * Resolve the whole table, once per process: every later call returns the
 * first call's result. Returns 0, or -ENOENT with the first missing
 * required symbol's name in *ret_missing. Thread-safe. Only once
 * Py_IsInitialized() is true: the PyExc_* variables are set by Py_Initialize.
 */
int pyapi_resolve(const char **ret_missing);
