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

#include "utf8.h"
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

/* The character at s is *ret_len bytes long; returns the length of its
 * escape, written to esc, or 0 when it is printed as it is. */
static size_t
escape_at(const char *s, char esc[8], size_t *ret_len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n;

    *ret_len = 1;
    if (u[0] == '\n') {
        memcpy(esc, "\\n", 3);
        return 2;
    }
    if (u[0] == '\t') {
        memcpy(esc, "\\t", 3);
        return 2;
    }
    if (u[0] < 0x20 || u[0] == 0x7f) {
        return (size_t)snprintf(esc, 8, "\\x%02x", u[0]);
    }
    if (u[0] < 0x80) {
        return 0;
    }
    n = utf8_sequence_len(u, strnlen(s, 4));
    if (n == 0) {
        return (size_t)snprintf(esc, 8, "\\x%02x", u[0]);
    }
    *ret_len = n;
    if (n == 2 && u[0] == 0xc2 && u[1] < 0xa0) {
        return (size_t)snprintf(esc, 8, "\\u%04x", u[1]);
    }
    return 0;
}

void
util_put_printable(FILE *f, const char *s)
{
    while (*s != '\0') {
        char esc[8];
        size_t len, elen = escape_at(s, esc, &len);

        if (elen > 0) {
            fwrite(esc, 1, elen, f);
        } else {
            fwrite(s, 1, len, f);
        }
        s += len;
    }
}

const char *
util_printable(const char *s, char *buf, size_t size)
{
    size_t used = 0;

    if (size == 0) {
        return buf;
    }
    while (*s != '\0') {
        char esc[8];
        size_t len, elen = escape_at(s, esc, &len);
        const char *out = elen > 0 ? esc : s;
        size_t olen = elen > 0 ? elen : len;

        if (used + olen >= size) {
            /* Cut at a character boundary, with room for "...". */
            while (used > 0 && used + 4 > size) {
                used--;
                while (used > 0 && ((unsigned char)buf[used] & 0xc0) == 0x80) {
                    used--;
                }
            }
            if (used + 4 <= size) {
                memcpy(buf + used, "...", 3);
                used += 3;
            }
            break;
        }
        memcpy(buf + used, out, olen);
        used += olen;
        s += len;
    }
    buf[used] = '\0';
    return buf;
}
