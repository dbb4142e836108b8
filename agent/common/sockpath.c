/* SPDX-License-Identifier: MIT */
/*
 * sockpath: the one place that knows where agent sockets live.
 *
 * The agent calls it to create and vet its socket directory, the CLI to
 * find agents; both must agree, so both read the same environment
 * (secure_getenv, so a set-id program ignores it; an empty value counts as
 * unset; trailing slashes are dropped). sockpath_ensure_dir() creates only
 * the last component and then refuses anything another user could have
 * planted or could tamper with: a symlink, a non-directory, a directory
 * owned by someone else or writable by group or others. It does not create
 * parents, does not chmod an existing directory into shape (that would
 * hide a misconfiguration) and does not log: the reason goes to the
 * caller, which runs in the agent's server thread or in the CLI.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sockpath.h"

_Static_assert(sizeof(pid_t) == sizeof(int), "pid_t is expected to be an int");

/* An environment value, or NULL when unset, empty or ignored (set-id). */
static const char *
env_value(const char *name)
{
    const char *v = secure_getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Length of path without trailing slashes, keeping at least one byte. */
static size_t
trimmed_len(const char *path)
{
    size_t n = strlen(path);

    while (n > 1 && path[n - 1] == '/') {
        n--;
    }
    return n;
}

int
sockpath_dir_from(const char *lruleak_dir, const char *xdg_runtime_dir, uid_t uid, char *buf,
                  size_t size)
{
    const char *v;
    size_t n;
    int r;

    if ((v = lruleak_dir) != NULL && v[0] != '\0') {
        n = trimmed_len(v);
        r = n < size ? snprintf(buf, size, "%.*s", (int)n, v) : -1;
    } else if ((v = xdg_runtime_dir) != NULL && v[0] != '\0') {
        n = trimmed_len(v);
        if (n == 1 && v[0] == '/') {
            n = 0; /* "/" + "/lruleak" must not become "//lruleak" */
        }
        r = n < size ? snprintf(buf, size, "%.*s/lruleak", (int)n, v) : -1;
    } else {
        r = snprintf(buf, size, "/tmp/lruleak-%u", (unsigned)uid);
    }
    if (r < 0 || (size_t)r >= size) {
        if (size > 0) {
            buf[0] = '\0';
        }
        return -ENAMETOOLONG;
    }
    return 0;
}

int
sockpath_dir(char *buf, size_t size)
{
    return sockpath_dir_from(env_value("LRULEAK_DIR"), env_value("XDG_RUNTIME_DIR"), geteuid(), buf,
                             size);
}

int
sockpath_in_dir(const char *dir, pid_t pid, char *buf, size_t size)
{
    int r;

    if (pid <= 0) {
        return -EINVAL;
    }
    r = snprintf(buf, size, "%s/%d.sock", dir, (int)pid);
    /* The path must also fit sun_path, whatever the caller's buffer. */
    if (r < 0 || (size_t)r >= size || r >= SOCKPATH_MAX) {
        if (size > 0) {
            buf[0] = '\0';
        }
        return -ENAMETOOLONG;
    }
    return 0;
}

int
sockpath_for_pid(pid_t pid, char *buf, size_t size)
{
    char dir[SOCKPATH_MAX];
    int r;

    if (pid <= 0) {
        return -EINVAL;
    }
    r = sockpath_dir(dir, sizeof(dir));
    if (r < 0) {
        return r;
    }
    return sockpath_in_dir(dir, pid, buf, size);
}

static void __attribute__((format(printf, 3, 4)))
reason(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

int
sockpath_ensure_dir(const char *dir, char *why, size_t whylen)
{
    char ebuf[128];
    struct stat st;
    int r;

    if (why != NULL && whylen > 0) {
        why[0] = '\0';
    }
    if (dir == NULL || dir[0] == '\0') {
        reason(why, whylen, "empty socket directory name");
        return -EINVAL;
    }
    /* Only the last component: a missing parent is a configuration error. */
    r = mkdir(dir, 0700);
    if (r < 0 && errno != EEXIST) {
        r = -errno;
        reason(why, whylen, "cannot create %s: %s", dir, strerror_r(-r, ebuf, sizeof(ebuf)));
        return r;
    }
    /* Whether we just made it or it was there, check what is there now. */
    r = lstat(dir, &st);
    if (r < 0) {
        r = -errno;
        reason(why, whylen, "cannot stat %s: %s", dir, strerror_r(-r, ebuf, sizeof(ebuf)));
        return r;
    }
    if (S_ISLNK(st.st_mode)) {
        reason(why, whylen, "%s is a symlink", dir);
        return -ELOOP;
    }
    if (!S_ISDIR(st.st_mode)) {
        reason(why, whylen, "%s is not a directory", dir);
        return -ENOTDIR;
    }
    if (st.st_uid != geteuid()) {
        reason(why, whylen, "%s is owned by uid %u", dir, (unsigned)st.st_uid);
        return -EPERM;
    }
    if ((st.st_mode & 0022) != 0) {
        reason(why, whylen, "%s is writable by group or others (mode %04o)", dir,
               (unsigned)(st.st_mode & 07777));
        return -EACCES;
    }
    return 0;
}

pid_t
sockpath_parse_name(const char *name)
{
    const char *p = name;
    int pid = 0;

    /* Canonical decimal only: no sign, no leading zero, no zero pid. */
    if (p == NULL || *p < '1' || *p > '9') {
        return -EINVAL;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        int d = *p - '0';
        if (pid > (INT_MAX - d) / 10) {
            return -EINVAL;
        }
        pid = pid * 10 + d;
    }
    if (strcmp(p, ".sock") != 0) {
        return -EINVAL;
    }
    return pid;
}
