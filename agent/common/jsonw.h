/* SPDX-License-Identifier: MIT */
/*
 * jsonw: a small JSON writer into a growable memory buffer.
 *
 * Used by the agent (samples, replies) and by the CLI (reports). It never
 * logs and never aborts: the first allocation failure makes the writer
 * sticky-failed (jsonw.err = -ENOMEM) and every later call is a no-op, so
 * callers check once at the end. Commas between members and items are
 * inserted automatically; nesting is limited to JSONW_MAX_DEPTH.
 * Thread context: none; a writer belongs to one thread at a time.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONW_MAX_DEPTH 64

struct jsonw {
    char *buf; /* NUL-terminated when len > 0 */
    size_t len;
    size_t cap;
    int err; /* 0 or a sticky -errno */
    unsigned depth;
    bool need_comma[JSONW_MAX_DEPTH + 1];
    bool after_key;
};

/* Embedded life cycle: init zeroes, done frees, clear keeps the buffer. */
void jsonw_init(struct jsonw *w);
void jsonw_done(struct jsonw *w);
void jsonw_clear(struct jsonw *w);

void jsonw_obj_begin(struct jsonw *w);
void jsonw_obj_end(struct jsonw *w);
void jsonw_arr_begin(struct jsonw *w);
void jsonw_arr_end(struct jsonw *w);
/* An object key; the next value call writes its value. */
void jsonw_key(struct jsonw *w, const char *key);

/* Values. Strings are escaped; invalid UTF-8 bytes become U+FFFD.
 * A NULL string writes null. Non-finite doubles write null. */
void jsonw_str(struct jsonw *w, const char *s);
void jsonw_strn(struct jsonw *w, const char *s, size_t n);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_double(struct jsonw *w, double v, int decimals);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* Splice pre-encoded JSON text as one value (caller guarantees validity). */
void jsonw_raw(struct jsonw *w, const char *json, size_t n);
/* Append bytes outside the value grammar (e.g. the '\n' ending a line). */
void jsonw_bytes(struct jsonw *w, const char *s, size_t n);

/* Key + value shorthands. */
void jsonw_kstr(struct jsonw *w, const char *key, const char *s);
void jsonw_kint(struct jsonw *w, const char *key, int64_t v);
void jsonw_kdouble(struct jsonw *w, const char *key, double v, int decimals);
void jsonw_kbool(struct jsonw *w, const char *key, bool v);
void jsonw_knull(struct jsonw *w, const char *key);
