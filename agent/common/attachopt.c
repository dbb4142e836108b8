/* SPDX-License-Identifier: MIT */
/*
 * attachopt: writing and reading the options text of an attach (see
 * attachopt.h). Paths must be absolute: the agent runs in another process,
 * whose working directory is not the CLI's.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attachopt.h"

#define INTERVAL_MIN 0.001
#define INTERVAL_MAX 86400.0

static int
append(char *buf, size_t size, size_t *used, const char *key, const char *value)
{
    int n;

    if (value[0] == '\0') {
        return 0;
    }
    if (strchr(value, '\n') != NULL) {
        return -EINVAL;
    }
    n = snprintf(buf + *used, size - *used, "%s=%s\n", key, value);
    if (n < 0 || (size_t)n >= size - *used) {
        return -ENAMETOOLONG;
    }
    *used += (size_t)n;
    return 0;
}

int
attachopt_format(const struct attachopt *o, char *buf, size_t size)
{
    char interval[64] = "";
    size_t used = 0;
    int r;

    if (size == 0) {
        return -ENAMETOOLONG;
    }
    if (size > ATTACHOPT_MAX) {
        size = ATTACHOPT_MAX;
    }
    buf[0] = '\0';
    if (o->interval != 0) {
        if (!(o->interval >= INTERVAL_MIN && o->interval <= INTERVAL_MAX)) {
            return -EINVAL;
        }
        snprintf(interval, sizeof(interval), "%.17g", o->interval);
    }
    char frames[16] = "";

    if (o->trace_alloc != 0) {
        if (o->trace_alloc < 1 || o->trace_alloc > ATTACHOPT_TRACE_ALLOC_MAX) {
            return -EINVAL;
        }
        snprintf(frames, sizeof(frames), "%d", o->trace_alloc);
    }
    r = append(buf, size, &used, "interval", interval);
    if (r == 0) {
        r = append(buf, size, &used, "dir", o->dir);
    }
    if (r == 0) {
        r = append(buf, size, &used, "log", o->log);
    }
    if (r == 0) {
        r = append(buf, size, &used, "record", o->record);
    }
    if (r == 0) {
        r = append(buf, size, &used, "trace_alloc", frames);
    }
    if (r < 0) {
        buf[0] = '\0';
    }
    return r;
}

/* Copy a path value into field, which must be absolute and fit. */
static int
set_path(char *field, size_t size, const char *key, const char *v, size_t n, char *why,
         size_t whylen)
{
    if (n == 0) {
        field[0] = '\0';
        return 0;
    }
    if (v[0] != '/') {
        snprintf(why, whylen, "%s must be an absolute path", key);
        return -EINVAL;
    }
    if (n >= size) {
        snprintf(why, whylen, "%s is longer than %zu bytes", key, size - 1);
        return -EINVAL;
    }
    memcpy(field, v, n);
    field[n] = '\0';
    return 0;
}

static int
set_interval(double *field, const char *v, size_t n, char *why, size_t whylen)
{
    char num[64];
    char *end;
    double d;

    if (n == 0 || n >= sizeof(num)) {
        snprintf(why, whylen, "interval is not a number");
        return -EINVAL;
    }
    memcpy(num, v, n);
    num[n] = '\0';
    d = strtod(num, &end);
    if (end == num || *end != '\0' || !(d >= INTERVAL_MIN && d <= INTERVAL_MAX)) {
        snprintf(why, whylen, "interval must be a number of seconds from %g to %g", INTERVAL_MIN,
                 INTERVAL_MAX);
        return -EINVAL;
    }
    *field = d;
    return 0;
}

static int
set_frames(int *field, const char *v, size_t n, char *why, size_t whylen)
{
    int d = 0;

    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9' || d > ATTACHOPT_TRACE_ALLOC_MAX) {
            d = -1;
            break;
        }
        d = d * 10 + (v[i] - '0');
    }
    if (n == 0 || d < 1 || d > ATTACHOPT_TRACE_ALLOC_MAX) {
        snprintf(why, whylen, "trace_alloc must be a number of frames from 1 to %d",
                 ATTACHOPT_TRACE_ALLOC_MAX);
        return -EINVAL;
    }
    *field = d;
    return 0;
}

int
attachopt_parse(const char *text, struct attachopt *ret, char *why, size_t whylen)
{
    struct attachopt o;
    size_t len;
    int r = 0;

    memset(&o, 0, sizeof(o));
    if (whylen > 0) {
        why[0] = '\0';
    }
    len = text != NULL ? strnlen(text, ATTACHOPT_MAX) : 0;
    if (len == ATTACHOPT_MAX) {
        snprintf(why, whylen, "options longer than %d bytes", ATTACHOPT_MAX - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < len && r == 0;) {
        const char *line = text + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t n = nl != NULL ? (size_t)(nl - line) : len - i;
        const char *eq = memchr(line, '=', n);

        i += n + 1;
        if (n == 0) {
            continue;
        }
        if (eq == NULL) {
            snprintf(why, whylen, "option line without '=': %.32s", line);
            return -EINVAL;
        }
        size_t klen = (size_t)(eq - line), vlen = n - klen - 1;
        const char *v = eq + 1;
        if (klen == 8 && memcmp(line, "interval", 8) == 0) {
            r = set_interval(&o.interval, v, vlen, why, whylen);
        } else if (klen == 3 && memcmp(line, "dir", 3) == 0) {
            r = set_path(o.dir, sizeof(o.dir), "dir", v, vlen, why, whylen);
        } else if (klen == 3 && memcmp(line, "log", 3) == 0) {
            r = set_path(o.log, sizeof(o.log), "log", v, vlen, why, whylen);
        } else if (klen == 6 && memcmp(line, "record", 6) == 0) {
            r = set_path(o.record, sizeof(o.record), "record", v, vlen, why, whylen);
        } else if (klen == 11 && memcmp(line, "trace_alloc", 11) == 0) {
            r = set_frames(&o.trace_alloc, v, vlen, why, whylen);
        }
        /* Anything else: an option of a newer CLI, ignored. */
    }
    if (r == 0) {
        *ret = o;
    }
    return r;
}
