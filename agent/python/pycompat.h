/* SPDX-License-Identifier: MIT */
/*
 * pycompat: every CPython version difference the agent depends on, and the
 * few object-layout facts it reads directly (refcount, type, type slots,
 * tuple items, lru wrapper fields). Each fact is checked at start-up
 * against the documented API (sys.getrefcount-equivalent increments,
 * PyObject_Type, PyType_GetFlags, PyType_GetSlot, __basicsize__, ...):
 * an interpreter that does not match is refused, never guessed at.
 *
 * pycompat_init() needs the GIL; the inline readers need the GIL and an
 * object the caller keeps alive.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pyapi.h"

struct pycompat {
    int minor;        /* 3.<minor> */
    char version[32]; /* "3.11.2" */
    bool refcnt32;    /* 3.12+: the refcount is the low 32 bits of the first word */
    bool immortal;    /* 3.12+: refcounts >= 2^31 mean immortal (PEP 683) */
    bool lru_tail310; /* 3.10+: lru traverse order type, (key,result,type)*, 5-item tail */
    /* What an lru wrapper's tp_traverse visits, in order: lru_head objects
     * (3.10+: the type), then lru_per_link per bounded-cache link (key,
     * result[, the link's type]), then lru_tail objects (3.10+: cache,
     * func, kwd_mark, link type, info type; 3.8/3.9: func, cache, info
     * type), then __dict__ when the wrapper has one. */
    size_t lru_head, lru_per_link, lru_tail;
    bool lru_weakref;             /* 3.9+: lru wrappers accept weak references */
    bool lru_subclassable;        /* 3.8/3.9: static lru type with Py_TPFLAGS_BASETYPE */
    bool gc_visit;                /* 3.12+: PyUnstable_GC_VisitObjects (no audit event, no list) */
    bool gc_audit;                /* 3.10+: gc.get_objects() raises an audit event */
    bool fork_warns;              /* 3.12+: os.fork() warns when the process has other threads */
    bool fork_warns_late;         /* 3.13+: ... and counts them after the after_in_parent hooks */
    unsigned long preheader_mask; /* tp_flags bits that put 2 pointers before the object */
    size_t tuple_items;           /* offset of PyTupleObject.ob_item */
    enum pycompat_frame_locals {
        PYCOMPAT_LOCALS_TRAVERSE, /* <= 3.10: a frame's tp_traverse visits its locals */
        PYCOMPAT_LOCALS_IFRAME,   /* 3.11: read the interpreter frame (checked per frame) */
        PYCOMPAT_LOCALS_GETVAR,   /* 3.12: PyFrame_GetVar per local name */
        PYCOMPAT_LOCALS_PROXY,    /* 3.13+: frame.f_locals is a live proxy (PEP 667) */
    } frame_locals;

    PyObject *lru_type;       /* strong: functools._lru_cache_wrapper of the main interpreter */
    Py_ssize_t lru_dict_off;  /* wrapper->dict, from the type's __dictoffset__ */
    Py_ssize_t lru_cache_off; /* wrapper->cache; hits, func, maxsize, misses follow */
    bool lru_links;           /* link layout (PYCOMPAT_LINK_*) verified on a private cache */
    bool lru_fields;          /* cache/func/kwd_mark offsets verified on the same cache:
                               * wrappers of exactly lru_type need no traverse check */
    PyObject *subclasses;     /* strong: type.__dict__['__subclasses__'] */
    PyObject *object_sizeof;  /* strong: object.__dict__['__sizeof__'] */
};

/* Offsets in PyObject / PyVarObject / PyTypeObject, identical on every
 * supported default (non-free-threaded, non-trace-refs) 64-bit build
 * 3.8 .. 3.15; verified at start-up by pycompat_init. */
#define PYCOMPAT_OB_TYPE 8
#define PYCOMPAT_OB_SIZE 16
#define PYCOMPAT_TP_BASICSIZE 32
#define PYCOMPAT_TP_ITEMSIZE 40
#define PYCOMPAT_TP_DEALLOC 48
#define PYCOMPAT_TP_FLAGS 168
#define PYCOMPAT_TP_TRAVERSE 184
#define PYCOMPAT_TP_METHODS 232
#define PYCOMPAT_TP_BASE 256
#define PYCOMPAT_TP_DICT 264
#define PYCOMPAT_TP_DICTOFFSET 288
#define PYCOMPAT_TP_NEW 312
/* lru_list_elem (bounded caches' dict values): PyObject_HEAD, prev, next,
 * hash, key, result - the same in 3.8 .. 3.15; verified at start-up. */
#define PYCOMPAT_LINK_KEY 40
#define PYCOMPAT_LINK_RESULT 48

/* The fields of CPython's lru_cache_object from `cache` on (3.8 .. 3.15): cache, hits, func,
 * maxsize, misses, then (3.10+) kwd_mark; `typed` (an int) right before cache. Offsets from
 * pyc.lru_cache_off. */
enum pycompat_lru_field {
    PYCOMPAT_LRU_TYPED = -8,
    PYCOMPAT_LRU_CACHE = 0,
    PYCOMPAT_LRU_HITS = 8,
    PYCOMPAT_LRU_FUNC = 16,
    PYCOMPAT_LRU_MAXSIZE = 24,
    PYCOMPAT_LRU_MISSES = 32,
    PYCOMPAT_LRU_KWD_MARK = 40, /* 3.10+ (pyc.lru_tail310) */
};

extern struct pycompat pyc;

/*
 * Check the version string only (no GIL needed, no Python object touched).
 * Returns 0, or -ENOTSUP with the reason in why (free-threaded build,
 * version outside the table, big-endian host).
 */
int pycompat_check_version(const char *version, char *why, size_t whylen);

/*
 * With the GIL held and functools imported: fill pyc (version facts, the lru
 * type and its field offsets) and verify every layout assumption. Returns 0,
 * or -ENOTSUP / -ENOMEM with the reason in why, or -ENOENT while functools
 * is still being imported (try again later). Leaves no Python exception set.
 */
int pycompat_init(char *why, size_t whylen);

/*
 * 3.11 only: the locals array of a running frame whose f_code and f_globals
 * are code and globals (checked against the interpreter frame). Returns the
 * number of slots (entries may be NULL, or cells) and points *ret at them,
 * or -1 when this is not 3.11 or the layout does not match. GIL held.
 */
Py_ssize_t pycompat_frame_locals311(PyObject *frame, PyObject *code, PyObject *globals,
                                    PyObject ***ret);

/* Does the calling thread (GIL held) run in the main interpreter? The
 * agent serves the main interpreter only (subinterpreters have their own
 * lru type, gc lists and, from 3.12, possibly their own GIL). */
bool pycompat_in_main_interpreter(void);
/* Does this thread hold the GIL with a thread state of its own (of the main
 * interpreter's GIL-state API)? Safe on any thread, GIL or not. */
bool pycompat_thread_holds_gil(void);
/* May an agent thread queue pending calls (Py_AddPendingCall) at any time
 * before the atexit hooks have run? (3.9+) */
bool pycompat_pending_calls_safe(void);
/* The module `name`: from sys.modules when it is there (no importlib code
 * runs, so no signal handler of the program's can run inside our work),
 * else imported. New reference or NULL with an exception set. GIL held. */
PyObject *pycompat_import(const char *name);

/* Is the interpreter finalizing? (_Py_IsFinalizing <= 3.12, Py_IsFinalizing 3.13+) */
bool pycompat_finalizing(void);

static inline void *
pycompat_field(PyObject *o, size_t off)
{
    void *v;
    memcpy(&v, (const char *)o + off, sizeof(v));
    return v;
}

static inline PyObject *
pycompat_type(PyObject *o)
{
    return (PyObject *)pycompat_field(o, PYCOMPAT_OB_TYPE);
}

static inline Py_ssize_t
pycompat_refcnt(PyObject *o)
{
    if (pyc.refcnt32) {
        uint32_t r;
        memcpy(&r, o, sizeof(r));
        return (Py_ssize_t)r;
    }
    Py_ssize_t r;
    memcpy(&r, o, sizeof(r));
    return r;
}

static inline bool
pycompat_is_immortal(PyObject *o)
{
    return pyc.immortal && pycompat_refcnt(o) >= ((Py_ssize_t)1 << 31);
}

/* A live object: not one whose refcount is 0. Some traversals visit such
 * objects - 3.12's _asyncio module visits its free list of future
 * iterators, already deallocated - and a reference taken on one and
 * dropped again would deallocate it a second time (pushing it onto that
 * free list twice makes it a cycle, and the GC then loops forever at
 * exit). Every tp_traverse visit of the agent checks this first. */
static inline bool
pycompat_is_live(PyObject *o)
{
    return o != NULL && pycompat_refcnt(o) > 0;
}

static inline unsigned long
pycompat_type_flags(PyObject *type)
{
    unsigned long f;
    memcpy(&f, (const char *)type + PYCOMPAT_TP_FLAGS, sizeof(f));
    return f;
}

/*
 * The address at which obj's memory block begins, as the allocator (and so
 * tracemalloc) saw it: before the GC header (16 bytes) and the pre-header
 * of two pointers (preheader_mask). 3.12's _PyTraceMalloc_GetObjectTraceback
 * computes the same; 3.11's _tracemalloc._get_object_traceback forgot the
 * pre-header and finds no traceback for instances with a managed dict.
 */
static inline unsigned long
pycompat_alloc_address(PyObject *o)
{
    unsigned long f = pycompat_type_flags(pycompat_type(o));
    unsigned long a = (unsigned long)(uintptr_t)o;

    if (f & PYAPI_TPFLAGS_HAVE_GC) {
        a -= 16;
    }
    if (f & pyc.preheader_mask) {
        a -= 16;
    }
    return a;
}

static inline pyapi_traverseproc_fn
pycompat_type_traverse(PyObject *type)
{
    pyapi_traverseproc_fn fn;
    memcpy(&fn, (const char *)type + PYCOMPAT_TP_TRAVERSE, sizeof(fn));
    return fn;
}

static inline Py_ssize_t
pycompat_ssize_field(PyObject *o, size_t off)
{
    Py_ssize_t v;
    memcpy(&v, (const char *)o + off, sizeof(v));
    return v;
}

/* An object field of an lru wrapper (after pycompat_init found its layout). */
static inline PyObject *
pycompat_lru_object(PyObject *wrapper, enum pycompat_lru_field f)
{
    return pycompat_field(wrapper, (size_t)(pyc.lru_cache_off + f));
}

/* A Py_ssize_t field of an lru wrapper: hits, maxsize (-1: unbounded), misses. */
static inline Py_ssize_t
pycompat_lru_ssize(PyObject *wrapper, enum pycompat_lru_field f)
{
    return pycompat_ssize_field(wrapper, (size_t)(pyc.lru_cache_off + f));
}

/* The wrapper's `typed` flag (an int). */
static inline int
pycompat_lru_typed(PyObject *wrapper)
{
    int typed;
    memcpy(&typed, (const char *)wrapper + pyc.lru_cache_off + PYCOMPAT_LRU_TYPED, sizeof(typed));
    return typed;
}

/* Borrowed: the dict of a heap type (tp_dict; NULL for static types on 3.12+). */
static inline PyObject *
pycompat_type_dict(PyObject *type)
{
    return (PyObject *)pycompat_field(type, PYCOMPAT_TP_DICT);
}

/* May o be traversed as a GC object? The collector's own rule: the type has
 * Py_TPFLAGS_HAVE_GC and, for type objects (type_is_gc), o is a heap type;
 * a static type's tp_traverse would read fields it does not have. */
static inline bool
pycompat_is_gc(PyObject *o)
{
    unsigned long f = pycompat_type_flags(pycompat_type(o));

    if ((f & PYAPI_TPFLAGS_HAVE_GC) == 0) {
        return false;
    }
    return (f & PYAPI_TPFLAGS_TYPE_SUBCLASS) == 0 ||
           (pycompat_type_flags(o) & PYAPI_TPFLAGS_HEAPTYPE) != 0;
}

static inline bool
pycompat_is_lru(PyObject *o)
{
    PyObject *t = pycompat_type(o);
    if (t == pyc.lru_type) {
        return true;
    }
    /* 3.8/3.9: the static type is subclassable. */
    return pyc.lru_subclassable && (pycompat_type_flags(t) & PYAPI_TPFLAGS_HEAPTYPE) != 0 &&
           py.PyType_IsSubtype(t, pyc.lru_type);
}
