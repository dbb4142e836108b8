/* SPDX-License-Identifier: MIT */
/*
 * scan-names: which row (group) a wrapper counts in - its qualname and
 * module (from the wrapper's __dict__, as functools.wraps left them), the
 * file and first line of the function it wraps, and its kind - and the
 * rows themselves.
 *
 * Reading those names costs a sample more than anything else when nothing
 * changed (a dict lookup per name, a chain of getattrs through bound
 * methods and __wrapped__ to the code object, copies and a hash), and a
 * per-test check of the pytest plugin makes one sample per test. So the
 * names are remembered per wrapper (struct name_memo): a sample reads the
 * qualname and module strings again and compares them with the remembered
 * text (a new __qualname__ is seen at once), and takes the file, line and
 * kind as they were when the wrapper was first met: the lru wrapper holds
 * its function for life, so those change only if the program assigns a
 * function's __code__ or __wrapped__ after decorating it (then the row
 * keeps its first place until the memory is forgotten).
 *
 * A memory is kept by the wrapper's address, and an address names the
 * same wrapper only while none was freed: the memory is used only while
 * the registry is complete (registry.h) and is forgotten whenever its
 * count of clears - cache_clear() calls and wrappers freed - moves, on a
 * detach (scan_forget) and when it holds four times as many wrappers as
 * the sample met. Raw addresses only: no reference is kept.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pycompat.h"
#include "registry.h"
#include "scan-internal.h"

/* Lengths of the names a row keeps (longer ones are cut). */
#define QUALNAME_MAX 512
#define MODULE_MAX 256
#define FILE_MAX 1024

struct row_names {
    const char *qualname, *module, *file; /* file: NULL when unknown */
    long line;
    enum snapshot_kind kind;
};

/* ---- rows ---------------------------------------------------------------------------------- */

static uint64_t
hash_str(uint64_t h, const char *p)
{
    for (; p != NULL && *p != '\0'; p++) {
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    }
    return (h ^ 0xff) * 0x100000001b3ULL;
}

static bool
same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* A row's key: its names, hashed. */
static uint64_t
row_hash(const struct row_names *n)
{
    uint64_t h =
        hash_str(hash_str(hash_str(0xcbf29ce484222325ULL, n->qualname), n->module), n->file);
    h = (h ^ (uint64_t)n->line) * 0x100000001b3ULL;
    h = (h ^ (uint64_t)n->kind) * 0x100000001b3ULL;
    return h | 1; /* never 0: the map's empty key */
}

/* Find or create the row for these names (h: row_hash). Returns its index
 * or -ENOMEM. */
static long
group_for(struct scan *s, const struct row_names *n, uint64_t h)
{
    const char *qualname = n->qualname, *module = n->module, *file = n->file;
    long line = n->line;
    enum snapshot_kind kind = n->kind;

    /* Linear probe on the hash for the (rare) collision of two rows. */
    for (uint64_t probe = h;; probe += 2) {
        uint32_t idx = objmap_get(&s->group_index, (const void *)(uintptr_t)probe);
        if (idx == OBJMAP_ABSENT) {
            h = probe;
            break;
        }
        struct group *g = &s->groups[idx];
        if (g->kind == kind && g->line == line && same_str(g->qualname, qualname) &&
            same_str(g->module, module) && same_str(g->file, file)) {
            return idx;
        }
    }
    if (s->n_groups == s->cap_groups) {
        size_t cap = s->cap_groups != 0 ? s->cap_groups * 2 : 64;
        struct group *p = realloc(s->groups, cap * sizeof(*p));
        if (p == NULL) {
            return -ENOMEM;
        }
        s->groups = p;
        s->cap_groups = cap;
    }
    struct group *g = &s->groups[s->n_groups];
    memset(g, 0, sizeof(*g));
    g->hash = h;
    g->qualname = strdup(qualname);
    g->module = strdup(module);
    g->file = file != NULL ? strdup(file) : NULL;
    g->line = line;
    g->kind = kind;
    g->self_only = true;
    if (g->qualname == NULL || g->module == NULL || (file != NULL && g->file == NULL) ||
        objmap_put(&s->group_index, (const void *)(uintptr_t)h, (uint32_t)s->n_groups) ==
            OBJMAP_ABSENT) {
        free(g->qualname);
        free(g->module);
        free(g->file);
        return -ENOMEM;
    }
    return (long)s->n_groups++;
}

/* Exact str -> UTF-8 copy into buf; anything else -> dflt. */
static const char *
str_of(PyObject *o, char *buf, size_t size, const char *dflt)
{
    Py_ssize_t n;
    const char *p;

    if (o == NULL || pycompat_type(o) != py.PyUnicode_Type) {
        return dflt;
    }
    p = py.PyUnicode_AsUTF8AndSize(o, &n);
    if (p == NULL) {
        scan_clear_error();
        return dflt;
    }
    snprintf(buf, size, "%.*s", (int)(n < (Py_ssize_t)size ? n : (Py_ssize_t)size - 1), p);
    return buf;
}

/* File and first line of the wrapped function, following bound methods and
 * functools.wraps' __wrapped__ chains through plain functions only (their
 * attributes are C getters: no user code). */
static void
code_location(struct scan *s, PyObject *func, char *file, size_t size, long *ret_line)
{
    PyObject *f = func; /* borrowed or owned in `owned` */
    PyObject *owned = NULL;
    PyObject *k_func = scan_name(s, NAME_FUNC), *k_dict = scan_name(s, NAME_DICT);
    PyObject *k_wrapped = scan_name(s, NAME_WRAPPED), *k_code = scan_name(s, NAME_CODE);
    PyObject *k_file = scan_name(s, NAME_FILENAME), *k_line = scan_name(s, NAME_FIRSTLINENO);

    *ret_line = 0;
    file[0] = '\0';
    if (k_func == NULL || k_dict == NULL || k_wrapped == NULL || k_code == NULL || k_file == NULL ||
        k_line == NULL) {
        return;
    }
    for (int depth = 0; f != NULL && depth < 8; depth++) {
        PyObject *t = pycompat_type(f);
        PyObject *next = NULL;
        if (t == py.PyMethod_Type) {
            next = py.PyObject_GetAttr(f, k_func);
        } else if (t == py.PyFunction_Type) {
            PyObject *d = py.PyObject_GetAttr(f, k_dict); /* owned */
            PyObject *w = d != NULL ? py.PyDict_GetItem(d, k_wrapped) : NULL;
            if (w != NULL) {
                py.Py_IncRef(w);
                next = w;
            } else {
                PyObject *code = py.PyObject_GetAttr(f, k_code);
                PyObject *fn = code != NULL ? py.PyObject_GetAttr(code, k_file) : NULL;
                PyObject *ln = code != NULL ? py.PyObject_GetAttr(code, k_line) : NULL;
                str_of(fn, file, size, NULL);
                if (ln != NULL) {
                    *ret_line = (long)py.PyLong_AsSsize_t(ln);
                }
                py.Py_DecRef(code);
                py.Py_DecRef(fn);
                py.Py_DecRef(ln);
            }
            py.Py_DecRef(d);
        }
        py.Py_DecRef(owned);
        owned = next;
        f = next;
    }
    py.Py_DecRef(owned);
    scan_clear_error();
}

/* ---- remembered names ---------------------------------------------------------------------- */

struct name_memo {
    const void *wrapper;        /* address, never dereferenced */
    enum snapshot_kind kind_in; /* what discovery said (a class walk's kind) */
    char *qualname, *module;    /* owned, as str_of copied them */
    size_t qualname_len, module_len;
    char *file; /* owned; NULL: unknown */
    long line;
    enum snapshot_kind kind; /* kind_in, or per-instance for a bound method */
    uint64_t hash;           /* row_hash */
};

void
scan_names_forget(struct scan *s)
{
    struct name_memos *m = &s->memos;

    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].qualname);
        free(m->v[i].module);
        free(m->v[i].file);
    }
    m->n = 0;
    objmap_clear(&m->index);
}

void
scan_names_free(struct scan *s)
{
    scan_names_forget(s);
    free(s->memos.v);
    objmap_done(&s->memos.index);
    memset(&s->memos, 0, sizeof(s->memos));
}

size_t
scan_names_bytes(const struct scan *s)
{
    return s->memos.cap * sizeof(*s->memos.v) + objmap_bytes(&s->memos.index);
}

/* Once per sample, before the first wrapper: may this sample's wrappers be
 * looked up by address (see the header)? */
void
scan_names_start(struct scan *s)
{
    struct name_memos *m = &s->memos;
    uint64_t clears = 0;

    m->usable = registry_complete() && registry_clears(&clears);
    if (!m->usable || clears != m->clears || m->n > 4 * s->n_wrappers + 64) {
        scan_names_forget(s);
        m->clears = clears;
    }
}

/* o as str_of would copy it into a buffer of `size` bytes is `text`. */
static bool
text_is(PyObject *o, size_t size, const char *text, size_t len)
{
    Py_ssize_t n;
    const char *p;

    if (o == NULL || pycompat_type(o) != py.PyUnicode_Type) {
        return len == 1 && text[0] == '?';
    }
    p = py.PyUnicode_AsUTF8AndSize(o, &n);
    if (p == NULL) {
        scan_clear_error();
        return len == 1 && text[0] == '?';
    }
    size_t want = (size_t)n < size ? (size_t)n : size - 1;
    /* An embedded NUL makes str_of's copy shorter: never equal here. */
    return want == len && memcmp(p, text, len) == 0 && memchr(p, '\0', len) == NULL;
}

static const struct name_memo *
memo_find(const struct scan *s, const struct wrapper *w, PyObject *qualname, PyObject *module)
{
    const struct name_memos *m = &s->memos;
    uint32_t i = m->usable ? objmap_get(&m->index, w->obj) : OBJMAP_ABSENT;

    if (i == OBJMAP_ABSENT) {
        return NULL;
    }
    const struct name_memo *k = &m->v[i];
    if (k->kind_in != w->kind || !text_is(qualname, QUALNAME_MAX, k->qualname, k->qualname_len) ||
        !text_is(module, MODULE_MAX, k->module, k->module_len)) {
        return NULL;
    }
    return k;
}

/* Remember these names for w (a failed allocation only forgets). */
static void
memo_keep(struct scan *s, const struct wrapper *w, enum snapshot_kind kind_in,
          const struct row_names *n, uint64_t hash)
{
    struct name_memos *m = &s->memos;

    if (!m->usable) {
        return;
    }
    uint32_t i = objmap_get(&m->index, w->obj);
    if (i == OBJMAP_ABSENT) {
        if (m->n == m->cap) {
            size_t cap = m->cap != 0 ? m->cap * 2 : 64;
            struct name_memo *p = realloc(m->v, cap * sizeof(*p));
            if (p == NULL) {
                return;
            }
            m->v = p;
            m->cap = cap;
        }
        i = (uint32_t)m->n;
        if (objmap_put(&m->index, w->obj, i) != i) {
            return;
        }
        m->n++;
    } else {
        free(m->v[i].qualname);
        free(m->v[i].module);
        free(m->v[i].file);
    }
    struct name_memo *k = &m->v[i];
    *k = (struct name_memo){
        .wrapper = w->obj,
        .kind_in = kind_in,
        .qualname = strdup(n->qualname),
        .module = strdup(n->module),
        .qualname_len = strlen(n->qualname),
        .module_len = strlen(n->module),
        .file = n->file != NULL ? strdup(n->file) : NULL,
        .line = n->line,
        .kind = n->kind,
        .hash = hash,
    };
    if (k->qualname == NULL || k->module == NULL || (n->file != NULL && k->file == NULL)) {
        /* Never found again: its text cannot match. */
        free(k->qualname);
        free(k->module);
        free(k->file);
        k->qualname = k->module = k->file = NULL;
        k->qualname_len = k->module_len = SIZE_MAX;
    }
}

int
scan_wrapper_row(struct scan *s, struct wrapper *w, PyObject *dict, PyObject *func)
{
    char qualname[QUALNAME_MAX], module[MODULE_MAX], file[FILE_MAX];
    PyObject *q_obj = NULL, *m_obj = NULL; /* borrowed */
    PyObject *k_qualname = scan_name(s, NAME_QUALNAME), *k_module = scan_name(s, NAME_MODULE);

    if (dict != NULL && pycompat_type(dict) == py.PyDict_Type && k_qualname != NULL &&
        k_module != NULL) {
        q_obj = py.PyDict_GetItem(dict, k_qualname);
        m_obj = py.PyDict_GetItem(dict, k_module);
    }
    const struct name_memo *k = memo_find(s, w, q_obj, m_obj);
    struct row_names n;
    uint64_t h;
    enum snapshot_kind kind_in = w->kind;
    if (k != NULL) {
        n = (struct row_names){k->qualname, k->module, k->file, k->line, k->kind};
        h = k->hash;
    } else {
        long line = 0;
        n.qualname = str_of(q_obj, qualname, sizeof(qualname), "?");
        n.module = str_of(m_obj, module, sizeof(module), "?");
        code_location(s, func, file, sizeof(file), &line);
        n.file = file[0] != '\0' ? file : NULL;
        n.line = line;
        n.kind = pycompat_type(func) == py.PyMethod_Type
                     ? SNAPSHOT_PER_INSTANCE /* lru_cache()(self._f): bound method */
                     : w->kind;
        h = row_hash(&n);
    }
    w->kind = n.kind;
    long gi = group_for(s, &n, h);
    if (gi < 0) {
        return (int)gi;
    }
    if (k == NULL) {
        memo_keep(s, w, kind_in, &n, h);
    }
    w->group = (uint32_t)gi;
    return 0;
}
