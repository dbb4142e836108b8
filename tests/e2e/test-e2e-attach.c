/* SPDX-License-Identifier: MIT */
/*
 * test-e2e-attach: `lruleak attach` / `lruleak detach` on processes started
 * WITHOUT the agent, checked against the programs' own ground truth.
 *
 * service: scenarios/service.py (an HTTP service from the standard library
 * with a method-level cache) under a load loop (scenarios/load.py); attach
 * while requests flow, compare the agent's numbers (socket and `lruleak
 * snapshot`) with the service's own /truth, detach, re-attach, compare
 * again; every request before, during and after must have been answered,
 * and after the last detach the service has the threads and descriptors
 * it had before the first attach, an empty stderr and exits 0.
 * cycles: 20 attach/detach cycles on the service under load.
 * blocked: the main thread inside one long system call (time.sleep, and
 * through ctypes nanosleep, select, poll, accept: the C library's own return
 * value shows whether the interrupted call was resumed), the total time
 * slept is right and accept() still takes its connection.
 * busy: a CPU-bound pure-Python main thread under a 2 ms SIGALRM timer
 * (signals arrive during the injected calls); eight threads in computation,
 * sleeps, queue waits, recv and malloc/free.
 * loader: the only thread held inside dl_iterate_phdr (the loader's lock):
 * attach waits until it has left, then goes through.
 * refusals: a non-Python process, a pid that does not exist, a stopped
 * process, a process traced by someone else, detach without an agent, an
 * agent preloaded with its socket elsewhere: one line each, the right exit
 * code, and the process is left as it was.
 *
 * An interpreter lruleak does not support (3.16+, free-threaded) gets only
 * the check that attach refuses it with a clear line.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e-helpers.h"

#define ATTACH_TCASE_TIMEOUT 150

static int
count_of(pid_t pid, const char *what)
{
    char *path = e2e_strdupf("/proc/%d/%s", (int)pid, what);
    return e2e_count_entries(path);
}

/* ---- the service and its load ----------------------------------------------------- */

struct service {
    struct e2e_proc *v;
    int port;
};

static struct service
start_service(void)
{
    struct service s = {0};

    s.v = e2e_victim(e2e_env_cli(NULL), "service.py", NULL);
    const char *port = strstr(e2e_buf_str(&s.v->out), "PORT ");
    ck_assert_msg(port != NULL && sscanf(port, "PORT %d", &s.port) == 1,
                  "service.py printed no port: %s", e2e_buf_str(&s.v->out));
    return s;
}

/* GET path from the service (HTTP/1.0: the answer ends at EOF); the body. */
static char *
http_get(int port, const char *path)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct e2e_buf resp = {0};
    char *req = e2e_strdupf("GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_msg(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
                  "connect to the service on port %d: %s", port, strerror(errno));
    e2e_send(fd, req, strlen(req));
    /* HTTP/1.0: the answer ends when the service closes the connection. */
    double deadline = e2e_now_s() + E2E_REPLY_MS / 1000.0;
    for (;;) {
        char chunk[4096];
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int left = (int)((deadline - e2e_now_s()) * 1000);
        ck_assert_msg(left > 0 && poll(&pfd, 1, left) > 0,
                      "GET %s: no complete answer within %d ms", path, E2E_REPLY_MS);
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n <= 0) {
            break;
        }
        e2e_buf_append(&resp, chunk, (size_t)n);
    }
    close(fd);
    const char *text = e2e_buf_str(&resp);
    ck_assert_msg(strncmp(text, "HTTP/1.0 200", 12) == 0 || strncmp(text, "HTTP/1.1 200", 12) == 0,
                  "GET %s: %s", path, text);
    const char *body = strstr(text, "\r\n\r\n");
    ck_assert_msg(body != NULL, "GET %s: no body in %s", path, text);
    return e2e_strdupf("%s", body + 4);
}

static struct e2e_proc *
start_load(const struct service *s)
{
    char *script = e2e_strdupf("%s/load.py", e2e_cfg.scenarios);
    char *port = e2e_strdupf("%d", s->port);
    char *argv[] = {(char *)e2e_cfg.python, script, port, NULL};
    return e2e_spawn(argv, e2e_env(NULL));
}

/* Wait until the load has had `want` answers; returns how many it had. */
static long
load_progress(struct e2e_proc *load, long want)
{
    long got = 0;
    double deadline = e2e_now_s() + 30.0;

    while (got < want) {
        const char *line = e2e_proc_read_line(load, 1000);
        if (line != NULL) {
            sscanf(line, "sent %ld", &got);
        }
        ck_assert_msg(e2e_now_s() < deadline && (line != NULL || load->out_fd >= 0),
                      "the load got only %ld of %ld answers within 30 s (stderr: %s)", got, want,
                      e2e_buf_str(&load->err));
    }
    return got;
}

/* Stop the load; every request it sent must have been answered. */
static long
stop_load(struct e2e_proc *load)
{
    e2e_proc_write(load, "stop\n");
    const char *line;
    do {
        line = e2e_proc_read_line(load, E2E_EXIT_MS);
        ck_assert_msg(line != NULL, "the load did not report (stderr: %s)",
                      e2e_buf_str(&load->err));
    } while (line[0] != '{');
    ck_assert_msg(e2e_proc_wait(load, E2E_EXIT_MS) && load->status == 0, "the load exited %d: %s",
                  load->status, e2e_buf_str(&load->err));
    const struct jsonv *r = e2e_json(line, strlen(line), "the load's report");
    int64_t sent = e2e_int(r, "sent", "load"), ok = e2e_int(r, "ok", "load");
    ck_assert_msg(sent == ok && sent > 0, "%lld of %lld requests were answered: %s", (long long)ok,
                  (long long)sent, line);
    return (long)ok;
}

/* The agent's numbers (socket, full and plain, and `lruleak snapshot`)
 * against the service's own, which must hold still meanwhile. */
static void
check_service_truth(const struct service *s, const char *when)
{
    char *pid = e2e_strdupf("%d", (int)s->v->pid);
    char *before = http_get(s->port, "/truth");
    const struct jsonv *full = e2e_caches_of(e2e_agent_snapshot(s->v->pid, true), s->v->pid, when);
    struct e2e_proc *cli = e2e_cli(e2e_env_cli(NULL), "snapshot", pid, "--format", "json", NULL);
    ck_assert_msg(cli->status == 0, "lruleak snapshot %s: %s", pid, e2e_buf_str(&cli->err));
    const struct jsonv *snap = e2e_caches_of(
        e2e_json(e2e_buf_str(&cli->out), cli->out.len, "snapshot --format json"), s->v->pid, when);
    const struct jsonv *plain =
        e2e_caches_of(e2e_agent_snapshot(s->v->pid, false), s->v->pid, when);
    char *after = http_get(s->port, "/truth");
    ck_assert_msg(strcmp(before, after) == 0, "%s: the service's truth moved:\n%s\n%s", when,
                  before, after);

    const struct jsonv *truth = e2e_json(before, strlen(before), "the service's /truth");
    e2e_check_truth(full, truth, e2e_strdupf("%s: agent socket, full snapshot", when));
    e2e_check_truth(snap, truth, e2e_strdupf("%s: lruleak snapshot", when));
    e2e_check_truth(plain, truth, e2e_strdupf("%s: agent socket, plain snapshot", when));
    ck_assert_int_gt(e2e_int(jsonv_get(truth, "Request.render"), "pinned", "truth"), 0);
}

/* Threads and descriptors of the service when it is idle (no load): the
 * main thread, the stdin watcher, and a keep-alive handler thread on its
 * way out. Waits for the count to come down to `want` (when >= 0). */
static int
idle_threads(pid_t pid, int want)
{
    double deadline = e2e_now_s() + 10.0;
    int n;

    while ((n = count_of(pid, "task")) != want && want >= 0 && e2e_now_s() < deadline) {
        e2e_sleep_s(0.05);
    }
    return n;
}

static void
quit_service(struct service *s)
{
    e2e_proc_write(s->v, "quit\n");
    ck_assert_msg(e2e_proc_wait(s->v, E2E_EXIT_MS), "the service did not exit");
    ck_assert_msg(s->v->status == 0, "the service exited %d (stderr: %s)", s->v->status,
                  e2e_buf_str(&s->v->err));
    ck_assert_msg(s->v->err.len == 0, "the service wrote to stderr: %s", e2e_buf_str(&s->v->err));
}

START_TEST(attach_service_under_load)
{
    struct service s = start_service();
    pid_t pid = s.v->pid;
    int threads0 = idle_threads(pid, 2), fds0 = count_of(pid, "fd");

    /* Requests before the attach... */
    struct e2e_proc *load = start_load(&s);
    long before = load_progress(load, 100);
    /* ... during ... */
    struct e2e_proc *cli = e2e_attach(pid, NULL, "0.1");
    const char *out = e2e_buf_str(&cli->out);
    ck_assert_msg(strstr(out, "with ptrace") != NULL || strstr(out, "with sys.remote_exec") != NULL,
                  "attach names no route: %s", out);
    /* ... and after it. */
    load_progress(load, before + 200);
    ck_assert_int_gt(e2e_int(e2e_agent_snapshot(pid, false), "wrappers", "sample"), 0);
    long answered = stop_load(load);
    ck_assert_int_gt(answered, before + 199);
    check_service_truth(&s, "after attaching under load");

    /* Detach: the service goes on as before. */
    e2e_detach(pid);
    ck_assert_int_eq(idle_threads(pid, threads0), threads0);
    ck_assert_int_eq(count_of(pid, "fd"), fds0);
    ck_assert_str_eq(http_get(s.port, "/work?id=1000000"), "ok 1000000");

    /* Re-attach, more requests, the numbers again. */
    load = start_load(&s);
    load_progress(load, 50);
    e2e_attach(pid, NULL, NULL);
    load_progress(load, 150);
    stop_load(load);
    check_service_truth(&s, "after re-attaching");
    e2e_detach(pid);
    ck_assert_int_eq(idle_threads(pid, threads0), threads0);
    ck_assert_int_eq(count_of(pid, "fd"), fds0);
    quit_service(&s);
}
END_TEST

START_TEST(attach_detach_20_cycles)
{
    struct service s = start_service();
    pid_t pid = s.v->pid;
    int threads0 = idle_threads(pid, 2), fds0 = count_of(pid, "fd");
    struct e2e_proc *load = start_load(&s);
    long answered = load_progress(load, 50);

    for (int i = 0; i < 20; i++) {
        e2e_attach(pid, NULL, NULL);
        const struct jsonv *sample = e2e_agent_snapshot(pid, i % 5 == 0);
        ck_assert_msg(e2e_find_row(e2e_caches_of(sample, pid, "cycle"), "__main__",
                                   "Request.render", "cycle") != NULL,
                      "cycle %d: no Request.render row", i);
        e2e_detach(pid);
        answered = load_progress(load, answered + 10);
    }
    stop_load(load);
    ck_assert_int_eq(idle_threads(pid, threads0), threads0);
    ck_assert_int_eq(count_of(pid, "fd"), fds0);
    e2e_attach(pid, NULL, NULL);
    check_service_truth(&s, "after 20 cycles");
    e2e_detach(pid);
    quit_service(&s);
}
END_TEST

/* ---- blocked in a system call -------------------------------------------------------- */

static const struct {
    const char *mode;
    double seconds;
} blocked_modes[] = {
    {"sleep", 3.0}, {"nanosleep", 3.0}, {"select", 3.0}, {"poll", 3.0}, {"accept", 0},
};

START_TEST(attach_blocked_in_syscall)
{
    const char *mode = blocked_modes[_i].mode;
    double seconds = blocked_modes[_i].seconds;
    char *arg = e2e_strdupf("%g", seconds);
    struct e2e_proc *v = e2e_victim(e2e_env_cli(NULL), "blocked.py", mode, arg, NULL);
    double started = e2e_now_s();
    int port = 0;

    e2e_sleep_s(0.3); /* well inside the call */
    e2e_attach(v->pid, NULL, NULL);
    const struct jsonv *sample = e2e_agent_snapshot(v->pid, true);
    if (strcmp(mode, "accept") == 0) {
        const char *p = strstr(e2e_buf_str(&v->out), "PORT ");
        ck_assert(p != NULL && sscanf(p, "PORT %d", &port) == 1);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s",
                      strerror(errno));
        close(fd);
    }
    const char *line = e2e_proc_read_line(v, (int)(seconds * 1000) + E2E_EXIT_MS);
    ck_assert_msg(line != NULL, "%s: no result line (stderr: %s)", mode, e2e_buf_str(&v->err));
    double waited = e2e_now_s() - started;
    const struct jsonv *r = e2e_json(line, strlen(line), "blocked.py's result");
    double elapsed = 0;
    jsonv_get_double(r, "elapsed", &elapsed);
    int64_t ret = e2e_int(r, "ret", mode), err = e2e_int(r, "errno", mode);
    if (strcmp(mode, "accept") == 0) {
        ck_assert_msg(ret >= 0, "accept() returned %lld, errno %lld, after the attach",
                      (long long)ret, (long long)err);
    } else {
        /* The C call itself returned its normal result: resumed, not cut. */
        ck_assert_msg(ret == 0 && err == 0,
                      "%s returned %lld, errno %lld: the interrupted call "
                      "was not resumed",
                      mode, (long long)ret, (long long)err);
        ck_assert_msg(elapsed >= seconds - 0.001 && elapsed < seconds + 1.0,
                      "%s(%g s) took %.3f s with an attach in between", mode, seconds, elapsed);
        /* `started` is read after READY, a moment after the call began
         * (more on a loaded machine): a call cut short by the attach at
         * 0.3 s would come some 2.7 s early. */
        ck_assert_msg(waited >= seconds - 0.5, "%s: the result came after %.3f s", mode, waited);
    }
    const struct jsonv *truth = e2e_victim_truth(v);
    e2e_check_truth(e2e_caches_of(sample, v->pid, mode), truth,
                    e2e_strdupf("%s: agent attached during the call", mode));
}
END_TEST

/* ---- busy processes ---------------------------------------------------------------- */

/* CPU-bound, with a SIGALRM every 2 ms: signals reach the thread while it
 * runs our calls too (delivered, their handler runs, the call goes on). */
START_TEST(attach_cpu_bound)
{
    struct e2e_proc *v = e2e_victim(e2e_env_cli(NULL), "spin.py", "signals", NULL);

    e2e_sleep_s(0.3);
    e2e_attach(v->pid, NULL, NULL);
    const struct jsonv *sample = e2e_agent_snapshot(v->pid, true);
    e2e_detach(v->pid);
    for (int i = 0; i < 5; i++) {
        e2e_attach(v->pid, NULL, NULL);
        e2e_detach(v->pid);
    }
    const struct jsonv *r = e2e_spin_finish(v, sample, "spin.py: attached while CPU-bound");
    double gap = 0;
    jsonv_get_double(r, "max_gap_ms", &gap);
    ck_assert_int_gt(e2e_int(r, "rounds", "spin"), 10);
    ck_assert_int_gt(e2e_int(r, "signals", "spin"), 100);
    /* Stopped for the injection and slowed by samples, never stuck. */
    ck_assert_msg(gap < 3000, "the loop stood still for %.0f ms", gap);
}
END_TEST

START_TEST(attach_eight_threads)
{
    struct e2e_proc *v = e2e_victim(e2e_env_cli(NULL), "threads8.py", NULL);
    pid_t pid = v->pid;

    e2e_sleep_s(0.3);
    int threads0 = count_of(pid, "task");
    ck_assert_int_ge(threads0, 9);
    e2e_attach(pid, NULL, NULL);
    const struct jsonv *sample = e2e_agent_snapshot(pid, true);
    e2e_detach(pid);
    e2e_attach(pid, NULL, NULL);
    e2e_detach(pid);
    e2e_sleep_s(0.3);
    ck_assert_int_eq(count_of(pid, "task"), threads0);
    e2e_proc_write(v, "go\n");
    const char *line = e2e_proc_read_line(v, E2E_EXIT_MS);
    ck_assert_msg(line != NULL, "threads8.py: no report (stderr: %s)", e2e_buf_str(&v->err));
    const struct jsonv *threads = jsonv_get(e2e_json(line, strlen(line), "report"), "threads");
    ck_assert(jsonv_is(threads, JSONV_ARRAY) && threads->u.arr.n == 8);
    for (size_t i = 0; i < threads->u.arr.n; i++) {
        const struct jsonv *t = &threads->u.arr.items[i];
        double gap = 0;
        jsonv_get_double(t, "max_gap_ms", &gap);
        ck_assert_msg(e2e_int(t, "rounds", "thread") > 5 && gap < 3000,
                      "thread %s: %lld rounds, stood still for %.0f ms", e2e_str(t, "name", "t"),
                      (long long)e2e_int(t, "rounds", "thread"), gap);
    }
    const char *tline = e2e_proc_read_line(v, E2E_EXIT_MS);
    ck_assert_msg(tline != NULL && e2e_proc_wait(v, E2E_EXIT_MS) && v->status == 0,
                  "threads8.py did not finish (stderr: %s)", e2e_buf_str(&v->err));
    e2e_check_truth(e2e_caches_of(sample, pid, "threads8"), e2e_json(tline, strlen(tline), "truth"),
                    "threads8.py: attached");
}
END_TEST

/* ---- a thread inside the dynamic loader ---------------------------------------------- */

/*
 * scenarios/loader.py holds its only thread inside dl_iterate_phdr() (the
 * loader's lock held) until told. The attach must not run dlopen there: it
 * keeps waiting; released a second later, the thread leaves the loader and
 * the attach goes through, saying it waited.
 */
START_TEST(attach_waits_out_the_loader)
{
    struct e2e_proc *v = e2e_victim(e2e_env_cli(NULL), "loader.py", NULL);
    const char *line = e2e_proc_read_line(v, E2E_READY_MS);
    ck_assert_msg(line != NULL && strcmp(line, "IN") == 0, "loader.py did not enter the loader");

    char *spid = e2e_strdupf("%d", (int)v->pid);
    char *argv[] = {(char *)e2e_cfg.cli, (char *)"attach", spid, NULL};
    struct e2e_proc *cli = e2e_spawn(argv, e2e_env_cli(NULL));
    e2e_sleep_s(1.0);
    int st;
    ck_assert_msg(waitpid(cli->pid, &st, WNOHANG) == 0,
                  "attach finished while the only thread was inside dl_iterate_phdr");
    e2e_proc_write(v, "release\n");
    line = e2e_proc_read_line(v, E2E_EXIT_MS);
    ck_assert_msg(line != NULL && strcmp(line, "OUT") == 0, "loader.py did not leave the loader");
    ck_assert_msg(e2e_proc_wait(cli, E2E_CLI_MS) && cli->status == 0,
                  "attach exited %d (stdout: %s; stderr: %s)", cli->status, e2e_buf_str(&cli->out),
                  e2e_buf_str(&cli->err));
    const char *out = e2e_buf_str(&cli->out);
    ck_assert_msg(strstr(out, "with sys.remote_exec") != NULL ||
                      strstr(out, "after waiting for a safe moment") != NULL,
                  "attach did not wait for the thread to leave the loader: %s", out);
    const struct jsonv *sample = e2e_agent_snapshot(v->pid, true);
    line = e2e_proc_read_line(v, E2E_EXIT_MS);
    ck_assert_msg(line != NULL && strcmp(line, "READY") == 0, "loader.py: no second READY");
    const struct jsonv *truth = e2e_victim_truth(v);
    ck_assert_msg(v->err.len == 0, "loader.py wrote to stderr: %s", e2e_buf_str(&v->err));
    e2e_check_truth(e2e_caches_of(sample, v->pid, "loader"), truth,
                    "loader.py: attached after it left the loader");
}
END_TEST

/* ---- refusals ------------------------------------------------------------------------ */

/* A refused attach: exit status, one line on stderr containing `expect`. */
static void
refused(pid_t pid, int status, const char *expect)
{
    char *spid = e2e_strdupf("%d", (int)pid);
    struct e2e_proc *cli = e2e_cli(e2e_env_cli(NULL), "attach", spid, NULL);
    const char *err = e2e_buf_str(&cli->err);
    const char *nl = strchr(err, '\n');

    ck_assert_msg(cli->status == status, "attach %d exited %d, expected %d (stderr: %s)", (int)pid,
                  cli->status, status, err);
    ck_assert_msg(strncmp(err, "lruleak: ", 9) == 0 && nl != NULL && nl[1] == '\0',
                  "attach %d: not one lruleak: line on stderr: %s", (int)pid, err);
    ck_assert_msg(strstr(err, expect) != NULL, "attach %d: '%s' does not say '%s'", (int)pid, err,
                  expect);
}

START_TEST(attach_refusals)
{
    /* Not Python. */
    char *cat_argv[] = {(char *)"/bin/cat", NULL};
    struct e2e_proc *cat = e2e_spawn(cat_argv, e2e_env(NULL));
    e2e_sleep_s(0.1);
    refused(cat->pid, 1, "is not a Python process");

    /* No such process: a pid that just ended. */
    char *true_argv[] = {(char *)"/bin/true", NULL};
    struct e2e_proc *gone = e2e_run(true_argv, e2e_env(NULL), NULL, E2E_CLI_MS);
    refused(gone->pid, 3, "no process with pid");

    /* Stopped, then traced by someone else (this test): told, untouched. */
    struct e2e_proc *v = e2e_victim(e2e_env_cli(NULL), "blocked.py", "sleep", "30", NULL);
    kill(v->pid, SIGSTOP);
    e2e_sleep_s(0.2);
    refused(v->pid, 1, "is stopped");
    kill(v->pid, SIGCONT);
    ck_assert_int_eq(ptrace(PTRACE_SEIZE, v->pid, NULL, NULL), 0);
    refused(v->pid, 1, "already traced by pid");
    /* Detaching needs the tracee in a ptrace-stop. */
    int st;
    ck_assert_int_eq(ptrace(PTRACE_INTERRUPT, v->pid, NULL, NULL), 0);
    ck_assert_int_eq(waitpid(v->pid, &st, __WALL), v->pid);
    ck_assert_int_eq(ptrace(PTRACE_DETACH, v->pid, NULL, NULL), 0);

    /* Detach with no agent there. */
    char *spid = e2e_strdupf("%d", (int)v->pid);
    struct e2e_proc *det = e2e_cli(e2e_env_cli(NULL), "detach", spid, NULL);
    ck_assert_msg(det->status == 3 && strstr(e2e_buf_str(&det->err), "no lruleak agent") != NULL,
                  "detach without an agent exited %d: %s", det->status, e2e_buf_str(&det->err));
    /* The victim was never disturbed: attachable now. */
    e2e_attach(v->pid, NULL, NULL);
    e2e_detach(v->pid);

    /* Preloaded with its socket somewhere else: said, not loaded twice. */
    const char *env[] = {e2e_preload_var(e2e_cfg.agent),
                         e2e_strdupf("LRULEAK_DIR=%s/elsewhere", e2e_recdir), NULL};
    struct e2e_proc *pre = e2e_victim(e2e_env(env), "blocked.py", "sleep", "30", NULL);
    refused(pre->pid, 1, "already runs an agent, but its socket is not in");
}
END_TEST

START_TEST(attach_refuses_unsupported_interpreter)
{
    int major = 0, minor = 0;
    bool ft = false;
    ck_assert_int_eq(e2e_python_version(&major, &minor, &ft), 0);
    struct e2e_proc *v = e2e_victim(e2e_env_cli(NULL), "blocked.py", "sleep", "30", NULL);
    refused(v->pid, 1, ft ? "free-threaded" : "lruleak supports 3.8 to 3.15");
}
END_TEST

static Suite *
attach_suite(void)
{
    Suite *s = suite_create("e2e-attach");
    int major = 0, minor = 0;
    bool ft = false;
    TCase *tc;

    if (e2e_python_version(&major, &minor, &ft) < 0) {
        fprintf(stderr, "e2e: cannot run %s\n", e2e_cfg.python);
    }
    if (ft || major != 3 || minor < 8 || minor > 15) {
        tc = e2e_tcase("unsupported");
        tcase_add_test(tc, attach_refuses_unsupported_interpreter);
        suite_add_tcase(s, tc);
        return s;
    }
    tc = e2e_tcase("service");
    tcase_set_timeout(tc, ATTACH_TCASE_TIMEOUT);
    tcase_add_test(tc, attach_service_under_load);
    tcase_add_test(tc, attach_detach_20_cycles);
    suite_add_tcase(s, tc);

    tc = e2e_tcase("blocked");
    tcase_add_loop_test(tc, attach_blocked_in_syscall, 0,
                        (int)(sizeof(blocked_modes) / sizeof(blocked_modes[0])));
    suite_add_tcase(s, tc);

    tc = e2e_tcase("busy");
    tcase_add_test(tc, attach_cpu_bound);
    tcase_add_test(tc, attach_eight_threads);
    suite_add_tcase(s, tc);

    tc = e2e_tcase("loader");
    tcase_add_test(tc, attach_waits_out_the_loader);
    suite_add_tcase(s, tc);

    tc = e2e_tcase("refusals");
    tcase_add_test(tc, attach_refusals);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    char why[160];

    if (!e2e_can_attach(why, sizeof(why))) {
        fprintf(stderr, "e2e: %s (skipping)\n", why);
        return 77;
    }
    return e2e_main(attach_suite);
}
