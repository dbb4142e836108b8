/* SPDX-License-Identifier: MIT */
/*
 * cmd-metrics: `lruleak metrics [--pid PID]... [--listen ADDR]
 * [--format text|openmetrics] [--timeout S]`, the agents' numbers in the
 * Prometheus exposition formats.
 *
 * A scrape finds the agents as `lruleak list` does (every <pid>.sock of
 * the socket directory whose process is alive), or takes the --pid list,
 * and asks each one {"cmd":"hello"} and {"cmd":"latest"} on one
 * connection: the last sample the agent took, never a new one, so a scrape
 * costs the examined process nothing but a copy of a buffer. The agents
 * are asked at once, from up to METRICS_MAX_THREADS threads, each step
 * bounded by one deadline for the whole scrape (--timeout, default 2 s,
 * and over HTTP at most 80 % of the X-Prometheus-Scrape-Timeout-Seconds
 * the scraper sends); an agent that has not answered by then is
 * lruleak_up 0 and the scrape goes on. The exposition itself is written by metrics-expo.c.
 *
 * Without --listen the exposition is printed once (node_exporter's
 * textfile collector, cron). With --listen the exporter serves
 * GET /metrics over HTTP through libmicrohttpd, one thread per connection
 * (a slow client holds only its own thread), a scrape per request; HTTP
 * stays out of the agent. The listening socket is bound here (precise
 * errors, port 0 allowed: the bound address is printed on stderr), and
 * SIGTERM, SIGINT and SIGHUP are taken with sigwaitinfo() by the main
 * thread, which stops the daemon (in-flight scrapes finish) and exits 0.
 * Non-loopback addresses: see metrics-addr.h.
 */
#include "config.h"

#include <errno.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cli.h"
#include "protocol.h"
#include "snapshot.h"
#include "client.h"
#include "metrics-addr.h"
#include "metrics-expo.h"
#include "sockpath.h"
#include "util.h"

/* Agents asked at the same time by one scrape. */
#define METRICS_MAX_THREADS 64
/* HTTP: connections served at once, and seconds a silent one is kept. */
#define METRICS_MAX_CONNECTIONS 32
#define METRICS_CONNECTION_TIMEOUT 10
#define METRICS_DEFAULT_TIMEOUT 2.0

struct target {
    pid_t pid;
    bool found; /* found in the socket directory (not named by --pid) */
    bool gone;  /* no agent there: no such process, no socket, a stale one */
    bool up;
    const struct jsonv *hello;
    const struct jsonv *reply; /* {"ok":true,"sample":{...}}; NULL: no sample yet */
    char err[256];
};

struct scrape {
    struct target *t;
    size_t n;
    size_t next; /* under lock */
    pthread_mutex_t lock;
    double deadline;
};

/* ---- asking the agents -------------------------------------------------- */

/* Milliseconds left before deadline; 0 when it has passed. */
static int
left_ms(double deadline)
{
    double ms = (deadline - util_now()) * 1000.0;

    return ms < 1 ? 0 : ms > 3600e3 ? 3600000 : (int)ms;
}

static void
ask(struct target *t, double deadline)
{
    struct client c;
    int r, ms;

    client_init(&c);
    ms = left_ms(deadline);
    r = ms == 0 ? -ETIMEDOUT : client_connect(&c, t->pid, ms, t->err, sizeof(t->err));
    /* Nobody listens: the process died (or detached its agent) since the
     * directory was read, or the socket is a dead agent's whose pid now
     * belongs to another program. Not an agent that is down. */
    t->gone = r == -ESRCH || r == -ENOENT || r == -ECONNREFUSED;
    if (r == 0) {
        ms = left_ms(deadline);
        r = ms == 0 ? -ETIMEDOUT
                    : client_request(&c, protocol_request_line(PROTOCOL_HELLO, false), ms,
                                     &t->hello, t->err, sizeof(t->err));
    }
    if (r == 0) {
        ms = left_ms(deadline);
        r = ms == 0 ? -ETIMEDOUT
                    : client_request(&c, protocol_request_line(PROTOCOL_LATEST, false), ms,
                                     &t->reply, t->err, sizeof(t->err));
        /* An agent that has not sampled yet (or refused the interpreter)
         * is up, with no cache metrics. */
        if (r == -EREMOTEIO) {
            r = 0;
        }
    }
    if (r == -ETIMEDOUT && t->err[0] == '\0') {
        snprintf(t->err, sizeof(t->err), "the agent in pid %d did not answer within the deadline",
                 (int)t->pid);
    }
    t->up = r == 0;
    client_done(&c);
}

static void *
worker(void *arg)
{
    struct scrape *s = arg;

    for (;;) {
        size_t i;

        pthread_mutex_lock(&s->lock);
        i = s->next++;
        pthread_mutex_unlock(&s->lock);
        if (i >= s->n) {
            break;
        }
        ask(&s->t[i], s->deadline);
    }
    return NULL;
}

/* Ask every target, in parallel, within timeout seconds. */
static void
ask_all(struct target *t, size_t n, double timeout)
{
    struct scrape s = {.t = t, .n = n, .deadline = util_now() + timeout};
    pthread_t threads[METRICS_MAX_THREADS];
    size_t started = 0, want = n < METRICS_MAX_THREADS ? n : METRICS_MAX_THREADS;

    pthread_mutex_init(&s.lock, NULL);
    for (size_t i = 0; i < want; i++) {
        if (pthread_create(&threads[i], NULL, worker, &s) != 0) {
            break; /* fewer threads; this one works too */
        }
        started++;
    }
    worker(&s);
    for (size_t i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
    }
    pthread_mutex_destroy(&s.lock);
}

static void
free_targets(struct target *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        jsonv_free(t[i].hello);
        jsonv_free(t[i].reply);
    }
    free(t);
}

static int
cmp_targets(const void *a, const void *b)
{
    const struct target *x = a, *y = b;

    return (x->pid > y->pid) - (x->pid < y->pid);
}

/*
 * The targets of one scrape: the --pid list, else every live agent in the
 * socket directory (as `list` finds them; stale sockets are left alone,
 * the exporter changes nothing). Returns 0 or -errno (said on stderr when
 * loud).
 */
static int
find_targets(struct target **ret, size_t *ret_n, bool loud)
{
    struct target *t = NULL;
    size_t n = 0, cap = 0;
    char dir[SOCKPATH_MAX];
    struct dirent *de;
    DIR *d = NULL;
    int r = 0;

    if (arg_npids > 0) {
        t = calloc(arg_npids, sizeof(*t));
        if (t == NULL) {
            return -ENOMEM;
        }
        for (size_t i = 0; i < arg_npids; i++) {
            t[n++].pid = arg_pids[i];
        }
        goto done;
    }
    if (sockpath_dir(dir, sizeof(dir)) < 0) {
        if (loud) {
            fprintf(stderr, "lruleak: the socket directory path is too long (check LRULEAK_DIR)\n");
        }
        return -ENAMETOOLONG;
    }
    d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT) {
            goto done; /* no agent has run yet */
        }
        r = -errno;
        if (loud) {
            fprintf(stderr, "lruleak: %s: %s\n", dir, strerror(errno));
        }
        return r;
    }
    while ((errno = 0, de = readdir(d)) != NULL) {
        pid_t pid = sockpath_parse_name(de->d_name);

        if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH)) {
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct target *v = realloc(t, ncap * sizeof(*v));

            if (v == NULL) {
                r = -ENOMEM;
                break;
            }
            t = v;
            cap = ncap;
        }
        t[n++] = (struct target){.pid = pid, .found = true};
    }
    closedir(d);
    if (r < 0) {
        free(t);
        return r;
    }
done:
    if (n > 1) {
        qsort(t, n, sizeof(*t), cmp_targets);
    }
    *ret = t;
    *ret_n = n;
    return 0;
}

/* ---- the exposition ------------------------------------------------------ */

/* One cache row of one target, with its labels ready. */
struct row {
    const struct target *t;
    char *cache; /* module.qualname (owned) */
    const char *file;
    const char *kind;
    const char *verdict;
    int64_t line;
    const struct jsonv *obj;
};

static int
cmp_rows(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int c;

    if (x->t->pid != y->t->pid) {
        return (x->t->pid > y->t->pid) - (x->t->pid < y->t->pid);
    }
    if ((c = strcmp(x->cache, y->cache)) != 0 || (c = strcmp(x->file, y->file)) != 0) {
        return c;
    }
    if (x->line != y->line) {
        return (x->line > y->line) - (x->line < y->line);
    }
    if ((c = strcmp(x->kind, y->kind)) != 0) {
        return c;
    }
    return strcmp(x->verdict, y->verdict);
}

static const struct jsonv *
sample_of(const struct target *t)
{
    return t->up ? protocol_reply_sample(t->reply) : NULL;
}

/*
 * The cache rows of every target with entries > 0, sorted, without
 * duplicate label sets (the agent keys its rows by module, qualname, file,
 * line and kind, so none are expected; a duplicate would make the
 * exposition invalid). Returns 0 or -ENOMEM.
 */
static int
collect_rows(const struct target *t, size_t n, struct row **ret, size_t *ret_n)
{
    struct row *rows = NULL;
    size_t nrows = 0, cap = 0, kept = 0;

    for (size_t i = 0; i < n; i++) {
        const struct jsonv *caches = jsonv_get(sample_of(&t[i]), "caches"); /* snapshot.h */

        if (!jsonv_is(caches, JSONV_ARRAY)) {
            continue;
        }
        for (size_t k = 0; k < caches->u.arr.n; k++) {
            const struct jsonv *c = &caches->u.arr.items[k];
            struct snapshot_row_view v;
            char why[160];
            char *cache;

            /* A malformed row (no qualname, a count out of range) is left out. */
            if (snapshot_read_row(c, k, &v, why, sizeof(why)) < 0 || v.entries <= 0) {
                continue;
            }
            if (asprintf(&cache, "%s.%s", v.module[0] != '\0' ? v.module : "?", v.qualname) < 0) {
                goto oom;
            }
            if (nrows == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                struct row *grown = realloc(rows, ncap * sizeof(*grown));

                if (grown == NULL) {
                    free(cache);
                    goto oom;
                }
                rows = grown;
                cap = ncap;
            }
            rows[nrows++] = (struct row){
                .t = &t[i],
                .cache = cache,
                .file = v.file,
                .kind = v.kind,
                .verdict = v.verdict,
                .line = v.line,
                .obj = c,
            };
        }
    }
    if (nrows > 1) {
        qsort(rows, nrows, sizeof(*rows), cmp_rows);
    }
    for (size_t i = 0; i < nrows; i++) {
        if (kept > 0 && cmp_rows(&rows[kept - 1], &rows[i]) == 0) {
            free(rows[i].cache);
            continue;
        }
        rows[kept++] = rows[i];
    }
    *ret = rows;
    *ret_n = kept;
    return 0;
oom:
    for (size_t i = 0; i < nrows; i++) {
        free(rows[i].cache);
    }
    free(rows);
    return -ENOMEM;
}

struct cache_family {
    const char *name;
    enum metrics_type type;
    const char *unit;
    const char *key; /* in the sample's cache object */
    const char *help;
};

static const struct cache_family cache_families[] = {
    {"lruleak_cache_pinned_objects", METRICS_GAUGE, NULL, "pinned",
     "Objects kept alive only by this cache (its first arguments and what only they hold)."},
    {"lruleak_cache_selves", METRICS_GAUGE, NULL, "selves",
     "Distinct first arguments (self) held in this cache's keys."},
    {"lruleak_cache_entries", METRICS_GAUGE, NULL, "entries", "Entries in this cache."},
    {"lruleak_cache_retained_bytes", METRICS_GAUGE, "bytes", "retained_bytes",
     "Memory held only through this cache's pinned objects."},
    {"lruleak_cache_hits", METRICS_COUNTER, NULL, "hits", "Hits of this cache."},
    {"lruleak_cache_misses", METRICS_COUNTER, NULL, "misses", "Misses of this cache."},
};

struct agent_family {
    const char *name;
    enum metrics_type type;
    const char *unit;
    const char *key;
    double scale;
    bool from_hello;
    const char *help;
};

static const struct agent_family agent_families[] = {
    {"lruleak_agent_samples", METRICS_COUNTER, NULL, "samples", 1, true,
     "Samples the agent has taken."},
    {"lruleak_agent_sample_cpu_seconds", METRICS_GAUGE, "seconds", "scan_cpu_ms", 1e-3, false,
     "CPU time the agent's thread spent on the last sample."},
    {"lruleak_agent_gil_hold_max_seconds", METRICS_GAUGE, "seconds", "max_gil_hold_ms", 1e-3, false,
     "Longest single stretch the last sample held the GIL."},
    {"lruleak_agent_memory_bytes", METRICS_GAUGE, "bytes", "agent_mem_bytes", 1, false,
     "Memory the agent's scanner had allocated at the last sample."},
};

/* The program name a hello names, or "". */
static const char *
argv0_of(const struct protocol_hello *h)
{
    if (h->argv != NULL && h->argv->u.arr.n > 0 &&
        jsonv_is(&h->argv->u.arr.items[0], JSONV_STRING)) {
        return h->argv->u.arr.items[0].u.str.s;
    }
    return "";
}

static const char *
str_or_empty(const char *s)
{
    return s != NULL ? s : "";
}

/* The exposition of targets t[0..n) (asked already) into e. Returns 0 or
 * -ENOMEM. */
static int
render(struct metrics_expo *e, const struct target *t, size_t n)
{
    struct row *rows = NULL;
    size_t nrows = 0;
    char pid[16];
    int r;

    metrics_expo_family(e, "lruleak_up", METRICS_GAUGE, NULL,
                        "1 when the agent in this pid answered the scrape in time, else 0.");
    for (size_t i = 0; i < n; i++) {
        struct metrics_label l[] = {{"pid", pid}};

        snprintf(pid, sizeof(pid), "%d", (int)t[i].pid);
        metrics_expo_sample(e, l, 1, t[i].up ? 1 : 0);
    }
    metrics_expo_family(e, "lruleak_agent", METRICS_INFO, NULL,
                        "The agent in this pid: its interpreter, version and program.");
    for (size_t i = 0; i < n; i++) {
        if (!t[i].up) {
            continue;
        }
        struct protocol_hello h;
        if (protocol_read_hello(t[i].hello, &h) < 0) {
            continue;
        }
        snprintf(pid, sizeof(pid), "%d", (int)t[i].pid);
        struct metrics_label l[] = {
            {"pid", pid},
            {"python", str_or_empty(h.python)},
            {"lruleak_version", str_or_empty(h.lruleak_version)},
            {"argv0", argv0_of(&h)},
        };
        metrics_expo_sample(e, l, 4, 1);
    }
    for (size_t f = 0; f < sizeof(agent_families) / sizeof(agent_families[0]); f++) {
        const struct agent_family *af = &agent_families[f];

        metrics_expo_family(e, af->name, af->type, af->unit, af->help);
        for (size_t i = 0; i < n; i++) {
            const struct jsonv *src =
                af->from_hello ? (t[i].up ? t[i].hello : NULL) : sample_of(&t[i]);
            struct metrics_label l[] = {{"pid", pid}};
            double v;

            if (!jsonv_get_double(src, af->key, &v)) {
                continue;
            }
            snprintf(pid, sizeof(pid), "%d", (int)t[i].pid);
            metrics_expo_sample(e, l, 1, v * af->scale);
        }
    }
    r = collect_rows(t, n, &rows, &nrows);
    if (r < 0) {
        return r;
    }
    for (size_t f = 0; f < sizeof(cache_families) / sizeof(cache_families[0]); f++) {
        const struct cache_family *cf = &cache_families[f];

        metrics_expo_family(e, cf->name, cf->type, cf->unit, cf->help);
        for (size_t i = 0; i < nrows; i++) {
            const struct row *row = &rows[i];
            char line[24];
            double v;

            if (!jsonv_get_double(row->obj, cf->key, &v)) {
                continue;
            }
            snprintf(pid, sizeof(pid), "%d", (int)row->t->pid);
            snprintf(line, sizeof(line), "%lld", (long long)row->line);
            struct metrics_label l[] = {
                {"pid", pid},   {"cache", row->cache}, {"file", row->file},
                {"line", line}, {"kind", row->kind},   {"verdict", row->verdict},
            };
            metrics_expo_sample(e, l, 6, v);
        }
    }
    for (size_t i = 0; i < nrows; i++) {
        free(rows[i].cache);
    }
    free(rows);
    return e->err;
}

/*
 * One whole scrape: find, ask, render. Returns the exposition (free()) and
 * its length, or NULL (-errno in *ret_err). With loud, agents that did not
 * answer are named on stderr.
 */
static char *
scrape(enum metrics_format format, double timeout, bool loud, size_t *ret_len, int *ret_err)
{
    struct metrics_expo e;
    struct target *t = NULL;
    size_t n = 0, kept = 0;
    char *text = NULL;
    int r;

    metrics_expo_init(&e, format);
    r = find_targets(&t, &n, loud);
    if (r < 0) {
        goto out;
    }
    if (n > 0) {
        ask_all(t, n, timeout);
    }
    /* Sockets found in the directory with no agent behind them are left
     * out (as `lruleak list` does); a --pid is always shown. */
    for (size_t i = 0, k = n; i < k; i++) {
        if (t[i].found && t[i].gone) {
            jsonv_free(t[i].hello);
            jsonv_free(t[i].reply);
            continue;
        }
        t[kept++] = t[i];
    }
    n = kept;
    if (n == 0 && loud) {
        fprintf(stderr, "lruleak: metrics: no running agents\n");
    }
    for (size_t i = 0; loud && i < n; i++) {
        if (!t[i].up) {
            fprintf(stderr, "lruleak: metrics: %s (lruleak_up 0)\n",
                    t[i].err[0] != '\0' ? t[i].err : "no answer");
        }
    }
    r = render(&e, t, n);
    if (r == 0) {
        r = metrics_expo_finish(&e);
    }
    if (r == 0) {
        text = metrics_expo_take(&e, ret_len);
        r = text == NULL ? -ENOMEM : 0;
    }
out:
    metrics_expo_done(&e);
    free_targets(t, n);
    *ret_err = r;
    return text;
}

/* ---- HTTP ------------------------------------------------------------------ */

static const char index_page[] =
    "<html><head><title>lruleak metrics</title></head><body>"
    "<h1>lruleak metrics</h1><p><a href=\"/metrics\">/metrics</a></p></body></html>\n";

static enum MHD_Result
reply_static(struct MHD_Connection *conn, unsigned status, const char *type, const char *body)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        return MHD_NO;
    }
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
    static int seen; /* marks a request whose headers have arrived */
    const double *timeout = cls;
    struct MHD_Response *resp;
    enum metrics_format format;
    enum MHD_Result ret;
    size_t len = 0;
    char *text;
    int r;

    (void)version;
    (void)upload_data;
    if (*state == NULL) {
        /* First call: headers only. Answer on the next one. */
        *state = &seen;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* a body is not expected; ignore it */
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                            "only GET and HEAD\n");
    }
    if (strcmp(url, "/") == 0) {
        return reply_static(conn, MHD_HTTP_OK, "text/html; charset=utf-8", index_page);
    }
    if (strcmp(url, "/metrics") != 0) {
        return reply_static(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
                            "not found: the metrics are at /metrics\n");
    }
    format = metrics_negotiate(
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
    /* Prometheus says how long it waits; answer within it. */
    text = scrape(
        format,
        metrics_scrape_budget(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                          "X-Prometheus-Scrape-Timeout-Seconds"),
                              *timeout),
        false, &len, &r);
    if (text == NULL) {
        return reply_static(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
                            r == -ENOMEM ? "out of memory\n"
                                         : "cannot read the socket directory\n");
    }
    resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, metrics_content_type(format));
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept");
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Bind and listen on a; returns the socket, or -1 after saying why. The
 * bound address (port 0 resolved) goes back into a. */
static int
listen_on(struct metrics_addr *a)
{
    char shown[80];
    int fd, one = 1;

    fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "lruleak: metrics: socket: %s\n", strerror(errno));
        return -1;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a->ss, a->len) < 0 || listen(fd, 64) < 0) {
        fprintf(stderr, "lruleak: metrics: cannot listen on %s: %s\n",
                metrics_addr_format(a, shown, sizeof(shown)), strerror(errno));
        close(fd);
        return -1;
    }
    a->len = sizeof(a->ss);
    (void)getsockname(fd, (struct sockaddr *)&a->ss, &a->len);
    return fd;
}

static int
serve(const char *listen_arg, double timeout)
{
    struct metrics_addr a;
    struct MHD_Daemon *d;
    siginfo_t info;
    sigset_t set;
    char err[256], shown[80];
    int fd, sig;

    if (metrics_addr_parse(listen_arg, &a, err, sizeof(err)) < 0) {
        fprintf(stderr, "lruleak: metrics: %s\n", err);
        return CLI_EXIT_USAGE;
    }
    /* Every thread made from here on (libmicrohttpd's, the scrapes')
     * inherits the mask: only sigwaitinfo below takes these signals. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    fd = listen_on(&a);
    if (fd < 0) {
        return CLI_EXIT_FAILURE;
    }
    d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                             MHD_USE_POLL | (a.ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                         0, NULL, NULL, on_request, &timeout, MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNECTIONS,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_CONNECTION_TIMEOUT,
                         MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "lruleak: metrics: the HTTP server (libmicrohttpd) did not start\n");
        close(fd);
        return CLI_EXIT_FAILURE;
    }
    metrics_addr_format(&a, shown, sizeof(shown));
    if (!a.loopback) {
        fprintf(stderr,
                "lruleak: metrics: warning: %s is not a loopback address: whoever reaches it "
                "reads the cache names and command lines of your processes\n",
                shown);
    }
    fprintf(stderr, "lruleak: metrics: serving http://%s/metrics\n", shown);
    fflush(stderr);
    do {
        sig = sigwaitinfo(&set, &info);
    } while (sig < 0 && errno == EINTR);
    fprintf(stderr, "lruleak: metrics: %s, stopping\n", sig > 0 ? strsignal(sig) : "error");
    /* Waits for the connection threads: a scrape in flight ends within
     * its deadline. Closes the listening socket. */
    MHD_stop_daemon(d);
    return CLI_EXIT_OK;
}

/* ---- the verb -------------------------------------------------------------- */

int
cmd_metrics(int argc, char **argv)
{
    double timeout = arg_timeout > 0 ? arg_timeout : METRICS_DEFAULT_TIMEOUT;
    size_t len = 0;
    char *text;
    int r;

    (void)argc;
    (void)argv;
    if (arg_listen != NULL) {
        if (arg_format_given) {
            fprintf(stderr, "lruleak: metrics: --format is for one-shot output; with --listen "
                            "the scraper's Accept header chooses\n");
            return CLI_EXIT_USAGE;
        }
        return serve(arg_listen, timeout);
    }
    text = scrape(arg_format == CLI_FORMAT_OPENMETRICS ? METRICS_OPENMETRICS : METRICS_TEXT,
                  timeout, true, &len, &r);
    if (text == NULL) {
        if (r == -ENOMEM) {
            fprintf(stderr, "lruleak: out of memory\n");
        }
        return CLI_EXIT_FAILURE;
    }
    r = fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -EIO;
    free(text);
    if (r < 0) {
        fprintf(stderr, "lruleak: metrics: cannot write the output: %s\n", strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}
