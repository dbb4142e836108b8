/* SPDX-License-Identifier: MIT */
/*
 * client: one connection to the agent of one process (see protocol.h).
 *
 * Every blocking step (connect, write, read) has a deadline, so the CLI
 * never hangs on a wedged agent. Failures come back as -errno plus one
 * human line naming the cause (no such process, no agent, stale socket,
 * permission denied, agent error reply...); the caller prints it. Never
 * logs. Thread context: any; a client belongs to one thread.
 */
#pragma once

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "jsonv.h"
#include "sockpath.h"

/* Default deadline of each step, in milliseconds. */
#define CLIENT_TIMEOUT_MS 5000
/* A fresh sample scans the process; a busy one can take a while. */
#define CLIENT_SNAPSHOT_TIMEOUT_MS 60000
/* A full-heap discovery walks every object. */
#define CLIENT_FULL_TIMEOUT_MS 120000

struct client {
    pid_t pid;
    int fd; /* -1 when closed */
    char path[SOCKPATH_MAX];
    char *buf; /* bytes received past the last reply line */
    size_t len;
    size_t cap;
    int remote_errno; /* errno of the last {"ok":false} reply, else 0 */
    /* When not NULL and set by a signal handler, a wait interrupted by
     * that signal returns -EINTR instead of resuming. */
    const volatile sig_atomic_t *cancel;
};

/* Embedded life cycle: init before use (fd = -1), done closes and frees. */
void client_init(struct client *c);
void client_done(struct client *c);

/*
 * The directory where this CLI expects the socket of pid's agent: its own
 * (sockpath_dir), except for root looking at another user's process: then
 * where that process's agent puts it (its LRULEAK_DIR, XDG_RUNTIME_DIR or
 * /tmp/lruleak-<uid>, from /proc/PID/environ). Returns 0 or -errno.
 */
int client_agent_dir(pid_t pid, char *buf, size_t size);

/*
 * Connect to the agent of pid within timeout_ms. Returns 0, or:
 *   -ESRCH         no process with that pid
 *   -ENOENT        the process exists but has no agent socket
 *   -ECONNREFUSED  a socket nobody listens on (stale)
 *   -EACCES        permission denied on the socket or its directory
 *   -ETIMEDOUT     the agent did not accept in time
 *   other -errno   anything else
 * with one line in err (always NUL-terminated) naming the cause.
 */
int client_connect(struct client *c, pid_t pid, int timeout_ms, char *err, size_t errlen);

/*
 * Send one request (a JSON object without '\n') and read its reply line,
 * each step within timeout_ms. Returns 0 and the parsed {"ok":true,...}
 * reply in *ret_reply (free with jsonv_free), or:
 *   -EREMOTEIO     the agent answered {"ok":false} (its errno in
 *                  c->remote_errno, "agent in pid N: <error>" in err)
 *   -ETIMEDOUT     no reply in time
 *   -ECONNRESET    the agent closed the connection (its process may exit)
 *   -EBADMSG       the reply is not a JSON object with "ok"
 *   -EMSGSIZE      the reply is longer than PROTOCOL_MAX_REPLY
 *   -EINTR         cancelled (see struct client)
 *   -ENOMEM, other -errno
 */
int client_request(struct client *c, const char *request, int timeout_ms,
                   const struct jsonv **ret_reply, char *err, size_t errlen);

/* The CLI exit code for a client error: 3 (no agent) for the causes that
 * mean nobody answers for that pid, else 1. */
int client_exit_code(int r);
