/* SPDX-License-Identifier: MIT */
/*
 * snapshot: the result of one sample as plain C data, its verdicts and its
 * JSON form (the "sample" object of agent/README.md). Produced by scan, published
 * by the sampler, serialised for the socket and the recording. No Python;
 * unit-testable. One thread at a time per snapshot.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jsonv.h"
#include "jsonw.h"

enum snapshot_kind {
    SNAPSHOT_FUNCTION,
    SNAPSHOT_METHOD,
    SNAPSHOT_CLASSMETHOD,
    SNAPSHOT_STATICMETHOD,
    SNAPSHOT_PER_INSTANCE,
};

enum snapshot_site_kind {
    SNAPSHOT_SITE_TRACED,
    SNAPSHOT_SITE_OTHER,   /* objects of sites past the row's list */
    SNAPSHOT_SITE_UNKNOWN, /* objects without a traceback */
};

/* Where some of a row's pinned objects were created (--trace-alloc). */
struct snapshot_site {
    char *file; /* owned; NULL unless traced */
    long line;
    int64_t count;
    enum snapshot_site_kind kind;
};

/*
 * The integer counts of a cache row, in the sample's JSON under these very
 * names: written by snapshot_write_json, read back by the CLI's report
 * (cli/report/report-read.c) through the same list, so that a count added
 * or renamed here changes both sides. X(name) for each.
 */
#define SNAPSHOT_CACHE_COUNTS(X)                                                                   \
    X(entries)                                                                                     \
    X(hits)                                                                                        \
    X(misses)                                                                                      \
    X(selves)                                                                                      \
    X(pinned)                                                                                      \
    X(retained_bytes)                                                                              \
    X(wrappers)

struct snapshot_cache {
    char *qualname; /* owned; never NULL */
    char *module;   /* owned; never NULL */
    char *file;     /* owned; NULL when unknown */
    long line;      /* 0 when unknown */
    enum snapshot_kind kind;
    int64_t maxsize; /* -1: unbounded */
    bool typed;
    bool self_only;
    int64_t entries, hits, misses;
    int64_t selves, pinned, retained_bytes;
    int64_t wrappers;
    /* --trace-alloc: NULL sites means not traced. */
    struct snapshot_site *sites;
    size_t n_sites, cap_sites;
    int64_t alloc_examined;
};

struct snapshot {
    pid_t pid;
    uint64_t seq;
    double t;
    bool final;
    bool full;
    bool steady;          /* the last complete sample's counts carried on (scan-steady.c) */
    int64_t entries_read; /* cache entries this sample read (0: steady, none new) */
    bool truncated;
    double scan_ms, scan_cpu_ms, max_gil_hold_ms;
    int64_t gil_holds;
    int64_t agent_mem_bytes;
    int64_t wrappers;
    int alloc_frames;   /* tracemalloc's traceback limit; 0: no sites looked up */
    double alloc_ms;    /* time spent looking the sites up (one GIL stretch) */
    bool cached_method; /* functools.cached_method exists */
    struct snapshot_cache *caches;
    size_t n_caches, cap_caches;
};

void snapshot_init(struct snapshot *s);
/* Free every cache row and the array. */
void snapshot_done(struct snapshot *s);
/* Drop the rows, keep the array. */
void snapshot_clear(struct snapshot *s);
/*
 * Append a zeroed row whose strings are copies of the arguments (file may
 * be NULL). Returns the row, or NULL on ENOMEM.
 */
struct snapshot_cache *snapshot_add(struct snapshot *s, const char *qualname, const char *module,
                                    const char *file);
/* Give row c room for n sites (marks it traced). Returns 0 or -ENOMEM. */
int snapshot_cache_sites(struct snapshot_cache *c, size_t n);
/* Add a site (file copied; a count of 0 is left out; past the room given
 * it is dropped). */
void snapshot_cache_add_site(struct snapshot_cache *c, const char *file, long line, int64_t count,
                             enum snapshot_site_kind kind);
/* "leak", "bounded" or "ok" (agent/README.md: pinned > 0 and unbounded / capped). */
const char *snapshot_verdict(const struct snapshot_cache *c);
const char *snapshot_kind_name(enum snapshot_kind kind);
/* Order rows: pinned desc, then entries desc, then qualname. */
void snapshot_sort(struct snapshot *s);
/* Write the sample object (no trailing newline). Rows with entries == 0 are
 * left out. */
void snapshot_write_json(const struct snapshot *s, struct jsonw *w);

/* ---- reading a sample back (snapshot-read.c: the CLI's side) ---------------- */

/* The largest count a reader accepts (JSON numbers are exact up to 2^53). */
#define SNAPSHOT_COUNT_MAX ((int64_t)1 << 53)

/* A sample object as read: numbers, and pointers into the parsed document. */
struct snapshot_view {
    int64_t pid;
    int64_t seq;
    double t; /* seconds since the agent started */
    bool final, truncated, full, steady;
    double scan_ms, scan_cpu_ms, max_gil_hold_ms; /* -1 when absent */
    int64_t wrappers, agent_mem_bytes, alloc_frames;
    int cached_method;          /* functools.cached_method exists: 1, 0, -1 unknown */
    const struct jsonv *caches; /* an array of rows (snapshot_read_row) */
};

/* A cache row as read. Strings are "" when absent (qualname never is). */
struct snapshot_row_view {
    const char *qualname, *module, *file, *kind, *verdict;
    int64_t line;
    int64_t maxsize; /* -1: unbounded */
    bool typed, self_only;
#define SNAPSHOT_VIEW_COUNT(name) int64_t name;
    SNAPSHOT_CACHE_COUNTS(SNAPSHOT_VIEW_COUNT)
#undef SNAPSHOT_VIEW_COUNT
    const struct jsonv *alloc_sites; /* --trace-alloc: the array, or NULL */
};

/*
 * Read a sample object (untrusted). Returns 0, or -EINVAL with one line in
 * err: no valid "pid" (what names the record), no "caches" array, no valid
 * "t". Optional members missing take neutral values (older agents load).
 */
int snapshot_read(const struct jsonv *sample, const char *what, struct snapshot_view *v, char *err,
                  size_t errlen);
/*
 * Read row idx of a sample's caches (untrusted). Returns 0, or -EINVAL with
 * one line in err: not an object, no "qualname", a count that is not a
 * whole number from 0 to SNAPSHOT_COUNT_MAX ("wrappers" absent reads as 1).
 */
int snapshot_read_row(const struct jsonv *row, size_t idx, struct snapshot_row_view *v, char *err,
                      size_t errlen);
/* Member key of row idx as a count: absent reads as 0, else a whole number
 * in [0, SNAPSHOT_COUNT_MAX], also when written as a float. Returns 0, or
 * -EINVAL with one line in err. */
int snapshot_read_count(const struct jsonv *obj, const char *key, size_t idx, int64_t *ret,
                        char *err, size_t errlen);
/* An integer member, tolerating one written as a float; 0 when absent. */
int64_t snapshot_int_or_zero(const struct jsonv *obj, const char *key);
