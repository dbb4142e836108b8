/* SPDX-License-Identifier: MIT */
/*
 * pyapi: run-time resolution of the CPython C API (see pyapi.h).
 *
 * Lookup order for every symbol: the global scope (RTLD_DEFAULT), then the
 * handle of a libpython mapped into the process but loaded RTLD_LOCAL by an
 * embedding host, which dlsym(RTLD_DEFAULT) cannot see. The fallback handle
 * is taken with RTLD_NOLOAD, so it never loads a second runtime. Never logs;
 * no Python call happens here.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "pyapi.h"

struct pyapi py;

static void *local_handle;

static int
find_libpython(struct dl_phdr_info *info, size_t size, void *data)
{
    const char *name = info->dlpi_name;
    const char *base = name != NULL ? strrchr(name, '/') : NULL;

    base = base != NULL ? base + 1 : name;
    if (base != NULL && strncmp(base, "libpython3", 10) == 0) {
        *(void **)data = dlopen(name, RTLD_NOW | RTLD_NOLOAD);
        return *(void **)data != NULL;
    }
    return 0;
}

static void *
lookup(const char *name)
{
    void *p = dlsym(RTLD_DEFAULT, name);

    if (p != NULL) {
        return p;
    }
    if (local_handle == NULL) {
        dl_iterate_phdr(find_libpython, &local_handle);
    }
    return local_handle != NULL ? dlsym(local_handle, name) : NULL;
}

int (*pyapi_probe(void))(void)
{
    int (*fn)(void) = NULL;
    void *p = lookup("Py_IsInitialized");

    /* ISO C forbids object-to-function pointer casts; POSIX dlsym needs it. */
    memcpy(&fn, &p, sizeof(fn));
    return fn;
}

const char *
pyapi_version_string(void)
{
    const char *(*fn)(void) = NULL;
    void *p = lookup("Py_GetVersion");

    memcpy(&fn, &p, sizeof(fn));
    return fn != NULL ? fn() : NULL;
}

void *
pyapi_symbol(const char *name)
{
    return lookup(name);
}

static int
resolve(const char **ret_missing)
{
    void *p;

#define PYAPI_FN(req, ret, name, args)                                                             \
    p = lookup(#name);                                                                             \
    if (p == NULL && (req)) {                                                                      \
        *ret_missing = #name;                                                                      \
        return -ENOENT;                                                                            \
    }                                                                                              \
    memcpy(&py.name, &p, sizeof(p));
#define PYAPI_DATA(req, name)                                                                      \
    p = lookup(#name);                                                                             \
    if (p == NULL && (req)) {                                                                      \
        *ret_missing = #name;                                                                      \
        return -ENOENT;                                                                            \
    }                                                                                              \
    py.name = (PyObject *)p;
/* `PyObject *PyExc_RuntimeError`: the symbol is a variable holding the
 * pointer; it is set once the runtime is initialised. */
#define PYAPI_DATA_PTR(req, name)                                                                  \
    p = lookup(#name);                                                                             \
    if ((p == NULL || *(PyObject **)p == NULL) && (req)) {                                         \
        *ret_missing = #name;                                                                      \
        return -ENOENT;                                                                            \
    }                                                                                              \
    py.name = p != NULL ? *(PyObject **)p : NULL;
#include "pyapi-list.h"
#undef PYAPI_FN
#undef PYAPI_DATA
#undef PYAPI_DATA_PTR
    return 0;
}

static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;
static int resolve_result;
static const char *resolve_missing;

static void
resolve_cb(void)
{
    resolve_result = resolve(&resolve_missing);
}

int
pyapi_resolve(const char **ret_missing)
{
    /* The sampler thread and the host's thread (audit hook, _lruleak) may
     * race here; pthread_once also publishes the table to both. */
    pthread_once(&resolve_once, resolve_cb);
    *ret_missing = resolve_missing;
    return resolve_result;
}
