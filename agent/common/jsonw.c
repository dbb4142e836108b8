/* SPDX-License-Identifier: MIT */
/*
 * jsonw: the JSON writer behind every sample, reply and report.
 *
 * It appends to one growable buffer whose capacity doubles, so writing a
 * sample with thousands of caches every second costs amortised O(1) per
 * byte and almost no calls to realloc. Strings are copied in runs: only the
 * bytes that need escaping (quote, backslash, control characters) or
 * replacing (invalid UTF-8, one U+FFFD per bad byte) break a run, so plain
 * ASCII and valid UTF-8 go through memcpy. Numbers never go through the
 * C library's locale: integers are converted by hand and the decimal point
 * printf may localise is put back to '.'. The writer checks only what it
 * can check cheaply (depth, unbalanced ends, a key without a value); the
 * first failure is sticky in w->err and turns every later call into a
 * no-op. Values at depth 0 are separate documents: no comma is inserted
 * between them (callers end each line with jsonw_bytes(w, "\n", 1)).
 * Thread context: none; never logs, never aborts.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "utf8.h"

/* Smallest capacity once the writer allocates; a reply fits in it. */
#define JSONW_MIN_CAP 256

void
jsonw_init(struct jsonw *w)
{
    memset(w, 0, sizeof(*w));
}

void
jsonw_done(struct jsonw *w)
{
    free(w->buf);
    jsonw_init(w);
}

void
jsonw_clear(struct jsonw *w)
{
    char *buf = w->buf;
    size_t cap = w->cap;

    jsonw_init(w);
    w->buf = buf;
    w->cap = cap;
    if (buf != NULL) {
        buf[0] = '\0';
    }
}

/* ---- buffer ---------------------------------------------------------------- */

/* Grow the buffer (doubling) to hold n more bytes plus the NUL. */
static bool
grow(struct jsonw *w, size_t n)
{
    size_t need, cap;
    char *buf;

    if (n > SIZE_MAX - 1 - w->len) {
        w->err = -ENOMEM;
        return false;
    }
    need = w->len + n + 1;
    cap = w->cap < JSONW_MIN_CAP ? JSONW_MIN_CAP : w->cap;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    buf = realloc(w->buf, cap);
    if (buf == NULL) {
        w->err = -ENOMEM;
        return false;
    }
    w->buf = buf;
    w->cap = cap;
    return true;
}

/* Make room for n more bytes plus the terminating NUL. */
static inline bool
reserve(struct jsonw *w, size_t n)
{
    if (w->err != 0) {
        return false;
    }
    if (n < w->cap - w->len) {
        return true;
    }
    return grow(w, n);
}

static void
append(struct jsonw *w, const char *s, size_t n)
{
    if (!reserve(w, n)) {
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void
append_c(struct jsonw *w, char c)
{
    if (!reserve(w, 1)) {
        return;
    }
    w->buf[w->len++] = c;
    w->buf[w->len] = '\0';
}

/*
 * Start a value: the comma that separates it from its predecessor, unless
 * it follows a key or stands at depth 0. Returns false when the writer has
 * failed and the value must not be written.
 */
static bool
value_begin(struct jsonw *w)
{
    if (w->err != 0) {
        return false;
    }
    if (w->after_key) {
        w->after_key = false;
        return true;
    }
    if (w->depth > 0) {
        if (w->need_comma[w->depth]) {
            append_c(w, ',');
        }
        w->need_comma[w->depth] = true;
    }
    return w->err == 0;
}

/* ---- containers ------------------------------------------------------------ */

static void
open_container(struct jsonw *w, char c)
{
    if (w->err != 0) {
        return;
    }
    if (w->depth >= JSONW_MAX_DEPTH) {
        w->err = -E2BIG;
        return;
    }
    if (!value_begin(w)) {
        return;
    }
    append_c(w, c);
    w->depth++;
    w->need_comma[w->depth] = false;
}

static void
close_container(struct jsonw *w, char c)
{
    if (w->err != 0) {
        return;
    }
    /* An end without a begin, or a key left without its value, is a bug
     * in the caller; failing the writer makes it visible at the end. */
    if (w->depth == 0 || w->after_key) {
        w->err = -EINVAL;
        return;
    }
    w->depth--;
    append_c(w, c);
}

void
jsonw_obj_begin(struct jsonw *w)
{
    open_container(w, '{');
}

void
jsonw_obj_end(struct jsonw *w)
{
    close_container(w, '}');
}

void
jsonw_arr_begin(struct jsonw *w)
{
    open_container(w, '[');
}

void
jsonw_arr_end(struct jsonw *w)
{
    close_container(w, ']');
}

/* ---- strings --------------------------------------------------------------- */

/*
 * Write str[0..n) as a JSON string. The common case (nothing to escape)
 * needs exactly n + 2 bytes, reserved once up front; an escape reserves
 * its own worst case (6 bytes) plus the rest of the string again, so the
 * loop never checks the capacity per byte.
 */
static void
put_string(struct jsonw *w, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, k;
    char *d;

    if (n > SIZE_MAX / 2) {
        /* Cannot exist in memory along with its escaped copy. */
        if (w->err == 0) {
            w->err = -ENOMEM;
        }
        return;
    }
    if (!reserve(w, n + 2)) {
        return;
    }
    d = w->buf + w->len;
    *d++ = '"';
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *d++ = (char)c;
            i++;
            continue;
        }
        if (c >= 0x80 && (k = utf8_sequence_len(s + i, n - i)) > 0) {
            memcpy(d, s + i, k);
            d += k;
            i += k;
            continue;
        }
        w->len = (size_t)(d - w->buf);
        if (!reserve(w, 6 + (n - i - 1) + 1)) {
            return;
        }
        d = w->buf + w->len;
        if (c == '"' || c == '\\') {
            *d++ = '\\';
            *d++ = (char)c;
        } else if (c < 0x20) {
            memcpy(d, "\\u00", 4);
            d[4] = hex[c >> 4];
            d[5] = hex[c & 0xF];
            d += 6;
        } else {
            /* One replacement character per invalid byte. */
            memcpy(d, "\\ufffd", 6);
            d += 6;
        }
        i++;
    }
    *d++ = '"';
    *d = '\0';
    w->len = (size_t)(d - w->buf);
}

void
jsonw_key(struct jsonw *w, const char *key)
{
    if (w->err != 0) {
        return;
    }
    if (w->depth == 0 || w->after_key) {
        w->err = -EINVAL;
        return;
    }
    if (w->need_comma[w->depth]) {
        append_c(w, ',');
    }
    w->need_comma[w->depth] = true;
    if (key == NULL) {
        key = "";
    }
    put_string(w, key, strlen(key));
    append_c(w, ':');
    w->after_key = true;
}

void
jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
    if (s == NULL) {
        jsonw_null(w);
        return;
    }
    if (!value_begin(w)) {
        return;
    }
    put_string(w, s, n);
}

void
jsonw_str(struct jsonw *w, const char *s)
{
    jsonw_strn(w, s, s != NULL ? strlen(s) : 0);
}

/* ---- scalars --------------------------------------------------------------- */

void
jsonw_int(struct jsonw *w, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof(tmp);
    /* Work on the magnitude as unsigned so INT64_MIN needs no special case. */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    if (!value_begin(w)) {
        return;
    }
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        *--p = '-';
    }
    append(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

/*
 * printf writes the decimal point of LC_NUMERIC, which the host program
 * may have changed (a Python app calling locale.setlocale(LC_ALL, "de_DE")
 * would otherwise make us write "1,5"). Everything printf produces for a
 * finite double is sign, digits, exponent letter or the radix string, so
 * the first run of other bytes is the radix: replace it by '.'.
 */
static bool
is_number_char(char c)
{
    return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'e' || c == 'E';
}

static size_t
fix_radix(char *s, size_t n)
{
    size_t i = 0, j;

    while (i < n && is_number_char(s[i])) {
        i++;
    }
    if (i == n) {
        return n;
    }
    j = i;
    while (j < n && !is_number_char(s[j])) {
        j++;
    }
    s[i] = '.';
    memmove(s + i + 1, s + j, n - j);
    return n - (j - i - 1);
}

static int
format_double(char *buf, size_t size, double v, int decimals)
{
    if (decimals < 0) {
        return snprintf(buf, size, "%.17g", v);
    }
    return snprintf(buf, size, "%.*f", decimals, v);
}

void
jsonw_double(struct jsonw *w, double v, int decimals)
{
    size_t avail;
    int n;

    if (!isfinite(v)) {
        jsonw_null(w);
        return;
    }
    if (!value_begin(w) || !reserve(w, 32)) {
        return;
    }
    /* Format in place; a huge value with many decimals gets a second try. */
    avail = w->cap - w->len;
    n = format_double(w->buf + w->len, avail, v, decimals);
    if (n < 0) {
        w->err = -EINVAL;
        return;
    }
    if ((size_t)n >= avail) {
        if (!reserve(w, (size_t)n)) {
            return;
        }
        format_double(w->buf + w->len, w->cap - w->len, v, decimals);
    }
    w->len += fix_radix(w->buf + w->len, (size_t)n);
    w->buf[w->len] = '\0';
}

void
jsonw_bool(struct jsonw *w, bool v)
{
    if (!value_begin(w)) {
        return;
    }
    if (v) {
        append(w, "true", 4);
    } else {
        append(w, "false", 5);
    }
}

void
jsonw_null(struct jsonw *w)
{
    if (!value_begin(w)) {
        return;
    }
    append(w, "null", 4);
}

void
jsonw_raw(struct jsonw *w, const char *json, size_t n)
{
    if (!value_begin(w)) {
        return;
    }
    append(w, json, n);
}

void
jsonw_bytes(struct jsonw *w, const char *s, size_t n)
{
    append(w, s, n);
}

/* ---- key + value shorthands ------------------------------------------------ */

void
jsonw_kstr(struct jsonw *w, const char *key, const char *s)
{
    jsonw_key(w, key);
    jsonw_str(w, s);
}

void
jsonw_kint(struct jsonw *w, const char *key, int64_t v)
{
    jsonw_key(w, key);
    jsonw_int(w, v);
}

void
jsonw_kdouble(struct jsonw *w, const char *key, double v, int decimals)
{
    jsonw_key(w, key);
    jsonw_double(w, v, decimals);
}

void
jsonw_kbool(struct jsonw *w, const char *key, bool v)
{
    jsonw_key(w, key);
    jsonw_bool(w, v);
}

void
jsonw_knull(struct jsonw *w, const char *key)
{
    jsonw_key(w, key);
    jsonw_null(w);
}
