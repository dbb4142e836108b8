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

#include "jsonv.h"

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
};

/* Largest count a record may carry (entries, pinned, bytes...): 2^53, the
 * largest whole number every JSON reader keeps exact. Sums of a few
 * hundred such counts still fit an int64. */
#define REPORT_COUNT_MAX ((int64_t)1 << 53)

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

    struct report_point *series; /* one point per sample it appeared in */
    size_t nseries;
    size_t series_cap;

    uint64_t hash;
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

    size_t samples;
    double first_t;
    double last_t;
    int64_t last_seq;
    bool final;       /* the last sample was the agent's atexit sample */
    bool truncated;   /* the last sample hit the graph-walk budget */
    int64_t wrappers; /* wrapper objects in the last sample */
    double scan_ms_max;
    double gil_hold_ms_max;
    int64_t agent_mem_bytes; /* in the last sample */

    struct report_cache **caches; /* first-seen order */
    size_t ncaches;
    size_t caches_cap;
    size_t *index; /* open addressing: slot -> caches[] position + 1, 0 = empty */
    size_t index_cap;
};

struct report {
    unsigned flags;
    struct report_process **procs; /* first-seen order */
    size_t nprocs;
    size_t procs_cap;
    /* pid -> latest process with that pid (an exec keeps the pid) */
    size_t *pid_index;
    size_t pid_index_cap;
    /* interned strings: an open-addressing set, NULL = empty slot */
    char **strings;
    size_t nstrings;
    size_t strings_cap;
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
