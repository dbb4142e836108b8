/* SPDX-License-Identifier: MIT */
/*
 * scan-pinned: hands the pinned selves of one sample to Python, for the
 * in-process API _lruleak.pinned() that per-test attribution (the pytest
 * plugin) is built on. A pinned self is an object; what the caller does
 * with it (id(), a weak reference to tell a new object at a reused address
 * from the old one) is its business, so the objects themselves are handed
 * over, one list per row.
 *
 * Runs inside scan_run, after the graph walk and before the sample's
 * references are released: every pinned self is still held by the node
 * table, so no object can go away under us. Builds only built-in
 * containers (dict, list, str, int); never calls user code. GIL held.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pycompat.h"
#include "scan-internal.h"

/* A str from UTF-8 that may have been cut mid-character (names are copied
 * into fixed buffers): undecodable bytes become U+FFFD. Owned or NULL. */
static PyObject *
text(const char *s)
{
    return py.PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

/* dict[key] = value, stealing value. Returns 0 or -ENOMEM. */
static int
set_steal(PyObject *dict, const char *key, PyObject *value)
{
    int r = value != NULL ? py.PyDict_SetItemString(dict, key, value) : -1;

    py.Py_DecRef(value);
    return r == 0 ? 0 : -ENOMEM;
}

static PyObject *
none(void)
{
    py.Py_IncRef(py._Py_NoneStruct);
    return py._Py_NoneStruct;
}

int
scan_pinned_row(const struct group *g, PyObject *const *v, size_t n, PyObject *out)
{
    PyObject *d = py.PyDict_New();     /* owned */
    PyObject *objs = py.PyList_New(0); /* owned */
    int r = d != NULL && objs != NULL ? 0 : -ENOMEM;

    for (size_t k = 0; r == 0 && k < n; k++) {
        if (py.PyList_Append(objs, v[k]) < 0) {
            r = -ENOMEM;
        }
    }
    if (r == 0) {
        r = set_steal(d, "qualname", text(g->qualname));
    }
    if (r == 0) {
        r = set_steal(d, "module", text(g->module));
    }
    if (r == 0) {
        r = set_steal(d, "file", g->file != NULL ? text(g->file) : none());
    }
    if (r == 0) {
        r = set_steal(d, "line", py.PyLong_FromLong(g->line));
    }
    if (r == 0) {
        r = set_steal(d, "kind", text(snapshot_kind_name(g->kind)));
    }
    if (r == 0) {
        r = set_steal(d, "maxsize", g->maxsize < 0 ? none() : py.PyLong_FromLong((long)g->maxsize));
    }
    if (r == 0) {
        py.Py_IncRef(objs);
        r = set_steal(d, "objects", objs);
    }
    if (r == 0 && py.PyList_Append(out, d) < 0) {
        r = -ENOMEM;
    }
    py.Py_DecRef(objs);
    py.Py_DecRef(d);
    return r;
}

int
scan_collect_pinned(struct scan *s, PyObject *out)
{
    int r = 0;

    struct ptrvec v = {0};

    for (size_t gi = 0; r == 0 && gi < s->n_groups; gi++) {
        const struct group *g = &s->groups[gi];
        if (g->pinned == 0) {
            continue;
        }
        v.n = 0;
        for (size_t k = 0; r == 0 && k < g->n_selfs; k++) {
            const struct node *n = &s->nodes[g->selfs[k]];
            if (scan_node_pinned(n)) {
                r = ptrvec_push(&v, n->obj);
            }
        }
        if (r == 0) {
            r = scan_pinned_row(g, v.v, v.n, out);
        }
    }
    free(v.v);
    scan_clear_error();
    return r;
}
