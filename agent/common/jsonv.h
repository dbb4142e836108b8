/* SPDX-License-Identifier: MIT */
/*
 * jsonv: a strict, bounded JSON parser producing a read-only value tree.
 *
 * Parses untrusted input (socket requests in the agent, recordings and
 * agent replies in the CLI). RFC 8259 grammar, no extensions; nesting depth
 * at most JSONV_MAX_DEPTH; the input length is given by the caller (who
 * bounds it). Strings are decoded to UTF-8 (\u escapes and surrogate pairs
 * included; an embedded NUL is rejected). Numbers keep an exact int64 when
 * they are integral and fit. The whole tree lives in one allocation arena:
 * jsonv_free() releases it at once. Never logs; never aborts.
 * Thread context: none.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONV_MAX_DEPTH 64

enum jsonv_type {
    JSONV_NULL,
    JSONV_BOOL,
    JSONV_NUMBER,
    JSONV_STRING,
    JSONV_ARRAY,
    JSONV_OBJECT,
};

struct jsonv_member;

struct jsonv {
    enum jsonv_type type;
    union {
        bool b;
        struct {
            double d;
            int64_t i;
            bool is_int; /* integral and within int64 */
        } num;
        struct {
            const char *s; /* NUL-terminated UTF-8 */
            size_t len;
        } str;
        struct {
            const struct jsonv *items;
            size_t n;
        } arr;
        struct {
            const struct jsonv_member *members; /* in document order */
            size_t n;
        } obj;
    } u;
};

struct jsonv_member {
    const char *key;
    struct jsonv value;
};

/*
 * Parse text[0..len) as one JSON value with optional surrounding white space.
 * On success returns 0 and stores the root in *ret_root (free it with
 * jsonv_free). On failure returns -EINVAL (syntax, with a short message and
 * byte offset written to errbuf when errbuf is not NULL) or -ENOMEM.
 */
int jsonv_parse(const char *text, size_t len, const struct jsonv **ret_root, char *errbuf,
                size_t errlen);
/* Free a tree returned by jsonv_parse. Accepts NULL; returns NULL. */
const struct jsonv *jsonv_free(const struct jsonv *root);

/* Lookups; all accept NULL and return NULL/false when absent or mistyped. */
const struct jsonv *jsonv_get(const struct jsonv *obj, const char *key);
const char *jsonv_get_str(const struct jsonv *obj, const char *key);
bool jsonv_get_int(const struct jsonv *obj, const char *key, int64_t *ret);
bool jsonv_get_double(const struct jsonv *obj, const char *key, double *ret);
bool jsonv_get_bool(const struct jsonv *obj, const char *key, bool *ret);
static inline bool
jsonv_is(const struct jsonv *v, enum jsonv_type t)
{
    return v != NULL && v->type == t;
}
