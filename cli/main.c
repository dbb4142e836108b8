/* SPDX-License-Identifier: MIT */
/*
 * main: the `lruleak` command line: a table of verbs and one of options,
 * nothing else. Options are parsed into arg_ globals (declared in cli.h),
 * each verb declares which options and how many positional arguments it
 * takes, and a usage error names the exact problem in one line (exit 2)
 * instead of printing the whole help. The verbs live in cmd-<verb>.c.
 * Parsing (cli_parse_args) is apart from running the verb (main), so the
 * option parser can be fuzzed without executing anything
 * (tests/fuzz/fuzz-cli-args.c, which builds this file with main renamed).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

double arg_interval;
const char *arg_interval_str;
const char *arg_output;
enum cli_fail_on arg_fail_on = CLI_FAIL_ON_NONE;
enum cli_format arg_format = CLI_FORMAT_TEXT;
bool arg_full;
bool arg_quick;
bool arg_verbose;
int64_t arg_max_pinned = -1;
const char *arg_junit;
const char *arg_sarif;
const char *arg_ignore[CLI_IGNORE_MAX];
size_t arg_nignore;
bool arg_no_warmup;
bool arg_pytest;
bool arg_watch;
const char *arg_html;
int arg_trace_alloc;
bool arg_format_given;
pid_t arg_pids[CLI_PIDS_MAX];
size_t arg_npids;
const char *arg_listen;
double arg_timeout;

/* Options, and the bit each verb uses to accept them. */
enum {
    OPT_INTERVAL = 0x100,
    OPT_OUTPUT = 'o',
    OPT_FAIL_ON = 0x101,
    OPT_FORMAT = 0x102,
    OPT_FULL = 0x103,
    OPT_MAX_PINNED = 0x104,
    OPT_JUNIT = 0x105,
    OPT_SARIF = 0x106,
    OPT_IGNORE_CACHE = 0x107,
    OPT_NO_WARMUP = 0x108,
    OPT_PYTEST = 0x109,
    OPT_QUICK = 0x1ff,
    OPT_WATCH = 0x10a,
    OPT_HTML = 0x10b,
    OPT_TRACE_ALLOC = 0x10c,
    OPT_PID = 0x10d,
    OPT_LISTEN = 0x10e,
    OPT_TIMEOUT = 0x10f,
    OPT_VERBOSE = 'v',
    OPT_HELP = 'h',
    OPT_VERSION = 'V',
};

enum {
    ACCEPT_INTERVAL = 1u << 0,
    ACCEPT_OUTPUT = 1u << 1,
    ACCEPT_FAIL_ON = 1u << 2,
    ACCEPT_FORMAT = 1u << 3,
    ACCEPT_FULL = 1u << 4,
    ACCEPT_VERBOSE = 1u << 5,
    ACCEPT_CI = 1u << 6, /* --max-pinned, --junit, --sarif, --ignore-cache, --no-warmup */
    ACCEPT_PYTEST = 1u << 7,
    ACCEPT_WATCH = 1u << 8,
    ACCEPT_HTML = 1u << 9,
    ACCEPT_TRACE_ALLOC = 1u << 10,
    ACCEPT_METRICS = 1u << 11, /* --pid, --listen, --timeout */
};

/*
 * The one option table: getopt's long options, which verbs take each
 * option, and the help text are all made from it (in this order).
 * help NULL: accepted but not listed (--full, the old spelling of the
 * default). Lines of help after the first are indented under it.
 */
struct option_doc {
    const char *name;
    int has_arg;
    int val;
    unsigned accept;
    bool ci;           /* listed under "CI options" */
    const char *shown; /* how --help spells it */
    const char *help;
};

static const struct option_doc option_docs[] = {
    {"interval", required_argument, OPT_INTERVAL, ACCEPT_INTERVAL, false, "--interval S",
     "run, attach: seconds between samples (agent default 1.0,\n"
     "min 0.001); watch: seconds between refreshes (default 1.0)"},
    {"output", required_argument, OPT_OUTPUT, ACCEPT_OUTPUT, false, "-o, --output FILE",
     "run: recording file (default lruleak-<pid>.jsonl)"},
    {"pytest", no_argument, OPT_PYTEST, ACCEPT_PYTEST, false, "--pytest",
     "run: enable the pytest plugin (automatic when CMD is pytest\n"
     "or python -m pytest)"},
    {"format", required_argument, OPT_FORMAT, ACCEPT_FORMAT, false, "--format FORMAT",
     "text (default) or json; metrics: text (Prometheus 0.0.4)\n"
     "or openmetrics (OpenMetrics 1.0)"},
    {"html", required_argument, OPT_HTML, ACCEPT_HTML, false, "--html FILE",
     "run, report: also write the report as one self-contained HTML\n"
     "page (growth plots, allocation sites, fixes; no script, no\n"
     "network)"},
    {"trace-alloc", optional_argument, OPT_TRACE_ALLOC, ACCEPT_TRACE_ALLOC, false,
     "--trace-alloc[=N]",
     "run, attach: start tracemalloc in the target with N frames\n"
     "(default 1; an existing session is reused) and report where\n"
     "the pinned objects were created (costs memory and time)"},
    {"quick", no_argument, OPT_QUICK, ACCEPT_FULL, false, "--quick",
     "snapshot: skip the full-heap wrapper discovery (finds the\n"
     "caches of classes, modules and earlier samples only)"},
    {"full", no_argument, OPT_FULL, ACCEPT_FULL, false, NULL, NULL},
    {"verbose", no_argument, OPT_VERBOSE, ACCEPT_VERBOSE, false, "-v, --verbose",
     "list every cache, not only those that pin objects"},
    {"watch", no_argument, OPT_WATCH, ACCEPT_WATCH, false, "--watch",
     "attach: then show the live view (lruleak watch PID)"},
    {"pid", required_argument, OPT_PID, ACCEPT_METRICS, false, "--pid PID",
     "metrics: only this agent (repeatable; default: every\n"
     "agent lruleak list finds, at each scrape)"},
    {"listen", required_argument, OPT_LISTEN, ACCEPT_METRICS, false, "--listen ADDR",
     "metrics: serve GET /metrics over HTTP at ADDR, [HOST]:PORT\n"
     "(default host 127.0.0.1; ':9464' is loopback too). A\n"
     "non-loopback address is served only when typed as a number\n"
     "(0.0.0.0:9464, [::]:9464, 192.0.2.7:9464); SIGTERM stops it"},
    {"timeout", required_argument, OPT_TIMEOUT, ACCEPT_METRICS, false, "--timeout S",
     "metrics: deadline of each scrape for the agents' answers\n"
     "(default 2); a late agent shows lruleak_up 0"},
    {"help", no_argument, OPT_HELP, 0, false, "-h, --help", "show this help"},
    {"version", no_argument, OPT_VERSION, 0, false, "-V, --version", "show the version"},
    {"fail-on", required_argument, OPT_FAIL_ON, ACCEPT_FAIL_ON, true, "--fail-on VERDICT",
     "exit 10 when a cache leaks (leak) or pins objects at all\n"
     "(bounded): in test sessions, objects blamed on tests; in\n"
     "other processes, their last sample (run: if CMD succeeded)"},
    {"max-pinned", required_argument, OPT_MAX_PINNED, ACCEPT_CI, true, "--max-pinned N",
     "exit 10 when those caches pin more than N objects in all"},
    {"junit", required_argument, OPT_JUNIT, ACCEPT_CI, true, "--junit FILE",
     "write JUnit XML: a testcase per test, failing when it leaked"},
    {"sarif", required_argument, OPT_SARIF, ACCEPT_CI, true, "--sarif FILE",
     "write SARIF 2.1.0: a result per leaking cache at its file:line"},
    {"ignore-cache", required_argument, OPT_IGNORE_CACHE, ACCEPT_CI, true, "--ignore-cache NAME",
     "never count this cache (fnmatch on qualname or\n"
     "module.qualname; repeatable)"},
    {"no-warmup", no_argument, OPT_NO_WARMUP, ACCEPT_CI, true, "--no-warmup",
     "blame a cache's first fill too (default: a cache that only\n"
     "one test per process fills is a warm-up, not a leak)"},
};
#define N_OPTIONS (sizeof(option_docs) / sizeof(option_docs[0]))

/* getopt's table, made from option_docs on first use. */
static struct option options[N_OPTIONS + 1];

static void
make_options(void)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        options[i] =
            (struct option){option_docs[i].name, option_docs[i].has_arg, NULL, option_docs[i].val};
    }
    options[N_OPTIONS] = (struct option){0};
}

/* Print the options of one group, help text at column 21. */
static void
help_options(bool ci)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const struct option_doc *o = &option_docs[i];
        if (o->help == NULL || o->ci != ci) {
            continue;
        }
        int w = printf("  %s", o->shown);
        printf("%*s", w < 19 ? 21 - w : 2, "");
        for (const char *p = o->help; *p != '\0';) {
            size_t n = strcspn(p, "\n");
            printf("%.*s\n", (int)n, p);
            p += n;
            if (*p == '\n') {
                p++;
                printf("%21s", "");
            }
        }
    }
}

struct verb {
    const char *name;
    int (*handler)(int argc, char **argv);
    int min_args;
    int max_args; /* -1: no limit */
    unsigned accept;
    const char *usage;
    const char *help;
};

static const struct verb verbs[] = {
    {"run", cmd_run, 1, -1,
     ACCEPT_INTERVAL | ACCEPT_OUTPUT | ACCEPT_FAIL_ON | ACCEPT_VERBOSE | ACCEPT_CI | ACCEPT_PYTEST |
         ACCEPT_HTML | ACCEPT_TRACE_ALLOC,
     "run [--interval S] [--output FILE] [--pytest] [--trace-alloc[=N]] [--html FILE] [CI OPTIONS] "
     "[--verbose] -- CMD [ARGS...]",
     "run CMD with the agent, record every Python process it starts, report at exit"},
    {"list", cmd_list, 0, 0, 0, "list", "list the running agents of this user"},
    {"snapshot", cmd_snapshot, 1, 1, ACCEPT_FORMAT | ACCEPT_FULL | ACCEPT_VERBOSE,
     "snapshot PID [--format text|json] [--quick] [--verbose]",
     "take a fresh sample in PID now and print it"},
    {"watch", cmd_watch, 1, 1, ACCEPT_INTERVAL, "watch PID [--interval S]",
     "live view of the caches of PID, sorted by pinned objects (q quits)"},
    {"report", cmd_report, 1, 1,
     ACCEPT_FORMAT | ACCEPT_VERBOSE | ACCEPT_FAIL_ON | ACCEPT_CI | ACCEPT_HTML,
     "report FILE [--format text|json] [--html FILE] [CI OPTIONS] [--verbose]",
     "render a recording (FILE - reads stdin)"},
    {"attach", cmd_attach, 1, 1, ACCEPT_INTERVAL | ACCEPT_WATCH | ACCEPT_TRACE_ALLOC,
     "attach PID [--interval S] [--trace-alloc[=N]] [--watch]",
     "load the agent into the running Python process PID (ptrace; sys.remote_exec on 3.14+)"},
    {"detach", cmd_detach, 1, 1, 0, "detach PID",
     "stop the agent in PID and remove its socket; the process runs on"},
    {"metrics", cmd_metrics, 0, 0, ACCEPT_METRICS | ACCEPT_FORMAT,
     "metrics [--pid PID]... [--format text|openmetrics] [--listen ADDR] [--timeout S]",
     "the agents' latest samples as Prometheus metrics: printed once, or served at "
     "http://ADDR/metrics"},
};

static void
help(void)
{
    printf("Usage: lruleak COMMAND [OPTIONS] [ARGS]\n\n"
           "Find Python objects pinned in memory by functools.lru_cache / functools.cache.\n\n"
           "Commands:\n");
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        printf("  lruleak %s\n      %s\n", verbs[i].usage, verbs[i].help);
    }
    printf("\nOptions:\n");
    help_options(false);
    printf("\nCI options (run, report):\n");
    help_options(true);
    printf("\nExit status:\n"
           "  0    success\n"
           "  1    runtime error\n"
           "  2    usage error\n"
           "  3    no agent: no such pid, no agent in that pid, or the agent does not answer\n"
           "       (attach: no such pid)\n"
           "  10   the --fail-on or --max-pinned rule failed (run: and CMD succeeded)\n"
           "  run otherwise exits with CMD's status: its exit code, 128+N if it died of\n"
           "  signal N, 127 if it could not be executed.\n"
           "\nEnvironment:\n"
           "  LRULEAK_DIR        socket directory (default $XDG_RUNTIME_DIR/lruleak or\n"
           "                     /tmp/lruleak-<uid>)\n"
           "  LRULEAK_AGENT      agent library for run and attach (default: next to this\n"
           "                     program, then %s/%s)\n"
           "  LRULEAK_LOG, LRULEAK_RECORD\n"
           "                     attach: handed to the agent (its log file, its recording dir)\n",
           LRULEAK_LIBDIR, LRULEAK_AGENT_NAME);
}

static unsigned
accept_bit(int opt)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (option_docs[i].val == opt) {
            return option_docs[i].accept;
        }
    }
    return 0;
}

/* Returns 0, or -1 after printing a usage error. */
static int
parse_value(const struct verb *v, int opt, const char *val)
{
    char shown[128]; /* val in messages: one line, no terminal controls */

    switch (opt) {
    case OPT_INTERVAL:
        /* The agent's floor is 1 ms; a watch refresh below 50 ms only burns
         * the target's GIL. */
        if (util_parse_seconds(val, strcmp(v->name, "watch") == 0 ? 0.05 : 0.001, &arg_interval) <
            0) {
            fprintf(stderr, "lruleak: %s: --interval wants seconds from %s to 86400, not '%s'\n",
                    v->name, strcmp(v->name, "watch") == 0 ? "0.05" : "0.001",
                    util_printable(val, shown, sizeof(shown)));
            return -1;
        }
        arg_interval_str = val;
        return 0;
    case OPT_OUTPUT:
        if (val[0] == '\0') {
            fprintf(stderr, "lruleak: %s: --output wants a file name\n", v->name);
            return -1;
        }
        arg_output = val;
        return 0;
    case OPT_FAIL_ON:
        if (strcmp(val, "leak") == 0) {
            arg_fail_on = CLI_FAIL_ON_LEAK;
        } else if (strcmp(val, "bounded") == 0) {
            arg_fail_on = CLI_FAIL_ON_BOUNDED;
        } else {
            fprintf(stderr, "lruleak: %s: --fail-on wants leak or bounded, not '%s'\n", v->name,
                    util_printable(val, shown, sizeof(shown)));
            return -1;
        }
        return 0;
    case OPT_FORMAT: {
        bool metrics = strcmp(v->name, "metrics") == 0;

        if (strcmp(val, "text") == 0) {
            arg_format = CLI_FORMAT_TEXT;
        } else if (strcmp(val, "json") == 0 && !metrics) {
            arg_format = CLI_FORMAT_JSON;
        } else if (strcmp(val, "openmetrics") == 0 && metrics) {
            arg_format = CLI_FORMAT_OPENMETRICS;
        } else {
            fprintf(stderr, "lruleak: %s: --format wants %s, not '%s'\n", v->name,
                    metrics ? "text or openmetrics" : "text or json",
                    util_printable(val, shown, sizeof(shown)));
            return -1;
        }
        arg_format_given = true;
        return 0;
    }
    case OPT_PID: {
        pid_t pid;

        if (util_parse_pid(val, &pid) < 0) {
            fprintf(stderr, "lruleak: %s: --pid wants a pid, not '%s'\n", v->name,
                    util_printable(val, shown, sizeof(shown)));
            return -1;
        }
        if (arg_npids == CLI_PIDS_MAX) {
            fprintf(stderr, "lruleak: %s: at most %d --pid options\n", v->name, CLI_PIDS_MAX);
            return -1;
        }
        for (size_t i = 0; i < arg_npids; i++) {
            if (arg_pids[i] == pid) {
                return 0; /* once is enough: a pid is one series */
            }
        }
        arg_pids[arg_npids++] = pid;
        return 0;
    }
    case OPT_LISTEN:
        if (val[0] == '\0') {
            fprintf(stderr, "lruleak: %s: --listen wants [HOST]:PORT, e.g. 127.0.0.1:9464\n",
                    v->name);
            return -1;
        }
        arg_listen = val;
        return 0;
    case OPT_TIMEOUT:
        if (util_parse_seconds(val, 0.01, &arg_timeout) < 0 || arg_timeout > 300) {
            fprintf(stderr, "lruleak: %s: --timeout wants seconds from 0.01 to 300, not '%s'\n",
                    v->name, util_printable(val, shown, sizeof(shown)));
            return -1;
        }
        return 0;
    case OPT_FULL:
        arg_full = true;
        return 0;
    case OPT_QUICK:
        arg_quick = true;
        return 0;
    case OPT_VERBOSE:
        arg_verbose = true;
        return 0;
    case OPT_MAX_PINNED: {
        char *end;
        long long n;

        errno = 0;
        n = strtoll(val, &end, 10);
        if (val[0] < '0' || val[0] > '9' || *end != '\0' || errno != 0) {
            fprintf(stderr,
                    "lruleak: %s: --max-pinned wants a number of objects (0 or more), "
                    "not '%s'\n",
                    v->name, util_printable(val, shown, sizeof(shown)));
            return -1;
        }
        arg_max_pinned = n;
        return 0;
    }
    case OPT_JUNIT:
    case OPT_SARIF:
        if (val[0] == '\0') {
            fprintf(stderr, "lruleak: %s: --%s wants a file name\n", v->name,
                    opt == OPT_JUNIT ? "junit" : "sarif");
            return -1;
        }
        *(opt == OPT_JUNIT ? &arg_junit : &arg_sarif) = val;
        return 0;
    case OPT_IGNORE_CACHE:
        if (val[0] == '\0' || arg_nignore == CLI_IGNORE_MAX) {
            fprintf(stderr, "lruleak: %s: --ignore-cache wants a cache name%s\n", v->name,
                    val[0] == '\0' ? "" : " (at most 64 of them)");
            return -1;
        }
        arg_ignore[arg_nignore++] = val;
        return 0;
    case OPT_NO_WARMUP:
        arg_no_warmup = true;
        return 0;
    case OPT_PYTEST:
        arg_pytest = true;
        return 0;
    case OPT_WATCH:
        arg_watch = true;
        return 0;
    case OPT_HTML:
        if (val[0] == '\0') {
            fprintf(stderr, "lruleak: %s: --html wants a file name\n", v->name);
            return -1;
        }
        arg_html = val;
        return 0;
    case OPT_TRACE_ALLOC: {
        char *end;
        long n = 1;

        if (val != NULL) {
            errno = 0;
            n = strtol(val, &end, 10);
            if (val[0] < '0' || val[0] > '9' || *end != '\0' || errno != 0 || n < 1 ||
                n > CLI_TRACE_ALLOC_MAX) {
                fprintf(stderr,
                        "lruleak: %s: --trace-alloc wants a number of frames from 1 to %d, "
                        "not '%s'\n",
                        v->name, CLI_TRACE_ALLOC_MAX, util_printable(val, shown, sizeof(shown)));
                return -1;
            }
        }
        arg_trace_alloc = (int)n;
        return 0;
    }
    default:
        return 0;
    }
}

/*
 * Parse the options and positional arguments of verb v (argv[0] is the
 * verb). Fills ret: the handler and the verb's argument vector, or no
 * handler and the exit status (help, version, usage error; the message is
 * printed here).
 */
static void
parse_verb(const struct verb *v, int argc, char **argv, struct cli_call *ret)
{
    char **pos = NULL;
    int opt, npos;

    ret->status = CLI_EXIT_USAGE;
    /* run: stop at CMD, whose own options are not ours ("+"). ":" first:
     * report a missing value as ':' so the message can say so. optind 0
     * (not 1) makes glibc forget any state left by an earlier parse. */
    make_options();
    opterr = 0;
    optind = 0;
    for (;;) {
        int longindex = -1;
        char name[64], spelled[3];

        opt = getopt_long(argc, argv, strcmp(v->name, "run") == 0 ? "+:o:vhV" : ":o:vhV", options,
                          &longindex);
        if (opt == -1) {
            break;
        }
        /* The option as the user spelled it, for messages (escaped). */
        if (longindex >= 0) {
            snprintf(name, sizeof(name), "--%s", options[longindex].name);
        } else if (opt == '?' || opt == ':') {
            if (optopt != 0 && optopt < 0x100) {
                snprintf(spelled, sizeof(spelled), "-%c", optopt);
                util_printable(spelled, name, sizeof(name));
            } else {
                util_printable(argv[optind - 1], name, sizeof(name));
            }
        } else {
            snprintf(name, sizeof(name), "-%c", opt);
        }

        if (opt == OPT_HELP) {
            printf("Usage: lruleak %s\n  %s\n(lruleak --help lists every option and exit "
                   "code)\n",
                   v->usage, v->help);
            ret->status = CLI_EXIT_OK;
            return;
        }
        if (opt == OPT_VERSION) {
            printf("lruleak %s\n", LRULEAK_VERSION);
            ret->status = CLI_EXIT_OK;
            return;
        }
        if (opt == '?') {
            fprintf(stderr, "lruleak: %s: unknown option '%s' (see lruleak --help)\n", v->name,
                    name);
            return;
        }
        if (opt == ':') {
            fprintf(stderr, "lruleak: %s: option '%s' needs a value\n", v->name, name);
            return;
        }
        if ((v->accept & accept_bit(opt)) == 0) {
            fprintf(stderr, "lruleak: %s: '%s' is not an option of %s (usage: lruleak %s)\n",
                    v->name, name, v->name, v->usage);
            return;
        }
        if (parse_value(v, opt, optarg) < 0) {
            return;
        }
    }
    npos = argc - optind;
    if (npos < v->min_args || (v->max_args >= 0 && npos > v->max_args)) {
        if (npos < v->min_args) {
            fprintf(stderr, "lruleak: %s: missing %s (usage: lruleak %s)\n", v->name,
                    strcmp(v->name, "run") == 0      ? "CMD"
                    : strcmp(v->name, "report") == 0 ? "FILE"
                                                     : "PID",
                    v->usage);
        } else {
            char shown[128];

            fprintf(stderr, "lruleak: %s: unexpected argument '%s' (usage: lruleak %s)\n", v->name,
                    util_printable(argv[optind + v->max_args], shown, sizeof(shown)), v->usage);
        }
        return;
    }
    /* The verb sees argv[0] = its name, then the positional arguments. */
    pos = calloc((size_t)npos + 2, sizeof(*pos));
    if (pos == NULL) {
        fprintf(stderr, "lruleak: out of memory\n");
        ret->status = CLI_EXIT_FAILURE;
        return;
    }
    pos[0] = argv[0];
    for (int i = 0; i < npos; i++) {
        pos[i + 1] = argv[optind + i];
    }
    ret->handler = v->handler;
    ret->argc = npos + 1;
    ret->argv = pos;
    ret->status = CLI_EXIT_OK;
}

void
cli_parse_args(int argc, char **argv, struct cli_call *ret)
{
    const char *verb = argc > 1 ? argv[1] : NULL;
    char shown[128];

    *ret = (struct cli_call){.status = CLI_EXIT_USAGE};
    /* Defaults again: the parse can run more than once in one process. */
    arg_interval = 0;
    arg_interval_str = NULL;
    arg_output = NULL;
    arg_fail_on = CLI_FAIL_ON_NONE;
    arg_format = CLI_FORMAT_TEXT;
    arg_full = false;
    arg_quick = false;
    arg_verbose = false;
    arg_html = NULL;
    arg_trace_alloc = 0;
    arg_format_given = false;
    arg_npids = 0;
    arg_listen = NULL;
    arg_timeout = 0;

    if (verb == NULL) {
        fprintf(stderr, "lruleak: missing command (run, list, snapshot, watch, report, attach, "
                        "detach, metrics; see lruleak --help)\n");
        return;
    }
    if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "help") == 0) {
        help();
        ret->status = CLI_EXIT_OK;
        return;
    }
    if (strcmp(verb, "-V") == 0 || strcmp(verb, "--version") == 0) {
        printf("lruleak %s\n", LRULEAK_VERSION);
        ret->status = CLI_EXIT_OK;
        return;
    }
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (strcmp(verb, verbs[i].name) == 0) {
            parse_verb(&verbs[i], argc - 1, argv + 1, ret);
            return;
        }
    }
    fprintf(stderr, "lruleak: unknown command '%s' (see lruleak --help)\n",
            util_printable(verb, shown, sizeof(shown)));
}

int
main(int argc, char **argv)
{
    struct cli_call call;
    int ret;

    cli_parse_args(argc, argv, &call);
    if (call.handler == NULL) {
        return call.status;
    }
    ret = call.handler(call.argc, call.argv);
    free(call.argv);
    return ret;
}
