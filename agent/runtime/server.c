/* SPDX-License-Identifier: MIT */
/*
 * server: see server.h. One poll() loop over the listening socket, an
 * eventfd the sampler writes when a sample is published, and at most
 * SERVER_MAX_CLIENTS connections. Every fd is non-blocking and
 * close-on-exec and lives above 2. Limits: a request line of
 * PROTOCOL_MAX_REQUEST bytes (longer: one error line, then the connection
 * is closed); a client's next request waits while SERVER_PENDING_PAUSE
 * bytes of its replies are unsent (a client that pipelines requests and
 * never reads cannot make us buffer a reply per request: "latest" costs
 * 16 bytes to ask and a whole sample to answer); SERVER_MAX_PENDING bytes
 * unsent for one client, or SERVER_MAX_PENDING_TOTAL for all, drop the
 * client with the most; SERVER_SAMPLE_TIMEOUT_S for a requested sample.
 * Runs on the server thread; takes agent.lock only through dispatch and
 * agent-state.
 *
 * Detach: a {"cmd":"detach"} makes the sampler leave Python; once it says
 * it is gone (agent.sampler_gone, with a wake-up), this thread removes the
 * socket, answers every client that asked, closes all connections, marks
 * the agent DETACHED and ends. Nothing of it is touched after that mark, so
 * a new attach can start a new server thread at once.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "dispatch.h"
#include "fdhigh.h"
#include "hostwatch.h"
#include "log.h"
#include "protocol.h"
#include "server.h"
#include "termsig.h"
#include "sockpath.h"

#define SERVER_MAX_CLIENTS 64
#define SERVER_MAX_PENDING (64u << 20)
#define SERVER_MAX_PENDING_TOTAL (128u << 20)
#define SERVER_PENDING_PAUSE (1u << 20)
/* A flushed reply buffer bigger than this is given back. */
#define SERVER_KEEP_BUFFER (256u << 10)
#define SERVER_SAMPLE_TIMEOUT_S 60.0

struct client {
    int fd;
    char in[PROTOCOL_MAX_REQUEST];
    size_t in_len;
    struct jsonw out;
    size_t out_off;
    bool waiting; /* for the sample answering request number `after` */
    uint64_t after;
    double deadline;
    bool closing; /* close once out is flushed */
    bool detach;  /* asked to detach: answered when the agent is out */
};

/* The server's own state (its thread's; the agent's is agent.h's). */
static struct {
    struct client clients[SERVER_MAX_CLIENTS];
    int listen_fd;
} srv = {.listen_fd = -1};

static double
now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Out of the program's way (fdhigh.h): never 0, 1 or 2, nor a low number. */
static int
high_fd(int fd)
{
    return fdhigh_move(fd);
}

static size_t
pending(const struct client *c)
{
    return c->out.len - c->out_off;
}

static void
client_close(struct client *c)
{
    close(c->fd);
    jsonw_done(&c->out);
    c->fd = -1;
}

static bool
peer_allowed(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        return false;
    }
    return cred.uid == geteuid() || cred.uid == 0;
}

static void
accept_clients(void)
{
    for (;;) {
        int fd = high_fd(accept4(srv.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (fd < 0) {
            return;
        }
        fd = high_fd(fd);
        if (fd < 0) {
            continue;
        }
        if (!peer_allowed(fd)) {
            log_msg("refused a client of another user");
            close(fd);
            continue;
        }
        struct client *slot = NULL;
        for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
            if (srv.clients[i].fd < 0) {
                slot = &srv.clients[i];
                break;
            }
        }
        if (slot == NULL) {
            close(fd); /* full: the client sees EOF */
            continue;
        }
        slot->fd = fd;
        slot->in_len = 0;
        slot->out_off = 0;
        slot->waiting = false;
        slot->closing = false;
        slot->detach = false;
        jsonw_init(&slot->out);
    }
}

static void
handle_lines(struct client *c)
{
    size_t start = 0;

    for (size_t i = 0; i < c->in_len && !c->detach; i++) {
        /* The rest waits in c->in for the sample, or for the client to
         * read what it has been sent. */
        if (c->waiting || pending(c) >= SERVER_PENDING_PAUSE) {
            break;
        }
        if (c->in[i] != '\n') {
            continue;
        }
        size_t len = i - start;
        if (len > 0 && c->in[start + len - 1] == '\r') {
            len--;
        }
        if (len > 0) {
            uint64_t after = 0;
            int r = dispatch_request(c->in + start, len, &c->out, &after);
            if (r == 1) {
                c->waiting = true;
                c->after = after;
                c->deadline = now_s() + SERVER_SAMPLE_TIMEOUT_S;
            } else if (r == 2) {
                c->detach = true; /* later lines are not read */
            }
        }
        start = i + 1;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    if (c->in_len == sizeof(c->in) && memchr(c->in, '\n', c->in_len) == NULL) {
        protocol_write_error(&c->out, E2BIG, "request line too long");
        c->closing = true;
        c->in_len = 0;
    }
}

static void
read_client(struct client *c)
{
    for (;;) {
        if (c->in_len == sizeof(c->in) || c->closing) {
            return;
        }
        ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n <= 0) {
            /* EOF or error: finish what was asked, then close. */
            c->closing = true;
            return;
        }
        c->in_len += (size_t)n;
        handle_lines(c);
    }
}

static void
write_client(struct client *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.buf + c->out_off, c->out.len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n <= 0) {
            client_close(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->out.cap > SERVER_KEEP_BUFFER) {
        jsonw_done(&c->out); /* a big sample went out: give the memory back */
    } else {
        jsonw_clear(&c->out);
    }
    c->out_off = 0;
}

/* Drop the clients with the most unsent replies while all of them together
 * hold more than SERVER_MAX_PENDING_TOTAL. */
static void
limit_pending(void)
{
    for (;;) {
        struct client *most = NULL;
        size_t total = 0;

        for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
            struct client *c = &srv.clients[i];
            if (c->fd < 0) {
                continue;
            }
            total += pending(c);
            if (most == NULL || pending(c) > pending(most)) {
                most = c;
            }
        }
        if (total <= SERVER_MAX_PENDING_TOTAL || most == NULL) {
            return;
        }
        log_msg("dropped a client with %zu bytes of unread replies", pending(most));
        client_close(most);
    }
}

static void
serve_waiters(void)
{
    uint64_t answered = dispatch_answered();
    double now = now_s();

    for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
        struct client *c = &srv.clients[i];
        if (c->fd < 0 || !c->waiting) {
            continue;
        }
        if (answered >= c->after) {
            dispatch_write_sample(&c->out);
        } else if (now >= c->deadline) {
            dispatch_write_timeout(&c->out);
        } else {
            continue;
        }
        c->waiting = false;
        handle_lines(c); /* requests that arrived behind this one */
    }
}

/* Send what is queued for c, waiting at most until deadline (monotonic). */
static void
flush_before(struct client *c, double deadline)
{
    while (c->fd >= 0 && c->out_off < c->out.len) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
        double left = deadline - now_s();

        if (left <= 0 || poll(&pfd, 1, (int)(left * 1000.0) + 1) <= 0) {
            return;
        }
        write_client(c);
    }
}

/* The sampler is out of Python: take everything down and mark DETACHED. */
static void
finish_detach(void)
{
    double deadline = now_s() + 1.0;

    /* The socket goes first, so that whoever reads our reply finds it
     * gone and no new client connects meanwhile. */
    close(srv.listen_fd);
    srv.listen_fd = -1;
    if (agent.sock_path[0] != '\0') {
        unlink(agent.sock_path);
        agent.sock_path[0] = '\0';
    }
    for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
        struct client *c = &srv.clients[i];
        if (c->fd < 0) {
            continue;
        }
        if (c->detach) {
            dispatch_write_detached(&c->out);
            flush_before(c, deadline);
        }
        client_close(c);
    }
    agent_close_wake();
    log_msg("detached: socket closed, sampler gone");
    agent_detached();
}

/* The sampler ended without a detach, so the look for the program's end
 * is the server's (hostwatch.h): when every thread of the program has
 * ended, leave as on a detach, so that the process ends as it would have. */
static bool
alone_with_host(void)
{
    pthread_mutex_lock(&agent.lock);
    bool alone = agent.sampler_gone && !agent.detaching;
    pthread_mutex_unlock(&agent.lock);
    return alone;
}

static bool
host_ended_while_alone(void)
{
    if (!alone_with_host() || !hostwatch_program_ended()) {
        return false;
    }
    log_msg("the program's threads have all ended: the agent ends");
    pthread_mutex_lock(&agent.lock);
    agent.detaching = true;
    pthread_mutex_unlock(&agent.lock);
    return true;
}

static void *
server_main(void *arg)
{
    struct pollfd pfd[SERVER_MAX_CLIENTS + 3];

    (void)arg;
    agent_note_thread(&agent.server_os_tid);
    for (;;) {
        int n = 0;
        if (atomic_load(&agent.pausing)) {
            return NULL; /* os.fork(): see below */
        }
        pfd[n++] = (struct pollfd){.fd = srv.listen_fd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = agent.wake_fd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = termsig_fd(), .events = POLLIN};
        for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
            struct client *c = &srv.clients[i];
            short ev = 0;
            if (c->fd < 0) {
                pfd[n++] = (struct pollfd){.fd = -1};
                continue;
            }
            if (!c->closing && c->in_len < sizeof(c->in)) {
                ev |= POLLIN;
            }
            if (c->out.len > c->out_off) {
                ev |= POLLOUT;
            }
            pfd[n++] = (struct pollfd){.fd = c->fd, .events = ev};
        }
        int wait_ms = termsig_poll_ms();
        int most_ms = alone_with_host() ? (int)(HOSTWATCH_PERIOD_S * 1000) : 1000;
        if (poll(pfd, (nfds_t)n, wait_ms >= 0 && wait_ms < most_ms ? wait_ms : most_ms) < 0 &&
            errno != EINTR) {
            log_msg("poll: %s", strerror(errno));
            sleep(1);
            continue;
        }
        if (pfd[1].revents & POLLIN) {
            uint64_t v;
            (void)!read(agent.wake_fd, &v, sizeof(v));
        }
        if (pfd[2].fd >= 0 && (pfd[2].revents & POLLIN)) {
            termsig_readable();
        }
        if (atomic_load(&agent.pausing)) {
            /* os.fork(): leave; clients and the socket stay, and
             * server_resume() picks them up again. */
            return NULL;
        }
        if (host_ended_while_alone()) {
            finish_detach();
            return NULL;
        }
        if (pfd[0].revents & POLLIN) {
            accept_clients();
        }
        for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
            struct client *c = &srv.clients[i];
            short re = pfd[i + 3].revents;
            if (c->fd < 0 || pfd[i + 3].fd != c->fd) {
                continue;
            }
            if (re & (POLLIN | POLLHUP | POLLERR)) {
                read_client(c);
            }
        }
        serve_waiters();
        if (agent_detach_state() == AGENT_DETACH_READY) {
            finish_detach();
            return NULL;
        }
        limit_pending();
        for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
            struct client *c = &srv.clients[i];
            if (c->fd < 0) {
                continue;
            }
            if (c->out.err < 0 || pending(c) > SERVER_MAX_PENDING) {
                client_close(c); /* not reading its replies: drop it */
                continue;
            }
            write_client(c);
            if (c->fd < 0) {
                continue;
            }
            /* Requests held back while replies were unsent. */
            if (c->in_len > 0 && pending(c) < SERVER_PENDING_PAUSE) {
                handle_lines(c);
            }
            if (c->closing && !c->waiting && pending(c) == 0 &&
                memchr(c->in, '\n', c->in_len) == NULL) {
                client_close(c);
            }
        }
    }
    return NULL;
}

static int
open_socket(void)
{
    char dir[SOCKPATH_MAX], why[128];
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd, r;

    /* An attach names the directory (the CLI's, which may differ from what
     * this process's environment says); otherwise the environment. */
    if (agent.sock_dir[0] != '\0') {
        r = snprintf(dir, sizeof(dir), "%s", agent.sock_dir) < (int)sizeof(dir) ? 0 : -ENAMETOOLONG;
    } else {
        r = sockpath_dir(dir, sizeof(dir));
    }
    if (r == 0) {
        r = sockpath_ensure_dir(dir, why, sizeof(why));
        if (r < 0) {
            log_msg("not serving: socket directory %s refused: %s", dir, why);
            return r;
        }
    }
    if (r == 0) {
        r = sockpath_in_dir(dir, agent.pid, agent.sock_path, sizeof(agent.sock_path));
    }
    if (r < 0) {
        log_msg("not serving: socket path too long");
        agent.sock_path[0] = '\0';
        return r;
    }
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", agent.sock_path);
    fd = high_fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd < 0) {
        r = -errno;
        goto fail;
    }
    /* A socket left by a dead process with our pid (pid reuse). */
    unlink(agent.sock_path);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || chmod(agent.sock_path, 0600) < 0 ||
        listen(fd, 16) < 0) {
        r = -errno;
        close(fd);
        unlink(agent.sock_path);
        goto fail;
    }
    srv.listen_fd = fd;
    return 0;
fail:
    log_msg("not serving: %s: %s", agent.sock_path, strerror(-r));
    agent.sock_path[0] = '\0';
    return r;
}

void
server_forget_parent(void)
{
    /* The server thread does not exist here. Its client buffers are left
     * alone (copies of the parent's pages, possibly mid-update if no
     * before-fork hook ran): only the descriptors are ours to close. */
    bool started = srv.listen_fd >= 0; /* clients[] is set up from then on */

    if (started) {
        close(srv.listen_fd);
        srv.listen_fd = -1;
    }
    for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
        if (started && srv.clients[i].fd >= 0) {
            close(srv.clients[i].fd);
        }
        srv.clients[i].fd = -1;
        jsonw_init(&srv.clients[i].out);
    }
}

int
server_resume(void)
{
    int r;

    if (!agent.server_running || agent.server_alive || !agent_is_home()) {
        return 0;
    }
    r = agent_spawn(server_main, &agent.server_tid);
    if (r < 0) {
        log_msg("cannot restart the server thread: %s", strerror(-r));
        return r;
    }
    agent.server_alive = true;
    return 0;
}

int
server_start(void)
{
    int r;

    /* While os.fork() pauses the agent no thread starts; the sampler
     * started again afterwards comes back here. */
    if (agent.server_running || !agent_is_home() || atomic_load(&agent.pausing)) {
        return 0;
    }
    r = open_socket();
    if (r < 0) {
        return r;
    }
    agent_open_wake(high_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)));
    for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
        srv.clients[i].fd = -1;
    }
    r = agent_spawn(server_main, &agent.server_tid);
    if (r < 0) {
        log_msg("cannot start the server thread: %s", strerror(-r));
        close(srv.listen_fd);
        srv.listen_fd = -1;
        agent_close_wake();
        unlink(agent.sock_path);
        agent.sock_path[0] = '\0';
        return r;
    }
    agent.server_alive = true;
    agent.server_running = true;
    return 0;
}
