/* SPDX-License-Identifier: MIT */
/*
 * target: a running process `lruleak attach` is about to enter, checked and
 * described: who owns it and whether we may trace it, which mapped file
 * holds its CPython runtime, which version and build that is, and where
 * its objects are loaded. Both attach mechanisms (remote-exec.c,
 * ptrace-inject.c) work from this description.
 *
 * target_open() turns every reason not to attach into one human line
 * (no such process, a zombie, stopped, traced by someone else, another
 * user, another root directory, not Python, free-threaded, unsupported
 * version), so the mechanisms only meet the failures they cause themselves.
 *
 * Files of the target are read through /proc/PID/root/<path>, i.e. as the
 * target sees them, and checked to be the very file it mapped (device and
 * inode). Never logs. Thread context: one thread per target.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "elf-symbols.h"
#include "procfs.h"

/* The interpreters lruleak's agent knows (agent/python/pycompat.c). */
#define TARGET_PY_MIN_MINOR 8
#define TARGET_PY_MAX_MINOR 15

struct target_object {
    char *path;          /* as the target sees it (its maps) */
    uint64_t dev, inode; /* makedev(major, minor), inode */
    uint64_t lo, hi;     /* the range of its mappings */
    uint64_t base;       /* start of the mapping of file offset 0 */
    bool elf_tried;
    int elf_err; /* of the lazy elf_open */
    struct elf_file elf;
};

struct target {
    pid_t pid;
    struct procfs_status status;
    struct procfs_maps maps;
    struct target_object *obj;
    size_t n_obj;
    ssize_t python;   /* index of the object that exports the C API */
    unsigned version; /* PY_VERSION_HEX, or 0x030X0000 from a file name, 0 unknown */
    bool free_threaded;
    uint64_t runtime; /* address of _PyRuntime (.PyRuntime), 0 when unknown */
};

/*
 * Describe pid and check that it can be attached to. Returns 0, or -errno
 * with one human line in err: -ESRCH no such process, -EPERM another user
 * without CAP_SYS_PTRACE, -EBUSY traced by another process or stopped,
 * -EXDEV another root directory, -ENOEXEC not a CPython process, -ENOTSUP
 * a free-threaded or unsupported interpreter. Free with target_close.
 */
int target_open(pid_t pid, struct target *t, char *err, size_t errlen);
void target_close(struct target *t);

/* "3.11.2", "3.10", "3.x" into buf. */
void target_version_string(const struct target *t, char *buf, size_t size);

/* The object that contains addr, or NULL. */
struct target_object *target_object_at(struct target *t, uint64_t addr);
/* The object whose file name (last component) starts with prefix, or NULL. */
struct target_object *target_object_named(struct target *t, const char *prefix);
/* Its ELF file, opened on first use; NULL when unreadable. */
const struct elf_file *target_object_elf(struct target *t, struct target_object *o);
/* The run-time address of an exported symbol of o. Returns 0 or -ENOENT. */
int target_symbol(struct target *t, struct target_object *o, const char *name, uint64_t *ret_addr);

/* Read / write the target's memory (process_vm_readv/writev). Returns 0 or
 * -errno (-EFAULT when the range is not mapped). */
int target_read(const struct target *t, uint64_t addr, void *buf, size_t n);
int target_write(const struct target *t, uint64_t addr, const void *buf, size_t n);

/*
 * One line for a permission failure (EPERM/EACCES from ptrace or process_vm
 * calls) on this target, naming what decides: the owner, CAP_SYS_PTRACE,
 * kernel.yama.ptrace_scope.
 */
void target_explain_eperm(const struct target *t, const char *what, char *err, size_t errlen);
