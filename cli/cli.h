/* SPDX-License-Identifier: MIT */
/*
 * cli: what the verbs of the `lruleak` command share: exit codes, the parsed
 * command-line options (arg_ globals, set by main.c) and the verb entry
 * points. Every cmd_<verb>() receives the positional arguments only
 * (argv[0] is the verb), logs its own errors to stderr (one line each) and
 * returns the process exit status.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Exit codes (also listed by `lruleak --help`):
 *   0   success
 *   1   runtime error (unreadable or corrupt file, agent error reply, ...)
 *   2   usage error
 *   3   no agent: no such pid, no agent in that pid, agent not answering
 *  10   the gate failed (--fail-on, --max-pinned): `report`, or `run` when CMD
 *       succeeded
 * `run` otherwise exits with CMD's status: its exit code, 128+N when it died
 * of signal N, 127 when it could not be executed.
 */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_NO_AGENT = 3,
    CLI_EXIT_GATE = 10, /* --fail-on / --max-pinned */
    CLI_EXIT_NOEXEC = 127,
};

enum cli_format {
    CLI_FORMAT_TEXT,
    CLI_FORMAT_JSON,
    CLI_FORMAT_OPENMETRICS, /* metrics only */
};

enum cli_fail_on {
    CLI_FAIL_ON_NONE,
    CLI_FAIL_ON_LEAK,    /* a cache with verdict "leak" */
    CLI_FAIL_ON_BOUNDED, /* a cache with verdict "leak" or "bounded" */
};

/* Parsed options; defined in main.c. Only meaningful for the verbs that
 * accept them (main.c rejects the others). */
extern double arg_interval;          /* --interval S; 0 when not given */
extern const char *arg_interval_str; /* the text given to --interval, or NULL */
extern const char *arg_output;       /* run --output FILE, or NULL */
extern enum cli_fail_on arg_fail_on; /* run --fail-on */
extern enum cli_format arg_format;   /* --format */
extern bool arg_full;                /* snapshot --full (the default; kept for scripts) */
extern bool arg_quick;               /* snapshot --quick: no full-heap discovery */
extern bool arg_verbose;             /* --verbose: list every ok cache */
extern int64_t arg_max_pinned;       /* --max-pinned N; -1 when not given */
extern const char *arg_junit;        /* --junit FILE, or NULL */
extern const char *arg_sarif;        /* --sarif FILE, or NULL */
#define CLI_IGNORE_MAX 64
extern const char *arg_ignore[CLI_IGNORE_MAX]; /* --ignore-cache NAME (repeatable) */
extern size_t arg_nignore;
extern bool arg_no_warmup;   /* --no-warmup */
extern bool arg_pytest;      /* run --pytest: enable the pytest plugin */
extern bool arg_watch;       /* attach --watch: watch after attaching */
extern const char *arg_html; /* run, report --html FILE, or NULL */
/* run, attach --trace-alloc[=N]: tracemalloc frames; 0 when not given */
#define CLI_TRACE_ALLOC_MAX 100
extern int arg_trace_alloc;
extern bool arg_no_warmup;    /* --no-warmup */
extern bool arg_pytest;       /* run --pytest: enable the pytest plugin */
extern bool arg_watch;        /* attach --watch: watch after attaching */
extern bool arg_format_given; /* --format was on the command line */
#define CLI_PIDS_MAX 1024
extern pid_t arg_pids[CLI_PIDS_MAX]; /* metrics --pid PID (repeatable) */
extern size_t arg_npids;
extern const char *arg_listen; /* metrics --listen ADDR, or NULL */
extern double arg_timeout;     /* metrics --timeout S; 0 when not given */

/* What the command line asks for, from cli_parse_args(). */
struct cli_call {
    int (*handler)(int argc, char **argv); /* the verb; NULL: exit with status */
    int status;                            /* exit status when handler is NULL */
    int argc;
    char **argv; /* the verb's name, then its positional arguments (free()) */
};

/*
 * Parse a whole command line (argv[0] is the program) into the arg_
 * globals (reset first) and *ret, without running anything. Help and
 * --version are printed here (handler NULL, status 0); a usage error is
 * printed as one line on stderr (handler NULL, status CLI_EXIT_USAGE).
 * Not thread-safe (getopt). (main.c)
 */
void cli_parse_args(int argc, char **argv, struct cli_call *ret);

int cmd_run(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
/* Ask pid's agent to detach and wait for its socket to go (cmd-detach.c).
 * Returns 0 or -errno with one line in err. */
int cli_detach_agent(pid_t pid, char *err, size_t errlen);
int cmd_metrics(int argc, char **argv);

struct report;
struct report_text_opts;
/*
 * Print a report on stdout in arg_format (text with opts, or JSON); on a
 * write error say so on stderr. Returns 0 or -errno. (cmd-report.c)
 */
int cli_print_report(const struct report *rep, const struct report_text_opts *opts);

/*
 * The CI side of `run` and `report` (ci.c). cli_attribute applies the
 * attribution rules of the options (--ignore-cache, --no-warmup) to the
 * model's test records; call it before printing. cli_ci_outputs then
 * writes --junit, --sarif and --html and judges --fail-on / --max-pinned, saying
 * on stderr which rule failed. Returns CLI_EXIT_OK, CLI_EXIT_GATE, or
 * CLI_EXIT_FAILURE when a file could not be written (said on stderr).
 */
int cli_attribute(struct report *rep);
int cli_ci_outputs(const struct report *rep);
