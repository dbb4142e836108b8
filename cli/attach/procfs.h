/* SPDX-License-Identifier: MIT */
/*
 * procfs: what /proc says about another process, for `lruleak attach`: its
 * status (state, tracer, credentials), its memory map, its threads, its
 * root directory and environment, and what the kernel lets us do to it
 * (capabilities, Yama's ptrace_scope).
 *
 * Everything read here comes from a process we do not trust: every line
 * and value is bounded, and a process that exits while we read shows up as
 * -ESRCH. Never logs. Thread context: any.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCFS_MAX_GROUPS 64

struct procfs_status {
    char name[64]; /* comm */
    char state;    /* R, S, D, T (stopped), t (tracing stop), Z, X ... */
    pid_t ppid;
    pid_t tracer; /* TracerPid, 0 when not traced */
    uid_t uid[4]; /* real, effective, saved, filesystem */
    gid_t gid[4];
    gid_t groups[PROCFS_MAX_GROUPS];
    size_t ngroups;
    int threads;
};

/* Read /proc/PID/status. Returns 0, -ESRCH (no such process), or -errno. */
int procfs_status(pid_t pid, struct procfs_status *ret);

struct procfs_map {
    uint64_t start, end, offset;
    uint64_t inode;
    unsigned dev_major, dev_minor;
    char perms[5];
    char *path; /* "" for anonymous mappings; "[stack]", "[vdso]"... */
};

struct procfs_maps {
    struct procfs_map *v;
    size_t n;
};

/* Read /proc/PID/maps (at most 1,000,000 lines). Returns 0 or -errno;
 * free with procfs_maps_done. */
int procfs_maps(pid_t pid, struct procfs_maps *ret);
void procfs_maps_done(struct procfs_maps *m);
/* The mapping that contains addr, or NULL. */
const struct procfs_map *procfs_maps_find(const struct procfs_maps *m, uint64_t addr);

/* Thread ids of pid, from /proc/PID/task, into buf (at most cap). Returns
 * the number found (may exceed cap: then only cap were stored) or -errno. */
int procfs_threads(pid_t pid, pid_t *buf, size_t cap);

/* 1 when pid sees the same root directory as we do, 0 when not (a chroot,
 * a container), -errno when it cannot be told. */
int procfs_same_root(pid_t pid);

/* The value of name in pid's initial environment (/proc/PID/environ) into
 * buf. Returns 0, -ENOENT (not set), -ENAMETOOLONG, or -errno. */
int procfs_environ_get(pid_t pid, const char *name, char *buf, size_t size);

/* Whether this process has capability cap (CAP_SYS_PTRACE is 19) in its
 * effective set. */
bool procfs_have_cap(int cap);

/* kernel.yama.ptrace_scope (0..3), or -1 when Yama is not there. */
int procfs_ptrace_scope(void);
