/* SPDX-License-Identifier: MIT */
/*
 * cmd-watch: `lruleak watch PID [--interval S]`, a live view like top.
 *
 * Every S seconds (default 1) asks the agent for a fresh sample (the first
 * with the full-heap discovery, the next ones with the cheap one) and shows
 * the caches of the process sorted by pinned objects, with the growth since
 * the watch started. On a terminal it draws a full screen (alternate
 * screen, cursor hidden, keys read without echo) and redraws on resize;
 * otherwise it prints one block of plain lines per refresh. It ends cleanly
 * on 'q', Ctrl-C, SIGTERM or SIGHUP, and when the process exits; every exit
 * path restores the terminal, and Ctrl-Z restores it before stopping.
 * An exec in the watched process restarts its agent on the same pid: the
 * watch reconnects and starts over with the new program.
 *
 * Memory stays flat however long it runs: the model keeps no series
 * (REPORT_NO_SERIES), only each row's first and latest appearance.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "protocol.h"
#include "client.h"
#include "report.h"
#include "util.h"

#define WATCH_DEFAULT_INTERVAL 1.0
/* Lines above the table on the terminal screen. */
#define HEADER_LINES 5

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t resized;
static volatile sig_atomic_t suspend_requested;

static void
on_stop(int sig)
{
    stop_signal = sig;
}

static void
on_winch(int sig)
{
    (void)sig;
    resized = 1;
}

static void
on_tstp(int sig)
{
    (void)sig;
    suspend_requested = 1;
}

struct watch {
    pid_t pid;
    double interval;
    bool tty;  /* stdout is a terminal: full-screen mode */
    bool keys; /* stdin is a terminal too: 'q' quits */
    bool term_active;
    bool discovered; /* this connection had its full-heap sample */
    struct termios saved;
    double started;
    struct client c;
    struct report *rep;
    char status[600]; /* a line about the last failed refresh, or "" */
    struct sigaction old_int, old_term, old_hup, old_winch, old_tstp;
};

/* ---- terminal ------------------------------------------------------------- */

static void
term_enter(struct watch *w)
{
    struct termios raw;

    if (!w->tty || w->term_active) {
        return;
    }
    if (w->keys && tcgetattr(STDIN_FILENO, &w->saved) == 0) {
        raw = w->saved;
        /* No line buffering and no echo, but keep ISIG: Ctrl-C and Ctrl-Z
         * still arrive as signals, which we handle. */
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0) {
            w->keys = false;
        }
    } else {
        w->keys = false;
    }
    /* Alternate screen, cursor hidden. */
    fputs("\033[?1049h\033[?25l", stdout);
    fflush(stdout);
    w->term_active = true;
}

static void
term_leave(struct watch *w)
{
    if (!w->term_active) {
        return;
    }
    fputs("\033[?25h\033[?1049l", stdout);
    fflush(stdout);
    if (w->keys) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &w->saved);
    }
    w->term_active = false;
}

static void
term_size(int *rows, int *cols)
{
    struct winsize ws;

    *rows = 24;
    *cols = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    }
}

/* Ctrl-Z: give the terminal back, stop for real, take it again. */
static void
suspend(struct watch *w)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL}, tstp = {.sa_handler = on_tstp};

    suspend_requested = 0;
    term_leave(w);
    sigemptyset(&dfl.sa_mask);
    sigemptyset(&tstp.sa_mask);
    sigaction(SIGTSTP, &dfl, NULL);
    raise(SIGTSTP);
    /* Resumed (SIGCONT). */
    sigaction(SIGTSTP, &tstp, NULL);
    term_enter(w);
}

/* ---- drawing -------------------------------------------------------------- */

static int
cmp_pinned(const void *pa, const void *pb)
{
    const struct report_cache *a = *(struct report_cache *const *)pa;
    const struct report_cache *b = *(struct report_cache *const *)pb;

    if (a->pinned != b->pinned) {
        return a->pinned > b->pinned ? -1 : 1;
    }
    if (a->entries != b->entries) {
        return a->entries > b->entries ? -1 : 1;
    }
    return strcmp(a->qualname, b->qualname);
}

/* Print one line cut to cols columns (cols <= 0: no limit). */
static void put_line(int cols, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put_line(int cols, const char *fmt, ...)
{
    char raw[1024], line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    /* Names come from the watched program: no terminal controls. */
    util_printable(raw, line, sizeof(line));
    if (cols > 0 && (int)strlen(line) > cols) {
        line[cols] = '\0';
    }
    /* Clear to the end of the line so a shorter line leaves no debris. */
    printf("%s%s\n", line, cols > 0 ? "\033[K" : "");
}

static int64_t
sum_counts(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static void
format_row(const struct report_cache *c, char *buf, size_t size)
{
    char bytes[32];

    util_format_bytes(c->retained_bytes, bytes, sizeof(bytes));
    snprintf(buf, size, "%8" PRId64 " %+8" PRId64 " %8" PRId64 " %10s  %-8s %-12s %s  %s:%" PRId64,
             c->pinned, c->pinned - c->first_pinned, c->entries, bytes, c->verdict_name, c->kind,
             c->qualname, util_basename(c->file), c->line);
}

static void
draw(struct watch *w)
{
    const struct report_process *p = report_find_process(w->rep, w->pid);
    struct report_cache **rows = NULL;
    int64_t pinned = 0, retained = 0;
    size_t n = 0, shown;
    int trows = 0, cols = 0, max_rows;
    char dur[32], bytes[32], line[1024], argv[512];
    time_t now = time(NULL);
    struct tm tm;

    if (w->tty) {
        term_size(&trows, &cols);
        fputs("\033[H", stdout);
    }
    localtime_r(&now, &tm);
    argv[0] = '\0';
    if (p != NULL) {
        size_t used = 0;

        for (size_t i = 0; i < p->argc && used < sizeof(argv); i++) {
            used += (size_t)snprintf(argv + used, sizeof(argv) - used, "%s%s", i ? " " : "",
                                     p->argv[i]);
        }
        rows = malloc((p->ncaches + 1) * sizeof(*rows));
        for (size_t i = 0; rows != NULL && i < p->ncaches; i++) {
            if (report_cache_present(p, p->caches[i])) {
                rows[n++] = p->caches[i];
                /* Each count is at most REPORT_COUNT_MAX; a sum saturates. */
                pinned = sum_counts(pinned, p->caches[i]->pinned);
                retained = sum_counts(retained, p->caches[i]->retained_bytes);
            }
        }
        if (rows != NULL) {
            qsort(rows, n, sizeof(*rows), cmp_pinned);
        }
    }
    util_format_duration(util_now() - w->started, dur, sizeof(dur));
    util_format_bytes(retained, bytes, sizeof(bytes));

    if (w->tty) {
        put_line(cols, "lruleak watch  pid %d  python %s  %s  every %.1f s  %s", (int)w->pid,
                 p != NULL && p->python != NULL ? p->python : "?",
                 p != NULL && p->state != NULL ? p->state : "?", w->interval,
                 w->keys ? "(q quits)" : "(Ctrl-C quits)");
        put_line(cols, "%s", argv);
    } else {
        put_line(0, "%02d:%02d:%02d pid %d:", tm.tm_hour, tm.tm_min, tm.tm_sec, (int)w->pid);
    }
    if (p != NULL && p->samples > 0) {
        put_line(cols,
                 "%s%zu %s, %" PRId64 " pinned objects, %s retained; t=%.1f s, watching "
                 "for %s%s",
                 w->tty ? "" : "  ", n, n == 1 ? "cache" : "caches", pinned, bytes, p->last_t, dur,
                 p->truncated ? " (walk truncated: lower bounds)" : "");
    } else {
        put_line(cols, "%swaiting for the first sample", w->tty ? "" : "  ");
    }
    if (w->tty) {
        put_line(cols, "%s", w->status);
    } else if (w->status[0] != '\0') {
        put_line(0, "  %s", w->status);
    }
    if (w->tty || n > 0) {
        put_line(cols, "%8s %8s %8s %10s  %-8s %-12s %s", "PINNED", "GROWTH", "ENTRIES", "RETAINED",
                 "VERDICT", "KIND", "CACHE");
    }

    max_rows = w->tty ? trows - HEADER_LINES - 1 : -1;
    shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (max_rows >= 0 && (int)shown >= max_rows && i + 1 < n) {
            put_line(cols, "  ... %zu more", n - i);
            break;
        }
        format_row(rows[i], line, sizeof(line));
        put_line(cols, "%s", line);
        shown++;
    }
    if (w->tty) {
        /* Clear whatever the previous frame left below. */
        fputs("\033[J", stdout);
    } else {
        putchar('\n');
    }
    fflush(stdout);
    free(rows);
}

/* ---- talking to the agent ---------------------------------------------------- */

/* Connect and say hello; the hello starts a new process generation. */
static int
attach(struct watch *w, char *err, size_t errlen)
{
    const struct jsonv *hello = NULL;
    int r;

    w->discovered = false;
    r = client_connect(&w->c, w->pid, CLIENT_TIMEOUT_MS, err, errlen);
    if (r == 0) {
        r = client_request(&w->c, protocol_request_line(PROTOCOL_HELLO, false), CLIENT_TIMEOUT_MS,
                           &hello, err, errlen);
    }
    if (r == 0) {
        r = report_add_hello(w->rep, hello, err, errlen);
    }
    jsonv_free(hello);
    return r;
}

/*
 * One refresh. Returns 0 (drawn, maybe with a status line), 1 when the
 * process is gone, or -errno on an error that ends the watch (message in
 * err).
 */
static int
refresh(struct watch *w, char *err, size_t errlen)
{
    const struct jsonv *reply = NULL;
    char why[400];
    int r;

    w->status[0] = '\0';
    if (w->c.fd < 0) {
        r = attach(w, why, sizeof(why));
        if (r == -ESRCH) {
            return 1;
        }
        if (r < 0) {
            /* Between an exec and the new agent's socket: try again. */
            snprintf(w->status, sizeof(w->status), "reconnecting: %s", why);
            if (kill(w->pid, 0) < 0 && errno == ESRCH) {
                return 1;
            }
            return 0;
        }
    }
    /* The first sample of a connection runs the full-heap discovery; the
     * refreshes after it only the cheap one (classes, modules and the
     * wrappers found before), which keeps the GIL time taken from the
     * watched process small. */
    if (w->discovered) {
        r = client_request(&w->c, protocol_request_line(PROTOCOL_SNAPSHOT, false),
                           CLIENT_SNAPSHOT_TIMEOUT_MS, &reply, why, sizeof(why));
    } else {
        r = client_request(&w->c, protocol_request_line(PROTOCOL_SNAPSHOT, true),
                           CLIENT_FULL_TIMEOUT_MS, &reply, why, sizeof(why));
    }
    if (r == 0) {
        w->discovered = true;
        r = report_add_sample(w->rep, protocol_reply_sample(reply), why, sizeof(why));
        if (r < 0) {
            snprintf(err, errlen, "the agent in pid %d sent a bad sample: %s", (int)w->pid, why);
        }
        goto out;
    }
    if (r == -EINTR) {
        goto out;
    }
    if (r == -EREMOTEIO && w->c.remote_errno == EAGAIN) {
        /* The interpreter is not ready yet (or not using functools). */
        snprintf(w->status, sizeof(w->status), "%s", why);
        r = 0;
        goto out;
    }
    if (r == -EREMOTEIO || r == -EBADMSG) {
        snprintf(err, errlen, "%s", why);
        goto out;
    }
    /* The connection died: the process exited, or exec'ed a new agent. */
    if (kill(w->pid, 0) < 0 && errno == ESRCH) {
        r = 1;
        goto out;
    }
    snprintf(w->status, sizeof(w->status), "%s", why);
    r = 0;
out:
    jsonv_free(reply);
    return r;
}

/* Sleep until the next refresh, handling keys and signals. Returns true
 * when the watch should end. */
static bool
pause_until(struct watch *w, double deadline)
{
    for (;;) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        double left = deadline - util_now();
        int n;

        if (stop_signal) {
            return true;
        }
        if (suspend_requested) {
            suspend(w);
            draw(w);
        }
        if (resized) {
            resized = 0;
            draw(w);
        }
        if (left <= 0) {
            return false;
        }
        n = poll(&pfd, w->keys ? 1 : 0, (int)(left * 1000.0) + 1);
        if (n > 0 && (pfd.revents & POLLIN)) {
            char keys[64];
            ssize_t k = read(STDIN_FILENO, keys, sizeof(keys));

            for (ssize_t i = 0; i < k; i++) {
                if (keys[i] == 'q' || keys[i] == 'Q') {
                    return true;
                }
            }
            if (k == 0) {
                w->keys = false;
            }
        } else if (n > 0) {
            /* POLLHUP/POLLERR: stdin went away, keep watching without keys. */
            w->keys = false;
        }
    }
}

static void
signals_install(struct watch *w)
{
    struct sigaction stop = {.sa_handler = on_stop}, winch = {.sa_handler = on_winch},
                     tstp = {.sa_handler = on_tstp};

    /* No SA_RESTART: a signal must interrupt poll() and the client. */
    sigemptyset(&stop.sa_mask);
    sigemptyset(&winch.sa_mask);
    sigemptyset(&tstp.sa_mask);
    sigaction(SIGINT, &stop, &w->old_int);
    sigaction(SIGTERM, &stop, &w->old_term);
    sigaction(SIGHUP, &stop, &w->old_hup);
    sigaction(SIGWINCH, &winch, &w->old_winch);
    if (w->tty) {
        sigaction(SIGTSTP, &tstp, &w->old_tstp);
    }
}

static void
signals_restore(struct watch *w)
{
    sigaction(SIGINT, &w->old_int, NULL);
    sigaction(SIGTERM, &w->old_term, NULL);
    sigaction(SIGHUP, &w->old_hup, NULL);
    sigaction(SIGWINCH, &w->old_winch, NULL);
    if (w->tty) {
        sigaction(SIGTSTP, &w->old_tstp, NULL);
    }
}

int
cmd_watch(int argc, char **argv)
{
    struct watch w = {0};
    char err[512];
    bool signals_set = false;
    int r, ret = CLI_EXIT_FAILURE;

    (void)argc;
    client_init(&w.c);
    w.c.cancel = &stop_signal;
    if (util_parse_pid(argv[1], &w.pid) < 0) {
        char shown[128];

        fprintf(stderr, "lruleak: watch: '%s' is not a pid\n",
                util_printable(argv[1], shown, sizeof(shown)));
        ret = CLI_EXIT_USAGE;
        goto out;
    }
    w.interval = arg_interval > 0 ? arg_interval : WATCH_DEFAULT_INTERVAL;
    w.tty = isatty(STDOUT_FILENO);
    w.keys = w.tty && isatty(STDIN_FILENO);
    w.rep = report_new(REPORT_NO_SERIES);
    if (w.rep == NULL) {
        fprintf(stderr, "lruleak: out of memory\n");
        goto out;
    }
    stop_signal = resized = suspend_requested = 0;
    signals_install(&w);
    signals_set = true;

    /* The first connection's errors are the user's errors (wrong pid...). */
    r = attach(&w, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "lruleak: %s\n", err);
        ret = r == -EINTR ? CLI_EXIT_OK : client_exit_code(r);
        goto out;
    }
    if (w.tty) {
        /* One write per frame: no flicker. */
        setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    }
    term_enter(&w);
    w.started = util_now();
    for (;;) {
        double next = util_now() + w.interval;

        r = refresh(&w, err, sizeof(err));
        if (stop_signal) {
            ret = CLI_EXIT_OK;
            break;
        }
        if (r < 0) {
            term_leave(&w);
            fprintf(stderr, "lruleak: %s\n", err);
            break;
        }
        if (r == 1) {
            term_leave(&w);
            fprintf(stderr, "lruleak: pid %d exited\n", (int)w.pid);
            ret = CLI_EXIT_OK;
            break;
        }
        draw(&w);
        if (pause_until(&w, next)) {
            ret = CLI_EXIT_OK;
            break;
        }
    }
out:
    term_leave(&w);
    if (signals_set) {
        signals_restore(&w);
    }
    client_done(&w.c);
    report_free(w.rep);
    return ret;
}
