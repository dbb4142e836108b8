/* SPDX-License-Identifier: MIT */
/*
 * pycompat: the version table and the start-up layout checks (pycompat.h).
 *
 * Every `if (version >= 3.x)` of the agent lives in versions[] below, one
 * row per minor version, with the CPython change behind each fact. Layout
 * offsets are not trusted until they have been compared with what the
 * public API says about the same objects; if any comparison fails the
 * interpreter is refused. Runs on the sampler thread with the GIL held
 * (pycompat_init) or without Python (pycompat_check_version). Never logs.
 *
 * Version facts that need no column, because one code path serves all:
 *   - finalisation check: _Py_IsFinalizing (3.8-3.12) became the public
 *     Py_IsFinalizing in 3.13; both are optional symbols and
 *     pycompat_finalizing() uses whichever exists. It is only a second line
 *     of defence: the atexit hook parks the sampler before finalisation.
 *   - a foreign thread that takes the GIL during finalisation is ended by
 *     pthread_exit up to 3.13 and blocked forever from 3.14 (gh-87135).
 *     The agent never waits on the GIL after its atexit hook ran, and
 *     nothing ever joins a thread that may be blocked there.
 *   - PyType_GetSlot accepts static types only from 3.10 (bpo-41073): it is
 *     used on heap types only (check_heap_type_layout); object's and the
 *     lru type's slots are read at the verified PyTypeObject offsets.
 *   - object enumeration: PyUnstable_GC_VisitObjects (3.12+, column
 *     gc_visit) or gc.get_objects(); both miss objects moved by gc.freeze()
 *     (VisitObjects until gh-131740, 3.13.5), hence the frozen-heap walk of
 *     scan-discover.c whenever gc.get_freeze_count() > 0.
 *   - free-threaded builds: refused by pycompat_check_version (their
 *     sys.version says so; the object header layout differs and
 *     check_object_layout would refuse them anyway).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "pycompat.h"

struct pycompat pyc;

struct version_facts {
    int minor;
    /* PEP 683 immortal objects (3.12, gh-84436): refcount split into 32-bit
     * halves; 3.14 moved flags into the upper half (gh-125174), so only the
     * low 32 bits are the count from 3.12 on. */
    bool refcnt32;
    /* lru_cache_tp_traverse visits Py_TYPE(self) first and a type per link,
     * and the tail gained kwd_mark and lru_list_elem_type with the heap-type
     * conversion (bpo-40137, GH-23405) and traverse reorder (bpo-42972). */
    bool lru_tail310;
    /* __weakref__ slot on lru wrappers: bpo-40504 (GH-19938), 3.9. */
    bool lru_weakref;
    /* PyUnstable_GC_VisitObjects: gh-102013, 3.12. */
    bool gc_visit;
    /* gc.get_objects/get_referents audit events: bpo-43439, 3.10. */
    bool gc_audit;
    /* Pre-header of two pointers before the object, counted by
     * sys.getsizeof: Py_TPFLAGS_MANAGED_DICT (1 << 4) from 3.11 (gh-89987),
     * plus Py_TPFLAGS_MANAGED_WEAKREF (1 << 3) from 3.12 (gh-95245). */
    unsigned long preheader_mask;
    /* How to read the locals of a running frame without side effects
     * (frame.f_locals before 3.13 builds a dict that keeps them alive): 3.11
     * moved frames into the interpreter (gh-88116) and frame_tp_traverse
     * skips frames a thread still runs, so 3.11 reads _PyInterpreterFrame
     * (pycompat_frame_locals311); PyFrame_GetVar came in 3.12 (gh-91248);
     * PEP 667 made f_locals a write-through proxy in 3.13. */
    enum pycompat_frame_locals frame_locals;
    /* os.fork() counts the process's threads and issues a
     * DeprecationWarning when there is more than one (gh-100228, 3.12):
     * the agent steps its threads out of the way around os.fork(). */
    bool fork_warns;
    /* 3.13 stops the world around fork() and so counts threads only after
     * PyOS_AfterFork_Parent ran the after_in_parent hooks: a restart must
     * wait until os.fork() has returned. */
    bool fork_warns_late;
    /* PyTupleObject.ob_item: after PyObject_VAR_HEAD (24); 3.14 caches the
     * tuple's hash in a new ob_hash field before it (gh-131525): 32. */
    size_t tuple_items;
};

static const struct version_facts versions[] = {
    {.minor = 8, .preheader_mask = 0, .frame_locals = PYCOMPAT_LOCALS_TRAVERSE, .tuple_items = 24},
    {.minor = 9,
     .lru_weakref = true,
     .preheader_mask = 0,
     .frame_locals = PYCOMPAT_LOCALS_TRAVERSE,
     .tuple_items = 24},
    {.minor = 10,
     .lru_tail310 = true,
     .lru_weakref = true,
     .gc_audit = true,
     .preheader_mask = 0,
     .frame_locals = PYCOMPAT_LOCALS_TRAVERSE,
     .tuple_items = 24},
    {.minor = 11,
     .lru_tail310 = true,
     .lru_weakref = true,
     .gc_audit = true,
     .preheader_mask = 1UL << 4,
     .frame_locals = PYCOMPAT_LOCALS_IFRAME,
     .tuple_items = 24},
    {.minor = 12,
     .refcnt32 = true,
     .lru_tail310 = true,
     .lru_weakref = true,
     .gc_visit = true,
     .gc_audit = true,
     .preheader_mask = (1UL << 3) | (1UL << 4),
     .frame_locals = PYCOMPAT_LOCALS_GETVAR,
     .fork_warns = true,
     .tuple_items = 24},
    {.minor = 13,
     .refcnt32 = true,
     .lru_tail310 = true,
     .lru_weakref = true,
     .gc_visit = true,
     .gc_audit = true,
     .preheader_mask = (1UL << 3) | (1UL << 4),
     .frame_locals = PYCOMPAT_LOCALS_PROXY,
     .fork_warns = true,
     .fork_warns_late = true,
     .tuple_items = 24},
    {.minor = 14,
     .refcnt32 = true,
     .lru_tail310 = true,
     .lru_weakref = true,
     .gc_visit = true,
     .gc_audit = true,
     .preheader_mask = (1UL << 3) | (1UL << 4),
     .frame_locals = PYCOMPAT_LOCALS_PROXY,
     .fork_warns = true,
     .fork_warns_late = true,
     .tuple_items = 32},
    /* 3.15: nothing the agent reads changed (Debian sid's 3.15.2 passes the
     * start-up checks and the whole version matrix, scripts/run-matrix.sh). */
    {.minor = 15,
     .refcnt32 = true,
     .lru_tail310 = true,
     .lru_weakref = true,
     .gc_visit = true,
     .gc_audit = true,
     .preheader_mask = (1UL << 3) | (1UL << 4),
     .frame_locals = PYCOMPAT_LOCALS_PROXY,
     .fork_warns = true,
     .fork_warns_late = true,
     .tuple_items = 32},
};

int
pycompat_check_version(const char *version, char *why, size_t whylen)
{
    int major = 0, minor = 0, micro = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    snprintf(why, whylen, "big-endian hosts are not supported");
    return -ENOTSUP;
#endif
    if (version == NULL || sscanf(version, "%d.%d.%d", &major, &minor, &micro) < 2) {
        snprintf(why, whylen, "cannot parse the interpreter version \"%.40s\"",
                 version ? version : "");
        return -ENOTSUP;
    }
    /* Free-threaded builds say so in sys.version ("experimental
     * free-threading build" in 3.13, "free-threading build" in 3.14). Their
     * object header is different and caches need stop-the-world reads. */
    if (strstr(version, "free-threading") != NULL) {
        snprintf(why, whylen, "free-threaded CPython %d.%d is not supported yet", major, minor);
        return -ENOTSUP;
    }
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        if (major == 3 && versions[i].minor == minor) {
            const struct version_facts *v = &versions[i];
            pyc.minor = minor;
            snprintf(pyc.version, sizeof(pyc.version), "%d.%d.%d", major, minor, micro);
            pyc.refcnt32 = v->refcnt32;
            pyc.immortal = v->refcnt32;
            pyc.lru_tail310 = v->lru_tail310;
            pyc.lru_head = v->lru_tail310 ? 1 : 0;
            pyc.lru_per_link = v->lru_tail310 ? 3 : 2;
            pyc.lru_tail = v->lru_tail310 ? 5 : 3;
            pyc.lru_weakref = v->lru_weakref;
            pyc.lru_subclassable = !v->lru_tail310;
            pyc.gc_visit = v->gc_visit;
            pyc.gc_audit = v->gc_audit;
            pyc.preheader_mask = v->preheader_mask;
            pyc.frame_locals = v->frame_locals;
            pyc.fork_warns = v->fork_warns;
            pyc.fork_warns_late = v->fork_warns_late;
            pyc.tuple_items = v->tuple_items;
            return 0;
        }
    }
    snprintf(why, whylen, "CPython %d.%d is not a version this agent knows (3.%d to 3.%d)", major,
             minor, versions[0].minor, versions[sizeof(versions) / sizeof(versions[0]) - 1].minor);
    return -ENOTSUP;
}

bool
pycompat_finalizing(void)
{
    if (py.Py_IsFinalizing != NULL) {
        return py.Py_IsFinalizing() != 0;
    }
    if (py._Py_IsFinalizing != NULL) {
        return py._Py_IsFinalizing() != 0;
    }
    return false;
}

PyObject *
pycompat_import(const char *name)
{
    PyObject *n = py.PyUnicode_FromString(name);
    PyObject *m = n != NULL ? py.PyImport_GetModule(n) : NULL;

    py.Py_DecRef(n);
    if (m == NULL) {
        if (py.PyErr_Occurred() != NULL) {
            py.PyErr_Clear();
        }
        m = py.PyImport_ImportModule(name);
    }
    return m;
}

bool
pycompat_pending_calls_safe(void)
{
    /* 3.8's Py_AddPendingCall crashes once finalisation has drained the
     * queue, which happens before the atexit hooks run; from 3.9 on the
     * queue lives until the interpreter is torn down. */
    return pyc.minor >= 9;
}

bool
pycompat_thread_holds_gil(void)
{
    /* PyGILState_Check() answers 1 on every thread once a subinterpreter
     * exists (3.8-3.12 switch its check off), and on 3.8-3.11 the "current"
     * thread state is the GIL holder's, whichever thread asks. This
     * thread holds the GIL when the current state is its own. */
    void *(*get)(void) = py.PyThreadState_GetUnchecked != NULL ? py.PyThreadState_GetUnchecked
                                                               : py._PyThreadState_UncheckedGet;
    void *cur = get != NULL ? get() : NULL;

    return cur != NULL && cur == py.PyGILState_GetThisThreadState();
}

bool
pycompat_in_main_interpreter(void)
{
    /* PyInterpreterState_Get became public in 3.9 (bpo-39947); 3.8 has it
     * as _PyInterpreterState_Get. Both need a thread state. */
    void *(*get)(void) =
        py.PyInterpreterState_Get != NULL ? py.PyInterpreterState_Get : py._PyInterpreterState_Get;

    return get != NULL && get() == py.PyInterpreterState_Main();
}

/* Owned int attribute of o as Py_ssize_t, or -1 (exception cleared). */
static Py_ssize_t
int_attr(PyObject *o, const char *name)
{
    PyObject *v = py.PyObject_GetAttrString(o, name); /* owned */
    Py_ssize_t r = -1;

    if (v != NULL) {
        r = py.PyLong_AsSsize_t(v);
        py.Py_DecRef(v);
    }
    if (py.PyErr_Occurred() != NULL) {
        py.PyErr_Clear();
        r = -1;
    }
    return r;
}

/* Owned: item name of a type's __dict__ proxy. */
static PyObject *
type_dict_item(PyObject *type, const char *name)
{
    PyObject *proxy = py.PyObject_GetAttrString(type, "__dict__"); /* owned */
    PyObject *item = NULL;

    if (proxy != NULL) {
        item = py.PyMapping_GetItemString(proxy, name);
        py.Py_DecRef(proxy);
    }
    return item;
}

static int
check_object_layout(char *why, size_t whylen)
{
    PyObject *d = py.PyDict_New(); /* owned */
    PyObject *mro = NULL;          /* owned */
    int r = -ENOTSUP;

    if (d == NULL) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    /* A new dict has refcount 1; one Py_IncRef makes it 2. */
    Py_ssize_t before = pycompat_refcnt(d);
    py.Py_IncRef(d);
    Py_ssize_t after = pycompat_refcnt(d);
    py.Py_DecRef(d);
    if (before != 1 || after != 2) {
        snprintf(why, whylen, "object header layout not recognised (refcount %zd/%zd)", before,
                 after);
        goto out;
    }
    PyObject *t = py.PyObject_Type(d); /* owned */
    py.Py_DecRef(t);
    if (t != pycompat_type(d) || t != py.PyDict_Type) {
        snprintf(why, whylen, "object header layout not recognised (ob_type)");
        goto out;
    }
    if (py.PyType_GetFlags(py.PyDict_Type) != pycompat_type_flags(py.PyDict_Type) ||
        py.PyType_GetFlags(py.PyType_Type) != pycompat_type_flags(py.PyType_Type)) {
        snprintf(why, whylen, "type object layout not recognised (tp_flags)");
        goto out;
    }
    if (int_attr(py.PyDict_Type, "__basicsize__") !=
            pycompat_ssize_field(py.PyDict_Type, PYCOMPAT_TP_BASICSIZE) ||
        int_attr(py.PyTuple_Type, "__itemsize__") !=
            pycompat_ssize_field(py.PyTuple_Type, PYCOMPAT_TP_ITEMSIZE)) {
        snprintf(why, whylen, "type object layout not recognised (tp_basicsize)");
        goto out;
    }
    mro = py.PyObject_GetAttrString(py.PyType_Type, "__mro__"); /* (type, object) */
    if (mro == NULL || pycompat_type(mro) != py.PyTuple_Type || py.PyTuple_Size(mro) != 2 ||
        pycompat_ssize_field(mro, PYCOMPAT_OB_SIZE) != 2 ||
        pycompat_field(mro, pyc.tuple_items) != (void *)py.PyTuple_GetItem(mro, 0) ||
        pycompat_field(mro, pyc.tuple_items + 8) != (void *)py.PyTuple_GetItem(mro, 1)) {
        snprintf(why, whylen, "tuple layout not recognised");
        goto out;
    }
    r = 0;
out:
    py.Py_DecRef(mro);
    py.Py_DecRef(d);
    return r;
}

/* A heap type (functools._CacheInfo, a namedtuple class) checks the slots
 * that matter for heap types: tp_traverse, tp_base, tp_dict, tp_dictoffset. */
static int
check_heap_type_layout(PyObject *functools, char *why, size_t whylen)
{
    PyObject *h = py.PyObject_GetAttrString(functools, "_CacheInfo"); /* owned */
    PyObject *module = NULL;                                          /* owned */
    PyObject *base = NULL;                                            /* owned */
    int r = -ENOTSUP;

    if (h == NULL) {
        /* functools is in sys.modules while it is still executing. */
        snprintf(why, whylen, "functools is still being imported");
        r = -ENOENT;
        goto out;
    }
    if ((pycompat_type_flags(h) & PYAPI_TPFLAGS_HEAPTYPE) == 0 ||
        (py.PyType_GetFlags(pycompat_type(h)) & PYAPI_TPFLAGS_TYPE_SUBCLASS) == 0) {
        snprintf(why, whylen, "functools._CacheInfo is not a heap type");
        goto out;
    }
    if (py.PyType_GetSlot(h, PYAPI_SLOT_TP_TRAVERSE) != pycompat_field(h, PYCOMPAT_TP_TRAVERSE) ||
        py.PyType_GetSlot(h, PYAPI_SLOT_TP_DEALLOC) != pycompat_field(h, PYCOMPAT_TP_DEALLOC) ||
        py.PyType_GetSlot(h, PYAPI_SLOT_TP_NEW) != pycompat_field(h, PYCOMPAT_TP_NEW) ||
        py.PyType_GetSlot(h, PYAPI_SLOT_TP_METHODS) != pycompat_field(h, PYCOMPAT_TP_METHODS)) {
        snprintf(why, whylen,
                 "type object layout not recognised (tp_traverse, tp_dealloc, tp_new, "
                 "tp_methods)");
        goto out;
    }
    base = py.PyObject_GetAttrString(h, "__base__");
    if (base == NULL || base != pycompat_field(h, PYCOMPAT_TP_BASE) ||
        int_attr(h, "__dictoffset__") != pycompat_ssize_field(h, PYCOMPAT_TP_DICTOFFSET)) {
        snprintf(why, whylen, "type object layout not recognised (tp_base)");
        goto out;
    }
    PyObject *dict = pycompat_type_dict(h); /* borrowed */
    if (py.PyType_GetDict != NULL) {
        PyObject *real = py.PyType_GetDict(h); /* owned, 3.12+ */
        py.Py_DecRef(real);
        if (real != dict) {
            snprintf(why, whylen, "type object layout not recognised (tp_dict)");
            goto out;
        }
    }
    module = type_dict_item(h, "__module__");
    if (dict == NULL || module == NULL || pycompat_type(dict) != py.PyDict_Type ||
        py.PyDict_GetItemString(dict, "__module__") != module) {
        snprintf(why, whylen, "type object layout not recognised (tp_dict)");
        goto out;
    }
    r = 0;
out:
    if (py.PyErr_Occurred() != NULL) {
        py.PyErr_Clear();
    }
    py.Py_DecRef(module);
    py.Py_DecRef(base);
    py.Py_DecRef(h);
    return r;
}

struct collect16 {
    PyObject *v[16];
    size_t n;
};

static int
collect16(PyObject *o, void *arg)
{
    struct collect16 *c = arg;

    if (c->n < 16) {
        c->v[c->n++] = o;
    }
    return 0;
}

/* Build a private bounded cache around the builtin id() (no user code),
 * fill it with two entries and check that every link read at the fixed
 * offsets holds the same key and result as the wrapper's tp_traverse
 * reports. Sets pyc.lru_links; on any mismatch bounded caches are read
 * through tp_traverse instead. */
static void
check_link_layout(PyObject *functools)
{
    PyObject *builtins = pycompat_import("builtins"); /* owned; always loaded */
    PyObject *id = builtins != NULL ? py.PyObject_GetAttrString(builtins, "id") : NULL;
    PyObject *info = py.PyObject_GetAttrString(functools, "_CacheInfo");
    PyObject *maxsize = py.PyLong_FromLong(4);
    PyObject *typed = py.PyLong_FromLong(0);
    /* Fresh object() instances: hashable, and nothing else refers to them. */
    PyObject *k1 = py.PyObject_CallObject(py.PyBaseObject_Type, NULL); /* owned */
    PyObject *k2 = py.PyObject_CallObject(py.PyBaseObject_Type, NULL); /* owned */
    PyObject *w = NULL;                                                /* owned */
    PyObject *r1 = NULL, *r2 = NULL;                                   /* owned */
    PyObject *seen[16];
    size_t n_seen = 0;

    pyc.lru_links = false;
    if (id != NULL && info != NULL && maxsize != NULL && typed != NULL && k1 != NULL &&
        k2 != NULL) {
        w = py.PyObject_CallFunctionObjArgs(pyc.lru_type, id, maxsize, typed, info, NULL);
    }
    if (w != NULL) {
        r1 = py.PyObject_CallFunctionObjArgs(w, k1, NULL);
        r2 = py.PyObject_CallFunctionObjArgs(w, k2, NULL);
    }
    if (r1 != NULL && r2 != NULL) {
        struct collect16 c = {.n = 0};
        pycompat_type_traverse(pyc.lru_type)(w, collect16, &c);
        memcpy(seen, c.v, sizeof(seen));
        n_seen = c.n;
    }
    pyc.lru_fields = false;
    if (n_seen > 0 && n_seen < 16) {
        /* The tail after two links: 3.10+ cache, func, kwd_mark, elem type,
         * info type; 3.8/3.9 func, cache, info type (no __dict__ here). */
        size_t t = pyc.lru_head + 2 * pyc.lru_per_link;
        size_t tail = pyc.lru_tail;
        PyObject *cache = pycompat_lru_object(w, PYCOMPAT_LRU_CACHE);
        PyObject *func = pycompat_lru_object(w, PYCOMPAT_LRU_FUNC);
        PyObject *kwd = pycompat_lru_object(w, PYCOMPAT_LRU_KWD_MARK);
        pyc.lru_fields =
            n_seen == t + tail && pycompat_field(w, (size_t)pyc.lru_dict_off) == NULL &&
            (pyc.lru_tail310 ? seen[t] == cache && seen[t + 1] == func && seen[t + 2] == kwd
                             : seen[t] == func && seen[t + 1] == cache) &&
            func == id;
    }
    if (n_seen > 0) {
        size_t head = pyc.lru_tail310 ? 1 : 0, per = pyc.lru_tail310 ? 3 : 2;
        PyObject *cache = pycompat_lru_object(w, PYCOMPAT_LRU_CACHE);
        Py_ssize_t pos = 0;
        PyObject *k, *link;
        int matched = 0;
        while (pycompat_type(cache) == py.PyDict_Type && py.PyDict_Next(cache, &pos, &k, &link)) {
            for (size_t i = 0; i < 2 && head + i * per + 1 < n_seen; i++) {
                if (seen[head + i * per] == k &&
                    pycompat_field(link, PYCOMPAT_LINK_KEY) == (void *)k &&
                    pycompat_field(link, PYCOMPAT_LINK_RESULT) ==
                        (void *)seen[head + i * per + 1]) {
                    matched++;
                }
            }
        }
        pyc.lru_links = matched == 2 && py.PyDict_Size(cache) == 2 && n_seen < 16;
    }
    if (py.PyErr_Occurred() != NULL) {
        py.PyErr_Clear();
    }
    py.Py_DecRef(r1);
    py.Py_DecRef(r2);
    py.Py_DecRef(w);
    py.Py_DecRef(k1);
    py.Py_DecRef(k2);
    py.Py_DecRef(typed);
    py.Py_DecRef(maxsize);
    py.Py_DecRef(info);
    py.Py_DecRef(id);
    py.Py_DecRef(builtins);
}

int
pycompat_init(char *why, size_t whylen)
{
    PyObject *functools = NULL;  /* owned */
    PyObject *cfunctools = NULL; /* owned */
    PyObject *name = NULL;       /* owned */
    int r;

    r = check_object_layout(why, whylen);
    if (r < 0) {
        goto out;
    }
    r = -ENOENT;
    name = py.PyUnicode_FromString("functools");
    functools = name != NULL ? py.PyImport_GetModule(name) : NULL;
    py.Py_DecRef(name);
    name = py.PyUnicode_FromString("_functools");
    cfunctools = name != NULL ? py.PyImport_GetModule(name) : NULL;
    if (functools == NULL || cfunctools == NULL) {
        snprintf(why, whylen, "functools is not imported");
        goto out;
    }
    r = check_heap_type_layout(functools, why, whylen);
    if (r < 0) {
        goto out;
    }
    pyc.lru_type = py.PyObject_GetAttrString(cfunctools, "_lru_cache_wrapper");
    if (pyc.lru_type == NULL) {
        snprintf(why, whylen, "functools is still being imported");
        r = -ENOENT;
        goto out;
    }
    r = -ENOTSUP;
    if ((py.PyType_GetFlags(pycompat_type(pyc.lru_type)) & PYAPI_TPFLAGS_TYPE_SUBCLASS) == 0) {
        snprintf(why, whylen, "_functools._lru_cache_wrapper is missing");
        goto out;
    }
    /* The wrapper's fixed tail: __dict__ sits 6 pointers
     * after `cache` in 3.8/3.9 (cache, hits, func, maxsize, misses,
     * cache_info_type) and 8 from 3.10 (+ kwd_mark, lru_list_elem_type).
     * Checked per wrapper against tp_traverse before any use. */
    pyc.lru_dict_off = pycompat_ssize_field(pyc.lru_type, PYCOMPAT_TP_DICTOFFSET);
    pyc.lru_cache_off = pyc.lru_dict_off - (pyc.lru_tail310 ? 8 : 6) * 8;
    if (pyc.lru_dict_off <= 0 || pyc.lru_cache_off < 16 ||
        pyc.lru_dict_off != int_attr(pyc.lru_type, "__dictoffset__")) {
        snprintf(why, whylen, "lru_cache wrapper layout not recognised (__dictoffset__)");
        goto out;
    }
    check_link_layout(functools);
    pyc.subclasses = type_dict_item(py.PyType_Type, "__subclasses__");
    pyc.object_sizeof = type_dict_item(py.PyBaseObject_Type, "__sizeof__");
    if (pyc.subclasses == NULL || pyc.object_sizeof == NULL) {
        snprintf(why, whylen, "type.__subclasses__ or object.__sizeof__ missing");
        goto out;
    }
    r = 0;
out:
    if (py.PyErr_Occurred() != NULL) {
        py.PyErr_Clear();
    }
    py.Py_DecRef(name);
    py.Py_DecRef(functools);
    py.Py_DecRef(cfunctools);
    return r;
}

/* 3.11 (Include/internal/pycore_frame.h, unchanged through 3.11.x):
 * PyFrameObject.f_frame at +24; _PyInterpreterFrame: f_func +0, f_globals +8,
 * f_builtins +16, f_locals +24, f_code +32, frame_obj +40, previous +48,
 * prev_instr +56, stacktop +64, is_entry +68, owner +69, localsplus +72. */
#define PY311_FRAME_F_FRAME 24
#define PY311_IFRAME_GLOBALS 8
#define PY311_IFRAME_CODE 32
#define PY311_IFRAME_LOCALSPLUS 72

Py_ssize_t
pycompat_frame_locals311(PyObject *frame, PyObject *code, PyObject *globals, PyObject ***ret)
{
    char *iframe;

    if (pyc.frame_locals != PYCOMPAT_LOCALS_IFRAME || code == NULL || globals == NULL) {
        return -1;
    }
    iframe = pycompat_field(frame, PY311_FRAME_F_FRAME);
    /* Trust the layout only when it names the same code and globals as the
     * frame's own getters. */
    if (iframe == NULL || pycompat_field((PyObject *)iframe, PY311_IFRAME_CODE) != (void *)code ||
        pycompat_field((PyObject *)iframe, PY311_IFRAME_GLOBALS) != (void *)globals) {
        return -1;
    }
    /* co_nlocalsplus = locals + cells + free variables. */
    Py_ssize_t n = 0;
    static const char *const kinds[] = {"co_varnames", "co_cellvars", "co_freevars"};
    for (size_t k = 0; k < 3; k++) {
        PyObject *names = py.PyObject_GetAttrString(code, kinds[k]); /* owned */
        if (names == NULL) {
            py.PyErr_Clear();
            return -1;
        }
        n += py.PyTuple_Size(names);
        py.Py_DecRef(names);
    }
    *ret = (PyObject **)(iframe + PY311_IFRAME_LOCALSPLUS);
    return n;
}
