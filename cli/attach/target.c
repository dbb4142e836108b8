/* SPDX-License-Identifier: MIT */
/*
 * target: checking and describing a process before attaching (see
 * target.h). The checks run in the order a user would fix them: the
 * process must exist and run, nobody else may trace it, we must be allowed
 * to, it must share our root directory (so that the agent's path means the
 * same file to it), and it must be a CPython lruleak supports.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "target.h"

/* CAP_SYS_PTRACE from linux/capability.h. */
#define TARGET_CAP_SYS_PTRACE 19

static const char *
base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* ---- objects ---------------------------------------------------------------------- */

static int
collect_objects(struct target *t)
{
    for (size_t i = 0; i < t->maps.n; i++) {
        const struct procfs_map *m = &t->maps.v[i];
        uint64_t dev = makedev(m->dev_major, m->dev_minor);
        struct target_object *o = NULL;

        if (m->path[0] != '/' || m->inode == 0) {
            continue;
        }
        for (size_t k = 0; k < t->n_obj; k++) {
            if (t->obj[k].inode == m->inode && t->obj[k].dev == dev) {
                o = &t->obj[k];
                break;
            }
        }
        if (o == NULL) {
            struct target_object *v = realloc(t->obj, (t->n_obj + 1) * sizeof(*v));
            if (v == NULL) {
                return -ENOMEM;
            }
            t->obj = v;
            o = &t->obj[t->n_obj++];
            memset(o, 0, sizeof(*o));
            o->elf.fd = -1;
            o->path = m->path; /* owned by maps */
            o->dev = dev;
            o->inode = m->inode;
            o->lo = m->start;
            o->hi = m->end;
            o->base = UINT64_MAX;
        }
        if (m->start < o->lo) {
            o->lo = m->start;
        }
        if (m->end > o->hi) {
            o->hi = m->end;
        }
        if (m->offset == 0 && m->start < o->base) {
            o->base = m->start;
        }
    }
    return 0;
}

const struct elf_file *
target_object_elf(struct target *t, struct target_object *o)
{
    char path[4200];
    struct stat st;

    if (!o->elf_tried) {
        o->elf_tried = true;
        /* As the target sees the path; and the very file it mapped: a
         * package upgrade may have replaced what is on disk. */
        snprintf(path, sizeof(path), "/proc/%d/root%s", (int)t->pid, o->path);
        if (stat(path, &st) < 0) {
            o->elf_err = -errno;
        } else if ((uint64_t)st.st_ino != o->inode || (uint64_t)st.st_dev != o->dev) {
            o->elf_err = -ESTALE;
        } else {
            o->elf_err = elf_open(path, &o->elf);
        }
    }
    return o->elf_err == 0 ? &o->elf : NULL;
}

struct target_object *
target_object_at(struct target *t, uint64_t addr)
{
    for (size_t i = 0; i < t->n_obj; i++) {
        if (addr >= t->obj[i].lo && addr < t->obj[i].hi) {
            return &t->obj[i];
        }
    }
    return NULL;
}

struct target_object *
target_object_named(struct target *t, const char *prefix)
{
    for (size_t i = 0; i < t->n_obj; i++) {
        if (strncmp(base_name(t->obj[i].path), prefix, strlen(prefix)) == 0) {
            return &t->obj[i];
        }
    }
    return NULL;
}

/* Run-time address of virtual address vaddr of o. */
static int
object_address(struct target *t, struct target_object *o, uint64_t vaddr, uint64_t *ret)
{
    const struct elf_file *f = target_object_elf(t, o);

    if (f == NULL || o->base == UINT64_MAX) {
        return -ENOENT;
    }
    *ret = o->base - f->first_vaddr + vaddr;
    return 0;
}

int
target_symbol(struct target *t, struct target_object *o, const char *name, uint64_t *ret_addr)
{
    const struct elf_file *f = target_object_elf(t, o);
    uint64_t value, size;

    if (f == NULL || elf_symbol(f, name, &value, &size) < 0) {
        return -ENOENT;
    }
    return object_address(t, o, value, ret_addr);
}

/* ---- memory ------------------------------------------------------------------------ */

int
target_read(const struct target *t, uint64_t addr, void *buf, size_t n)
{
    struct iovec local = {.iov_base = buf, .iov_len = n};
    struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = n};
    ssize_t r = process_vm_readv(t->pid, &local, 1, &remote, 1, 0);

    if (r < 0) {
        return -errno;
    }
    return (size_t)r == n ? 0 : -EFAULT;
}

int
target_write(const struct target *t, uint64_t addr, const void *buf, size_t n)
{
    struct iovec local = {.iov_base = (void *)buf, .iov_len = n};
    struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = n};
    ssize_t r = process_vm_writev(t->pid, &local, 1, &remote, 1, 0);

    if (r < 0) {
        return -errno;
    }
    return (size_t)r == n ? 0 : -EFAULT;
}

/* ---- Python ------------------------------------------------------------------------ */

static bool
exports_python(struct target *t, struct target_object *o)
{
    const struct elf_file *f = target_object_elf(t, o);
    uint64_t v, s;

    return f != NULL && elf_symbol(f, "Py_GetVersion", &v, &s) == 0;
}

/* The object holding the C API: a libpython, else the executable (a static
 * build), else any other object with "python" in its name. */
static ssize_t
find_python(struct target *t)
{
    char exe[64];
    struct stat st;

    for (size_t i = 0; i < t->n_obj; i++) {
        if (strncmp(base_name(t->obj[i].path), "libpython", 9) == 0 &&
            exports_python(t, &t->obj[i])) {
            return (ssize_t)i;
        }
    }
    snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)t->pid);
    if (stat(exe, &st) == 0) {
        for (size_t i = 0; i < t->n_obj; i++) {
            if (t->obj[i].inode == (uint64_t)st.st_ino && t->obj[i].dev == (uint64_t)st.st_dev &&
                exports_python(t, &t->obj[i])) {
                return (ssize_t)i;
            }
        }
    }
    for (size_t i = 0; i < t->n_obj; i++) {
        if (strstr(base_name(t->obj[i].path), "python") != NULL && exports_python(t, &t->obj[i])) {
            return (ssize_t)i;
        }
    }
    return -1;
}

/* "python3.13t", "libpython3.10.so.1.0": minor version and the
 * free-threading 't'. */
static void
version_from_name(struct target *t, const char *name)
{
    const char *p = strstr(name, "python3.");
    int minor = 0;

    if (p == NULL) {
        return;
    }
    for (p += 8; *p >= '0' && *p <= '9' && minor < 100; p++) {
        minor = minor * 10 + (*p - '0');
    }
    if (minor > 0) {
        t->version = 0x03000000u | (unsigned)minor << 16;
        t->free_threaded = *p == 't';
    }
}

static void
find_version(struct target *t)
{
    struct target_object *o = &t->obj[t->python];
    const struct elf_file *f = target_object_elf(t, o);
    uint64_t addr, size, value;
    unsigned char head[24];
    uint32_t v32;

    /* 3.13+: _Py_DebugOffsets at the start of _PyRuntime: "xdebugpy",
     * PY_VERSION_HEX, free_threaded (Include/internal/pycore_debug_offsets.h). */
    if (elf_section(f, ".PyRuntime", &addr, &size) == 0 && size >= sizeof(head) &&
        object_address(t, o, addr, &t->runtime) == 0 &&
        target_read(t, t->runtime, head, sizeof(head)) == 0 && memcmp(head, "xdebugpy", 8) == 0) {
        uint64_t version, ft;
        memcpy(&version, head + 8, 8);
        memcpy(&ft, head + 16, 8);
        t->version = (unsigned)version;
        t->free_threaded = ft != 0;
        return;
    }
    /* 3.11+: const unsigned long Py_Version = PY_VERSION_HEX (read-only
     * data: the file holds it). */
    if (elf_symbol(f, "Py_Version", &value, &size) == 0 &&
        elf_read_vaddr(f, value, &v32, sizeof(v32)) == 0) {
        t->version = v32;
        return;
    }
    version_from_name(t, base_name(o->path));
}

void
target_version_string(const struct target *t, char *buf, size_t size)
{
    unsigned major = t->version >> 24, minor = (t->version >> 16) & 0xff;
    unsigned micro = (t->version >> 8) & 0xff;

    if (t->version == 0) {
        snprintf(buf, size, "3.x");
    } else if ((t->version & 0xffff) == 0 && micro == 0) {
        snprintf(buf, size, "%u.%u%s", major, minor, t->free_threaded ? "t" : "");
    } else {
        snprintf(buf, size, "%u.%u.%u%s", major, minor, micro, t->free_threaded ? "t" : "");
    }
}

/* ---- checks ------------------------------------------------------------------------ */

void
target_explain_eperm(const struct target *t, const char *what, char *err, size_t errlen)
{
    int scope = procfs_ptrace_scope();
    bool cap = procfs_have_cap(TARGET_CAP_SYS_PTRACE);

    if (t->status.uid[1] != geteuid() && !cap) {
        snprintf(err, errlen,
                 "%s pid %d: permission denied: it runs as uid %u; attach as that user or with "
                 "CAP_SYS_PTRACE (root)",
                 what, (int)t->pid, (unsigned)t->status.uid[1]);
    } else if (scope >= 1 && !cap) {
        snprintf(err, errlen,
                 "%s pid %d: permission denied by Yama (kernel.yama.ptrace_scope = %d%s): run "
                 "as root or with CAP_SYS_PTRACE%s",
                 what, (int)t->pid, scope, scope == 1 ? ", only descendants may be traced" : "",
                 scope == 1 ? ", or set kernel.yama.ptrace_scope=0" : "");
    } else if (scope == 3) {
        snprintf(err, errlen,
                 "%s pid %d: permission denied: kernel.yama.ptrace_scope = 3 forbids ptrace "
                 "until reboot",
                 what, (int)t->pid);
    } else {
        snprintf(err, errlen,
                 "%s pid %d: permission denied (a set-id or non-dumpable process needs "
                 "CAP_SYS_PTRACE; a container needs --cap-add=SYS_PTRACE)",
                 what, (int)t->pid);
    }
}

static int
check_process(struct target *t, char *err, size_t errlen)
{
    const struct procfs_status *st = &t->status;
    bool cap = procfs_have_cap(TARGET_CAP_SYS_PTRACE);
    int r;

    if (st->state == 'Z' || st->state == 'X') {
        snprintf(err, errlen, "pid %d has exited (it is a zombie)", (int)t->pid);
        return -ESRCH;
    }
    if (st->tracer != 0) {
        struct procfs_status tr;
        snprintf(err, errlen,
                 "pid %d is already traced by pid %d (%s): detach that debugger or tracer first",
                 (int)t->pid, (int)st->tracer, procfs_status(st->tracer, &tr) == 0 ? tr.name : "?");
        return -EBUSY;
    }
    if (st->state == 'T' || st->state == 't') {
        snprintf(err, errlen, "pid %d is stopped (SIGSTOP, Ctrl-Z): resume it with kill -CONT %d",
                 (int)t->pid, (int)t->pid);
        return -EBUSY;
    }
    /* The kernel's own rule (ptrace_may_access): all of the target's uids
     * and gids equal ours, or CAP_SYS_PTRACE. */
    for (int i = 0; i < 3 && !cap; i++) {
        if (st->uid[i] != getuid() || st->gid[i] != getgid()) {
            snprintf(err, errlen,
                     "pid %d runs as uid %u gid %u: attaching needs the same user or "
                     "CAP_SYS_PTRACE (run lruleak as root, or as that user)",
                     (int)t->pid, (unsigned)st->uid[1], (unsigned)st->gid[1]);
            return -EPERM;
        }
    }
    r = procfs_same_root(t->pid);
    if (r == 0) {
        snprintf(err, errlen,
                 "pid %d runs in another root directory (a chroot or container): run lruleak "
                 "attach inside it",
                 (int)t->pid);
        return -EXDEV;
    }
    if (r == -EACCES || r == -EPERM) {
        target_explain_eperm(t, "cannot inspect", err, errlen);
        return -EPERM;
    }
    return 0;
}

void
target_close(struct target *t)
{
    for (size_t i = 0; i < t->n_obj; i++) {
        elf_close(&t->obj[i].elf);
    }
    free(t->obj);
    procfs_maps_done(&t->maps);
    memset(t, 0, sizeof(*t));
}

int
target_open(pid_t pid, struct target *t, char *err, size_t errlen)
{
    char version[32];
    int r;

    memset(t, 0, sizeof(*t));
    t->pid = pid;
    t->python = -1;
    if (pid == getpid()) {
        snprintf(err, errlen, "pid %d is lruleak itself", (int)pid);
        return -EINVAL;
    }
    r = procfs_status(pid, &t->status);
    if (r == -ESRCH) {
        snprintf(err, errlen, "no process with pid %d", (int)pid);
        return r;
    }
    if (r < 0) {
        snprintf(err, errlen, "cannot read /proc/%d/status: %s", (int)pid, strerror(-r));
        return r;
    }
    r = check_process(t, err, errlen);
    if (r < 0) {
        return r;
    }
    r = procfs_maps(pid, &t->maps);
    if (r == -EACCES || r == -EPERM) {
        target_explain_eperm(t, "cannot read the memory map of", err, errlen);
        return -EPERM;
    }
    if (r < 0) {
        snprintf(err, errlen, "cannot read /proc/%d/maps: %s", (int)pid, strerror(-r));
        return r == -ESRCH ? -ESRCH : r;
    }
    r = collect_objects(t);
    if (r < 0) {
        snprintf(err, errlen, "out of memory");
        return r;
    }
    t->python = find_python(t);
    if (t->python < 0) {
        snprintf(err, errlen,
                 "pid %d (%s) is not a Python process (no mapped file exports the CPython C "
                 "API)",
                 (int)pid, t->status.name);
        return -ENOEXEC;
    }
    find_version(t);
    target_version_string(t, version, sizeof(version));
    unsigned major = t->version >> 24, minor = (t->version >> 16) & 0xff;
    if (t->free_threaded) {
        snprintf(err, errlen,
                 "pid %d runs a free-threaded CPython %s, which lruleak does not support yet",
                 (int)pid, version);
        return -ENOTSUP;
    }
    if (t->version != 0 &&
        (major != 3 || minor < TARGET_PY_MIN_MINOR || minor > TARGET_PY_MAX_MINOR)) {
        snprintf(err, errlen, "pid %d runs CPython %s; lruleak supports 3.%d to 3.%d", (int)pid,
                 version, TARGET_PY_MIN_MINOR, TARGET_PY_MAX_MINOR);
        return -ENOTSUP;
    }
    return 0;
}
