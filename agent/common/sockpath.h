/* SPDX-License-Identifier: MIT */
/*
 * sockpath: where agents put their sockets, shared by the agent and the CLI.
 *
 * The directory is $LRULEAK_DIR, else $XDG_RUNTIME_DIR/lruleak, else
 * /tmp/lruleak-<uid>. Each agent listens on <dir>/<pid>.sock. Never logs.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Longest usable path: sun_path is 108 bytes including the NUL. */
#define SOCKPATH_MAX 108

/* Write the socket directory into buf. Returns 0, or -ENAMETOOLONG. */
int sockpath_dir(char *buf, size_t size);
/*
 * The same rule for another environment: lruleak_dir ($LRULEAK_DIR), else
 * xdg_runtime_dir/lruleak, else /tmp/lruleak-<uid> (NULL or "" counts as
 * unset). The CLI uses it for an agent in a process of another user (read
 * from that process's environment). Returns 0, or -ENAMETOOLONG.
 */
int sockpath_dir_from(const char *lruleak_dir, const char *xdg_runtime_dir, uid_t uid, char *buf,
                      size_t size);
/* Write <dir>/<pid>.sock into buf. Returns 0, -EINVAL (pid <= 0) or
 * -ENAMETOOLONG (as sockpath_for_pid). */
int sockpath_in_dir(const char *dir, pid_t pid, char *buf, size_t size);
/* Write <dir>/<pid>.sock into buf. Returns 0, -EINVAL (pid <= 0), or
 * -ENAMETOOLONG (buf too small, or the path does not fit SOCKPATH_MAX). */
int sockpath_for_pid(pid_t pid, char *buf, size_t size);
/*
 * Create the directory (mode 0700) if missing, then verify it: a real
 * directory (not a symlink), owned by our euid, not writable by group or
 * others. Returns 0, or -errno with a human reason in why (may be NULL):
 * -ELOOP symlink, -EPERM wrong owner, -EACCES too permissive, -ENOTDIR,
 * or the errno of mkdir/lstat (e.g. -ENOENT for a missing parent).
 */
int sockpath_ensure_dir(const char *dir, char *why, size_t whylen);
/* Parse "<pid>.sock" (a directory entry name). Returns pid > 0 or -EINVAL. */
pid_t sockpath_parse_name(const char *name);
