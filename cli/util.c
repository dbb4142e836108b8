/* SPDX-License-Identifier: MIT */
/*
 * util: number parsing and human-readable units for the CLI. Everything here
 * is a pure function of its arguments (plus the clock); nothing logs, so the
 * callers decide how an error is worded.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

int
util_parse_pid(const char *s, pid_t *ret_pid)
{
    char *end;
    long v;

    if (s == NULL || *s < '0' || *s > '9') {
        return -EINVAL;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0 || v > INT_MAX) {
        return -EINVAL;
    }
    *ret_pid = (pid_t)v;
    return 0;
}

int
util_parse_seconds(const char *s, double min, double *ret)
{
    char *end;
    double v;

    /* strtod accepts "inf", "nan" and hex floats; we only want decimals. */
    if (s == NULL || s[0] == '\0' || strspn(s, "0123456789.") != strlen(s)) {
        return -EINVAL;
    }
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v)) {
        return -EINVAL;
    }
    /* A day is far beyond any useful sampling or refresh interval. */
    if (v < min || v > 86400.0) {
        return -ERANGE;
    }
    *ret = v;
    return 0;
}

void
util_format_bytes(int64_t bytes, char *buf, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    size_t u = 0;

    if (bytes < 1024 && bytes > -1024) {
        snprintf(buf, size, "%lld B", (long long)bytes);
        return;
    }
    v /= 1024.0;
    while ((v >= 1024.0 || v <= -1024.0) && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, size, "%.1f %s", v, units[u]);
}

void
util_format_duration(double seconds, char *buf, size_t size)
{
    long long s;

    if (!isfinite(seconds) || seconds < 0) {
        seconds = 0;
    }
    if (seconds < 1.0) {
        snprintf(buf, size, "%.2f s", seconds);
        return;
    }
    if (seconds < 10.0) {
        snprintf(buf, size, "%.1f s", seconds);
        return;
    }
    s = llround(seconds);
    if (s < 60) {
        snprintf(buf, size, "%lld s", s);
    } else if (s < 3600) {
        snprintf(buf, size, "%lld min %02lld s", s / 60, s % 60);
    } else {
        snprintf(buf, size, "%lld h %02lld min", s / 3600, (s % 3600) / 60);
    }
}

void
util_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

double
util_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *
util_basename(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash != NULL && slash[1] != '\0' ? slash + 1 : path;
}

void
util_put_printable(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '\n') {
            fputs("\\n", f);
        } else if (ch == '\t') {
            fputs("\\t", f);
        } else if (ch < 0x20 || ch == 0x7f) {
            fprintf(f, "\\x%02x", ch);
        } else {
            fputc(ch, f);
        }
    }
}
