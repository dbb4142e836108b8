/* SPDX-License-Identifier: MIT */
/*
 * e2e-helpers: processes, sockets and ground-truth checks for the e2e tests
 * (see e2e-helpers.h for the contract).
 *
 * Each check test runs in its own forked process, so the strings, parsed
 * JSON trees and process records made here live until the test ends and
 * are deliberately not freed one by one. What must not outlive a test, the
 * processes and the private directory, is cleaned up by e2e_teardown().
 */
#include "config.h"

#include "e2e-helpers.h"

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

extern char **environ;

struct e2e_config e2e_cfg;
char e2e_dir[256];
char e2e_sockdir[300];
char e2e_recdir[300];
char e2e_log[300];

#define MAX_PROCS 256
static struct e2e_proc *procs[MAX_PROCS];
static size_t nprocs;

/* ---- time ------------------------------------------------------------------ */

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
remaining_ms(int64_t deadline)
{
    int64_t left = deadline - now_ms();
    return left < 0 ? 0 : (int)left;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

double
e2e_now_s(void)
{
    return (double)now_ms() / 1000.0;
}

void
e2e_sleep_s(double s)
{
    sleep_ms((int)(s * 1000.0));
}

void
e2e_sleep_ms(int ms)
{
    sleep_ms(ms);
}

/* ---- strings and buffers ----------------------------------------------------- */

char *
e2e_strdupf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    ck_assert_msg(r >= 0, "out of memory");
    return s;
}

void
e2e_buf_append(struct e2e_buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        ck_assert_msg(d != NULL, "out of memory");
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
e2e_buf_done(struct e2e_buf *b)
{
    free(b->data);
    *b = (struct e2e_buf){0};
}

const char *
e2e_buf_str(const struct e2e_buf *b)
{
    return b->data != NULL ? b->data : "";
}

const char *
e2e_read_text(const char *path)
{
    struct e2e_buf b = {0};
    char chunk[65536];
    size_t n;
    FILE *f = fopen(path, "re");

    if (f == NULL) {
        return "";
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        e2e_buf_append(&b, chunk, n);
    }
    fclose(f);
    return e2e_buf_str(&b);
}

/* The last `max` bytes of s, for failure messages. */
static const char *
tail(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n > max ? s + n - max : s;
}

/* ---- fixture ---------------------------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* The TCase's directory, made and removed by the unchecked fixture in the
 * runner process: a test whose assertion fails _exit()s without its checked
 * teardown, so its own directory (inside this one) is removed here. */
static char case_dir[200];

static bool
keep_dirs(void)
{
    const char *keep = getenv("E2E_KEEP");
    return keep != NULL && strcmp(keep, "1") == 0;
}

static void
case_setup(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(case_dir, sizeof(case_dir), "%s/lruleak-e2e-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(case_dir) == NULL) {
        fprintf(stderr, "e2e: mkdtemp %s: %s\n", case_dir, strerror(errno));
        case_dir[0] = '\0';
    }
}

static void
case_teardown(void)
{
    if (case_dir[0] == '\0') {
        return;
    }
    if (keep_dirs()) {
        fprintf(stderr, "e2e: kept %s\n", case_dir);
    } else {
        nftw(case_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    case_dir[0] = '\0';
}

void
e2e_setup(void)
{
    nprocs = 0;
    ck_assert_msg(case_dir[0] != '\0', "no directory for this TCase");
    snprintf(e2e_dir, sizeof(e2e_dir), "%s/t-XXXXXX", case_dir);
    ck_assert_msg(mkdtemp(e2e_dir) != NULL, "mkdtemp %s: %s", e2e_dir, strerror(errno));
    snprintf(e2e_sockdir, sizeof(e2e_sockdir), "%s/sock", e2e_dir);
    snprintf(e2e_recdir, sizeof(e2e_recdir), "%s/rec", e2e_dir);
    snprintf(e2e_log, sizeof(e2e_log), "%s/agent.log", e2e_dir);
    ck_assert_msg(mkdir(e2e_sockdir, 0700) == 0, "mkdir %s: %s", e2e_sockdir, strerror(errno));
    ck_assert_msg(mkdir(e2e_recdir, 0700) == 0, "mkdir %s: %s", e2e_recdir, strerror(errno));
}

void
e2e_teardown(void)
{
    for (size_t i = 0; i < nprocs; i++) {
        e2e_proc_kill(procs[i]);
    }
    nprocs = 0;
    if (e2e_dir[0] != '\0' && !keep_dirs()) {
        nftw(e2e_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    e2e_dir[0] = '\0';
}

TCase *
e2e_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
    tcase_add_checked_fixture(tc, e2e_setup, e2e_teardown);
    tcase_set_timeout(tc, E2E_TCASE_TIMEOUT);
    return tc;
}

static const char *
env_or_null(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* "a b  c" -> {"a", "b", "c", NULL}; NULL for NULL. Lives for good. */
static char **
split_words(const char *s)
{
    char *copy, *save = NULL, **v;
    size_t n = 0;

    if (s == NULL) {
        return NULL;
    }
    copy = strdup(s);
    v = calloc(strlen(s) / 2 + 2, sizeof(*v));
    if (copy == NULL || v == NULL) {
        fprintf(stderr, "e2e: out of memory\n");
        exit(1);
    }
    for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        v[n++] = w;
    }
    return v;
}

/* LeakSanitizer's switch (sanitizer/lsan_interface.h), present only in a
 * sanitized build: a test program keeps what it allocates until it ends
 * (see the top of this file), so leak checking is for the CLI, not for it. */
void __lsan_disable(void) __attribute__((weak));

int
e2e_main(Suite *(*make_suite)(void))
{
    if (__lsan_disable != NULL) {
        __lsan_disable();
    }
    e2e_cfg.python = env_or_null("PYTHON");
    if (e2e_cfg.python == NULL) {
        fprintf(stderr, "e2e: PYTHON is not set (no interpreter for this run): skipping\n");
        return 77;
    }
    if (access(e2e_cfg.python, X_OK) != 0) {
        fprintf(stderr, "e2e: PYTHON=%s is not executable: skipping\n", e2e_cfg.python);
        return 77;
    }
    e2e_cfg.agent = env_or_null("LRULEAK_AGENT");
    e2e_cfg.cli = env_or_null("LRULEAK_CLI");
    e2e_cfg.scenarios = env_or_null("E2E_SCENARIOS");
    e2e_cfg.inert = env_or_null("E2E_INERT");
    e2e_cfg.preload = env_or_null("E2E_PRELOAD");
    e2e_cfg.cli_wrapper = split_words(env_or_null("E2E_CLI_WRAPPER"));
    if (e2e_cfg.agent == NULL || e2e_cfg.cli == NULL || e2e_cfg.scenarios == NULL ||
        e2e_cfg.inert == NULL) {
        fprintf(stderr, "e2e: LRULEAK_AGENT, LRULEAK_CLI, E2E_SCENARIOS and E2E_INERT must be "
                        "set (meson test sets them)\n");
        return 1;
    }
    /* A victim waiting on a pipe we closed must not kill us with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    SRunner *sr = srunner_create(make_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

char *
e2e_read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    struct e2e_buf b = {0};
    char chunk[65536];
    size_t n;

    ck_assert_msg(f != NULL, "cannot open %s", path);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        e2e_buf_append(&b, chunk, n);
    }
    fclose(f);
    return b.data != NULL ? b.data : strdup("");
}

/* ---- environments ------------------------------------------------------------ */

static bool
dropped_var(const char *entry)
{
    static const char *const drop[] = {
        "LD_PRELOAD=",  "PYTHONDONTWRITEBYTECODE=", "LRULEAK_INTERVAL=", "LRULEAK_DIR=",
        "LRULEAK_LOG=", "LRULEAK_RECORD=",          "LRULEAK_DISABLE="};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        if (strncmp(entry, drop[i], strlen(drop[i])) == 0) {
            return true;
        }
    }
    return false;
}

char **
e2e_env(const char *const *extra)
{
    size_t n = 0, nextra = 0, k = 0;

    while (environ[n] != NULL) {
        n++;
    }
    while (extra != NULL && extra[nextra] != NULL) {
        nextra++;
    }
    /* Stop at the first NULL of extra: callers use trailing NULL slots. */
    char **env = calloc(n + nextra + 3, sizeof(*env));
    ck_assert_msg(env != NULL, "out of memory");
    bool preload = e2e_cfg.preload != NULL;
    for (size_t i = 0; i < n; i++) {
        if (!dropped_var(environ[i])) {
            env[k++] = environ[i];
        }
    }
    env[k++] = (char *)"PYTHONDONTWRITEBYTECODE=1";
    for (size_t i = 0; i < nextra; i++) {
        preload = preload && strncmp(extra[i], "LD_PRELOAD=", 11) != 0;
    }
    if (preload) {
        env[k++] = e2e_strdupf("LD_PRELOAD=%s", e2e_cfg.preload);
    }
    for (size_t i = 0; i < nextra; i++) {
        /* A later NAME= replaces an earlier one (getenv takes the first). */
        const char *eq = strchr(extra[i], '=');
        size_t name_len = eq != NULL ? (size_t)(eq - extra[i]) + 1 : strlen(extra[i]);
        size_t j = 0;
        while (j < k && strncmp(env[j], extra[i], name_len) != 0) {
            j++;
        }
        env[j] = (char *)extra[i];
        k += j == k;
    }
    env[k] = NULL;
    return env;
}

char **
e2e_env_agent(const char *interval, const char *const *extra)
{
    const char *vars[16];
    size_t k = 0;

    vars[k++] = e2e_cfg.preload != NULL
                    ? e2e_strdupf("LD_PRELOAD=%s:%s", e2e_cfg.preload, e2e_cfg.agent)
                    : e2e_strdupf("LD_PRELOAD=%s", e2e_cfg.agent);
    vars[k++] = e2e_strdupf("LRULEAK_DIR=%s", e2e_sockdir);
    vars[k++] = e2e_strdupf("LRULEAK_LOG=%s", e2e_log);
    vars[k++] = e2e_strdupf("LRULEAK_INTERVAL=%s", interval);
    for (size_t i = 0; extra != NULL && extra[i] != NULL && k < 15; i++) {
        vars[k++] = extra[i];
    }
    vars[k] = NULL;
    return e2e_env(vars);
}

char *
e2e_preload_var(const char *libs)
{
    return e2e_cfg.preload != NULL ? e2e_strdupf("LD_PRELOAD=%s:%s", e2e_cfg.preload, libs)
                                   : e2e_strdupf("LD_PRELOAD=%s", libs);
}

char **
e2e_env_cli(const char *const *extra)
{
    const char *vars[16];
    size_t k = 0;

    vars[k++] = e2e_strdupf("LRULEAK_DIR=%s", e2e_sockdir);
    for (size_t i = 0; extra != NULL && extra[i] != NULL && k < 15; i++) {
        vars[k++] = extra[i];
    }
    vars[k] = NULL;
    return e2e_env(vars);
}

/* ---- processes --------------------------------------------------------------- */

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

static void
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

/* ---- JSON --------------------------------------------------------------------- */

const struct jsonv *
e2e_json(const char *text, size_t len, const char *what)
{
    const struct jsonv *root = NULL;
    char err[256] = "";
    int r = jsonv_parse(text, len, &root, err, sizeof(err));
    ck_assert_msg(r == 0, "%s is not valid JSON (%s): %.500s", what, err, text);
    return root;
}

size_t
e2e_json_lines(const char *text, const struct jsonv ***ret, const char *what)
{
    size_t n = 0, cap = 16;
    const struct jsonv **v = malloc(cap * sizeof(*v));
    ck_assert_msg(v != NULL, "out of memory");
    while (*text != '\0') {
        const char *nl = strchr(text, '\n');
        size_t len = nl != NULL ? (size_t)(nl - text) : strlen(text);
        ck_assert_msg(nl != NULL, "%s: line %zu is incomplete (no newline)", what, n + 1);
        if (n == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof(*v));
            ck_assert_msg(v != NULL, "out of memory");
        }
        const char *name = e2e_strdupf("%s line %zu", what, n + 1);
        v[n++] = e2e_json(text, len, name);
        text += len + 1;
    }
    *ret = v;
    return n;
}

struct e2e_rec_proc
e2e_rec_proc(const struct jsonv **lines, size_t n, int64_t pid)
{
    struct e2e_rec_proc r = {0};
    for (size_t i = 0; i < n; i++) {
        const char *type = jsonv_get_str(lines[i], "type");
        int64_t p = -1;
        bool final = false;
        if (type == NULL || !jsonv_get_int(lines[i], "pid", &p) || p != pid) {
            continue;
        }
        if (strcmp(type, "process") == 0) {
            r.process = lines[i];
        } else if (strcmp(type, "sample") == 0) {
            r.samples++;
            r.last_sample = lines[i];
            if (jsonv_get_bool(lines[i], "final", &final) && final) {
                r.finals++;
            }
        }
    }
    return r;
}

int64_t
e2e_int(const struct jsonv *o, const char *key, const char *what)
{
    int64_t v = 0;
    ck_assert_msg(jsonv_get_int(o, key, &v), "%s: no integer member \"%s\"", what, key);
    return v;
}

const char *
e2e_str(const struct jsonv *o, const char *key, const char *what)
{
    const char *s = jsonv_get_str(o, key);
    ck_assert_msg(s != NULL, "%s: no string member \"%s\"", what, key);
    return s;
}

bool
e2e_bool(const struct jsonv *o, const char *key, const char *what)
{
    bool b = false;
    ck_assert_msg(jsonv_get_bool(o, key, &b), "%s: no boolean member \"%s\"", what, key);
    return b;
}

const struct jsonv *
e2e_caches_of(const struct jsonv *doc, pid_t pid, const char *what)
{
    const struct jsonv *procs_v = jsonv_get(doc, "processes");
    if (jsonv_is(procs_v, JSONV_ARRAY)) {
        for (size_t i = 0; i < procs_v->u.arr.n; i++) {
            const struct jsonv *p = &procs_v->u.arr.items[i];
            int64_t ppid;
            if (jsonv_get_int(p, "pid", &ppid) && ppid == pid) {
                const struct jsonv *c = jsonv_get(p, "caches");
                ck_assert_msg(jsonv_is(c, JSONV_ARRAY), "%s: process %d has no caches array", what,
                              (int)pid);
                return c;
            }
        }
        ck_abort_msg("%s: no process with pid %d", what, (int)pid);
    }
    const struct jsonv *sample = jsonv_get(doc, "sample");
    if (sample == NULL) {
        sample = doc;
    }
    const struct jsonv *c = jsonv_get(sample, "caches");
    ck_assert_msg(jsonv_is(c, JSONV_ARRAY), "%s: neither processes[] nor a sample's caches[]",
                  what);
    return c;
}

const struct jsonv *
e2e_find_row(const struct jsonv *caches, const char *module, const char *qualname, const char *what)
{
    const struct jsonv *found = NULL;
    for (size_t i = 0; i < caches->u.arr.n; i++) {
        const struct jsonv *row = &caches->u.arr.items[i];
        const char *m = jsonv_get_str(row, "module");
        const char *q = jsonv_get_str(row, "qualname");
        bool present = true;
        jsonv_get_bool(row, "present", &present);
        if (!present || m == NULL || q == NULL || strcmp(m, module) != 0 ||
            strcmp(q, qualname) != 0) {
            continue;
        }
        ck_assert_msg(found == NULL, "%s: two rows for %s.%s (kinds %s and %s)", what, module,
                      qualname, jsonv_get_str(found, "kind"), jsonv_get_str(row, "kind"));
        found = row;
    }
    return found;
}

/* ---- ground truth ------------------------------------------------------------- */

static const char *
expected_verdict(int64_t pinned, bool bounded)
{
    if (pinned == 0) {
        return "ok";
    }
    return bounded ? "bounded" : "leak";
}

/* Problems are collected, not asserted one by one, so that one failure
 * message shows every wrong number of a sample. */
static void __attribute__((format(printf, 2, 3))) problem(struct e2e_buf *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0) {
        e2e_buf_append(b, "\n  ", 3);
        e2e_buf_append(b, line, strlen(line));
    }
}

static void
compare_str(struct e2e_buf *b, const char *q, const struct jsonv *row, const struct jsonv *t,
            const char *key)
{
    const char *got = jsonv_get_str(row, key), *want = e2e_str(t, key, "truth");
    if (got == NULL || strcmp(got, want) != 0) {
        problem(b, "%s: %s is \"%s\", expected \"%s\"", q, key, got ? got : "(missing)", want);
    }
}

static void
check_row(struct e2e_buf *b, const struct jsonv *row, const char *q, const struct jsonv *t)
{
    static const char *const fields[] = {"entries", "hits",   "misses",
                                         "selves",  "pinned", "wrappers"};
    int64_t got, want;

    compare_str(b, q, row, t, "kind");
    compare_str(b, q, row, t, "file");
    int64_t first = e2e_int(t, "line", "truth"), def = e2e_int(t, "def_line", "truth");
    if (!jsonv_get_int(row, "line", &got) || got < first || got > def) {
        problem(b, "%s: line %lld, expected the first decorator's (%lld) or the def's (%lld)", q,
                (long long)got, (long long)first, (long long)def);
    }

    const struct jsonv *tmax = jsonv_get(t, "maxsize");
    const struct jsonv *rmax = jsonv_get(row, "maxsize");
    bool bounded = !jsonv_is(tmax, JSONV_NULL);
    if (bounded &&
        !(jsonv_is(rmax, JSONV_NUMBER) && rmax->u.num.is_int && rmax->u.num.i == tmax->u.num.i)) {
        problem(b, "%s: maxsize should be %lld", q, (long long)tmax->u.num.i);
    } else if (!bounded && !jsonv_is(rmax, JSONV_NULL)) {
        problem(b, "%s: maxsize should be null (unbounded)", q);
    }
    static const char *const flags[] = {"typed", "self_only"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        bool flag = false, want_flag = e2e_bool(t, flags[i], "truth");
        if (!jsonv_get_bool(row, flags[i], &flag) || flag != want_flag) {
            problem(b, "%s: %s should be %s", q, flags[i], want_flag ? "true" : "false");
        }
    }

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        want = e2e_int(t, fields[i], "truth");
        if (!jsonv_get_int(row, fields[i], &got)) {
            problem(b, "%s: no integer %s", q, fields[i]);
        } else if (got != want) {
            problem(b, "%s: %s is %lld, the program's truth is %lld", q, fields[i], (long long)got,
                    (long long)want);
        }
    }

    int64_t pinned = e2e_int(t, "pinned", "truth");
    if (bounded && jsonv_get_int(row, "selves", &got) && got > tmax->u.num.i) {
        problem(b, "%s: %lld selves, more than maxsize %lld", q, (long long)got,
                (long long)tmax->u.num.i);
    }
    const char *verdict = jsonv_get_str(row, "verdict");
    const char *want_verdict = expected_verdict(pinned, bounded);
    if (verdict == NULL || strcmp(verdict, want_verdict) != 0) {
        problem(b, "%s: verdict \"%s\", expected \"%s\" (truth: pinned %lld, %s)", q,
                verdict ? verdict : "(missing)", want_verdict, (long long)pinned,
                bounded ? "bounded" : "unbounded");
    }

    int64_t retained = 0;
    int64_t payload = e2e_int(t, "pinned_bytes", "truth");
    if (!jsonv_get_int(row, "retained_bytes", &retained)) {
        problem(b, "%s: no integer retained_bytes", q);
    } else if (pinned == 0 && retained != 0) {
        problem(b, "%s: retained_bytes %lld with nothing pinned", q, (long long)retained);
    } else if (pinned > 0 && payload > 0 &&
               (retained < payload || retained > payload + payload / 2)) {
        problem(b,
                "%s: retained_bytes %lld outside [%lld, %lld] (the pinned objects' payloads "
                "total %lld bytes)",
                q, (long long)retained, (long long)payload, (long long)(payload + payload / 2),
                (long long)payload);
    } else if (pinned > 0 && retained <= 0) {
        problem(b, "%s: retained_bytes %lld with %lld objects pinned", q, (long long)retained,
                (long long)pinned);
    }
}

void
e2e_check_truth(const struct jsonv *caches, const struct jsonv *truth, const char *what)
{
    struct e2e_buf b = {0};

    for (size_t i = 0; i < truth->u.obj.n; i++) {
        const char *qualname = truth->u.obj.members[i].key;
        const struct jsonv *t = &truth->u.obj.members[i].value;
        const char *module = e2e_str(t, "module", "truth");
        const struct jsonv *row = e2e_find_row(caches, module, qualname, what);
        int64_t entries = e2e_int(t, "entries", "truth");

        if (entries == 0) {
            if (row != NULL) {
                problem(&b, "%s.%s is listed but its cache is empty", module, qualname);
            }
        } else if (row == NULL) {
            problem(&b, "no row for %s.%s (the program has %lld entries in it)", module, qualname,
                    (long long)entries);
        } else {
            check_row(&b, row, qualname, t);
        }
    }
    ck_assert_msg(b.len == 0, "%s differs from the program's truth:%s", what, e2e_buf_str(&b));
}

void
e2e_assert_unchanged(const struct e2e_proc *v, const struct e2e_proc *base, bool first_line,
                     const char *what)
{
    const char *out = e2e_buf_str(&v->out), *bout = e2e_buf_str(&base->out);
    size_t n = strlen(out), bn = strlen(bout);

    if (first_line) {
        n = strchr(out, '\n') != NULL ? (size_t)(strchr(out, '\n') - out) : n;
        bn = strchr(bout, '\n') != NULL ? (size_t)(strchr(bout, '\n') - bout) : bn;
    }
    ck_assert_msg(n == bn && memcmp(out, bout, n) == 0,
                  "%s: the host's stdout changed:\n%s\nwithout the agent:\n%s", what, out, bout);
    ck_assert_msg(strcmp(e2e_buf_str(&v->err), e2e_buf_str(&base->err)) == 0,
                  "%s: the host's stderr changed:\n%s\nwithout the agent:\n%s", what,
                  e2e_buf_str(&v->err), e2e_buf_str(&base->err));
    ck_assert_msg(v->status == base->status, "%s: exit status %d, %d without the agent", what,
                  v->status, base->status);
}

const struct jsonv *
e2e_truth_scenario(const char *script, char *const args[])
{
    char **env = e2e_env_agent("0.05", NULL);
    struct e2e_proc *v = e2e_victim_v(env, script, args);
    e2e_wait_agent(v);
    return e2e_truth_check(v, true);
}

const struct jsonv *
e2e_truth_check(struct e2e_proc *v, bool full)
{
    const char *script = strrchr(v->name, '/') != NULL ? strrchr(v->name, '/') + 1 : v->name;
    char *pid = e2e_strdupf("%d", (int)v->pid);
    char **env = e2e_env_cli(NULL);
    const struct jsonv *caches[3];
    const char *what[3];
    size_t n = 0;

    const struct jsonv *sample = e2e_agent_snapshot(v->pid, full);
    caches[n] = e2e_caches_of(sample, v->pid, "agent snapshot");
    what[n++] =
        e2e_strdupf("%s via the agent socket (%s snapshot)", script, full ? "full" : "plain");

    struct e2e_proc *cli = full ? e2e_cli(env, "snapshot", pid, "--full", "--format", "json", NULL)
                                : e2e_cli(env, "snapshot", pid, "--format", "json", NULL);
    ck_assert_msg(cli->status == 0, "lruleak snapshot %s exited %d: %s", pid, cli->status,
                  e2e_buf_str(&cli->err));
    const struct jsonv *doc =
        e2e_json(e2e_buf_str(&cli->out), cli->out.len, "lruleak snapshot --format json");
    caches[n] = e2e_caches_of(doc, v->pid, "lruleak snapshot");
    what[n++] = e2e_strdupf("%s via lruleak snapshot%s", script, full ? " --full" : "");

    if (full) {
        /* Wrappers found by a full discovery are remembered: a plain sample
         * taken afterwards must see the same. */
        caches[n] = e2e_caches_of(e2e_agent_snapshot(v->pid, false), v->pid, "agent snapshot");
        what[n++] =
            e2e_strdupf("%s via the agent socket (plain snapshot after a full one)", script);
    }

    const struct jsonv *truth = e2e_victim_truth(v);
    for (size_t i = 0; i < n; i++) {
        e2e_check_truth(caches[i], truth, what[i]);
    }
    return truth;
}
