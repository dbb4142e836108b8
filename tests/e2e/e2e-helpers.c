/* SPDX-License-Identifier: MIT */
/*
 * e2e-helpers: the e2e tests' fixture (private directories, the suite's
 * main), time, strings and environments; processes are e2e-proc.c,
 * sockets and agents e2e-sock.c, JSON and ground truth e2e-json.c (see
 * e2e-helpers.h for the contract).
 *
 * Each check test runs in its own forked process, so the strings, parsed
 * JSON trees and process records made here live until the test ends and
 * are deliberately not freed one by one. What must not outlive a test, the
 * processes and the private directory, is cleaned up by e2e_teardown().
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

extern char **environ;

struct e2e_config e2e_cfg;
char e2e_dir[256];
char e2e_sockdir[300];
char e2e_recdir[300];
char e2e_log[300];

/* ---- time ------------------------------------------------------------------ */

int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
remaining_ms(int64_t deadline)
{
    int64_t left = deadline - now_ms();
    return left < 0 ? 0 : (int)left;
}

void
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
const char *
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
    e2e_forget_procs();
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
    e2e_kill_procs();
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
