/* SPDX-License-Identifier: MIT */
/*
 * jsonv: a strict recursive-descent JSON parser (RFC 8259, no extensions).
 *
 * Input is untrusted: socket requests in the agent, agent replies and
 * multi-megabyte recording lines in the CLI. The parser never reads past
 * text[len), so callers may hand it a line inside a larger buffer; it
 * rejects what RFC 8259 rejects (leading zeros, trailing commas, bare
 * control characters, invalid UTF-8, lone surrogates, trailing garbage)
 * and, by our choice, "\u0000" (strings come back NUL-terminated and must
 * not be silently truncated) and numbers beyond the range of a double.
 *
 * Memory: the tree lives in an arena of a few large blocks (the first sized
 * from the input, each next one twice the last), so a document costs a
 * handful of mallocs whatever its node count, and jsonv_free() walks only
 * the block list. The root sits first in a struct jsonv_doc at the start of
 * the first block, which is how jsonv_free() finds the arena from the root.
 * Containers are built on a scratch stack of members and copied into the
 * arena as one contiguous array when they close.
 *
 * Numbers: integer literals are converted by hand into int64 with an
 * overflow check; only fractions, exponents and out-of-range integers go
 * through strtod_l() in the "C" locale, on a NUL-terminated copy, so the
 * result never depends on LC_NUMERIC (a host program may have changed it).
 * Recursion depth is bounded by JSONV_MAX_DEPTH. Thread context: none;
 * never logs, never aborts.
 */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"
#include "utf8.h"

/* Arena blocks: the first is sized from the input within these bounds. */
#define ARENA_MIN_BLOCK ((size_t)1024)
#define ARENA_MAX_BLOCK ((size_t)64 << 20)
/* Number literals up to this length are converted from a stack copy. */
#define NUMBER_STACK_COPY 64

/* ---- arena ----------------------------------------------------------------- */

struct arena_block {
    struct arena_block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    unsigned char data[];
};

struct arena {
    struct arena_block *head; /* the block being filled */
    size_t next_size;
};

/* What jsonv_parse hands out: root first, so a root pointer is a doc pointer. */
struct jsonv_doc {
    struct jsonv root;
    struct arena_block *blocks;
};

static void
arena_free_blocks(struct arena_block *b)
{
    while (b != NULL) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
}

/* Carve size bytes aligned to align from block b, or return NULL. */
static void *
block_take(struct arena_block *b, size_t size, size_t align)
{
    uintptr_t base = (uintptr_t)b->data;
    uintptr_t p = (base + b->used + align - 1) & ~(uintptr_t)(align - 1);
    size_t off = (size_t)(p - base);

    if (off > b->size || size > b->size - off) {
        return NULL;
    }
    b->used = off + size;
    return (void *)p;
}

static void *
arena_alloc(struct arena *a, size_t size, size_t align)
{
    struct arena_block *b;
    size_t want, bsize;
    void *p;

    if (a->head != NULL) {
        p = block_take(a->head, size, align);
        if (p != NULL) {
            return p;
        }
    }
    if (size > SIZE_MAX - align - sizeof(*b)) {
        return NULL;
    }
    want = size + align;
    bsize = want > a->next_size ? want : a->next_size;
    b = malloc(sizeof(*b) + bsize);
    if (b == NULL) {
        return NULL;
    }
    b->size = bsize;
    b->used = 0;
    if (want > a->next_size && a->head != NULL) {
        /* An oversized array gets a block of its own behind the current
         * one, which keeps its free space for the nodes that follow. */
        b->next = a->head->next;
        a->head->next = b;
    } else {
        b->next = a->head;
        a->head = b;
        if (a->next_size < ARENA_MAX_BLOCK) {
            a->next_size *= 2;
        }
    }
    return block_take(b, size, align);
}

/* Give back the tail of the newest allocation p (old bytes -> new bytes). */
static void
arena_shrink(struct arena *a, void *p, size_t old, size_t new)
{
    struct arena_block *b = a->head;

    if ((unsigned char *)p + old == b->data + b->used) {
        b->used -= old - new;
    }
}

/* ---- parser state and errors ----------------------------------------------- */

struct parser {
    const unsigned char *text;
    size_t len;
    size_t pos;
    struct arena arena;
    struct jsonv_member *stack; /* children of the open containers */
    size_t sp;
    size_t stack_cap;
    char *errbuf;
    size_t errlen;
};

static int
fail(struct parser *ps, size_t at, const char *what)
{
    if (ps->errbuf != NULL && ps->errlen > 0) {
        snprintf(ps->errbuf, ps->errlen, "%s at byte %zu", what, at);
    }
    return -EINVAL;
}

/* A syntax error at the current position, or end of input if it is there. */
static int
fail_here(struct parser *ps, const char *what)
{
    if (ps->pos >= ps->len) {
        return fail(ps, ps->pos, "unexpected end of input");
    }
    return fail(ps, ps->pos, what);
}

static int
fail_oom(struct parser *ps)
{
    if (ps->errbuf != NULL && ps->errlen > 0) {
        snprintf(ps->errbuf, ps->errlen, "out of memory");
    }
    return -ENOMEM;
}

static void
skip_ws(struct parser *ps)
{
    while (ps->pos < ps->len) {
        unsigned char c = ps->text[ps->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            break;
        }
        ps->pos++;
    }
}

static bool
at(const struct parser *ps, unsigned char c)
{
    return ps->pos < ps->len && ps->text[ps->pos] == c;
}

static bool
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int
push(struct parser *ps, const char *key, const struct jsonv *value)
{
    if (ps->sp == ps->stack_cap) {
        size_t cap = ps->stack_cap == 0 ? 64 : ps->stack_cap * 2;
        struct jsonv_member *stack;
        if (cap > SIZE_MAX / sizeof(*stack)) {
            return fail_oom(ps);
        }
        stack = realloc(ps->stack, cap * sizeof(*stack));
        if (stack == NULL) {
            return fail_oom(ps);
        }
        ps->stack = stack;
        ps->stack_cap = cap;
    }
    ps->stack[ps->sp].key = key;
    ps->stack[ps->sp].value = *value;
    ps->sp++;
    return 0;
}

static int parse_value(struct parser *ps, unsigned depth, struct jsonv *out);

/* ---- strings --------------------------------------------------------------- */

static size_t
utf8_encode(uint32_t cp, char *dst)
{
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (char)(0xC0 | (cp >> 6));
        dst[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xE0 | (cp >> 12));
        dst[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        dst[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    dst[0] = (char)(0xF0 | (cp >> 18));
    dst[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    dst[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    dst[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Four hex digits at text[i..i+4) within end; false if absent or invalid. */
static bool
read_hex4(const unsigned char *text, size_t i, size_t end, uint32_t *ret)
{
    uint32_t v = 0;

    if (end < 4 || i > end - 4) {
        return false;
    }
    for (size_t k = 0; k < 4; k++) {
        unsigned char c = text[i + k];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (uint32_t)(c - 'A' + 10);
        } else {
            return false;
        }
    }
    *ret = v;
    return true;
}

/*
 * Decode the escaped string body text[start..end) into dst, which has room
 * for end - start bytes (no escape expands). The first pass has checked
 * the escape letters and the UTF-8 of the plain bytes.
 */
static int
decode_escapes(struct parser *ps, size_t start, size_t end, char *dst, size_t *ret_len)
{
    const unsigned char *t = ps->text;
    size_t i = start, d = 0;

    while (i < end) {
        size_t esc = i;
        uint32_t cp, lo;

        if (t[i] != '\\') {
            dst[d++] = (char)t[i++];
            continue;
        }
        i += 2;
        switch (t[esc + 1]) {
        case '"':
        case '\\':
        case '/':
            dst[d++] = (char)t[esc + 1];
            continue;
        case 'b':
            dst[d++] = '\b';
            continue;
        case 'f':
            dst[d++] = '\f';
            continue;
        case 'n':
            dst[d++] = '\n';
            continue;
        case 'r':
            dst[d++] = '\r';
            continue;
        case 't':
            dst[d++] = '\t';
            continue;
        default: /* 'u', the only other letter pass one lets through */
            break;
        }
        if (!read_hex4(t, i, end, &cp)) {
            return fail(ps, esc, "invalid \\u escape");
        }
        i += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail(ps, esc, "lone low surrogate in \\u escape");
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (i + 2 > end || t[i] != '\\' || t[i + 1] != 'u' || !read_hex4(t, i + 2, end, &lo) ||
                lo < 0xDC00 || lo > 0xDFFF) {
                return fail(ps, esc, "lone high surrogate in \\u escape");
            }
            i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp == 0) {
            /* Strings are handed out NUL-terminated: refuse to cut them. */
            return fail(ps, esc, "\\u0000 in string");
        }
        d += utf8_encode(cp, dst + d);
    }
    dst[d] = '\0';
    *ret_len = d;
    return 0;
}

/* Parse the string at ps->pos (a '"') into the arena. */
static int
parse_string(struct parser *ps, const char **ret_s, size_t *ret_len)
{
    const unsigned char *t = ps->text;
    size_t start = ps->pos + 1, i = start, raw, len;
    bool escaped = false;
    char *dst;
    int r;

    /* Pass one: find the closing quote, validate bytes and escape letters. */
    for (;;) {
        unsigned char c;
        if (i >= ps->len) {
            return fail(ps, ps->pos, "unterminated string");
        }
        c = t[i];
        if (c == '"') {
            break;
        }
        if (c == '\\') {
            if (i + 1 >= ps->len) {
                return fail(ps, ps->pos, "unterminated string");
            }
            if (strchr("\"\\/bfnrtu", t[i + 1]) == NULL || t[i + 1] == '\0') {
                return fail(ps, i, "invalid escape in string");
            }
            escaped = true;
            i += 2;
            continue;
        }
        if (c < 0x20) {
            return fail(ps, i, "control character in string");
        }
        if (c >= 0x80) {
            size_t k = utf8_sequence_len(t + i, ps->len - i);
            if (k == 0) {
                return fail(ps, i, "invalid UTF-8 in string");
            }
            i += k;
            continue;
        }
        i++;
    }
    raw = i - start;
    dst = arena_alloc(&ps->arena, raw + 1, 1);
    if (dst == NULL) {
        return fail_oom(ps);
    }
    if (!escaped) {
        memcpy(dst, t + start, raw);
        dst[raw] = '\0';
        len = raw;
    } else {
        r = decode_escapes(ps, start, i, dst, &len);
        if (r < 0) {
            return r;
        }
        arena_shrink(&ps->arena, dst, raw + 1, len + 1);
    }
    ps->pos = i + 1;
    *ret_s = dst;
    *ret_len = len;
    return 0;
}

/* ---- numbers --------------------------------------------------------------- */

/* The "C" locale, created once; glibc returns a static object for it. */
static locale_t
c_locale(void)
{
    static _Atomic(locale_t) cached;
    locale_t loc = atomic_load(&cached);
    locale_t expected = (locale_t)0;

    if (loc != (locale_t)0) {
        return loc;
    }
    loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (loc == (locale_t)0) {
        return loc;
    }
    if (!atomic_compare_exchange_strong(&cached, &expected, loc)) {
        freelocale(loc);
        loc = expected;
    }
    return loc;
}

/* Digits text[i..end) as an int64 with sign; false on overflow. */
static bool
parse_int64(const unsigned char *text, size_t i, size_t end, bool neg, int64_t *ret)
{
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t acc = 0;

    for (; i < end; i++) {
        unsigned d = (unsigned)(text[i] - '0');
        if (acc > (limit - d) / 10) {
            return false;
        }
        acc = acc * 10 + d;
    }
    if (!neg) {
        *ret = (int64_t)acc;
    } else if (acc == (uint64_t)INT64_MAX + 1) {
        *ret = INT64_MIN;
    } else {
        *ret = -(int64_t)acc;
    }
    return true;
}

static int
number_to_double(struct parser *ps, size_t start, size_t end, double *ret)
{
    char stack_copy[NUMBER_STACK_COPY];
    char *copy = stack_copy, *endp;
    size_t n = end - start;
    locale_t loc;
    double d;
    int r = 0;

    loc = c_locale();
    if (loc == (locale_t)0) {
        return fail_oom(ps);
    }
    /* strtod needs a terminator, and text[end] may be any byte (or none). */
    if (n >= sizeof(stack_copy)) {
        copy = malloc(n + 1);
        if (copy == NULL) {
            return fail_oom(ps);
        }
    }
    memcpy(copy, ps->text + start, n);
    copy[n] = '\0';
    d = strtod_l(copy, &endp, loc);
    if (endp != copy + n) {
        r = fail(ps, start, "invalid number");
        goto out;
    }
    if (isinf(d)) {
        r = fail(ps, start, "number out of range");
        goto out;
    }
    *ret = d;
out:
    if (copy != stack_copy) {
        free(copy);
    }
    return r;
}

static int
parse_number(struct parser *ps, struct jsonv *out)
{
    const unsigned char *t = ps->text;
    size_t start = ps->pos, i = start, digits, int_end;
    bool neg = false, integral = true;
    int64_t iv;
    double d;
    int r;

    if (t[i] == '-') {
        neg = true;
        i++;
    }
    digits = i;
    if (i >= ps->len || !is_digit(t[i])) {
        return fail(ps, start, "invalid number");
    }
    if (t[i] == '0') {
        i++;
        if (i < ps->len && is_digit(t[i])) {
            return fail(ps, start, "leading zero in number");
        }
    } else {
        while (i < ps->len && is_digit(t[i])) {
            i++;
        }
    }
    int_end = i;
    if (i < ps->len && t[i] == '.') {
        i++;
        if (i >= ps->len || !is_digit(t[i])) {
            return fail(ps, i, "expected a digit after '.'");
        }
        while (i < ps->len && is_digit(t[i])) {
            i++;
        }
        integral = false;
    }
    if (i < ps->len && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < ps->len && (t[i] == '+' || t[i] == '-')) {
            i++;
        }
        if (i >= ps->len || !is_digit(t[i])) {
            return fail(ps, i, "expected a digit in exponent");
        }
        while (i < ps->len && is_digit(t[i])) {
            i++;
        }
        integral = false;
    }
    ps->pos = i;

    out->type = JSONV_NUMBER;
    out->u.num.i = 0;
    out->u.num.is_int = false;
    if (integral && parse_int64(t, digits, int_end, neg, &iv)) {
        out->u.num.i = iv;
        out->u.num.is_int = true;
        /* "-0" is an integer 0 but keeps its sign as a double. */
        out->u.num.d = (neg && iv == 0) ? -0.0 : (double)iv;
        return 0;
    }
    r = number_to_double(ps, start, i, &d);
    if (r < 0) {
        return r;
    }
    out->u.num.d = d;
    return 0;
}

/* ---- literals and containers ----------------------------------------------- */

static int
parse_literal(struct parser *ps, const char *word, struct jsonv *out)
{
    size_t n = strlen(word);

    if (ps->len - ps->pos < n || memcmp(ps->text + ps->pos, word, n) != 0) {
        return fail(ps, ps->pos, "invalid literal");
    }
    ps->pos += n;
    if (word[0] == 'n') {
        out->type = JSONV_NULL;
    } else {
        out->type = JSONV_BOOL;
        out->u.b = word[0] == 't';
    }
    return 0;
}

static int
parse_array(struct parser *ps, unsigned depth, struct jsonv *out)
{
    size_t base = ps->sp, n;
    struct jsonv *items;
    int r;

    if (depth >= JSONV_MAX_DEPTH) {
        return fail(ps, ps->pos, "nesting too deep");
    }
    ps->pos++;
    skip_ws(ps);
    if (at(ps, ']')) {
        ps->pos++;
        out->type = JSONV_ARRAY;
        out->u.arr.items = NULL;
        out->u.arr.n = 0;
        return 0;
    }
    for (;;) {
        struct jsonv v;
        r = parse_value(ps, depth + 1, &v);
        if (r < 0) {
            return r;
        }
        r = push(ps, NULL, &v);
        if (r < 0) {
            return r;
        }
        skip_ws(ps);
        if (at(ps, ',')) {
            ps->pos++;
            continue;
        }
        if (at(ps, ']')) {
            ps->pos++;
            break;
        }
        return fail_here(ps, "expected ',' or ']'");
    }
    n = ps->sp - base;
    items = arena_alloc(&ps->arena, n * sizeof(*items), _Alignof(struct jsonv));
    if (items == NULL) {
        return fail_oom(ps);
    }
    for (size_t k = 0; k < n; k++) {
        items[k] = ps->stack[base + k].value;
    }
    ps->sp = base;
    out->type = JSONV_ARRAY;
    out->u.arr.items = items;
    out->u.arr.n = n;
    return 0;
}

static int
parse_object(struct parser *ps, unsigned depth, struct jsonv *out)
{
    size_t base = ps->sp, n;
    struct jsonv_member *members;
    int r;

    if (depth >= JSONV_MAX_DEPTH) {
        return fail(ps, ps->pos, "nesting too deep");
    }
    ps->pos++;
    skip_ws(ps);
    if (at(ps, '}')) {
        ps->pos++;
        out->type = JSONV_OBJECT;
        out->u.obj.members = NULL;
        out->u.obj.n = 0;
        return 0;
    }
    for (;;) {
        struct jsonv v;
        const char *key;
        size_t key_len;

        skip_ws(ps);
        if (!at(ps, '"')) {
            return fail_here(ps, "expected a string key");
        }
        r = parse_string(ps, &key, &key_len);
        if (r < 0) {
            return r;
        }
        skip_ws(ps);
        if (!at(ps, ':')) {
            return fail_here(ps, "expected ':'");
        }
        ps->pos++;
        r = parse_value(ps, depth + 1, &v);
        if (r < 0) {
            return r;
        }
        r = push(ps, key, &v);
        if (r < 0) {
            return r;
        }
        skip_ws(ps);
        if (at(ps, ',')) {
            ps->pos++;
            continue;
        }
        if (at(ps, '}')) {
            ps->pos++;
            break;
        }
        return fail_here(ps, "expected ',' or '}'");
    }
    n = ps->sp - base;
    members = arena_alloc(&ps->arena, n * sizeof(*members), _Alignof(struct jsonv_member));
    if (members == NULL) {
        return fail_oom(ps);
    }
    memcpy(members, ps->stack + base, n * sizeof(*members));
    ps->sp = base;
    out->type = JSONV_OBJECT;
    out->u.obj.members = members;
    out->u.obj.n = n;
    return 0;
}

static int
parse_value(struct parser *ps, unsigned depth, struct jsonv *out)
{
    skip_ws(ps);
    if (ps->pos >= ps->len) {
        return fail(ps, ps->pos, "unexpected end of input");
    }
    switch (ps->text[ps->pos]) {
    case '{':
        return parse_object(ps, depth, out);
    case '[':
        return parse_array(ps, depth, out);
    case '"':
        out->type = JSONV_STRING;
        return parse_string(ps, &out->u.str.s, &out->u.str.len);
    case 't':
        return parse_literal(ps, "true", out);
    case 'f':
        return parse_literal(ps, "false", out);
    case 'n':
        return parse_literal(ps, "null", out);
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return parse_number(ps, out);
    default:
        return fail(ps, ps->pos, "expected a value");
    }
}

/* ---- public API ------------------------------------------------------------ */

int
jsonv_parse(const char *text, size_t len, const struct jsonv **ret_root, char *errbuf,
            size_t errlen)
{
    struct parser ps = {
        .text = (const unsigned char *)(text != NULL ? text : ""),
        .len = text != NULL ? len : 0,
        .errbuf = errbuf,
        .errlen = errlen,
    };
    struct jsonv_doc *doc;
    int r;

    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    /* Size the first block for a typical tree (about twice the text). */
    ps.arena.next_size = len < ARENA_MAX_BLOCK / 2 ? len * 2 : ARENA_MAX_BLOCK;
    if (ps.arena.next_size < ARENA_MIN_BLOCK) {
        ps.arena.next_size = ARENA_MIN_BLOCK;
    }
    doc = arena_alloc(&ps.arena, sizeof(*doc), _Alignof(struct jsonv_doc));
    if (doc == NULL) {
        r = fail_oom(&ps);
        goto out;
    }
    r = parse_value(&ps, 0, &doc->root);
    if (r < 0) {
        goto out;
    }
    skip_ws(&ps);
    if (ps.pos != ps.len) {
        r = fail(&ps, ps.pos, "unexpected trailing characters");
        goto out;
    }
    doc->blocks = ps.arena.head;
    ps.arena.head = NULL;
    *ret_root = &doc->root;
out:
    arena_free_blocks(ps.arena.head);
    free(ps.stack);
    return r;
}

const struct jsonv *
jsonv_free(const struct jsonv *root)
{
    if (root != NULL) {
        /* The root is the first member of its doc (see jsonv_parse). */
        const struct jsonv_doc *doc = (const struct jsonv_doc *)root;
        arena_free_blocks(doc->blocks);
    }
    return NULL;
}

const struct jsonv *
jsonv_get(const struct jsonv *obj, const char *key)
{
    if (!jsonv_is(obj, JSONV_OBJECT) || key == NULL) {
        return NULL;
    }
    /* Linear and first match wins: duplicate keys are kept in order. */
    for (size_t i = 0; i < obj->u.obj.n; i++) {
        if (strcmp(obj->u.obj.members[i].key, key) == 0) {
            return &obj->u.obj.members[i].value;
        }
    }
    return NULL;
}

const char *
jsonv_get_str(const struct jsonv *obj, const char *key)
{
    const struct jsonv *v = jsonv_get(obj, key);

    return jsonv_is(v, JSONV_STRING) ? v->u.str.s : NULL;
}

bool
jsonv_get_int(const struct jsonv *obj, const char *key, int64_t *ret)
{
    const struct jsonv *v = jsonv_get(obj, key);

    if (!jsonv_is(v, JSONV_NUMBER) || !v->u.num.is_int) {
        return false;
    }
    if (ret != NULL) {
        *ret = v->u.num.i;
    }
    return true;
}

bool
jsonv_get_double(const struct jsonv *obj, const char *key, double *ret)
{
    const struct jsonv *v = jsonv_get(obj, key);

    if (!jsonv_is(v, JSONV_NUMBER)) {
        return false;
    }
    if (ret != NULL) {
        *ret = v->u.num.d;
    }
    return true;
}

bool
jsonv_get_bool(const struct jsonv *obj, const char *key, bool *ret)
{
    const struct jsonv *v = jsonv_get(obj, key);

    if (!jsonv_is(v, JSONV_BOOL)) {
        return false;
    }
    if (ret != NULL) {
        *ret = v->u.b;
    }
    return true;
}
