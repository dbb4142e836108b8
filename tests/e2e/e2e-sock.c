/* SPDX-License-Identifier: MIT */
/*
 * e2e-sock: agents' sockets, requests, and attaching for the e2e tests (see
 * e2e-helpers.h for the contract; e2e-helpers.c for the fixture).
 */
#include "config.h"

#include "e2e-helpers.h"
#include "e2e-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *
e2e_sock_path(pid_t pid)
{
    return e2e_strdupf("%s/%d.sock", e2e_sockdir, (int)pid);
}

/* Connect without failing the test; -errno on error. */
static int
try_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

int
e2e_connect(const char *path)
{
    int fd = try_connect(path);
    ck_assert_msg(fd >= 0, "connect %s: %s", path, strerror(-fd));
    return fd;
}

void
e2e_send(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ck_assert_msg(n > 0, "send on the agent socket: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

/* Like e2e_send but reports errors instead of failing (EPIPE is allowed
 * when the agent closes a connection it rejected). */
static int
try_send(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

char *
e2e_recv_line(int fd, int timeout_ms, bool *ret_eof)
{
    struct e2e_buf b = {0};
    int64_t deadline = now_ms() + timeout_ms;

    *ret_eof = false;
    /* Byte-wise reads would be slow for big samples: peek, then consume up
     * to the newline, so bytes after it stay for the next call. */
    for (;;) {
        char chunk[65536];
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            e2e_buf_done(&b);
            return NULL;
        }
        ssize_t n = recv(fd, chunk, sizeof(chunk), MSG_PEEK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            *ret_eof = true;
            e2e_buf_done(&b);
            return NULL;
        }
        char *nl = memchr(chunk, '\n', (size_t)n);
        size_t take = nl != NULL ? (size_t)(nl - chunk) + 1 : (size_t)n;
        n = recv(fd, chunk, take, 0);
        if (n <= 0) {
            *ret_eof = true;
            e2e_buf_done(&b);
            return NULL;
        }
        e2e_buf_append(&b, chunk, (size_t)n);
        if (b.data[b.len - 1] == '\n') {
            b.data[--b.len] = '\0';
            return b.data;
        }
    }
}

const struct jsonv *
e2e_request(int fd, const char *req)
{
    char *line = e2e_strdupf("%s\n", req);
    bool eof;

    e2e_send(fd, line, strlen(line));
    char *reply = e2e_recv_line(fd, E2E_REPLY_MS, &eof);
    ck_assert_msg(reply != NULL, "agent request %s: %s", req,
                  eof ? "connection closed without a reply" : "no reply in time");
    return e2e_json(reply, strlen(reply), "an agent reply");
}

const struct jsonv *
e2e_wait_agent(struct e2e_proc *v)
{
    return e2e_wait_agent_in(v, v->pid);
}

const struct jsonv *
e2e_wait_agent_in(struct e2e_proc *v, pid_t pid)
{
    const char *path = e2e_sock_path(pid);
    int64_t deadline = now_ms() + E2E_AGENT_MS;
    const char *last = "no socket";

    for (;;) {
        int fd = try_connect(path);
        if (fd >= 0) {
            static const char hello[] = "{\"cmd\":\"hello\"}\n";
            bool eof;
            char *reply = NULL;
            if (try_send(fd, hello, sizeof(hello) - 1) == 0) {
                reply = e2e_recv_line(fd, remaining_ms(deadline), &eof);
            }
            close(fd);
            if (reply != NULL) {
                const struct jsonv *h = e2e_json(reply, strlen(reply), "the hello reply");
                const char *state = jsonv_get_str(h, "state");
                bool ok = false;
                if (jsonv_get_bool(h, "ok", &ok) && ok && state != NULL &&
                    strcmp(state, "sampling") == 0) {
                    return h;
                }
                last = reply;
            } else {
                last = "connected, but no hello reply";
            }
        } else {
            last = e2e_strdupf("connect: %s", strerror(-fd));
        }
        int wstatus;
        if (!v->reaped && waitpid(v->pid, &wstatus, WNOHANG) == v->pid) {
            set_status(v, wstatus);
        }
        if (v->reaped || remaining_ms(deadline) == 0) {
            e2e_proc_wait(v, 1000);
            ck_abort_msg("%s: the agent did not answer hello in state sampling on %s within "
                         "%d ms (last: %s; victim %s; its stderr: %s)",
                         v->name, path, E2E_AGENT_MS, last, v->reaped ? "exited" : "still running",
                         tail(e2e_buf_str(&v->err), 2000));
        }
        sleep_ms(10);
    }
}

int64_t
e2e_agent_samples(pid_t pid)
{
    static const char hello[] = "{\"cmd\":\"hello\"}\n";
    int64_t deadline = now_ms() + E2E_REPLY_MS;

    for (;;) {
        int fd = e2e_connect(e2e_sock_path(pid));
        bool eof = false;
        char *reply = try_send(fd, hello, sizeof(hello) - 1) == 0
                          ? e2e_recv_line(fd, remaining_ms(deadline), &eof)
                          : NULL;
        close(fd);
        if (reply != NULL) {
            const struct jsonv *h = e2e_json(reply, strlen(reply), "the hello reply");
            ck_assert_msg(e2e_bool(h, "ok", "hello"), "hello refused: %s", reply);
            return e2e_int(h, "samples", "hello");
        }
        ck_assert_msg(remaining_ms(deadline) > 0, "pid %d: no hello reply within %d ms", (int)pid,
                      E2E_REPLY_MS);
        sleep_ms(25);
    }
}

const struct jsonv *
e2e_agent_snapshot(pid_t pid, bool full)
{
    int fd = e2e_connect(e2e_sock_path(pid));
    const struct jsonv *reply =
        e2e_request(fd, full ? "{\"cmd\":\"snapshot\",\"full\":true}" : "{\"cmd\":\"snapshot\"}");
    close(fd);
    bool ok = false;
    ck_assert_msg(jsonv_get_bool(reply, "ok", &ok) && ok, "snapshot request refused: %s",
                  jsonv_get_str(reply, "error") ? jsonv_get_str(reply, "error") : "?");
    const struct jsonv *sample = jsonv_get(reply, "sample");
    ck_assert_msg(jsonv_is(sample, JSONV_OBJECT), "snapshot reply without a sample object");
    /* A sample that was running when we asked must not answer for it. */
    ck_assert_msg(!full || e2e_bool(sample, "full", "the snapshot's sample"),
                  "a full snapshot was answered with a sample without the full discovery");
    return sample;
}

/* ---- attaching ------------------------------------------------------------------ */

int
e2e_python_version(int *ret_major, int *ret_minor, bool *ret_free_threaded)
{
    /* Used while building a suite, outside any test: no check asserts. */
    char *cmd = NULL;
    int major = 0, minor = 0, ft = 0, n;
    FILE *f;

    if (asprintf(&cmd,
                 "'%s' -c 'import sys, sysconfig; print(sys.version_info[0], sys.version_info[1], "
                 "int(bool(sysconfig.get_config_var(\"Py_GIL_DISABLED\"))))'",
                 e2e_cfg.python) < 0) {
        return -1;
    }
    f = popen(cmd, "r");
    free(cmd);
    if (f == NULL) {
        return -1;
    }
    n = fscanf(f, "%d %d %d", &major, &minor, &ft);
    if (pclose(f) != 0 || n != 3) {
        return -1;
    }
    *ret_major = major;
    *ret_minor = minor;
    *ret_free_threaded = ft != 0;
    return 0;
}

bool
e2e_can_attach(char *reason, size_t size)
{
    unsigned long long eff = 0;
    char line[256];
    int scope = 0;
    FILE *f = fopen("/proc/self/status", "re");

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "CapEff:", 7) == 0) {
            eff = strtoull(line + 7, NULL, 16);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    if ((eff >> 19) & 1) { /* CAP_SYS_PTRACE */
        return true;
    }
    f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
    if (f != NULL) {
        if (fscanf(f, "%d", &scope) != 1) {
            scope = 0;
        }
        fclose(f);
    }
    if (scope > 0) {
        snprintf(reason, size,
                 "no CAP_SYS_PTRACE and kernel.yama.ptrace_scope = %d: attach needs root here",
                 scope);
        return false;
    }
    return true;
}

int
e2e_count_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n;
}

struct e2e_proc *
e2e_attach(pid_t pid, const char *const *env_extra, const char *interval)
{
    char *argv[8];
    size_t n = 0;
    char *spid = e2e_strdupf("%d", (int)pid);

    argv[n++] = (char *)e2e_cfg.cli;
    argv[n++] = (char *)"attach";
    argv[n++] = spid;
    if (interval != NULL) {
        argv[n++] = (char *)"--interval";
        argv[n++] = (char *)interval;
    }
    argv[n] = NULL;
    struct e2e_proc *cli = e2e_run(argv, e2e_env_cli(env_extra), NULL, E2E_CLI_MS);
    char *want = e2e_strdupf("lruleak: attached to pid %d ", (int)pid);
    ck_assert_msg(cli->status == 0 && strstr(e2e_buf_str(&cli->out), want) != NULL &&
                      cli->err.len == 0,
                  "lruleak attach %d exited %d (stdout: %s; stderr: %s)", (int)pid, cli->status,
                  e2e_buf_str(&cli->out), e2e_buf_str(&cli->err));
    /* Answering, and sampling (attach itself waits for that). */
    int fd = e2e_connect(e2e_sock_path(pid));
    const struct jsonv *h = e2e_request(fd, "{\"cmd\":\"hello\"}");
    close(fd);
    ck_assert_msg(strcmp(e2e_str(h, "state", "hello after attach"), "sampling") == 0,
                  "the attached agent is %s, not sampling", e2e_str(h, "state", "hello"));
    return cli;
}

void
e2e_detach(pid_t pid)
{
    char *spid = e2e_strdupf("%d", (int)pid);
    struct e2e_proc *cli = e2e_cli(e2e_env_cli(NULL), "detach", spid, NULL);
    struct stat st;

    ck_assert_msg(cli->status == 0 && strstr(e2e_buf_str(&cli->out), "detached from pid") != NULL,
                  "lruleak detach %d exited %d (stdout: %s; stderr: %s)", (int)pid, cli->status,
                  e2e_buf_str(&cli->out), e2e_buf_str(&cli->err));
    ck_assert_msg(stat(e2e_sock_path(pid), &st) < 0 && errno == ENOENT,
                  "the socket %s is still there after detach", e2e_sock_path(pid));
}
