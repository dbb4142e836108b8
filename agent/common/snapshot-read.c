/* SPDX-License-Identifier: MIT */
/*
 * snapshot-read: a sample object read back from its JSON (see snapshot.h),
 * the other half of snapshot.c's writer, for the CLI: a recording, a
 * snapshot reply. Input is untrusted: a malformed sample is an -EINVAL with
 * a reason, never a crash; optional members missing take neutral defaults,
 * so that older and newer agents both load. Never logs. Thread context:
 * none.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "snapshot.h"

int64_t
snapshot_int_or_zero(const struct jsonv *obj, const char *key)
{
    int64_t v;
    double d;

    if (jsonv_get_int(obj, key, &v)) {
        return v;
    }
    /* Tolerate a count written as a float by some future agent. */
    if (jsonv_get_double(obj, key, &d) && d >= -9.2e18 && d <= 9.2e18) {
        return (int64_t)d;
    }
    return 0;
}

static const char *
str_or_empty(const struct jsonv *obj, const char *key)
{
    const char *s = jsonv_get_str(obj, key);

    return s != NULL ? s : "";
}

static double
double_or(const struct jsonv *obj, const char *key, double dflt)
{
    double d;

    return jsonv_get_double(obj, key, &d) ? d : dflt;
}

int
snapshot_read(const struct jsonv *sample, const char *what, struct snapshot_view *v, char *err,
              size_t errlen)
{
    bool b;

    memset(v, 0, sizeof(*v));
    if (!jsonv_get_int(sample, "pid", &v->pid) || v->pid <= 0 || v->pid > INT32_MAX) {
        snprintf(err, errlen, "%s record without a valid \"pid\"", what);
        return -EINVAL;
    }
    v->caches = jsonv_get(sample, "caches");
    if (!jsonv_is(v->caches, JSONV_ARRAY)) {
        snprintf(err, errlen, "sample without a \"caches\" array");
        return -EINVAL;
    }
    if (!jsonv_get_double(sample, "t", &v->t) || v->t < 0) {
        snprintf(err, errlen, "sample without a valid \"t\"");
        return -EINVAL;
    }
    v->seq = snapshot_int_or_zero(sample, "seq");
    (void)jsonv_get_bool(sample, "final", &v->final);
    (void)jsonv_get_bool(sample, "truncated", &v->truncated);
    (void)jsonv_get_bool(sample, "full", &v->full);
    (void)jsonv_get_bool(sample, "steady", &v->steady);
    v->wrappers = snapshot_int_or_zero(sample, "wrappers");
    v->agent_mem_bytes = snapshot_int_or_zero(sample, "agent_mem_bytes");
    v->scan_ms = double_or(sample, "scan_ms", -1);
    v->scan_cpu_ms = double_or(sample, "scan_cpu_ms", -1);
    v->max_gil_hold_ms = double_or(sample, "max_gil_hold_ms", -1);
    v->alloc_frames = snapshot_int_or_zero(sample, "alloc_frames");
    v->cached_method = jsonv_get_bool(sample, "functools_cached_method", &b) ? b : -1;
    return 0;
}

int
snapshot_read_count(const struct jsonv *obj, const char *key, size_t idx, int64_t *ret, char *err,
                    size_t errlen)
{
    const struct jsonv *v = jsonv_get(obj, key);
    double d;

    *ret = 0;
    if (v == NULL) {
        return 0;
    }
    if (jsonv_is(v, JSONV_NUMBER) && v->u.num.is_int) {
        d = v->u.num.i >= 0 && v->u.num.i <= SNAPSHOT_COUNT_MAX ? (double)v->u.num.i : -1;
    } else {
        d = jsonv_is(v, JSONV_NUMBER) ? v->u.num.d : -1;
    }
    if (d >= 0 && d <= (double)SNAPSHOT_COUNT_MAX && d == (double)(int64_t)d) {
        *ret = (int64_t)d;
        return 0;
    }
    snprintf(err, errlen, "sample: caches[%zu]: \"%s\" is not a count from 0 to 2^53", idx, key);
    return -EINVAL;
}

int
snapshot_read_row(const struct jsonv *row, size_t idx, struct snapshot_row_view *v, char *err,
                  size_t errlen)
{
    int r;

    memset(v, 0, sizeof(*v));
    if (!jsonv_is(row, JSONV_OBJECT)) {
        snprintf(err, errlen, "sample: caches[%zu] is not an object", idx);
        return -EINVAL;
    }
    v->qualname = jsonv_get_str(row, "qualname");
    if (v->qualname == NULL) {
        snprintf(err, errlen, "sample: caches[%zu] has no \"qualname\"", idx);
        return -EINVAL;
    }
    v->module = str_or_empty(row, "module");
    v->file = str_or_empty(row, "file");
    v->kind = str_or_empty(row, "kind");
    v->verdict = str_or_empty(row, "verdict");
    v->line = snapshot_int_or_zero(row, "line");
    if (!jsonv_get_int(row, "maxsize", &v->maxsize) || v->maxsize < 0) {
        v->maxsize = -1;
    }
    (void)jsonv_get_bool(row, "typed", &v->typed);
    (void)jsonv_get_bool(row, "self_only", &v->self_only);
#define READ_COUNT(name)                                                                           \
    r = snapshot_read_count(row, #name, idx, &v->name, err, errlen);                               \
    if (r < 0) {                                                                                   \
        return r;                                                                                  \
    }
    SNAPSHOT_CACHE_COUNTS(READ_COUNT)
#undef READ_COUNT
    if (jsonv_get(row, "wrappers") == NULL) {
        v->wrappers = 1;
    }
    v->alloc_sites = jsonv_get(row, "alloc_sites");
    return 0;
}
