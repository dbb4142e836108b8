/* SPDX-License-Identifier: MIT */
/*
 * e2e-proc: processes (spawned, pumped, waited for, killed) and the victims for the e2e tests (see
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

/* ---- processes --------------------------------------------------------------- */

#define MAX_PROCS 256
static struct e2e_proc *procs[MAX_PROCS];
static size_t nprocs;

void
e2e_forget_procs(void)
{
    nprocs = 0;
}

void
e2e_kill_procs(void)
{
    for (size_t i = 0; i < nprocs; i++) {
        e2e_proc_kill(procs[i]);
    }
    nprocs = 0;
}

static void
register_proc(struct e2e_proc *p)
{
    if (nprocs == MAX_PROCS) {
        /* Reuse the slot of one that is reaped and closed (stress tests
         * start hundreds, a few at a time). */
        for (size_t i = 0; i < nprocs; i++) {
            struct e2e_proc *q = procs[i];
            if (q->reaped && q->in_fd < 0 && q->out_fd < 0 && q->err_fd < 0) {
                procs[i] = p;
                return;
            }
        }
    }
    ck_assert_msg(nprocs < MAX_PROCS, "too many processes at once in one test");
    procs[nprocs++] = p;
}

struct e2e_proc *
e2e_spawn(char *const argv[], char *const envp[])
{
    int in[2], out[2], err[2];
    posix_spawn_file_actions_t fa;
    struct e2e_proc *p = calloc(1, sizeof(*p));

    ck_assert_msg(p != NULL, "out of memory");
    ck_assert_msg(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 &&
                      pipe2(err, O_CLOEXEC) == 0,
                  "pipe2: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    /* check's own files must not leak into the child (inert counts fds) */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    int r = posix_spawn(&p->pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    ck_assert_msg(r == 0, "posix_spawn %s: %s", argv[0], strerror(r));
    p->in_fd = in[1];
    p->out_fd = out[0];
    p->err_fd = err[0];
    p->name = argv[0];
    for (size_t i = 1; argv[i] != NULL; i++) {
        if (strstr(argv[i], ".py") != NULL) {
            p->name = argv[i];
            break;
        }
    }
    register_proc(p);
    return p;
}

/* Read what is available on fd into b; returns false at EOF (fd closed). */
static bool
drain(int *fd, struct e2e_buf *b)
{
    char chunk[65536];
    ssize_t n = read(*fd, chunk, sizeof(chunk));
    if (n > 0) {
        e2e_buf_append(b, chunk, (size_t)n);
        return true;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return true;
    }
    close(*fd);
    *fd = -1;
    return false;
}

/* Wait up to timeout_ms for output on stdout/stderr and read it. Returns
 * false when both are at EOF or the time is up. */
static bool
pump(struct e2e_proc *p, int timeout_ms)
{
    struct pollfd pfd[2];
    int n = 0;

    if (p->out_fd >= 0) {
        pfd[n++] = (struct pollfd){.fd = p->out_fd, .events = POLLIN};
    }
    if (p->err_fd >= 0) {
        pfd[n++] = (struct pollfd){.fd = p->err_fd, .events = POLLIN};
    }
    if (n == 0) {
        return false;
    }
    int r = poll(pfd, (nfds_t)n, timeout_ms);
    if (r < 0 && errno == EINTR) {
        return true;
    }
    if (r <= 0) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (pfd[i].revents == 0) {
            continue;
        }
        if (pfd[i].fd == p->out_fd) {
            drain(&p->out_fd, &p->out);
        } else {
            drain(&p->err_fd, &p->err);
        }
    }
    return true;
}

const char *
e2e_proc_read_line(struct e2e_proc *p, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;

    for (;;) {
        const char *start = e2e_buf_str(&p->out) + p->out_pos;
        const char *nl = strchr(start, '\n');
        if (nl != NULL) {
            size_t len = (size_t)(nl - start);
            char *copy = strndup(start, len);
            ck_assert_msg(copy != NULL, "out of memory");
            p->out_pos += len + 1;
            return copy;
        }
        if (p->out_fd < 0 || remaining_ms(deadline) == 0) {
            return NULL;
        }
        pump(p, remaining_ms(deadline));
    }
}

void
e2e_proc_write(struct e2e_proc *p, const char *s)
{
    size_t len = strlen(s);
    ck_assert_msg(p->in_fd >= 0, "%s: stdin already closed", p->name);
    while (len > 0) {
        ssize_t n = write(p->in_fd, s, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ck_assert_msg(n > 0, "%s: write to stdin: %s (stderr: %s)", p->name, strerror(errno),
                      tail(e2e_buf_str(&p->err), 2000));
        s += n;
        len -= (size_t)n;
    }
}

void
set_status(struct e2e_proc *p, int wstatus)
{
    p->reaped = true;
    p->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

bool
e2e_proc_wait(struct e2e_proc *p, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;

    if (p->in_fd >= 0) {
        close(p->in_fd);
        p->in_fd = -1;
    }
    while ((p->out_fd >= 0 || p->err_fd >= 0) && remaining_ms(deadline) > 0) {
        pump(p, remaining_ms(deadline));
    }
    while (!p->reaped) {
        int wstatus;
        pid_t r = waitpid(p->pid, &wstatus, WNOHANG);
        if (r == p->pid) {
            set_status(p, wstatus);
            break;
        }
        if (remaining_ms(deadline) == 0) {
            e2e_proc_kill(p);
            return false;
        }
        sleep_ms(5);
    }
    return p->out_fd < 0 && p->err_fd < 0;
}

void
e2e_proc_kill(struct e2e_proc *p)
{
    if (p == NULL) {
        return;
    }
    if (!p->reaped) {
        int wstatus;
        kill(p->pid, SIGKILL);
        if (waitpid(p->pid, &wstatus, 0) == p->pid) {
            set_status(p, wstatus);
        }
        p->reaped = true;
    }
    if (p->in_fd >= 0) {
        close(p->in_fd);
        p->in_fd = -1;
    }
    if (p->out_fd >= 0) {
        close(p->out_fd);
        p->out_fd = -1;
    }
    if (p->err_fd >= 0) {
        close(p->err_fd);
        p->err_fd = -1;
    }
}

static char *
argv_text(char *const argv[])
{
    struct e2e_buf b = {0};
    for (size_t i = 0; argv[i] != NULL; i++) {
        if (i > 0) {
            e2e_buf_append(&b, " ", 1);
        }
        e2e_buf_append(&b, argv[i], strlen(argv[i]));
    }
    return b.data;
}

struct e2e_proc *
e2e_run(char *const argv[], char *const envp[], const char *input, int timeout_ms)
{
    struct e2e_proc *p = e2e_spawn(argv, envp);
    if (input != NULL) {
        e2e_proc_write(p, input);
    }
    bool done = e2e_proc_wait(p, timeout_ms);
    ck_assert_msg(done, "`%s` did not finish within %d ms (stdout: %s; stderr: %s)",
                  argv_text(argv), timeout_ms, tail(e2e_buf_str(&p->out), 1000),
                  tail(e2e_buf_str(&p->err), 1000));
    return p;
}

struct e2e_proc *
e2e_cli(char *const envp[], const char *arg, ...)
{
    char *argv[48];
    size_t n = 0;
    va_list ap;

    for (size_t i = 0; e2e_cfg.cli_wrapper != NULL && e2e_cfg.cli_wrapper[i] != NULL && n < 16;
         i++) {
        argv[n++] = e2e_cfg.cli_wrapper[i];
    }
    argv[n++] = (char *)e2e_cfg.cli;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < 47; a = va_arg(ap, const char *)) {
        argv[n++] = (char *)a;
    }
    va_end(ap);
    argv[n] = NULL;
    return e2e_run(argv, envp, NULL, E2E_CLI_MS);
}

/* ---- victims ------------------------------------------------------------------- */

struct e2e_proc *
e2e_victim_v(char *const envp[], const char *script, char *const args[])
{
    char *argv[32];
    size_t n = 0;

    argv[n++] = (char *)e2e_cfg.python;
    argv[n++] = e2e_strdupf("%s/%s", e2e_cfg.scenarios, script);
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 31; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    struct e2e_proc *v = e2e_spawn(argv, envp);
    for (;;) {
        const char *line = e2e_proc_read_line(v, E2E_READY_MS);
        if (line == NULL) {
            e2e_proc_wait(v, 2000);
            ck_abort_msg("%s: no READY within %d ms (exit status %d; stdout: %s; stderr: %s)",
                         script, E2E_READY_MS, v->reaped ? v->status : -1,
                         tail(e2e_buf_str(&v->out), 1000), tail(e2e_buf_str(&v->err), 3000));
        }
        if (strcmp(line, "READY") == 0) {
            break;
        }
    }
    return v;
}

struct e2e_proc *
e2e_victim(char *const envp[], const char *script, ...)
{
    char *args[24];
    size_t n = 0;
    va_list ap;

    va_start(ap, script);
    for (char *a = va_arg(ap, char *); a != NULL && n < 23; a = va_arg(ap, char *)) {
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    return e2e_victim_v(envp, script, args);
}

const struct jsonv *
e2e_victim_truth(struct e2e_proc *v)
{
    e2e_proc_write(v, "go\n");
    const char *line = e2e_proc_read_line(v, E2E_EXIT_MS);
    bool done = e2e_proc_wait(v, E2E_EXIT_MS);
    ck_assert_msg(line != NULL, "%s: no truth line after go (stderr: %s)", v->name,
                  tail(e2e_buf_str(&v->err), 3000));
    ck_assert_msg(done && v->status == 0,
                  "%s: exit status %d after the truth line, expected 0 (stderr: %s)", v->name,
                  v->status, tail(e2e_buf_str(&v->err), 3000));
    const struct jsonv *truth = e2e_json(line, strlen(line), "the victim's truth line");
    ck_assert_msg(jsonv_is(truth, JSONV_OBJECT) && truth->u.obj.n > 0,
                  "%s: truth is not a non-empty object: %s", v->name, line);
    return truth;
}

const struct jsonv *
e2e_spin_finish(struct e2e_proc *v, const struct jsonv *sample, const char *what)
{
    e2e_proc_write(v, "go\n");
    const char *line = e2e_proc_read_line(v, E2E_EXIT_MS);
    ck_assert_msg(line != NULL, "%s: no report (stderr: %s)", what, e2e_buf_str(&v->err));
    const struct jsonv *report = e2e_json(line, strlen(line), "spin.py's report");
    const char *tline = e2e_proc_read_line(v, E2E_EXIT_MS);
    ck_assert_msg(tline != NULL && e2e_proc_wait(v, E2E_EXIT_MS) && v->status == 0,
                  "%s: spin.py did not finish (stderr: %s)", what, e2e_buf_str(&v->err));
    e2e_check_truth(e2e_caches_of(sample, v->pid, "spin"), e2e_json(tline, strlen(tline), "truth"),
                    what);
    return report;
}
