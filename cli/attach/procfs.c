/* SPDX-License-Identifier: MIT */
/*
 * procfs: reading /proc/PID/... of another process (see procfs.h). Files
 * are read whole with bounded sizes; a missing /proc/PID means the process
 * is gone (-ESRCH).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procfs.h"

/* Read a whole /proc file (at most max bytes) into a NUL-terminated buffer.
 * Returns the length or -errno (-ESRCH when the process is gone). */
static ssize_t
read_file(const char *path, char **ret, size_t max)
{
    size_t cap = 4096, len = 0;
    char *buf = NULL;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return errno == ENOENT ? -ESRCH : -errno;
    }
    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= max) {
                r = -EFBIG;
                goto out;
            }
            cap *= 2;
        }
        char *b = realloc(buf, cap);
        if (b == NULL) {
            r = -ENOMEM;
            goto out;
        }
        buf = b;
        r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            r = errno == ESRCH ? -ESRCH : -errno;
            goto out;
        }
        if (r == 0) {
            break;
        }
        len += (size_t)r;
    }
    buf[len] = '\0';
    *ret = buf;
    buf = NULL;
    r = (ssize_t)len;
out:
    free(buf);
    close(fd);
    return r;
}

int
procfs_status(pid_t pid, struct procfs_status *ret)
{
    char path[64], *text = NULL;
    struct procfs_status st;
    ssize_t n;

    memset(&st, 0, sizeof(st));
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    n = read_file(path, &text, 1 << 20);
    if (n < 0) {
        return (int)n;
    }
    for (char *line = text; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        if (strncmp(line, "Name:\t", 6) == 0) {
            snprintf(st.name, sizeof(st.name), "%s", line + 6);
        } else if (strncmp(line, "State:\t", 7) == 0) {
            st.state = line[7];
        } else if (strncmp(line, "PPid:\t", 6) == 0) {
            st.ppid = (pid_t)strtol(line + 6, NULL, 10);
        } else if (strncmp(line, "TracerPid:\t", 11) == 0) {
            st.tracer = (pid_t)strtol(line + 11, NULL, 10);
        } else if (strncmp(line, "Threads:\t", 9) == 0) {
            st.threads = (int)strtol(line + 9, NULL, 10);
        } else if (strncmp(line, "Uid:\t", 5) == 0) {
            unsigned u[4] = {0};
            sscanf(line + 5, "%u %u %u %u", &u[0], &u[1], &u[2], &u[3]);
            for (int i = 0; i < 4; i++) {
                st.uid[i] = u[i];
            }
        } else if (strncmp(line, "Gid:\t", 5) == 0) {
            unsigned g[4] = {0};
            sscanf(line + 5, "%u %u %u %u", &g[0], &g[1], &g[2], &g[3]);
            for (int i = 0; i < 4; i++) {
                st.gid[i] = g[i];
            }
        } else if (strncmp(line, "Groups:\t", 8) == 0) {
            char *p = line + 8, *end;
            while (st.ngroups < PROCFS_MAX_GROUPS) {
                unsigned long g = strtoul(p, &end, 10);
                if (end == p) {
                    break;
                }
                st.groups[st.ngroups++] = (gid_t)g;
                p = end;
            }
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    free(text);
    if (st.state == '\0') {
        return -EBADMSG;
    }
    *ret = st;
    return 0;
}

void
procfs_maps_done(struct procfs_maps *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].path);
    }
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

int
procfs_maps(pid_t pid, struct procfs_maps *ret)
{
    char path[64], *text = NULL;
    struct procfs_maps m = {0};
    size_t cap = 0;
    ssize_t n;
    int r = 0;

    snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    n = read_file(path, &text, 256u << 20);
    if (n < 0) {
        return (int)n;
    }
    for (char *line = text; *line != '\0';) {
        char *nl = strchr(line, '\n');
        struct procfs_map map = {0};
        int pos = 0;

        if (nl != NULL) {
            *nl = '\0';
        }
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n", &map.start,
                   &map.end, map.perms, &map.offset, &map.dev_major, &map.dev_minor, &map.inode,
                   &pos) >= 7) {
            if (m.n == cap) {
                cap = cap != 0 ? cap * 2 : 256;
                if (cap > 1000000) {
                    r = -EFBIG;
                    break;
                }
                struct procfs_map *v = realloc(m.v, cap * sizeof(*v));
                if (v == NULL) {
                    r = -ENOMEM;
                    break;
                }
                m.v = v;
            }
            map.path = strdup(pos > 0 ? line + pos : "");
            if (map.path == NULL) {
                r = -ENOMEM;
                break;
            }
            m.v[m.n++] = map;
        }
        if (nl == NULL) {
            break;
        }
        line = nl + 1;
    }
    free(text);
    if (r < 0) {
        procfs_maps_done(&m);
        return r;
    }
    *ret = m;
    return 0;
}

const struct procfs_map *
procfs_maps_find(const struct procfs_maps *m, uint64_t addr)
{
    for (size_t i = 0; i < m->n; i++) {
        if (addr >= m->v[i].start && addr < m->v[i].end) {
            return &m->v[i];
        }
    }
    return NULL;
}

int
procfs_threads(pid_t pid, pid_t *buf, size_t cap)
{
    char path[64];
    struct dirent *e;
    int n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    d = opendir(path);
    if (d == NULL) {
        return errno == ENOENT ? -ESRCH : -errno;
    }
    while ((e = readdir(d)) != NULL) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);
        if (*end != '\0' || tid <= 0) {
            continue;
        }
        if ((size_t)n < cap) {
            buf[n] = (pid_t)tid;
        }
        n++;
    }
    closedir(d);
    return n;
}

int
procfs_same_root(pid_t pid)
{
    char path[64];
    struct stat mine, theirs;

    snprintf(path, sizeof(path), "/proc/%d/root/", (int)pid);
    if (stat("/", &mine) < 0) {
        return -errno;
    }
    if (stat(path, &theirs) < 0) {
        return errno == ENOENT ? -ESRCH : -errno;
    }
    return mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino;
}

int
procfs_environ_get(pid_t pid, const char *name, char *buf, size_t size)
{
    char path[64], *text = NULL;
    size_t nlen = strlen(name);
    ssize_t n;
    int r = -ENOENT;

    snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
    n = read_file(path, &text, 4u << 20);
    if (n < 0) {
        return (int)n;
    }
    for (ssize_t i = 0; i < n;) {
        const char *e = text + i;
        size_t len = strnlen(e, (size_t)(n - i));
        if (len > nlen && memcmp(e, name, nlen) == 0 && e[nlen] == '=') {
            r = len - nlen - 1 < size ? 0 : -ENAMETOOLONG;
            if (r == 0) {
                memcpy(buf, e + nlen + 1, len - nlen - 1);
                buf[len - nlen - 1] = '\0';
            }
            break;
        }
        i += (ssize_t)len + 1;
    }
    free(text);
    return r;
}

bool
procfs_have_cap(int cap)
{
    char *text = NULL;
    bool have = false;

    if (read_file("/proc/self/status", &text, 1 << 20) < 0) {
        return false;
    }
    const char *p = strstr(text, "\nCapEff:\t");
    if (p != NULL) {
        unsigned long long eff = strtoull(p + 9, NULL, 16);
        have = (eff >> cap) & 1;
    }
    free(text);
    return have;
}

int
procfs_ptrace_scope(void)
{
    char *text = NULL;
    int scope = -1;

    if (read_file("/proc/sys/kernel/yama/ptrace_scope", &text, 64) >= 0) {
        scope = atoi(text);
        free(text);
    }
    return scope;
}
