/* SPDX-License-Identifier: MIT */
/*
 * scan-discover: find every functools._lru_cache_wrapper of the main
 * interpreter.
 *
 * Once the registry (registry.h) is complete - the agent learns of every
 * wrapper when it is made - a sample takes the wrappers from it and walks
 * nothing: the classes and module globals only when a wrapper that a
 * namespace may name was born since the last walk, or on a full sample (to
 * classify: method, classmethod, staticmethod, property, function, or
 * found nowhere, which makes a wrapper "inner").
 *
 * Until then (the first sample, an agent whose hooks could not go in), a
 * sample walks: type.__subclasses__() recursed from object, looking into
 * each heap type's dict (directly, or inside classmethod, staticmethod and
 * property objects), then every module's globals, O(classes + module
 * globals); it also sees classes hidden from gc.get_objects() by
 * gc.freeze(). Wrappers that live elsewhere (closures, instance dicts: the
 * per-instance fix) are found by the full path - a walk of every GC object
 * - which seeds the registry; without a registry it runs on the first
 * sample, on request, at exit and now and then, and from 3.9 on the
 * wrappers it finds are remembered through weak references so later cheap
 * samples see them too.
 * Runs with the GIL.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "pycompat.h"
#include "registry.h"
#include "scan-internal.h"

static int
record(struct scan *s, PyObject *w, enum snapshot_kind kind)
{
    if (objmap_get(&s->wrapper_index, w) != OBJMAP_ABSENT) {
        return 0;
    }
    if (s->n_wrappers == s->cap_wrappers) {
        size_t cap = s->cap_wrappers != 0 ? s->cap_wrappers * 2 : 128;
        struct wrapper *p = realloc(s->wrappers, cap * sizeof(*p));
        if (p == NULL) {
            return -ENOMEM;
        }
        s->wrappers = p;
        s->cap_wrappers = cap;
    }
    if (objmap_put(&s->wrapper_index, w, (uint32_t)s->n_wrappers) == OBJMAP_ABSENT) {
        return -ENOMEM;
    }
    py.Py_IncRef(w);
    s->wrappers[s->n_wrappers++] = (struct wrapper){.obj = w, .kind = kind, .maxsize = -1};
    return 0;
}

/* A value found in a class namespace: the wrapper itself, or one inside a
 * classmethod / staticmethod / property (read through their tp_traverse,
 * which calls no Python code). */
static int
class_value(struct scan *s, PyObject *v)
{
    PyObject *t = pycompat_type(v);
    enum snapshot_kind kind;
    int r;

    if (pycompat_is_lru(v)) {
        return record(s, v, SNAPSHOT_METHOD);
    }
    if (t == py.PyClassMethod_Type) {
        kind = SNAPSHOT_CLASSMETHOD;
    } else if (t == py.PyStaticMethod_Type) {
        kind = SNAPSHOT_STATICMETHOD;
    } else if (t == py.PyProperty_Type || ((pycompat_type_flags(t) & PYAPI_TPFLAGS_HEAPTYPE) != 0 &&
                                           py.PyType_IsSubtype(t, py.PyProperty_Type))) {
        kind = SNAPSHOT_METHOD;
    } else {
        return 0;
    }
    r = scan_traverse_collect(s, v);
    for (size_t i = 0; r >= 0 && i < s->visit.n; i++) {
        if (pycompat_is_lru(s->visit.v[i])) {
            r = record(s, s->visit.v[i], kind);
        }
    }
    return r;
}

static int
walk_classes(struct scan *s)
{
    struct objmap seen;
    size_t first = s->held.n; /* the queue is the tail of s->held */
    int r;

    objmap_init(&seen);
    r = scan_hold(s, py.PyBaseObject_Type);
    objmap_put(&seen, py.PyBaseObject_Type, 0);
    for (size_t i = first; r >= 0 && i < s->held.n; i++) {
        PyObject *type = s->held.v[i]; /* held */
        PyObject *dict = (pycompat_type_flags(type) & PYAPI_TPFLAGS_HEAPTYPE) != 0
                             ? pycompat_type_dict(type)
                             : NULL; /* borrowed */
        if (dict != NULL && pycompat_type(dict) == py.PyDict_Type) {
            Py_ssize_t pos = 0;
            PyObject *k, *v;
            while (r >= 0 && py.PyDict_Next(dict, &pos, &k, &v)) {
                r = class_value(s, v);
            }
        }
        PyObject *subs = py.PyObject_CallFunctionObjArgs(pyc.subclasses, type, NULL); /* owned */
        if (subs == NULL) {
            scan_clear_error();
            continue;
        }
        Py_ssize_t n = py.PyList_Size(subs);
        for (Py_ssize_t j = 0; r >= 0 && j < n; j++) {
            PyObject *sub = py.PyList_GetItem(subs, j); /* borrowed */
            if (sub != NULL && objmap_get(&seen, sub) == OBJMAP_ABSENT) {
                if (objmap_put(&seen, sub, 0) == OBJMAP_ABSENT) {
                    r = -ENOMEM;
                    break;
                }
                r = scan_hold(s, sub);
            }
        }
        /* We hold every class it listed, so freeing the list frees no class. */
        py.Py_DecRef(subs);
        scan_clear_error();
        if (r >= 0) {
            r = scan_check_stop(s);
        }
    }
    objmap_done(&seen);
    return r;
}

/* A module (or an instance of a module subclass) in sys.modules. */
static bool
is_module(PyObject *o)
{
    PyObject *t = pycompat_type(o);

    return t == py.PyModule_Type || ((pycompat_type_flags(t) & PYAPI_TPFLAGS_HEAPTYPE) != 0 &&
                                     py.PyType_IsSubtype(t, py.PyModule_Type));
}

static int
walk_modules(struct scan *s)
{
    PyObject *modules = py.PySys_GetObject("modules"); /* borrowed */
    size_t first = s->held.n;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    int r = 0;

    if (modules == NULL || pycompat_type(modules) != py.PyDict_Type) {
        return 0;
    }
    s->modules_stopped = true; /* every module dict goes into s->stop below */
    while (r >= 0 && py.PyDict_Next(modules, &pos, &k, &v)) {
        if (is_module(v)) {
            r = scan_hold(s, v);
        }
    }
    for (size_t i = first; r >= 0 && i < s->held.n; i++) {
        PyObject *dict = py.PyModule_GetDict(s->held.v[i]); /* borrowed */
        if (dict == NULL || pycompat_type(dict) != py.PyDict_Type) {
            scan_clear_error();
            continue;
        }
        /* Module globals are alive by definition: the graph walk stops here. */
        if (objmap_put(&s->stop, dict, 0) == OBJMAP_ABSENT) {
            return -ENOMEM;
        }
        pos = 0;
        while (r >= 0 && py.PyDict_Next(dict, &pos, &k, &v)) {
            if (pycompat_is_lru(v)) {
                r = record(s, v, SNAPSHOT_FUNCTION);
            }
        }
        if (r >= 0) {
            r = scan_check_stop(s);
        }
    }
    return r;
}

static int
walk_known(struct scan *s)
{
    int r = 0;

    if (s->known == NULL) {
        return 0;
    }
    Py_ssize_t n = py.PyList_Size(s->known);
    for (Py_ssize_t i = 0; r >= 0 && i < n; i++) {
        PyObject *w = py.PyWeakref_GetObject(py.PyList_GetItem(s->known, i)); /* borrowed */
        if (w != NULL && w != py._Py_NoneStruct && pycompat_is_lru(w)) {
            r = record(s, w, SNAPSHOT_FUNCTION);
        }
    }
    scan_clear_error();
    return r;
}

/* ---- the full walk ----------------------------------------------------------------- */

static int
visit_gc_object(PyObject *o, void *arg)
{
    struct scan *s = arg;

    /* No allocation of Python objects in here (the GC lists are being
     * walked); record() only increfs and grows C arrays. */
    if (pycompat_is_lru(o) && record(s, o, SNAPSHOT_FUNCTION) < 0) {
        return 0; /* stop: out of memory */
    }
    return 1;
}

static int
walk_gc_list(struct scan *s)
{
    PyObject *gc = pycompat_import("gc"); /* owned; builtin */
    PyObject *get_objects = NULL;         /* owned */
    PyObject *all = NULL;                 /* owned */
    int r = 0;

    get_objects = gc != NULL ? py.PyObject_GetAttrString(gc, "get_objects") : NULL;
    all = get_objects != NULL ? py.PyObject_CallObject(get_objects, NULL) : NULL;
    if (all == NULL) {
        scan_clear_error();
        goto out;
    }
    Py_ssize_t n = py.PyList_Size(all);
    for (Py_ssize_t i = 0; r >= 0 && i < n; i++) {
        PyObject *o = py.PyList_GetItem(all, i); /* borrowed from the list */
        if (pycompat_is_lru(o)) {
            r = record(s, o, SNAPSHOT_FUNCTION);
        }
        if ((i & 4095) == 4095 && r >= 0) {
            r = scan_check_stop(s);
        }
    }
    /* The list may hold the last reference of objects the program dropped
     * while we walked: adopt those, so that freeing the list frees nothing
     * but the list on this thread. */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = py.PyList_GetItem(all, i);
        if (o != NULL && pycompat_refcnt(o) == 1) {
            py.Py_IncRef(o);
            scan_release(s, o);
        }
    }
out:
    py.Py_DecRef(all);
    py.Py_DecRef(get_objects);
    py.Py_DecRef(gc);
    scan_clear_error();
    return r;
}

/* ---- the frozen heap ------------------------------------------------------------------ */

/* gc.freeze() moves objects where neither gc.get_objects() nor (before
 * 3.13.5, gh-131740) PyUnstable_GC_VisitObjects look. Wrappers there that
 * no class or module names - per-instance caches in frozen instance dicts,
 * caches in frozen closures - are found by following references from the
 * roots: module globals, class dicts and every thread's frames. Only the
 * frontier is held strongly; visited objects are remembered by address. */
#define SCAN_FROZEN_MAX_VISITS 8000000

struct frozen_walk {
    struct scan *s;
    struct objmap seen;
    struct ptrvec stack; /* strong references */
    int err;
};

static void
frozen_push(struct frozen_walk *fw, PyObject *o)
{
    bool fresh_slot;

    if (o == NULL || fw->err < 0 || !pycompat_is_gc(o) || pycompat_is_immortal(o)) {
        return;
    }
    fresh_slot = objmap_get(&fw->seen, o) == OBJMAP_ABSENT;
    if (!fresh_slot) {
        return;
    }
    if (objmap_put(&fw->seen, o, 0) == OBJMAP_ABSENT || ptrvec_push(&fw->stack, o) < 0) {
        fw->err = -ENOMEM;
        return;
    }
    py.Py_IncRef(o);
}

static int
frozen_visit(PyObject *o, void *arg)
{
    if (pycompat_is_live(o)) {
        frozen_push(arg, o);
    }
    return 0;
}

static bool
heap_is_frozen(void)
{
    PyObject *gc = pycompat_import("gc"); /* owned; builtin */
    PyObject *fn = gc != NULL ? py.PyObject_GetAttrString(gc, "get_freeze_count") : NULL;
    PyObject *n = fn != NULL ? py.PyObject_CallObject(fn, NULL) : NULL;
    bool frozen = n != NULL && py.PyLong_AsSsize_t(n) > 0;

    py.Py_DecRef(n);
    py.Py_DecRef(fn);
    py.Py_DecRef(gc);
    scan_clear_error();
    return frozen;
}

/* Push the locals of a running frame (see pycompat frame_locals). */
static void
frame_locals(struct frozen_walk *fw, PyObject *frame)
{
    PyObject *code = NULL, *proxy = NULL, *values = NULL, *list = NULL; /* owned */

    if (pyc.frame_locals == PYCOMPAT_LOCALS_PROXY) {
        proxy = py.PyObject_GetAttrString(frame, "f_locals");
        values = proxy != NULL ? py.PyObject_GetAttrString(proxy, "values") : NULL;
        list = values != NULL ? py.PyObject_CallObject(values, NULL) : NULL;
        if (list != NULL && pycompat_type(list) == py.PyList_Type) {
            for (Py_ssize_t i = 0; i < py.PyList_Size(list); i++) {
                frozen_push(fw, py.PyList_GetItem(list, i));
            }
        }
    } else if (pyc.frame_locals == PYCOMPAT_LOCALS_IFRAME) {
        PyObject *globals = py.PyObject_GetAttrString(frame, "f_globals"); /* owned */
        PyObject **slots;
        code = py.PyObject_GetAttrString(frame, "f_code");
        Py_ssize_t n = pycompat_frame_locals311(frame, code, globals, &slots);
        for (Py_ssize_t i = 0; i < n; i++) {
            frozen_push(fw, slots[i]);
        }
        py.Py_DecRef(globals);
    } else if (pyc.frame_locals == PYCOMPAT_LOCALS_GETVAR && py.PyFrame_GetVar != NULL) {
        static const char *const kinds[] = {"co_varnames", "co_cellvars", "co_freevars"};
        code = py.PyObject_GetAttrString(frame, "f_code");
        for (size_t k = 0; code != NULL && k < 3; k++) {
            PyObject *names = py.PyObject_GetAttrString(code, kinds[k]); /* owned */
            Py_ssize_t n = names != NULL ? py.PyTuple_Size(names) : 0;
            for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *v = py.PyFrame_GetVar(frame, py.PyTuple_GetItem(names, i));
                frozen_push(fw, v);
                py.Py_DecRef(v);
                scan_clear_error(); /* NameError: not bound yet */
            }
            py.Py_DecRef(names);
        }
    }
    py.Py_DecRef(list);
    py.Py_DecRef(values);
    py.Py_DecRef(proxy);
    py.Py_DecRef(code);
    scan_clear_error();
}

static int
walk_frozen(struct scan *s, size_t roots_from)
{
    struct frozen_walk fw = {.s = s};
    PyObject *frames = NULL; /* owned */
    size_t visits = 0;
    int r = 0;

    objmap_init(&fw.seen);
    /* Roots: the classes and modules the cheap walks hold, their dicts, and
     * the frames of every thread (locals of running functions). */
    for (size_t i = roots_from; i < s->held.n; i++) {
        frozen_push(&fw, s->held.v[i]);
    }
    PyObject *current_frames = py.PySys_GetObject("_current_frames"); /* borrowed */
    frames = current_frames != NULL ? py.PyObject_CallObject(current_frames, NULL) : NULL;
    if (frames != NULL && pycompat_type(frames) == py.PyDict_Type) {
        Py_ssize_t pos = 0;
        PyObject *k, *v;
        while (py.PyDict_Next(frames, &pos, &k, &v)) {
            /* Outer frames are created on demand since 3.11 (a frame's
             * traverse does not reach them): follow f_back, a C getter. */
            PyObject *f = v; /* owned below */
            py.Py_IncRef(f);
            for (int depth = 0; f != NULL && f != py._Py_NoneStruct && depth < 1000; depth++) {
                frozen_push(&fw, f);
                frame_locals(&fw, f);
                PyObject *back = py.PyObject_GetAttrString(f, "f_back");
                py.Py_DecRef(f);
                f = back;
            }
            py.Py_DecRef(f);
        }
    }
    scan_clear_error();
    while (fw.stack.n > 0 && fw.err == 0 && r >= 0) {
        PyObject *o = fw.stack.v[--fw.stack.n]; /* held */
        if (pycompat_is_lru(o)) {
            r = record(s, o, SNAPSHOT_FUNCTION);
            /* Its cache is read later; follow only what may hold more
             * wrappers: the cached function and the __dict__. */
            frozen_push(&fw, pycompat_lru_object(o, PYCOMPAT_LRU_FUNC));
            frozen_push(&fw, pycompat_field(o, (size_t)pyc.lru_dict_off));
        } else if (objmap_get(&s->stop, o) == OBJMAP_ABSENT || pycompat_type(o) == py.PyDict_Type) {
            pyapi_traverseproc_fn traverse = pycompat_type_traverse(pycompat_type(o));
            if (traverse != NULL) {
                traverse(o, frozen_visit, &fw);
            }
        }
        scan_release(s, o);
        if ((++visits & 255) == 0) {
            if (visits >= SCAN_FROZEN_MAX_VISITS) {
                s->truncated = true;
                break;
            }
            r = scan_check_stop(s);
        }
    }
    while (fw.stack.n > 0) {
        scan_release(s, fw.stack.v[--fw.stack.n]);
    }
    py.Py_DecRef(frames);
    free(fw.stack.v);
    objmap_done(&fw.seen);
    return r < 0 ? r : fw.err;
}

static void
remember(struct scan *s)
{
    PyObject *known;

    if (!pyc.lru_weakref) {
        return; /* 3.8: wrappers take no weak references */
    }
    known = py.PyList_New(0);
    if (known == NULL) {
        scan_clear_error();
        return;
    }
    for (size_t i = 0; i < s->n_wrappers; i++) {
        if (s->wrappers[i].kind != SNAPSHOT_FUNCTION) {
            continue; /* class and module walks find the others anyway */
        }
        PyObject *ref = py.PyWeakref_NewRef(s->wrappers[i].obj, NULL);
        if (ref == NULL || py.PyList_Append(known, ref) < 0) {
            scan_clear_error();
        }
        py.Py_DecRef(ref);
    }
    py.Py_DecRef(s->known);
    s->known = known;
}

/* ---- the registry ---------------------------------------------------------------------- */

/* Module dicts stop the graph walk (module globals are alive by
 * definition); walk_modules adds them while it looks for wrappers, this
 * only adds them: O(modules), once a sample, when a walk needs them (a
 * steady sample walks nothing). */
int
scan_stop_modules(struct scan *s)
{
    PyObject *modules = py.PySys_GetObject("modules"); /* borrowed */
    Py_ssize_t pos = 0;
    PyObject *k, *v;

    if (s->modules_stopped) {
        return 0;
    }
    s->modules_stopped = true;
    if (modules == NULL || pycompat_type(modules) != py.PyDict_Type) {
        return 0;
    }
    while (py.PyDict_Next(modules, &pos, &k, &v)) {
        if (!is_module(v)) {
            continue;
        }
        PyObject *dict = py.PyModule_GetDict(v); /* borrowed; no Python code runs */
        if (dict == NULL || pycompat_type(dict) != py.PyDict_Type) {
            scan_clear_error();
            continue;
        }
        if (objmap_put(&s->stop, dict, 0) == OBJMAP_ABSENT) {
            s->modules_stopped = false;
            return -ENOMEM;
        }
    }
    return 0;
}

/* A wrapper that class walks found nowhere this many times is classified
 * as found nowhere. Once is not enough: a method's wrapper is made while
 * its class body runs, and a sample taken then finds no class yet. */
#define SCAN_NOWHERE_WALKS 2

/* Wrappers born since the last class walk that a class or module may
 * name: those need one. A wrapper of a bound method (lru_cache()(self.f),
 * the per-instance cache) never sits in a namespace of its own: it is
 * classified at once. */
static bool
registry_needs_walk(void)
{
    PyObject *w;
    uint32_t info;
    bool walk = false;

    for (size_t pos = 0; registry_next(&pos, &w, &info);) {
        if (info & REGISTRY_CLASSIFIED) {
            continue;
        }
        PyObject *func = pycompat_lru_object(w, PYCOMPAT_LRU_FUNC);
        if (func != NULL && pycompat_type(func) == py.PyMethod_Type) {
            registry_classify(w, REGISTRY_CLASSIFIED |
                                     ((uint32_t)SNAPSHOT_FUNCTION << REGISTRY_KIND_SHIFT));
        } else {
            walk = true;
        }
    }
    return walk;
}

/* Record every registered wrapper the class and module walks did not (as
 * they found it last time, unless they just ran: then as found nowhere). */
static int
walk_registry(struct scan *s, bool walked)
{
    PyObject *w;
    uint32_t info;
    int r = 0;

    for (size_t pos = 0; r >= 0 && registry_next(&pos, &w, &info);) {
        if (objmap_get(&s->wrapper_index, w) != OBJMAP_ABSENT) {
            continue;
        }
        bool known = !walked && (info & REGISTRY_CLASSIFIED) != 0;
        enum snapshot_kind kind =
            known ? (enum snapshot_kind)(info >> REGISTRY_KIND_SHIFT) : SNAPSHOT_FUNCTION;
        r = record(s, w, kind);
        if (r >= 0) {
            s->wrappers[s->n_wrappers - 1].named = known && (info & REGISTRY_NAMED) != 0;
        }
    }
    return r;
}

/* Keep what this sample's walks learnt of each wrapper for the next. */
static void
classify_recorded(struct scan *s)
{
    for (size_t i = 0; i < s->n_wrappers; i++) {
        const struct wrapper *w = &s->wrappers[i];
        uint32_t info = REGISTRY_CLASSIFIED | (w->named ? REGISTRY_NAMED : 0) |
                        ((uint32_t)w->kind << REGISTRY_KIND_SHIFT);
        uint32_t old;
        if (!w->named && registry_info(w->obj, &old) && (old & REGISTRY_CLASSIFIED) == 0) {
            uint32_t missed = (old >> REGISTRY_MISSED_SHIFT) + 1;
            if (missed < SCAN_NOWHERE_WALKS) {
                info = missed << REGISTRY_MISSED_SHIFT; /* still unclassified */
            }
        }
        registry_classify(w->obj, info);
    }
}

/* Seed the registry with what a full walk found. */
static int
seed_registry(struct scan *s)
{
    PyObject **objs = malloc((s->n_wrappers + 1) * sizeof(*objs));

    if (objs == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->n_wrappers; i++) {
        objs[i] = s->wrappers[i].obj;
    }
    int r = registry_seed(objs, s->n_wrappers);
    free(objs);
    if (r == 0) {
        classify_recorded(s);
    }
    return r;
}

/* ---- discovery ---------------------------------------------------------------------------- */

int
scan_discover(struct scan *s, bool full)
{
    size_t roots_from = s->held.n;
    bool registry = registry_complete();
    /* With a complete registry the classes are walked only to classify
     * (full: now and then, to see wrappers moved between namespaces). A
     * registry waiting for its seed gets it from this sample. */
    bool walk = !registry || full || registry_needs_walk();
    full = full || (registry_installed() && !registry);
    int r = 0;

    if (walk) {
        r = walk_classes(s);
        if (r >= 0) {
            r = walk_modules(s);
        }
        /* A class or a module names these: never part of a dead object graph. */
        for (size_t i = 0; i < s->n_wrappers; i++) {
            s->wrappers[i].named = true;
        }
    }
    if (r >= 0 && registry) {
        r = walk_registry(s, walk);
        if (r >= 0 && walk) {
            classify_recorded(s);
        }
        return r;
    }
    if (r >= 0 && !full) {
        r = walk_known(s);
    }
    if (r >= 0 && full) {
        if (pyc.gc_visit && py.PyUnstable_GC_VisitObjects != NULL) {
            py.PyUnstable_GC_VisitObjects(visit_gc_object, s);
        } else {
            r = walk_gc_list(s);
        }
        if (r >= 0 && heap_is_frozen()) {
            r = walk_frozen(s, roots_from);
        }
        if (r >= 0) {
            remember(s);
        }
        if (r >= 0 && registry_installed() && !s->truncated) {
            r = seed_registry(s);
        }
    }
    return r;
}
