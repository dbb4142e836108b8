/* SPDX-License-Identifier: MIT */
/*
 * pymodule: see pymodule.h. The module and method tables are declared here
 * with the stable-ABI layouts of PyModuleDef and PyMethodDef, since the
 * agent never includes Python.h. Free-threaded and unknown interpreters are
 * refused with an ImportError-like RuntimeError before any table is
 * handed over.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "pycompat.h"
#include "pymodule.h"
#include "sampler.h"

#define PYTHON_API_VERSION 1013
#define METH_VARARGS 0x0001

struct module_def {
    Py_ssize_t ob_refcnt; /* PyModuleDef_HEAD_INIT: PyObject_HEAD ... */
    PyObject *ob_type;
    PyObject *(*m_init)(void);
    Py_ssize_t m_index;
    PyObject *m_copy; /* ... */
    const char *m_name;
    const char *m_doc;
    Py_ssize_t m_size;
    struct pyapi_method_def *m_methods;
    void *m_slots, *m_traverse, *m_clear, *m_free;
};

static PyObject *
none(void)
{
    py.Py_IncRef(py._Py_NoneStruct);
    return py._Py_NoneStruct;
}

static PyObject *
bool_value(bool v)
{
    return py.PyBool_FromLong(v ? 1 : 0);
}

/* start() or start(options): options is the attach text (attachopt.h),
 * what `lruleak attach` passes through sys.remote_exec on 3.14+. */
static PyObject *
mod_start(PyObject *self, PyObject *args)
{
    const char *options = NULL;
    int r;

    if (py.PyTuple_Size(args) > 1) {
        py.PyErr_SetString(py.PyExc_RuntimeError, "start(options=None) takes one argument");
        return NULL;
    }
    if (py.PyTuple_Size(args) == 1) {
        PyObject *arg = py.PyTuple_GetItem(args, 0); /* borrowed */
        if (arg != py._Py_NoneStruct) {
            if (pycompat_type(arg) != py.PyUnicode_Type) {
                py.PyErr_SetString(py.PyExc_RuntimeError, "start(): options must be a str");
                return NULL;
            }
            options = py.PyUnicode_AsUTF8AndSize(arg, NULL);
            if (options == NULL) {
                return NULL;
            }
        }
    }
    /* The attach path joins threads that have left for good only, but a
     * start must not hold the GIL while it waits for anything. */
    void *ts = py.PyEval_SaveThread();
    r = options != NULL ? agent_attach(options) : agent_start();
    py.PyEval_RestoreThread(ts);
    if (r < 0) {
        /* "[errno N]": `lruleak attach` reads the cause from the text. */
        char msg[160];
        snprintf(msg, sizeof(msg), "%s [errno %d]", strerror(-r), -r);
        py.PyErr_SetString(py.PyExc_RuntimeError, msg);
        return NULL;
    }
    return none();
}

/* The optional positional `full` of snapshot() and pinned() (`all` of
 * pinned_new()). Returns 0, or -1 with an exception set. */
static int
parse_full(PyObject *args, const char *usage, bool *full)
{
    if (py.PyTuple_Size(args) > 1) {
        py.PyErr_SetString(py.PyExc_RuntimeError, usage);
        return -1;
    }
    if (py.PyTuple_Size(args) == 1) {
        int t = py.PyObject_IsTrue(py.PyTuple_GetItem(args, 0));
        if (t < 0) {
            return -1;
        }
        *full = t != 0;
    }
    return 0;
}

static PyObject *
mod_snapshot(PyObject *self, PyObject *args)
{
    char why[256];
    bool full = false;
    PyObject *json = NULL, *loads = NULL, *text = NULL, *result = NULL; /* owned */
    char *copy = NULL;

    if (parse_full(args, "snapshot(full=False) takes one argument", &full) < 0) {
        return NULL;
    }
    if (sampler_sample_here(full, NULL, NULL, why, sizeof(why)) < 0) {
        py.PyErr_SetString(py.PyExc_RuntimeError, why);
        return NULL;
    }
    pthread_mutex_lock(&agent.lock);
    copy = agent.latest != NULL ? strdup(agent.latest) : NULL;
    pthread_mutex_unlock(&agent.lock);
    if (copy == NULL) {
        py.PyErr_SetString(py.PyExc_RuntimeError, "no sample available");
        return NULL;
    }
    json = py.PyImport_ImportModule("json");
    loads = json != NULL ? py.PyObject_GetAttrString(json, "loads") : NULL;
    text = loads != NULL ? py.PyUnicode_FromString(copy) : NULL;
    result = text != NULL ? py.PyObject_CallFunctionObjArgs(loads, text, NULL) : NULL;
    py.Py_DecRef(text);
    py.Py_DecRef(loads);
    py.Py_DecRef(json);
    free(copy);
    return result;
}

/* A sample on this thread whose pinned selves go into a new list, or NULL
 * with an exception set. all: see sampler_sample_here. */
static PyObject *
pinned_rows(bool full, bool *all)
{
    char why[256];
    PyObject *out = py.PyList_New(0); /* owned */

    if (out != NULL && sampler_sample_here(full, out, all, why, sizeof(why)) < 0) {
        py.Py_DecRef(out);
        py.PyErr_SetString(py.PyExc_RuntimeError, why);
        return NULL;
    }
    return out;
}

static PyObject *
mod_pinned(PyObject *self, PyObject *args)
{
    bool full = true;

    if (parse_full(args, "pinned(full=True) takes one argument", &full) < 0) {
        return NULL;
    }
    return pinned_rows(full, NULL);
}

/* pinned_new(all=False) -> (all, rows): rows as pinned(False); when all
 * is False they hold only the objects no earlier pinned_new() call
 * returned, and every object those calls returned is still pinned, in the
 * same row. pinned_new(True) returns every pinned object. */
static PyObject *
mod_pinned_new(PyObject *self, PyObject *args)
{
    bool all = false;

    if (parse_full(args, "pinned_new(all=False) takes one argument", &all) < 0) {
        return NULL;
    }
    PyObject *out = pinned_rows(false, &all); /* owned */
    PyObject *pair = out != NULL ? py.PyTuple_New(2) : NULL;
    if (pair == NULL) {
        py.Py_DecRef(out);
        return NULL;
    }
    /* A new 2-tuple: each SetItem takes its item and cannot fail. */
    py.PyTuple_SetItem(pair, 0, bool_value(all));
    py.PyTuple_SetItem(pair, 1, out);
    return pair;
}

static PyObject *
mod_record(PyObject *self, PyObject *args)
{
    PyObject *line = py.PyTuple_Size(args) == 1 ? py.PyTuple_GetItem(args, 0) : NULL; /* borrowed */
    const char *s = NULL;
    Py_ssize_t n = 0;
    char why[160];
    int r;

    if (line != NULL && pycompat_type(line) == py.PyUnicode_Type) {
        s = py.PyUnicode_AsUTF8AndSize(line, &n);
    }
    if (s == NULL) {
        py.PyErr_SetString(py.PyExc_RuntimeError, "record(line) takes one str");
        return NULL;
    }
    r = agent_record_client_line(s, (size_t)n, why, sizeof(why));
    if (r < 0) {
        py.PyErr_SetString(py.PyExc_RuntimeError, why);
        return NULL;
    }
    return bool_value(r > 0);
}

static struct pyapi_method_def methods[] = {
    {"start", mod_start, METH_VARARGS,
     "start(options=None): start sampling in this process (options: see lruleak attach)."},
    {"snapshot", mod_snapshot, METH_VARARGS,
     "snapshot(full=False) -> dict: take a sample now (see lruleak's agent/README.md)."},
    {"pinned", mod_pinned, METH_VARARGS,
     "pinned(full=True) -> list: take a sample now and return, per cache with pinned\n"
     "objects, a dict (qualname, module, file, line, kind, maxsize, objects). The\n"
     "sample is not published; drop the objects once their identities are noted."},
    {"pinned_new", mod_pinned_new, METH_VARARGS,
     "pinned_new(all=False) -> (all, list): pinned(False), but when all is False the\n"
     "rows hold only the objects no earlier pinned_new() call returned (every one of\n"
     "those is still pinned, in the same row). For one caller per process: the pytest\n"
     "plugin."},
    {"record", mod_record, METH_VARARGS,
     "record(line) -> bool: append a JSON object of type test or session (one line,\n"
     "pid = this process) to the agent's recording; False when not recording."},
    {NULL, NULL, 0, NULL},
};

static struct module_def module = {
    /* Never freed: an immortal-looking refcount, as PyModuleDef_HEAD_INIT. */
    .ob_refcnt = 0xFFFFFFFF,
    .m_name = "_lruleak",
    .m_doc = "lruleak agent: objects pinned by functools.lru_cache.",
    .m_size = -1,
    .m_methods = methods,
};

PyObject *
pymodule_init(void)
{
    const char *missing = NULL;
    char why[256];
    PyObject *m;

    if (pyapi_resolve(&missing) < 0) {
        return NULL; /* cannot even raise: no Python API */
    }
    if (pycompat_check_version(py.Py_GetVersion(), why, sizeof(why)) < 0) {
        py.PyErr_SetString(py.PyExc_RuntimeError, why);
        return NULL;
    }
    m = py.PyModule_Create2(&module, PYTHON_API_VERSION);
    if (m != NULL) {
        PyObject *v = py.PyUnicode_FromString(LRULEAK_VERSION);
        PyObject *d = py.PyModule_GetDict(m); /* borrowed */
        if (v == NULL || d == NULL) {
            py.Py_DecRef(v);
            py.Py_DecRef(m);
            return NULL;
        }
        /* Module dicts are plain dicts; use the generic attribute path. */
        PyObject *setattr = py.PyObject_GetAttrString(m, "__setattr__");
        PyObject *name = py.PyUnicode_FromString("__version__");
        PyObject *res = setattr != NULL && name != NULL
                            ? py.PyObject_CallFunctionObjArgs(setattr, name, v, NULL)
                            : NULL;
        py.Py_DecRef(res);
        py.Py_DecRef(name);
        py.Py_DecRef(setattr);
        py.Py_DecRef(v);
        if (res == NULL) {
            py.Py_DecRef(m);
            return NULL;
        }
    }
    return m;
}
