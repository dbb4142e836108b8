/* SPDX-License-Identifier: MIT */
/*
 * client: connect to an agent socket, send one request line, read one reply
 * line (the anet model: plain blocking semantics built from non-blocking
 * calls and poll() with a deadline, so nothing waits forever).
 *
 * The interesting part is turning raw errno values into the cause a user
 * can act on: a missing socket means "no such process" or "no agent in that
 * process" depending on kill(pid, 0); a refused connection is a stale
 * socket. The socket directory is checked to be ours before we talk to
 * anything in it. Replies are untrusted input: bounded by
 * PROTOCOL_MAX_REPLY and parsed with jsonv. Never logs. Thread context: any.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "procfs.h"
#include "protocol.h"
#include "util.h"

void
client_init(struct client *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

void
client_done(struct client *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    free(c->buf);
    c->fd = -1;
    c->buf = NULL;
    c->len = c->cap = 0;
}

int
client_exit_code(int r)
{
    switch (r) {
    case -ESRCH:
    case -ENOENT:
    case -ECONNREFUSED:
    case -ETIMEDOUT:
    case -ECONNRESET:
    case -EPIPE:
        return CLI_EXIT_NO_AGENT;
    default:
        return CLI_EXIT_FAILURE;
    }
}

/* Milliseconds left until deadline (seconds, monotonic); 0 when past. */
static int
remaining_ms(double deadline)
{
    double left = deadline - util_now();

    return left <= 0 ? 0 : (int)(left * 1000.0) + 1;
}

/*
 * Wait for events on fd until deadline. Returns 0 when ready, -ETIMEDOUT,
 * -EINTR when cancelled, or -errno.
 */
static int
wait_fd(struct client *c, short events, double deadline)
{
    struct pollfd pfd = {.fd = c->fd, .events = events};
    int n;

    for (;;) {
        int ms = remaining_ms(deadline);

        if (ms == 0) {
            return -ETIMEDOUT;
        }
        n = poll(&pfd, 1, ms);
        if (n > 0) {
            return 0;
        }
        if (n == 0) {
            return -ETIMEDOUT;
        }
        if (errno != EINTR) {
            return -errno;
        }
        if (c->cancel != NULL && *c->cancel) {
            return -EINTR;
        }
    }
}

static void
describe_missing(pid_t pid, const char *path, int *r, char *err, size_t errlen)
{
    if (kill(pid, 0) < 0 && errno == ESRCH) {
        snprintf(err, errlen, "no process with pid %d", (int)pid);
        *r = -ESRCH;
    } else if (*r == -ECONNREFUSED) {
        snprintf(err, errlen, "the agent in pid %d is not listening (stale socket %s)", (int)pid,
                 path);
    } else if (kill(pid, 0) < 0 && errno == EPERM) {
        snprintf(err, errlen, "no lruleak agent of yours in pid %d (it belongs to another user)",
                 (int)pid);
        *r = -ENOENT;
    } else {
        snprintf(err, errlen,
                 "no lruleak agent in pid %d (attach one with `lruleak attach %d`, or start "
                 "the program under `lruleak run`)",
                 (int)pid, (int)pid);
        *r = -ENOENT;
    }
}

/* The socket directory must be ours: a directory another user created in
 * /tmp could hold a socket impersonating an agent. */
static int
check_dir(const char *path, char *err, size_t errlen)
{
    char dir[SOCKPATH_MAX];
    char *slash;
    struct stat st;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir) {
        return 0;
    }
    *slash = '\0';
    if (lstat(dir, &st) < 0) {
        /* Missing: the connect reports it as "no agent". */
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "socket directory %s is not a directory", dir);
        return -ENOTDIR;
    }
    if (st.st_uid != geteuid() && geteuid() != 0) {
        snprintf(err, errlen, "socket directory %s belongs to uid %u, not to you", dir,
                 (unsigned)st.st_uid);
        return -EPERM;
    }
    return 0;
}

int
client_agent_dir(pid_t pid, char *buf, size_t size)
{
    struct procfs_status st;
    char lruleak_dir[SOCKPATH_MAX], xdg[SOCKPATH_MAX];

    /* root looking at another user's process: that process's own rule,
     * from its environment (an agent can only use a directory its user
     * owns). */
    if (geteuid() == 0 && procfs_status(pid, &st) == 0 && st.uid[1] != 0) {
        bool has_dir =
            procfs_environ_get(pid, "LRULEAK_DIR", lruleak_dir, sizeof(lruleak_dir)) == 0;
        bool has_xdg = procfs_environ_get(pid, "XDG_RUNTIME_DIR", xdg, sizeof(xdg)) == 0;
        return sockpath_dir_from(has_dir ? lruleak_dir : NULL, has_xdg ? xdg : NULL, st.uid[1], buf,
                                 size);
    }
    return sockpath_dir(buf, size);
}

int
client_connect(struct client *c, pid_t pid, int timeout_ms, char *err, size_t errlen)
{
    char dir[SOCKPATH_MAX];

    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    double deadline = util_now() + timeout_ms / 1000.0;
    socklen_t len;
    int r, soerr;

    client_done(c);
    c->pid = pid;
    c->remote_errno = 0;
    r = pid > 0 ? client_agent_dir(pid, dir, sizeof(dir)) : -EINVAL;
    if (r == 0) {
        r = sockpath_in_dir(dir, pid, c->path, sizeof(c->path));
    }
    if (r < 0) {
        snprintf(err, errlen, "socket path for pid %d is too long (set LRULEAK_DIR)", (int)pid);
        return r;
    }
    r = check_dir(c->path, err, errlen);
    if (r < 0) {
        return r;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);

    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
        r = -errno;
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return r;
    }
    for (;;) {
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            r = 0;
            break;
        }
        r = -errno;
        if (r == -EINTR && (c->cancel == NULL || !*c->cancel)) {
            continue;
        }
        if (r == -EAGAIN) {
            /* The agent's backlog is full: it is busy, try again shortly. */
            struct timespec ts = {.tv_nsec = 10 * 1000 * 1000};

            if (remaining_ms(deadline) == 0) {
                r = -ETIMEDOUT;
                break;
            }
            nanosleep(&ts, NULL);
            continue;
        }
        if (r == -EINPROGRESS) {
            r = wait_fd(c, POLLOUT, deadline);
            if (r == 0) {
                len = sizeof(soerr);
                if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) {
                    r = -errno;
                } else {
                    r = -soerr;
                }
            }
        }
        break;
    }
    switch (r) {
    case 0:
        break;
    case -ENOENT:
    case -ECONNREFUSED:
    case -ENOTDIR:
        describe_missing(pid, c->path, &r, err, errlen);
        break;
    case -EACCES:
    case -EPERM:
        snprintf(err, errlen, "permission denied on %s", c->path);
        r = -EACCES;
        break;
    case -ETIMEDOUT:
        snprintf(err, errlen, "the agent in pid %d did not accept a connection within %.0f s",
                 (int)pid, timeout_ms / 1000.0);
        break;
    case -EINTR:
        snprintf(err, errlen, "interrupted");
        break;
    default:
        snprintf(err, errlen, "cannot connect to %s: %s", c->path, strerror(-r));
        break;
    }
    if (r < 0) {
        close(c->fd);
        c->fd = -1;
    }
    return r;
}

static int
send_all(struct client *c, const char *data, size_t n, double deadline)
{
    while (n > 0) {
        /* MSG_NOSIGNAL: a vanished agent is an error, not a SIGPIPE. */
        ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL);
        int r;

        if (w >= 0) {
            data += w;
            n -= (size_t)w;
            continue;
        }
        if (errno == EINTR && (c->cancel == NULL || !*c->cancel)) {
            continue;
        }
        if (errno != EAGAIN) {
            return errno == EINTR ? -EINTR : -errno;
        }
        r = wait_fd(c, POLLOUT, deadline);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

/* Read until the buffer holds a '\n'; returns the line length (without
 * '\n') or -errno. */
static int
recv_line(struct client *c, size_t *ret_len, double deadline)
{
    size_t scanned = 0;

    for (;;) {
        char *nl = c->len > scanned ? memchr(c->buf + scanned, '\n', c->len - scanned) : NULL;
        ssize_t n;
        int r;

        if (nl != NULL) {
            *ret_len = (size_t)(nl - c->buf);
            return 0;
        }
        scanned = c->len;
        if (c->len >= PROTOCOL_MAX_REPLY) {
            return -EMSGSIZE;
        }
        if (c->cap - c->len < 4096) {
            size_t cap = c->cap ? c->cap * 2 : 65536;
            char *b;

            if (cap > PROTOCOL_MAX_REPLY + 1) {
                cap = PROTOCOL_MAX_REPLY + 1;
            }
            b = realloc(c->buf, cap);
            if (b == NULL) {
                return -ENOMEM;
            }
            c->buf = b;
            c->cap = cap;
        }
        n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            continue;
        }
        if (n == 0) {
            return -ECONNRESET;
        }
        if (errno == EINTR && (c->cancel == NULL || !*c->cancel)) {
            continue;
        }
        if (errno != EAGAIN) {
            return errno == EINTR ? -EINTR : -errno;
        }
        r = wait_fd(c, POLLIN, deadline);
        if (r < 0) {
            return r;
        }
    }
}

static int
parse_reply(struct client *c, size_t n, const struct jsonv **ret_reply, char *err, size_t errlen)
{
    const struct jsonv *root = NULL;
    const char *msg = NULL;
    char why[128];
    int r;

    why[0] = '\0';
    r = jsonv_parse(c->buf, n, &root, why, sizeof(why));
    if (r == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    int ok = r < 0 ? -EBADMSG : protocol_read_reply(root, &c->remote_errno, &msg);
    if (ok < 0) {
        snprintf(err, errlen, "the agent in pid %d sent a malformed reply%s%s", (int)c->pid,
                 why[0] != '\0' ? ": " : "", why);
        r = -EBADMSG;
        goto out;
    }
    if (ok == 0) {
        snprintf(err, errlen, "agent in pid %d: %s", (int)c->pid,
                 msg != NULL ? msg : strerror(c->remote_errno));
        r = -EREMOTEIO;
        goto out;
    }
    *ret_reply = root;
    root = NULL;
out:
    jsonv_free(root);
    return r;
}

int
client_request(struct client *c, const char *request, int timeout_ms,
               const struct jsonv **ret_reply, char *err, size_t errlen)
{
    double deadline = util_now() + timeout_ms / 1000.0;
    size_t n = strlen(request), line_len = 0;
    char *line;
    int r;

    c->remote_errno = 0;
    if (c->fd < 0) {
        snprintf(err, errlen, "not connected to pid %d", (int)c->pid);
        return -ENOTCONN;
    }
    line = malloc(n + 2);
    if (line == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    memcpy(line, request, n);
    line[n] = '\n';
    line[n + 1] = '\0';
    r = send_all(c, line, n + 1, deadline);
    free(line);
    if (r == 0) {
        r = recv_line(c, &line_len, deadline);
    }
    switch (r) {
    case 0:
        break;
    case -ETIMEDOUT:
        snprintf(err, errlen, "the agent in pid %d did not answer within %.0f s", (int)c->pid,
                 timeout_ms / 1000.0);
        goto out;
    case -ECONNRESET:
    case -EPIPE:
        r = -ECONNRESET;
        snprintf(err, errlen, "the agent in pid %d closed the connection%s", (int)c->pid,
                 kill(c->pid, 0) < 0 && errno == ESRCH ? " (the process exited)" : "");
        goto out;
    case -EMSGSIZE:
        snprintf(err, errlen, "the agent in pid %d sent a reply longer than %u bytes", (int)c->pid,
                 PROTOCOL_MAX_REPLY);
        goto out;
    case -EINTR:
        snprintf(err, errlen, "interrupted");
        goto out;
    case -ENOMEM:
        snprintf(err, errlen, "out of memory");
        goto out;
    default:
        snprintf(err, errlen, "talking to the agent in pid %d: %s", (int)c->pid, strerror(-r));
        goto out;
    }
    r = parse_reply(c, line_len, ret_reply, err, errlen);
    /* Keep whatever followed the line (nothing, with a well-behaved agent). */
    c->len -= line_len + 1;
    memmove(c->buf, c->buf + line_len + 1, c->len);
out:
    if (r < 0 && r != -EREMOTEIO && r != -EBADMSG) {
        /* The stream is out of step (or dead): never reuse it. */
        close(c->fd);
        c->fd = -1;
        c->len = 0;
    }
    return r;
}
