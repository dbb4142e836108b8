/* SPDX-License-Identifier: MIT */
/*
 * stack-check: unwinding a stopped thread and judging its frames (see
 * stack-check.h). One libunwind address space (with its caches) serves
 * every thread of one attach; per object, the exported functions are
 * sorted once into ranges for a binary search.
 *
 * The threads are stopped while this runs, so it must be quick: libunwind's
 * ptrace accessors read memory one word per PTRACE_PEEKDATA, so memory is
 * read here instead, a page at a time with process_vm_readv, through a small
 * cache that lives for one thread's walk (stack pages and the unwind tables
 * are read again and again).
 */
#include "config.h"

#include <errno.h>
#include <libunwind-ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "stack-check.h"

#define STACK_MAX_FRAMES 256
#define PAGE 4096
#define CACHE_PAGES 16

/* Where dlopen must not run. Exact names... */
static const char *const unsafe_names[] = {
    /* malloc and friends (glibc, jemalloc, tcmalloc, mimalloc export these) */
    "malloc",
    "free",
    "calloc",
    "realloc",
    "reallocarray",
    "memalign",
    "posix_memalign",
    "aligned_alloc",
    "valloc",
    "pvalloc",
    "cfree",
    "malloc_trim",
    "malloc_usable_size",
    "malloc_stats",
    "malloc_info",
    "mallopt",
    "mallinfo",
    "mallinfo2",
    "free_sized",
    "free_aligned_sized",
    /* the loader's public face */
    "dlopen",
    "dlmopen",
    "dlclose",
    "dlsym",
    "dlvsym",
    "dladdr",
    "dladdr1",
    "dlinfo",
    "dlerror",
    "dl_iterate_phdr",
    /* threads, processes and what they lock */
    "fork",
    "vfork",
    "_Fork",
    "pthread_create",
    "pthread_exit",
    "pthread_atfork",
    "exit",
    "_exit",
    "_Exit",
    "quick_exit",
    "atexit",
    "on_exit",
    "__cxa_atexit",
    "__cxa_finalize",
    "__call_tls_dtors",
    "setenv",
    "unsetenv",
    "putenv",
    "clearenv",
};

/* ... and prefixes: glibc's private entry points. */
static const char *const unsafe_prefixes[] = {
    "__libc_malloc", "__libc_free",    "__libc_calloc", "__libc_realloc", "__libc_memalign",
    "__libc_valloc", "__libc_pvalloc", "__libc_dl",     "__libc_fork",    "__register_atfork",
    "_dl_",          "__malloc",       "__free_hook",
};

struct func {
    uint64_t start, end;
    const char *name; /* in the object's .dynstr */
};

struct funcs {
    struct target_object *obj;
    struct func *v;
    size_t n, cap;
    int err;
};

struct stack_check {
    struct target *t;
    unw_addr_space_t as;
    unw_accessors_t acc;
    struct funcs *tables;
    size_t n_tables;
};

/* The page cache of the walk in progress. libunwind hands its accessors the
 * _UPT argument, not ours, so the walk's context is a file-level variable:
 * one walk at a time (the injector is single-threaded). */
static struct {
    pid_t pid;
    uint64_t addr[CACHE_PAGES]; /* page address + 1; 0: empty */
    unsigned next;
    unsigned char data[CACHE_PAGES][PAGE];
} walk;

static const unsigned char *
cached_page(uint64_t page)
{
    for (unsigned i = 0; i < CACHE_PAGES; i++) {
        if (walk.addr[i] == page + 1) {
            return walk.data[i];
        }
    }
    unsigned i = walk.next++ % CACHE_PAGES;
    struct iovec local = {.iov_base = walk.data[i], .iov_len = PAGE};
    struct iovec remote = {.iov_base = (void *)(uintptr_t)page, .iov_len = PAGE};
    if (process_vm_readv(walk.pid, &local, 1, &remote, 1, 0) != PAGE) {
        walk.addr[i] = 0;
        return NULL;
    }
    walk.addr[i] = page + 1;
    return walk.data[i];
}

static int
access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
    uint64_t page = addr & ~(uint64_t)(PAGE - 1);
    const unsigned char *p = NULL;

    if (!write && addr - page <= PAGE - sizeof(*val)) {
        p = cached_page(page);
    }
    if (p == NULL) {
        /* Writes (never asked for), words across pages, partly mapped
         * pages: the ptrace way. */
        return _UPT_access_mem(as, addr, val, write, arg);
    }
    memcpy(val, p + (addr - page), sizeof(*val));
    return 0;
}

static bool
unsafe_name(const char *name)
{
    for (size_t i = 0; i < sizeof(unsafe_names) / sizeof(unsafe_names[0]); i++) {
        if (strcmp(name, unsafe_names[i]) == 0) {
            return true;
        }
    }
    for (size_t i = 0; i < sizeof(unsafe_prefixes) / sizeof(unsafe_prefixes[0]); i++) {
        if (strncmp(name, unsafe_prefixes[i], strlen(unsafe_prefixes[i])) == 0) {
            return true;
        }
    }
    return false;
}

static bool
is_loader(const struct target_object *o)
{
    const char *base = strrchr(o->path, '/');

    base = base != NULL ? base + 1 : o->path;
    return strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "ld.so", 5) == 0 ||
           strncmp(base, "ld-2.", 5) == 0;
}

struct stack_check *
stack_check_new(struct target *t)
{
    struct stack_check *sc = calloc(1, sizeof(*sc));

    if (sc == NULL) {
        return NULL;
    }
    sc->t = t;
    sc->acc = _UPT_accessors;
    sc->acc.access_mem = access_mem;
    sc->as = unw_create_addr_space(&sc->acc, 0);
    if (sc->as == NULL) {
        free(sc);
        return NULL;
    }
    unw_set_caching_policy(sc->as, UNW_CACHE_GLOBAL);
    return sc;
}

struct stack_check *
stack_check_free(struct stack_check *sc)
{
    if (sc == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < sc->n_tables; i++) {
        free(sc->tables[i].v);
    }
    free(sc->tables);
    unw_destroy_addr_space(sc->as);
    free(sc);
    return NULL;
}

/* ---- exported function ranges ------------------------------------------------------ */

struct collect {
    struct funcs *f;
    uint64_t bias;
};

static void
add_func(const char *name, uint64_t value, uint64_t size, void *data)
{
    struct collect *c = data;
    struct funcs *f = c->f;

    if (size == 0 || f->err < 0) {
        return;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap != 0 ? f->cap * 2 : 1024;
        struct func *v = realloc(f->v, cap * sizeof(*v));
        if (v == NULL) {
            f->err = -ENOMEM;
            return;
        }
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = (struct func){c->bias + value, c->bias + value + size, name};
}

static int
cmp_func(const void *a, const void *b)
{
    const struct func *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static struct funcs *
table_of(struct stack_check *sc, struct target_object *o)
{
    const struct elf_file *elf;

    for (size_t i = 0; i < sc->n_tables; i++) {
        if (sc->tables[i].obj == o) {
            return &sc->tables[i];
        }
    }
    struct funcs *v = realloc(sc->tables, (sc->n_tables + 1) * sizeof(*v));
    if (v == NULL) {
        return NULL;
    }
    sc->tables = v;
    struct funcs *f = &sc->tables[sc->n_tables++];
    memset(f, 0, sizeof(*f));
    f->obj = o;
    elf = target_object_elf(sc->t, o);
    if (elf == NULL || o->base == UINT64_MAX) {
        f->err = -ENOENT;
        return f;
    }
    struct collect c = {f, o->base - elf->first_vaddr};
    elf_each_function(elf, add_func, &c);
    if (f->err == 0 && f->n > 0) {
        qsort(f->v, f->n, sizeof(f->v[0]), cmp_func);
    }
    return f;
}

/* The exported function of o that contains addr, or NULL. */
static const char *
function_at(struct stack_check *sc, struct target_object *o, uint64_t addr)
{
    struct funcs *f = table_of(sc, o);
    const char *found = NULL;
    size_t lo = 0, hi;

    if (f == NULL || f->err < 0) {
        return NULL;
    }
    hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->v[mid].start <= addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    /* Aliases share a start: any of those that covers addr will do; pick
     * an unsafe name when there is one. */
    for (size_t i = lo; i-- > 0 && f->v[i].start <= addr;) {
        if (addr < f->v[i].end) {
            if (found == NULL || unsafe_name(f->v[i].name)) {
                found = f->v[i].name;
            }
        } else if (f->v[i].start + (1u << 20) < addr) {
            break; /* no function is that long */
        }
    }
    return found;
}

/* ---- the walk -------------------------------------------------------------------------- */

int
stack_check_thread(struct stack_check *sc, pid_t tid, char *why, size_t whylen)
{
    void *upt = _UPT_create(tid);
    unw_cursor_t cursor;
    int r, frames = 0;

    if (upt == NULL) {
        return -ENOMEM;
    }
    memset(walk.addr, 0, sizeof(walk.addr));
    walk.pid = tid;
    r = unw_init_remote(&cursor, sc->as, upt);
    if (r < 0) {
        _UPT_destroy(upt);
        snprintf(why, whylen, "cannot unwind thread %d (libunwind error %d)", (int)tid, r);
        return -EIO;
    }
    r = 1;
    do {
        unw_word_t ip = 0;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) {
            break;
        }
        /* Above the innermost frame, ip is a return address: the call
         * itself is the byte before (a call can end a function). */
        uint64_t at = frames > 0 ? ip - 1 : ip;
        struct target_object *o = target_object_at(sc->t, at);
        if (o != NULL && is_loader(o)) {
            snprintf(why, whylen, "thread %d is in the dynamic loader (frame %d)", (int)tid,
                     frames);
            r = 0;
            break;
        }
        const char *name = o != NULL ? function_at(sc, o, at) : NULL;
        if (name != NULL && unsafe_name(name)) {
            snprintf(why, whylen, "thread %d is in %s (frame %d)", (int)tid, name, frames);
            r = 0;
            break;
        }
    } while (++frames < STACK_MAX_FRAMES && unw_step(&cursor) > 0);
    _UPT_destroy(upt);
    return r;
}
