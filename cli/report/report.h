/* SPDX-License-Identifier: MIT */
/*
 * report: the model of a recording, built record by record.
 *
 * One model serves every CLI view: `report FILE` and the end of `run` feed
 * it recording lines, `snapshot` feeds it a hello reply and one sample,
 * `watch` feeds it one sample per refresh. Records are parsed jsonv objects
 * ("process", "sample", "refused"; unknown types are ignored so newer agents
 * can add record types). Per process the model keeps the identity (pid,
 * ppid, python, argv), counters over the run and one row per cache; a cache
 * row is identified by (module, qualname, file, line, kind), keeps the
 * fields of its latest sample, its first appearance and (unless
 * REPORT_NO_SERIES) one series point per sample it appeared in. Rows are
 * found through a hash table, so feeding is linear in the input.
 *
 * The renderers (report-text.c, report-json.c) only read the model.
 * Never logs: errors come back as -errno plus a one-line message.
 * Thread context: none; a model belongs to one thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "posindex.h"

#include "jsonv.h"
#include "snapshot.h"

/* Ordered by severity, so comparisons work. */
enum report_verdict {
    REPORT_VERDICT_OK,
    REPORT_VERDICT_BOUNDED,
    REPORT_VERDICT_LEAK,
};

struct report_point {
    double t;
    int64_t entries;
    int64_t selves;
    int64_t pinned;
    int64_t retained_bytes;
};

/*
 * Where a cache's pinned objects were created: the innermost frame of
 * their tracemalloc traceback (`lruleak run --trace-alloc`), from the
 * latest sample. file is interned, NULL for the "unknown" group (objects
 * created before tracing started) and the "other" group (sites past the
 * agent's list). function is NULL when the agent could not name it.
 */
struct report_site {
    const char *file;
    int64_t line;
    const char *function;
    int64_t count;
    bool unknown;
    bool other;
};

/* Largest count a record may carry (entries, pinned, bytes...): 2^53, the
 * largest whole number every JSON reader keeps exact. Sums of a few
 * hundred such counts still fit an int64. */
#define REPORT_COUNT_MAX SNAPSHOT_COUNT_MAX

struct report_cache {
    /* Identity. Strings are interned in the model and never NULL. */
    const char *module;
    const char *qualname;
    const char *file;
    const char *kind;
    int64_t line;

    /* Fields of the latest sample the row appeared in. */
    int64_t maxsize; /* -1 when unbounded (null) */
    bool typed;
    int64_t entries;
    int64_t hits;
    int64_t misses;
    int64_t selves;
    int64_t pinned;
    int64_t retained_bytes;
    int64_t wrappers;
    bool self_only;
    enum report_verdict verdict;
    const char *verdict_name; /* as the agent wrote it (may be a newer name) */

    /* First and latest appearance. */
    double first_t;
    double last_t;
    int64_t first_entries;
    int64_t first_selves;
    int64_t first_pinned;
    int64_t first_retained;
    size_t last_sample; /* 1-based index of the process sample it was last in */

    /* Allocation sites of the pinned objects (latest sample; none when the
     * agent did not trace allocations). alloc_examined: how many pinned
     * objects the agent looked at (less than pinned: counts are scaled). */
    struct report_site *sites;
    size_t nsites;
    bool has_sites;
    int64_t alloc_examined;

    struct report_point *series; /* one point per sample it appeared in */
    size_t nseries;
    size_t series_cap;

    uint64_t hash;
};

/* ---- test records (the pytest plugin) ------------------------------------- */

/* Why a test's new pinned objects in one cache are not blamed on it. */
enum report_blame {
    REPORT_BLAMED,  /* counted against the test (and by the gate) */
    REPORT_WARMUP,  /* the warm-up rule: the cache's only fill in its process */
    REPORT_IGNORED, /* allow-listed: see report_test_cache.ignored */
};

/* One cache in which a test left new pinned objects. */
struct report_test_cache {
    /* The cache row's identity, interned (never NULL), as in report_cache. */
    const char *module;
    const char *qualname;
    const char *file;
    const char *kind;
    int64_t line;
    int64_t maxsize;         /* -1: unbounded */
    int64_t new_pinned;      /* objects pinned at the test's end that were not at its start */
    const char *ignored;     /* "marker" or "config" (plugin), "option" (--ignore-cache), NULL */
    enum report_blame blame; /* set by report_attribute */
};

struct report_process;

struct report_test {
    const char *nodeid;  /* interned */
    const char *outcome; /* passed, failed, error, skipped, ... (interned) */
    double duration;     /* seconds: setup + call + teardown */
    struct report_process *proc;
    struct report_test_cache *caches;
    size_t ncaches;
    /* Set by report_attribute. */
    int64_t blamed;           /* new pinned objects blamed on the test */
    int64_t blamed_unbounded; /* ... of them in unbounded caches */
};

struct report_process {
    int64_t pid;
    int64_t ppid;       /* -1: unknown */
    const char *python; /* NULL: unknown */
    char **argv;
    size_t argc;
    double start;              /* process start (epoch seconds), or -1 */
    const char *agent_version; /* NULL: unknown */
    const char *state;         /* from a hello reply, or NULL */
    const char *refused;       /* the agent's refusal reason, or NULL */
    bool has_process_line;
    bool forked; /* an os.fork() child the agent followed (no exec) */

    size_t samples;
    double first_t;
    double last_t;
    int64_t last_seq;
    bool final;       /* the last sample was the agent's atexit sample */
    bool truncated;   /* the last sample hit the graph-walk budget */
    bool full;        /* the last sample was a full one (classes walked, every entry read) */
    bool steady;      /* the last sample reused the last complete one's counts */
    int64_t wrappers; /* wrapper objects in the last sample */
    double scan_ms_max;
    double gil_hold_ms_max;
    int64_t agent_mem_bytes; /* in the last sample */
    double scan_ms_total;    /* the agent's own cost: wall time of every sample */
    double scan_cpu_ms_total;
    int64_t alloc_frames; /* tracemalloc frames in the last sample; 0: not tracing */
    int cached_method;    /* functools.cached_method exists: 1, 0, -1 unknown */

    struct report_cache **caches; /* first-seen order */
    size_t ncaches;
    size_t caches_cap;
    struct posindex index; /* identity -> caches[] position */

    /* A test runner session (a "session" record with event "start"): its
     * tests are attributed, and the gate judges it by them. */
    bool test_session;
    const char *runner;        /* "pytest" */
    const char *worker;        /* pytest-xdist worker id, or NULL */
    const char *session_error; /* the plugin stopped measuring: why */
    size_t ntests;             /* tests recorded for this process */
};

struct report {
    unsigned flags;
    struct report_process **procs; /* first-seen order */
    size_t nprocs;
    size_t procs_cap;
    /* pid -> latest process with that pid (an exec keeps the pid) */
    struct posindex pid_index;
    /* interned strings, and their index */
    char **strings;
    size_t nstrings;
    size_t strings_cap;
    struct posindex string_index;
    /* test records, in recording order (all processes) */
    struct report_test **tests;
    size_t ntests;
    size_t tests_cap;
};

enum report_flags {
    /* Keep only the first and latest appearance of each row, not the
     * series: memory stays flat over an unbounded `watch`. */
    REPORT_NO_SERIES = 1u << 0,
};

/* A new empty model, or NULL on OOM. */
struct report *report_new(unsigned flags);
/* Free a model; accepts NULL, returns NULL. */
struct report *report_free(struct report *r);

/*
 * Feed one record. Dispatches on its "type" member; unknown types are
 * ignored. Returns 0, -EINVAL when the record is malformed (reason in err,
 * which is always NUL-terminated), or -ENOMEM.
 */
int report_feed(struct report *r, const struct jsonv *rec, char *err, size_t errlen);
/* Parse one line (without or with its '\n') and feed it. Blank lines are
 * skipped. Same returns as report_feed. */
int report_feed_line(struct report *r, const char *line, size_t len, char *err, size_t errlen);

/* The typed entry points behind report_feed (the "type" member is not
 * checked). report_add_hello takes an agent's hello reply. */
int report_add_process(struct report *r, const struct jsonv *rec, char *err, size_t errlen);
int report_add_hello(struct report *r, const struct jsonv *hello, char *err, size_t errlen);
int report_add_sample(struct report *r, const struct jsonv *sample, char *err, size_t errlen);
int report_add_refused(struct report *r, const struct jsonv *rec, char *err, size_t errlen);
int report_add_session(struct report *r, const struct jsonv *rec, char *err, size_t errlen);
int report_add_test(struct report *r, const struct jsonv *rec, char *err, size_t errlen);

/*
 * Read a whole recording from f, line by line. name is used in messages.
 * Returns 0; -EINVAL on a corrupt line with "name:LINE: reason" in err;
 * -errno on a read error with "name: strerror" in err; or -ENOMEM.
 */
int report_read_file(struct report *r, FILE *f, const char *name, char *err, size_t errlen);

/* The process with this pid (the latest, when an exec reused it), or NULL. */
struct report_process *report_find_process(const struct report *r, int64_t pid);

/* Whether the row was in the latest sample of its process. */
static inline bool
report_cache_present(const struct report_process *p, const struct report_cache *c)
{
    return c->last_sample == p->samples;
}

/*
 * The rows of p in report order: present rows by verdict (leak, bounded,
 * ok), then pinned, entries, qualname; rows absent from the last sample
 * last. Returns the count and a malloc'ed array in *ret (caller frees), or
 * -ENOMEM.
 */
int report_sorted_caches(const struct report_process *p, struct report_cache ***ret);

/* "leak", "bounded", "ok". */
const char *report_verdict_name(enum report_verdict v);

/* The row of p with this identity (interned or not), or NULL. */
struct report_cache *report_find_cache(const struct report_process *p, const char *module,
                                       const char *qualname, const char *file, int64_t line,
                                       const char *kind);

/* ---- attribution (report-tests.c) ---------------------------------------- */

/* The rules that decide which new pinned objects are blamed on a test. */
struct report_rules {
    const char *const *ignore; /* fnmatch patterns on qualname or module.qualname */
    size_t nignore;
    bool no_warmup; /* blame the first fill of a cache too */
};

/*
 * Apply the rules to every test record: allow-listed caches (the plugin's
 * marker/config, or rules->ignore: "option") are REPORT_IGNORED; of the
 * rest, a cache that no process filled in more than one test is a warm-up
 * (each process's single fill is REPORT_WARMUP, unless no_warmup); every
 * other fill is REPORT_BLAMED. Sets the tests' blamed counts. Call again
 * after feeding more records. Returns 0 or -ENOMEM.
 */
int report_attribute(struct report *r, const struct report_rules *rules);
/* Whether a cache name matches one of the patterns (qualname or
 * module.qualname, fnmatch). */
bool report_name_matches(const char *module, const char *qualname, const char *const *patterns,
                         size_t n);
/* The tests with blamed objects, worst first (then recording order).
 * Returns the count and a malloc'ed array in *ret (caller frees), or
 * -ENOMEM. */
int report_leaking_tests(const struct report *r, struct report_test ***ret);
/* Whether any process ran a test session. */
bool report_has_tests(const struct report *r);

/* ---- findings (report-findings.c) ------------------------------------------ */

/*
 * A cache that pins objects, over the whole run, once per identity: in test
 * sessions the fills blamed on tests (after report_attribute), in every
 * other process the rows of its last sample with verdict leak or bounded
 * (minus rules->ignore).
 */
struct report_finding {
    const char *module, *qualname, *file, *kind; /* interned */
    int64_t line;
    int64_t maxsize;                 /* -1: unbounded */
    enum report_verdict verdict;     /* LEAK (unbounded) or BOUNDED */
    int64_t pinned;                  /* blamed on tests + pinned in other processes */
    int64_t retained_bytes;          /* of the other processes' rows */
    size_t ntests;                   /* tests blamed for it */
    const struct report_test *worst; /* the test that added most, or NULL */
    int64_t worst_new;
    size_t nprocs; /* processes outside test sessions where it pins */
    int64_t pid;   /* the first such process, or the worst test's */
};

/* Every finding, leaks first, then by pinned. Returns the count and a
 * malloc'ed array in *ret (caller frees), or -ENOMEM. */
int report_findings(const struct report *r, const struct report_rules *rules,
                    struct report_finding **ret);

/* ---- advice (report-advice.c) ------------------------------------------------ */

#define REPORT_ADVICE_LINES 4
#define REPORT_ADVICE_LINE 384

/* The fix that fits a cache that pins objects: prose (broken into lines
 * for the text report), Python code, closing lines. Names of the program
 * are unescaped. */
struct report_advice {
    /* cached_property, cached_method, per-instance, plain-keys */
    const char *kind;
    char bounded[REPORT_ADVICE_LINE]; /* "" unless bounded */
    char prose[REPORT_ADVICE_LINES][REPORT_ADVICE_LINE];
    size_t nprose;
    char code[REPORT_ADVICE_LINES][REPORT_ADVICE_LINE];
    size_t ncode;
    char after[REPORT_ADVICE_LINES][REPORT_ADVICE_LINE];
    size_t nafter;
};

/* Fill a for cache c of process p (p may be NULL: cached_method unknown). */
void report_advice(const struct report_process *p, const struct report_cache *c,
                   struct report_advice *a);

/* ---- renderers ---------------------------------------------------------- */

struct report_text_opts {
    bool verbose;   /* list every ok cache, not only a count past a limit */
    bool no_growth; /* a single snapshot: growth is meaningless */
};

/* The human report (report-text.c). Returns 0 or -errno on a write error. */
int report_write_text(const struct report *r, FILE *f, const struct report_text_opts *opts);
/* The JSON report, one object and a '\n' (report-json.c). Returns 0, -ENOMEM
 * or -errno on a write error. */
int report_write_json(const struct report *r, FILE *f);
/*
 * JUnit XML (report-junit.c): a testcase per recorded test, failing when
 * the objects blamed on it reach fail_at (leak: in unbounded caches;
 * bounded: any), and a testcase per cache that pins objects outside test
 * sessions (report_findings), failing at the same verdict. The model must
 * be attributed (report_attribute). Returns 0, -ENOMEM or -errno.
 */
int report_write_junit(const struct report *r, const struct report_rules *rules,
                       enum report_verdict fail_at, FILE *f);
/*
 * SARIF 2.1.0 (report-sarif.c): one result per finding, located at the
 * decorated function's file:line (relative to base_dir when inside it),
 * rule lruleak.leak (error) or lruleak.bounded (warning). Returns 0,
 * -ENOMEM or -errno.
 */
int report_write_sarif(const struct report *r, const struct report_rules *rules,
                       const char *base_dir, FILE *f);
/*
 * One self-contained HTML page (report-html.c): per process a header, the
 * table of caches that pin objects, a plot of pinned objects and retained
 * bytes over time for each of them, their allocation sites and the fix;
 * the tests that leaked. Inline CSS and SVG only: no script, no network.
 * Needs the series (no REPORT_NO_SERIES) and report_attribute. Returns 0,
 * -ENOMEM or -errno.
 */
int report_write_html(const struct report *r, FILE *f);
