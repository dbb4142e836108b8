/* SPDX-License-Identifier: MIT */
/*
 * scan-alloc: where the pinned objects were created (`--trace-alloc`).
 *
 * scan_alloc_start starts tracemalloc (the C module _tracemalloc, which is
 * what tracemalloc.start() calls) with the asked number of frames, unless
 * the program traces already: then its session is reused, never
 * restarted. The sampler calls it on its own thread, with the GIL, once
 * Python is up; never from the constructor.
 *
 * scan_alloc_sites runs inside scan_run right after the graph walk, at the
 * point where scan_collect_pinned runs and under the same contract: every
 * pinned self is still held by the node table. For each row that pins
 * objects it asks tracemalloc for the traceback of the memory block of
 * each of a budget of its pinned selves: _PyTraceMalloc_GetTraceback at
 * the block's address (pycompat_alloc_address), else
 * _tracemalloc._get_object_traceback(obj) (both C: a lookup in
 * tracemalloc's table; no user code) for a budget of its pinned
 * selves (SCAN_ALLOC_BUDGET per sample), evenly spread, and groups
 * them by the innermost frame (file, line). An object with no traceback
 * (created before tracing started, or by an allocator tracemalloc does not
 * see) counts as unknown. When fewer objects were examined than are
 * pinned, the counts are scaled to the pinned total (largest remainders)
 * and the row says how many were examined. tracemalloc frames carry no
 * function name, so none is reported. Only C copies of the file names are
 * kept, and the GIL is held throughout (no yield: the objects are the node
 * table's, looked at in one stretch).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pycompat.h"
#include "scan-internal.h"

/* Pinned objects looked up per sample (about 1 us each under tracemalloc,
 * which traces the lookup's own tuples), shared by the rows that pin
 * objects, at least SCAN_ALLOC_ROW_MIN per row; the rest are estimated. All
 * lookups of a sample happen in one GIL stretch of about a millisecond
 * (0.5-2.5 ms measured with scripts/bench-trace-alloc.py on a busy VM). */
#define SCAN_ALLOC_BUDGET 512
#define SCAN_ALLOC_ROW_MIN 16
/* Distinct sites kept per row; objects of further sites count as "other". */
#define SCAN_ALLOC_SITES_MAX 32

static PyObject *
tracemalloc_module(void)
{
    PyObject *m = pycompat_import("_tracemalloc"); /* built in: no file import */

    if (m == NULL) {
        scan_clear_error();
    }
    return m;
}

/* An int result of a no-argument function of _tracemalloc, or -1. */
static long
call_int(PyObject *mod, const char *name)
{
    PyObject *fn = py.PyObject_GetAttrString(mod, name);
    PyObject *r = fn != NULL ? py.PyObject_CallFunctionObjArgs(fn, NULL) : NULL;
    long v = r != NULL ? (long)py.PyLong_AsSsize_t(r) : -1;

    py.Py_DecRef(r);
    py.Py_DecRef(fn);
    scan_clear_error();
    return v;
}

int
scan_alloc_start(int frames, int *ret_frames)
{
    PyObject *mod = tracemalloc_module();
    PyObject *fn = NULL, *arg = NULL, *r = NULL;
    int ret = 0;

    *ret_frames = 0;
    if (mod == NULL) {
        return -ENOENT;
    }
    if (call_int(mod, "is_tracing") != 1) {
        fn = py.PyObject_GetAttrString(mod, "start");
        arg = py.PyLong_FromLong(frames);
        r = fn != NULL && arg != NULL ? py.PyObject_CallFunctionObjArgs(fn, arg, NULL) : NULL;
        if (r == NULL) {
            ret = -EIO;
        }
    }
    if (ret == 0) {
        long n = call_int(mod, "get_traceback_limit");
        *ret_frames = n > 0 && n < 65536 ? (int)n : frames;
    }
    py.Py_DecRef(r);
    py.Py_DecRef(arg);
    py.Py_DecRef(fn);
    py.Py_DecRef(mod);
    scan_clear_error();
    return ret;
}

/* ---- one row -------------------------------------------------------------------- */

static struct scan_site *
site_find(struct group *g, const char *file, Py_ssize_t flen, long line)
{
    for (size_t i = 0; i < g->n_sites; i++) {
        struct scan_site *s = &g->sites[i];
        if (!s->unknown && !s->other && s->line == line && strlen(s->file) == (size_t)flen &&
            memcmp(s->file, file, (size_t)flen) == 0) {
            return s;
        }
    }
    if (g->n_sites == SCAN_ALLOC_SITES_MAX) {
        return NULL;
    }
    struct scan_site *s = &g->sites[g->n_sites];
    memset(s, 0, sizeof(*s));
    s->file = strndup(file, (size_t)flen);
    if (s->file == NULL) {
        return NULL;
    }
    s->line = line;
    g->n_sites++;
    return s;
}

/* The special groups (unknown, other) sit past the named sites. */
static int64_t *
special(struct group *g, bool unknown)
{
    return unknown ? &g->alloc_unknown : &g->alloc_other;
}

/* Look one object up. GIL held. */
static void
examine(struct group *g, PyObject *fn, PyObject *obj)
{
    /* The C lookup by address where the interpreter has it (3.8+): it sees
     * past the pre-header on 3.11, where _get_object_traceback does not. */
    PyObject *tb = py._PyTraceMalloc_GetTraceback != NULL
                       ? py._PyTraceMalloc_GetTraceback(0, pycompat_alloc_address(obj))
                       : py.PyObject_CallFunctionObjArgs(fn, obj, NULL);
    PyObject *frame, *file, *line;
    const char *text;
    Py_ssize_t len;
    struct scan_site *s;

    if (tb == NULL || tb == py._Py_NoneStruct || pycompat_type(tb) != py.PyTuple_Type ||
        py.PyTuple_Size(tb) < 1) {
        (*special(g, true))++;
        goto out;
    }
    /* _tracemalloc gives the most recent frame first. */
    frame = py.PyTuple_GetItem(tb, 0); /* borrowed: (filename, lineno) */
    file = frame != NULL && pycompat_type(frame) == py.PyTuple_Type && py.PyTuple_Size(frame) == 2
               ? py.PyTuple_GetItem(frame, 0)
               : NULL;
    line = file != NULL ? py.PyTuple_GetItem(frame, 1) : NULL;
    text = file != NULL && pycompat_type(file) == py.PyUnicode_Type
               ? py.PyUnicode_AsUTF8AndSize(file, &len)
               : NULL;
    if (text == NULL || line == NULL || pycompat_type(line) != py.PyLong_Type) {
        (*special(g, true))++;
        goto out;
    }
    s = site_find(g, text, len, (long)py.PyLong_AsSsize_t(line));
    if (s != NULL) {
        s->count++;
    } else {
        (*special(g, false))++;
    }
out:
    py.Py_DecRef(tb);
    scan_clear_error();
}

static int
by_count(const void *pa, const void *pb)
{
    const struct scan_site *a = pa, *b = pb;

    if (a->count != b->count) {
        return a->count > b->count ? -1 : 1;
    }
    if (a->line != b->line) {
        return a->line < b->line ? -1 : 1;
    }
    return strcmp(a->file, b->file);
}

/*
 * From counts over `examined` objects to counts over `pinned`: each count
 * times pinned/examined, rounded down, and the remainder handed out to the
 * largest fractions, so the counts still add up to pinned.
 */
static void
scale(struct group *g, int64_t examined)
{
    size_t n = g->n_sites + 2;
    int64_t *cnt[SCAN_ALLOC_SITES_MAX + 2];
    double frac[SCAN_ALLOC_SITES_MAX + 2];
    int64_t total = 0;

    if (examined <= 0 || examined == g->pinned) {
        return;
    }
    for (size_t i = 0; i < g->n_sites; i++) {
        cnt[i] = &g->sites[i].count;
    }
    cnt[g->n_sites] = &g->alloc_unknown;
    cnt[g->n_sites + 1] = &g->alloc_other;
    for (size_t i = 0; i < n; i++) {
        double exact = (double)*cnt[i] * (double)g->pinned / (double)examined;
        *cnt[i] = (int64_t)exact;
        frac[i] = *cnt[i] > 0 || exact > 0 ? exact - (double)*cnt[i] : -1;
        total += *cnt[i];
    }
    while (total < g->pinned) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++) {
            best = frac[i] > frac[best] ? i : best;
        }
        if (frac[best] < 0) {
            break;
        }
        (*cnt[best])++;
        frac[best] = -1;
        total++;
    }
}

static int
row_sites(struct scan *s, struct group *g, PyObject *fn, int64_t cap)
{
    int64_t examined = 0, seen = 0;
    size_t step;

    g->sites = calloc(SCAN_ALLOC_SITES_MAX, sizeof(*g->sites));
    if (g->sites == NULL) {
        return -ENOMEM;
    }
    g->traced = true;
    /* Every step-th pinned self: an even spread when there are many. */
    step = (size_t)((g->pinned + cap - 1) / cap);
    step = step > 0 ? step : 1;
    for (size_t k = 0; k < g->n_selfs; k++) {
        const struct node *n = &s->nodes[g->selfs[k]];
        if (!scan_node_pinned(n)) {
            continue;
        }
        if ((size_t)(seen++ % (int64_t)step) != 0) {
            continue;
        }
        examine(g, fn, n->obj);
        examined++;
    }
    g->alloc_examined = examined;
    if (g->n_sites > 1) {
        qsort(g->sites, g->n_sites, sizeof(*g->sites), by_count);
    }
    scale(g, examined);
    if (g->n_sites > 1) {
        qsort(g->sites, g->n_sites, sizeof(*g->sites), by_count);
    }
    return 0;
}

int
scan_alloc_sites(struct scan *s, int *ret_frames)
{
    PyObject *mod, *fn;
    int r = 0;

    *ret_frames = 0;
    mod = tracemalloc_module();
    if (mod == NULL) {
        return 0;
    }
    if (call_int(mod, "is_tracing") != 1) {
        /* The program stopped tracing: no sites rather than all unknown. */
        py.Py_DecRef(mod);
        return 0;
    }
    *ret_frames = (int)call_int(mod, "get_traceback_limit");
    fn = py.PyObject_GetAttrString(mod, "_get_object_traceback");
    py.Py_DecRef(mod);
    if (fn == NULL) {
        scan_clear_error();
        return 0;
    }
    int64_t rows = 0, cap;
    for (size_t gi = 0; gi < s->n_groups; gi++) {
        rows += s->groups[gi].pinned > 0;
    }
    cap = rows > 0 ? SCAN_ALLOC_BUDGET / rows : 0;
    cap = cap > SCAN_ALLOC_ROW_MIN ? cap : SCAN_ALLOC_ROW_MIN;
    for (size_t gi = 0; r == 0 && gi < s->n_groups; gi++) {
        if (s->groups[gi].pinned > 0) {
            r = row_sites(s, &s->groups[gi], fn, cap);
        }
    }
    py.Py_DecRef(fn); /* a built-in function of a built-in module: no finaliser */
    return r;
}
