/* SPDX-License-Identifier: MIT */
/*
 * e2e-helpers: what the end-to-end tests share. Real Python victims from
 * tests/scenarios/ run under the real agent (LD_PRELOAD) and are examined
 * through the real CLI and the agent's socket. The implementation is split:
 * e2e-helpers.c (fixture, time, strings, environments), e2e-proc.c
 * (processes and victims), e2e-sock.c (sockets, agents, attaching),
 * e2e-json.c (JSON, recordings, ground-truth checks).
 *
 * Configuration comes from the environment meson sets (tests/e2e/meson.build):
 * PYTHON (empty: every e2e executable exits 77, meson reports SKIP),
 * LRULEAK_AGENT, LRULEAK_CLI, E2E_SCENARIOS (the victims directory), E2E_INERT
 * (the built hosts/inert). E2E_KEEP=1 keeps each test's private directory
 * (sockets, recordings, agent log) and prints its path.
 * Two optional variables serve the hardening runs: E2E_PRELOAD (the
 * sanitizer runtime of a sanitized build, first in every child's
 * LD_PRELOAD, the agent after it) and E2E_CLI_WRAPPER (a command the CLI
 * runs under, split at spaces, e.g. valgrind with its options).
 *
 * Every blocking step has a deadline; a failed step fails the test through
 * check (ck_assert_msg / ck_abort_msg), naming what it waited for and the
 * victim's stderr. Processes started by a test are killed by e2e_teardown()
 * (the checked fixture of every TCase). A failed assertion _exit()s the test
 * process without that teardown: then the victims (Python scripts, cat)
 * exit on EOF on their stdin, and the TCase's directory is removed by its
 * unchecked fixture in the runner process. On a timeout check kills the
 * test's whole process group, victims included.
 * Diagnostics go to stderr. Thread context: a check test process (fork mode).
 */
#pragma once

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jsonv.h"

/* Deadlines, in milliseconds. */
#define E2E_READY_MS 20000 /* a victim builds its state and prints READY */
#define E2E_AGENT_MS 10000 /* the agent socket answers hello in state sampling */
#define E2E_REPLY_MS 10000 /* one socket request */
#define E2E_CLI_MS 20000   /* one CLI command */
#define E2E_EXIT_MS 10000  /* a victim exits after "go" */

/* Default TCase timeout (seconds) for tests that start processes. */
#define E2E_TCASE_TIMEOUT 60

struct e2e_config {
    const char *python;    /* interpreter under test */
    const char *agent;     /* built liblruleak.so */
    const char *cli;       /* built lruleak */
    const char *scenarios; /* tests/scenarios (source dir) */
    const char *inert;     /* built hosts/inert */
    const char *preload;   /* E2E_PRELOAD, or NULL */
    char **cli_wrapper;    /* E2E_CLI_WRAPPER split at spaces, or NULL */
};

/* The configuration; valid after e2e_main() checked it. */
extern struct e2e_config e2e_cfg;

/* The current test's private directory and its parts (set by e2e_setup),
 * inside a directory per TCase. */
extern char e2e_dir[];     /* mkdtemp result */
extern char e2e_sockdir[]; /* LRULEAK_DIR given to agents and the CLI, mode 0700 */
extern char e2e_recdir[];  /* scratch for recordings and side files */
extern char e2e_log[];     /* LRULEAK_LOG given to agents */

/* Checked fixture: make/remove the private directory, kill what is left. */
void e2e_setup(void);
void e2e_teardown(void);

/* A TCase with both fixtures and E2E_TCASE_TIMEOUT. */
TCase *e2e_tcase(const char *name);

/*
 * Run the suite built by make_suite() (CK_NORMAL output on stdout). Exits
 * 77 with a message on stderr when PYTHON is unset or empty, 1 when another
 * variable is missing. Returns the process exit status.
 */
int e2e_main(Suite *(*make_suite)(void));

/* Seconds on the monotonic clock; sleeping for s seconds. */
double e2e_now_s(void);
void e2e_sleep_s(double s);
/* Sleep for ms milliseconds. */
void e2e_sleep_ms(int ms);
/* The whole file as a string that lives until the test ends; "" when it
 * cannot be read (yet). */
const char *e2e_read_text(const char *path);

/* ---- growable buffer ---------------------------------------------------- */

struct e2e_buf {
    char *data; /* NUL-terminated, NULL when empty */
    size_t len;
    size_t cap;
};

void e2e_buf_append(struct e2e_buf *b, const char *p, size_t n);
void e2e_buf_done(struct e2e_buf *b);
/* data, or "" when empty. */
const char *e2e_buf_str(const struct e2e_buf *b);

/* ---- environments ---------------------------------------------------------- */

/*
 * A fresh environment for a child: the test's environment without
 * LD_PRELOAD, PYTHONDONTWRITEBYTECODE and the agent's LRULEAK_* variables
 * (LRULEAK_AGENT and LRULEAK_CLI stay), plus PYTHONDONTWRITEBYTECODE=1,
 * plus LD_PRELOAD=<E2E_PRELOAD> when that is set and `extra` has no
 * LD_PRELOAD, plus `extra` (NULL-terminated "NAME=value" strings, each
 * replacing an earlier value of its NAME). Lives until the test ends.
 */
char **e2e_env(const char *const *extra);

/* The standard agent environment: LD_PRELOAD=[<E2E_PRELOAD>:]<agent>, LRULEAK_DIR=<sockdir>,
 * LRULEAK_LOG=<log>, LRULEAK_INTERVAL=<interval>, plus `extra`. */
char **e2e_env_agent(const char *interval, const char *const *extra);

/* "LD_PRELOAD=<libs>", behind the sanitizer runtime (E2E_PRELOAD) when
 * there is one: it must come first. Lives until the test ends. */
char *e2e_preload_var(const char *libs);

/* The CLI's environment: no LD_PRELOAD, LRULEAK_DIR=<sockdir>, plus `extra`. */
char **e2e_env_cli(const char *const *extra);

/* A whole file as a NUL-terminated string (lives until the test ends);
 * fails the test when it cannot be read. */
char *e2e_read_file(const char *path);

/* printf into a string that lives until the test ends. */
char *e2e_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- processes ------------------------------------------------------------- */

/*
 * A child with its stdin, stdout and stderr on pipes. Started with
 * posix_spawn; only fds 0-2 are inherited. Registered with the fixture,
 * which kills and reaps it in teardown.
 */
struct e2e_proc {
    pid_t pid;
    int in_fd;  /* write end of its stdin, -1 once closed */
    int out_fd; /* read end of its stdout, -1 at EOF */
    int err_fd; /* read end of its stderr, -1 at EOF */
    struct e2e_buf out;
    struct e2e_buf err;
    size_t out_pos; /* e2e_proc_read_line has consumed out[0..out_pos) */
    bool reaped;
    int status; /* exit code, or 128 + signal; valid once reaped */
    const char *name;
};

/* Start argv (argv[0] is a path) with envp. Fails the test on error. */
struct e2e_proc *e2e_spawn(char *const argv[], char *const envp[]);
/*
 * Next line of the child's stdout without its '\n' (owned by the proc, valid
 * until the next call), waiting at most timeout_ms. NULL on EOF or timeout.
 */
const char *e2e_proc_read_line(struct e2e_proc *p, int timeout_ms);
/* Write s to its stdin (fails the test on error). */
void e2e_proc_write(struct e2e_proc *p, const char *s);
/* Close its stdin, read stdout/stderr to EOF and reap it, all within
 * timeout_ms. Returns false on timeout (the child is then killed). */
bool e2e_proc_wait(struct e2e_proc *p, int timeout_ms);
/* SIGKILL and reap (no-op once reaped). */
void e2e_proc_kill(struct e2e_proc *p);

/*
 * Run argv to completion with `input` (may be NULL) on its stdin; fails the
 * test when it takes longer than timeout_ms. The result stays valid until
 * the test ends; read ->out, ->err, ->status.
 */
struct e2e_proc *e2e_run(char *const argv[], char *const envp[], const char *input, int timeout_ms);

/* Run the CLI with the arguments (NULL-terminated) and envp (under
 * E2E_CLI_WRAPPER when set). */
struct e2e_proc *e2e_cli(char *const envp[], const char *arg, ...) __attribute__((sentinel));

/* ---- victims -------------------------------------------------------------- */

/*
 * Start `python tests/scenarios/<script> args...` (args NULL-terminated) with envp,
 * wait for its READY line (lines before it are kept in ->out). Fails the
 * test, with the victim's stderr, when it exits or times out first.
 */
struct e2e_proc *e2e_victim(char *const envp[], const char *script, ...) __attribute__((sentinel));
/* Same with an argument vector (args NULL-terminated). */
struct e2e_proc *e2e_victim_v(char *const envp[], const char *script, char *const args[]);
/* Write "go", read the truth line, and require exit status 0. The truth is
 * the parsed JSON object {qualname: {...}}. */
const struct jsonv *e2e_victim_truth(struct e2e_proc *v);
/* scenarios/spin.py: write "go", read its report line (returned, parsed),
 * then its truth, require exit status 0, and check the truth against the
 * caches of sample ("what" names the case in messages). */
const struct jsonv *e2e_spin_finish(struct e2e_proc *v, const struct jsonv *sample,
                                    const char *what);

/* <sockdir>/<pid>.sock */
const char *e2e_sock_path(pid_t pid);
/* Wait until the agent in pid answers hello with state "sampling"; fails
 * the test otherwise (also when v exits first). Returns the hello reply. */
const struct jsonv *e2e_wait_agent(struct e2e_proc *v);
/* The same for the agent in pid, a process v started (a forked child);
 * fails when v exits first. */
const struct jsonv *e2e_wait_agent_in(struct e2e_proc *v, pid_t pid);

/* ---- attaching (a victim started without the agent) ---------------------- */

/* PYTHON's version and whether it is a free-threaded build; 0, or -1 when
 * it cannot be run. Usable outside tests (no check asserts). */
int e2e_python_version(int *ret_major, int *ret_minor, bool *ret_free_threaded);
/* Whether the CLI may ptrace a process that is not its descendant (the
 * victims are its siblings): CAP_SYS_PTRACE, or no Yama restriction. When
 * not, reason says why. Usable outside tests. */
bool e2e_can_attach(char *reason, size_t size);
/* Entries of a directory (/proc/PID/task, /proc/PID/fd), -1 if unreadable. */
int e2e_count_entries(const char *path);
/*
 * `lruleak attach PID [--interval interval]` with the CLI environment plus
 * env_extra (NULL-terminated, may be NULL); requires exit 0, a line
 * "attached to pid PID" on stdout and nothing on stderr, and that the agent
 * then answers hello in state sampling. Returns the CLI run (its stdout
 * names the route).
 */
struct e2e_proc *e2e_attach(pid_t pid, const char *const *env_extra, const char *interval);
/* `lruleak detach PID`: exit 0, and the socket is gone afterwards. */
void e2e_detach(pid_t pid);

/* ---- sockets -------------------------------------------------------------- */

/* Connect to a Unix socket; fails the test on error. */
int e2e_connect(const char *path);
/* Send exactly len bytes (fails the test on error). */
void e2e_send(int fd, const void *data, size_t len);
/* Read one line (without '\n') within timeout_ms. Returns the line (lives
 * until the test ends), or NULL on EOF/error; *ret_eof tells EOF apart
 * from a timeout. */
char *e2e_recv_line(int fd, int timeout_ms, bool *ret_eof);
/* One request line ("\n" appended) and its parsed reply; fails on error. */
const struct jsonv *e2e_request(int fd, const char *req);
/* The agent's sample count (hello's "samples"). A connection the agent
 * closes unanswered (all its client slots taken) is tried again for
 * E2E_REPLY_MS; fails the test otherwise. */
int64_t e2e_agent_samples(pid_t pid);
/* Connect to pid's agent, ask for a fresh snapshot (with a full-heap
 * discovery when `full`, which the sample must say), return the sample. */
const struct jsonv *e2e_agent_snapshot(pid_t pid, bool full);

/* ---- recordings --------------------------------------------------------------- */

/* A recording's lines for one pid: its process line and its samples. */
struct e2e_rec_proc {
    const struct jsonv *process;     /* NULL when there is none */
    const struct jsonv *last_sample; /* NULL when there is none */
    size_t samples;
    size_t finals; /* samples with "final": true */
};

/* Collect them from parsed recording lines (e2e_json_lines). */
struct e2e_rec_proc e2e_rec_proc(const struct jsonv **lines, size_t n, int64_t pid);

/* ---- JSON ----------------------------------------------------------------- */

/* Parse or fail the test (what names the text in the failure message). */
const struct jsonv *e2e_json(const char *text, size_t len, const char *what);
/* Parse every line of a JSON-lines text; returns the count, array in *ret. */
size_t e2e_json_lines(const char *text, const struct jsonv ***ret, const char *what);
/* Required member accessors (fail the test when absent or mistyped). */
int64_t e2e_int(const struct jsonv *o, const char *key, const char *what);
const char *e2e_str(const struct jsonv *o, const char *key, const char *what);
bool e2e_bool(const struct jsonv *o, const char *key, const char *what);

/*
 * The cache rows for pid in a CLI JSON document (report/snapshot: the
 * process with that pid), an agent reply ({"sample":{...}}) or a sample
 * itself. Fails the test when there is none.
 */
const struct jsonv *e2e_caches_of(const struct jsonv *doc, pid_t pid, const char *what);
/* The row with that module and qualname that is present (a report's
 * "present":false rows are skipped), or NULL. Fails on duplicates. */
const struct jsonv *e2e_find_row(const struct jsonv *caches, const char *module,
                                 const char *qualname, const char *what);

/*
 * Check every row of a victim's truth against the agent's rows:
 * entries == 0 means "not listed"; otherwise module, kind, file, line
 * (the first decorator's or the def's), maxsize, typed, self_only, wrappers, entries,
 * hits, misses, selves, pinned and the verdict derived from the truth must
 * match exactly, and retained_bytes must lie in [pinned_bytes, 1.5 *
 * pinned_bytes] when the truth has payloads, and be 0 when nothing is
 * pinned. `what` names the source ("agent socket", "lruleak snapshot").
 */
void e2e_check_truth(const struct jsonv *caches, const struct jsonv *truth, const char *what);

/*
 * The host did not notice the agent: v's stdout (only its first line when
 * first_line, for programs whose later lines depend on timing), stderr and
 * exit status equal base's, a run of the same program without the agent.
 */
void e2e_assert_unchanged(const struct e2e_proc *v, const struct e2e_proc *base, bool first_line,
                          const char *what);

/*
 * The standard ground-truth scenario: start the victim under the agent
 * (LRULEAK_INTERVAL=0.05), wait for READY and the agent, then
 * e2e_truth_check(v, true). Returns the truth.
 */
const struct jsonv *e2e_truth_scenario(const char *script, char *const args[]);
/*
 * For a victim v that printed READY and whose agent answers: take the
 * agent's socket snapshot and `lruleak snapshot PID --format json` (both
 * with a full discovery when `full`, and then also a plain socket snapshot,
 * which must see the wrappers the full one found), write "go", and compare
 * each with the truth the victim prints.
 */
const struct jsonv *e2e_truth_check(struct e2e_proc *v, bool full);
