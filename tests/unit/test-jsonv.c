/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for jsonv: what it accepts (checked by writing the tree back
 * with jsonw), what it rejects and the exact message with its byte offset,
 * number conversion, limits, lookups, the input length bound, and round
 * trips of documents written by jsonw, including a multi-megabyte line.
 */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-helpers.h"
#include "jsonv.h"
#include "jsonw.h"

/* Write a parsed tree back as canonical JSON (non-integers as %.17g). */
static void
dump(struct jsonw *w, const struct jsonv *v)
{
    switch (v->type) {
    case JSONV_NULL:
        jsonw_null(w);
        break;
    case JSONV_BOOL:
        jsonw_bool(w, v->u.b);
        break;
    case JSONV_NUMBER:
        if (v->u.num.is_int) {
            jsonw_int(w, v->u.num.i);
        } else {
            jsonw_double(w, v->u.num.d, -1);
        }
        break;
    case JSONV_STRING:
        ck_assert_uint_eq(strlen(v->u.str.s), v->u.str.len);
        jsonw_strn(w, v->u.str.s, v->u.str.len);
        break;
    case JSONV_ARRAY:
        jsonw_arr_begin(w);
        for (size_t i = 0; i < v->u.arr.n; i++) {
            dump(w, &v->u.arr.items[i]);
        }
        jsonw_arr_end(w);
        break;
    case JSONV_OBJECT:
        jsonw_obj_begin(w);
        for (size_t i = 0; i < v->u.obj.n; i++) {
            jsonw_key(w, v->u.obj.members[i].key);
            dump(w, &v->u.obj.members[i].value);
        }
        jsonw_obj_end(w);
        break;
    }
}

/* Parse text[0..len) (which must succeed) and return its canonical dump. */
static char *
parse_and_dump(const char *text, size_t len)
{
    const struct jsonv *root = NULL;
    struct jsonw w;
    char err[128];
    int r;

    r = jsonv_parse(text, len, &root, err, sizeof(err));
    if (r < 0) {
        ck_diag("# unexpected parse error: %s\n", err);
    }
    ck_assert_int_eq(r, 0);
    ck_assert_str_eq(err, "");
    jsonw_init(&w);
    dump(&w, root);
    ck_assert_int_eq(w.err, 0);
    jsonv_free(root);
    return w.buf != NULL ? w.buf : strdup("");
}

/* ---- accepted documents ---------------------------------------------------- */

static const struct {
    const char *text;
    const char *expect;
} valid_cases[] = {
    {"null", "null"},
    {" true ", "true"},
    {"false", "false"},
    {"0", "0"},
    {"-0", "0"},
    {"\t\r\n 7 \n", "7"},
    {"[]", "[]"},
    {"{}", "{}"},
    {" [ 1 , 2 ] ", "[1,2]"},
    {"[[[]],{}]", "[[[]],{}]"},
    {"{ \"a\" : { \"b\" : [ null , true ] } , \"c\" : \"\" }",
     "{\"a\":{\"b\":[null,true]},\"c\":\"\"}"},
    {"\"\"", "\"\""},
    {"\"\\u00e9\\u20AC\"", "\"\xc3\xa9\xe2\x82\xac\""},
    {"\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\""},
    {"\"\\uDBFF\\uDFFF\"", "\"\xf4\x8f\xbf\xbf\""},
    {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\\"\\\\/\\u0008\\u000c\\u000a\\u000d\\u0009\""},
    {"\"\\u0041\\u00DF\\u0001\"", "\"A\xc3\x9f\\u0001\""},
    {"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
     "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
    {"\"a\x7f\"", "\"a\x7f\""},
    {"1.5", "1.5"},
    {"1e2", "100"},
    {"1E+2", "100"},
    {"-1.25e-3", "-0.00125"},
    {"0.0", "0"},
    {"{\"a\":1,\"a\":2}", "{\"a\":1,\"a\":2}"},
    {"[\"x\",{\"k\":[1,[2,[3]]]},-5]", "[\"x\",{\"k\":[1,[2,[3]]]},-5]"},
};

START_TEST(jsonv_parses_valid)
{
    const char *text = valid_cases[_i].text;
    char *out = parse_and_dump(text, strlen(text));

    ck_assert_str_eq(out, valid_cases[_i].expect);
    free(out);
}
END_TEST

/* ---- rejected documents ---------------------------------------------------- */

static const struct {
    const char *text;
    size_t len; /* 0: strlen(text) */
    const char *error;
} invalid_cases[] = {
    {"", 0, "unexpected end of input at byte 0"},
    {"   ", 0, "unexpected end of input at byte 3"},
    {"[", 0, "unexpected end of input at byte 1"},
    {"[\"a\"", 0, "unexpected end of input at byte 4"},
    {"{\"a\"", 0, "unexpected end of input at byte 4"},
    {"{\"a\":1", 0, "unexpected end of input at byte 6"},
    {"[1,]", 0, "expected a value at byte 3"},
    {"[1 2]", 0, "expected ',' or ']' at byte 3"},
    {"[1}", 0, "expected ',' or ']' at byte 2"},
    {"{\"a\":1,}", 0, "expected a string key at byte 7"},
    {"{\"a\" 1}", 0, "expected ':' at byte 5"},
    {"{1:2}", 0, "expected a string key at byte 1"},
    {"{'a':2}", 0, "expected a string key at byte 1"},
    {"{\"a\":1 \"b\":2}", 0, "expected ',' or '}' at byte 7"},
    {"{\"a\":1]", 0, "expected ',' or '}' at byte 6"},
    {"01", 0, "leading zero in number at byte 0"},
    {"-01", 0, "leading zero in number at byte 0"},
    {"[00]", 0, "leading zero in number at byte 1"},
    {"-", 0, "invalid number at byte 0"},
    {"[-]", 0, "invalid number at byte 1"},
    {"-Infinity", 0, "invalid number at byte 0"},
    {"1.", 0, "expected a digit after '.' at byte 2"},
    {"1.e5", 0, "expected a digit after '.' at byte 2"},
    {".5", 0, "expected a value at byte 0"},
    {"1e", 0, "expected a digit in exponent at byte 2"},
    {"1e+", 0, "expected a digit in exponent at byte 3"},
    {"+1", 0, "expected a value at byte 0"},
    {"0x10", 0, "unexpected trailing characters at byte 1"},
    {"1e400", 0, "number out of range at byte 0"},
    {"[-1e400]", 0, "number out of range at byte 1"},
    {"tru", 0, "invalid literal at byte 0"},
    {"nul", 0, "invalid literal at byte 0"},
    {"True", 0, "expected a value at byte 0"},
    {"NaN", 0, "expected a value at byte 0"},
    {"Infinity", 0, "expected a value at byte 0"},
    {"'a'", 0, "expected a value at byte 0"},
    {"truex", 0, "unexpected trailing characters at byte 4"},
    {"1 2", 0, "unexpected trailing characters at byte 2"},
    {"[1]x", 0, "unexpected trailing characters at byte 3"},
    {"{} {}", 0, "unexpected trailing characters at byte 3"},
    {"[1]\0", 4, "unexpected trailing characters at byte 3"},
    {"\xef\xbb\xbf{}", 0, "expected a value at byte 0"},
    {"\0131", 0, "expected a value at byte 0"},     /* vertical tab */
    {"\302\2401", 0, "expected a value at byte 0"}, /* no-break space */
    {"\"abc", 0, "unterminated string at byte 0"},
    {"[\"abc\\", 0, "unterminated string at byte 1"},
    {"\"abc\\\"", 0, "unterminated string at byte 0"},
    {"\"\\x\"", 0, "invalid escape in string at byte 1"},
    {"\"a\\U0041\"", 0, "invalid escape in string at byte 2"},
    {"\"\\u12\"", 0, "invalid \\u escape at byte 1"},
    {"\"\\u12G4\"", 0, "invalid \\u escape at byte 1"},
    {"\"\\ud800\"", 0, "lone high surrogate in \\u escape at byte 1"},
    {"\"\\ud800x\"", 0, "lone high surrogate in \\u escape at byte 1"},
    {"\"\\ud800\\u0041\"", 0, "lone high surrogate in \\u escape at byte 1"},
    {"\"\\ud800\\ud800\"", 0, "lone high surrogate in \\u escape at byte 1"},
    {"\"\\ud800\\u\"", 0, "lone high surrogate in \\u escape at byte 1"},
    {"\"\\udc00\"", 0, "lone low surrogate in \\u escape at byte 1"},
    {"\"a\\u0000\"", 0, "\\u0000 in string at byte 2"},
    {"\"\x01\"", 0, "control character in string at byte 1"},
    {"\"a\tb\"", 0, "control character in string at byte 2"},
    {"\"a\nb\"", 0, "control character in string at byte 2"},
    {"\"a\0b\"", 5, "control character in string at byte 2"},
    {"\"\xff\"", 0, "invalid UTF-8 in string at byte 1"},
    {"\"\x80\"", 0, "invalid UTF-8 in string at byte 1"},
    {"\"\xc0\x80\"", 0, "invalid UTF-8 in string at byte 1"},
    {"\"ab\xed\xa0\x80\"", 0, "invalid UTF-8 in string at byte 3"},
    {"\"\xe2\x82\"", 0, "invalid UTF-8 in string at byte 1"},
    {"\"\xf4\x90\x80\x80\"", 0, "invalid UTF-8 in string at byte 1"},
    {"{\"k\xff\":1}", 0, "invalid UTF-8 in string at byte 3"},
};

START_TEST(jsonv_rejects_invalid)
{
    const struct jsonv *root = (const struct jsonv *)&root; /* a sentinel */
    const char *text = invalid_cases[_i].text;
    size_t len = invalid_cases[_i].len != 0 ? invalid_cases[_i].len : strlen(text);
    char err[128];

    ck_assert_int_eq(jsonv_parse(text, len, &root, err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, invalid_cases[_i].error);
    /* The out-parameter is written only on success. */
    ck_assert_ptr_eq(root, (const struct jsonv *)&root);
}
END_TEST

/* ---- numbers --------------------------------------------------------------- */

static const struct {
    const char *text;
    bool is_int;
    int64_t i;
    double d;
} number_cases[] = {
    {"0", true, 0, 0.0},
    {"42", true, 42, 42.0},
    {"-42", true, -42, -42.0},
    {"9223372036854775807", true, INT64_MAX, 9223372036854775807.0},
    {"-9223372036854775808", true, INT64_MIN, -9223372036854775808.0},
    {"9223372036854775808", false, 0, 9223372036854775808.0},
    {"-9223372036854775809", false, 0, -9223372036854775809.0},
    {"123456789012345678901234567890", false, 0, 123456789012345678901234567890.0},
    {"1.0", false, 0, 1.0},
    {"1e2", false, 0, 100.0},
    {"0.1", false, 0, 0.1},
    {"-1.5e-3", false, 0, -1.5e-3},
    {"2.2250738585072014e-308", false, 0, 2.2250738585072014e-308},
    {"1.7976931348623157e308", false, 0, 1.7976931348623157e308},
    {"1e-400", false, 0, 0.0},
};

START_TEST(jsonv_converts_numbers)
{
    const struct jsonv *root;
    const char *text = number_cases[_i].text;

    ck_assert_int_eq(jsonv_parse(text, strlen(text), &root, NULL, 0), 0);
    ck_assert_int_eq(root->type, JSONV_NUMBER);
    ck_assert_int_eq(root->u.num.is_int, number_cases[_i].is_int);
    if (number_cases[_i].is_int) {
        ck_assert(root->u.num.i == number_cases[_i].i);
    }
    ck_assert(root->u.num.d == number_cases[_i].d);
    jsonv_free(root);
}
END_TEST

START_TEST(jsonv_keeps_negative_zero)
{
    const struct jsonv *root;

    ck_assert_int_eq(jsonv_parse("-0", 2, &root, NULL, 0), 0);
    ck_assert(root->u.num.is_int);
    ck_assert(root->u.num.i == 0);
    ck_assert(signbit(root->u.num.d));
    jsonv_free(root);
}
END_TEST

/* Literals longer than the stack copy are converted from a heap copy. */
START_TEST(jsonv_converts_long_numbers)
{
    char text[300];
    const struct jsonv *root;

    memset(text, '0', sizeof(text));
    text[1] = '.';
    text[sizeof(text) - 2] = '1';
    text[sizeof(text) - 1] = '\0';
    ck_assert_int_eq(jsonv_parse(text, strlen(text), &root, NULL, 0), 0);
    ck_assert(!root->u.num.is_int);
    ck_assert(root->u.num.d == 1e-297);
    jsonv_free(root);
}
END_TEST

/* A host may switch LC_NUMERIC to a comma locale; parsing must not care. */
START_TEST(jsonv_numbers_ignore_locale)
{
    static const char *const locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
    const char *text = "[1.5,-2.25e1,3]";
    const char *found = NULL;
    char *out;

    for (size_t i = 0; i < sizeof(locales) / sizeof(locales[0]) && found == NULL; i++) {
        found = setlocale(LC_NUMERIC, locales[i]);
    }
    if (found == NULL) {
        ck_diag("# no comma-radix locale installed; checking the C locale only\n");
    }
    out = parse_and_dump(text, strlen(text));
    ck_assert_str_eq(out, "[1.5,-22.5,3]");
    free(out);
    setlocale(LC_NUMERIC, "C");
}
END_TEST

/* ---- limits ---------------------------------------------------------------- */

static char *
nested(size_t depth, char open, char close)
{
    char *s = malloc(2 * depth + 1);

    ck_assert_ptr_nonnull(s);
    memset(s, open, depth);
    memset(s + depth, close, depth);
    s[2 * depth] = '\0';
    return s;
}

START_TEST(jsonv_limits_depth)
{
    const struct jsonv *root;
    char err[128];
    char *s;

    s = nested(JSONV_MAX_DEPTH, '[', ']');
    ck_assert_int_eq(jsonv_parse(s, strlen(s), &root, err, sizeof(err)), 0);
    jsonv_free(root);
    free(s);

    s = nested(JSONV_MAX_DEPTH + 1, '[', ']');
    ck_assert_int_eq(jsonv_parse(s, strlen(s), &root, err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "nesting too deep at byte 64");
    free(s);

    /* Far deeper than any stack allows: still a clean error. */
    s = nested(1000000, '[', ']');
    ck_assert_int_eq(jsonv_parse(s, strlen(s), &root, err, sizeof(err)), -EINVAL);
    free(s);

    /* Objects count too: {"a":{"a":...}} */
    size_t n = 0;
    s = malloc(6 * (JSONV_MAX_DEPTH + 1) + 2);
    ck_assert_ptr_nonnull(s);
    for (int i = 0; i < JSONV_MAX_DEPTH; i++) {
        memcpy(s + n, "{\"a\":", 5);
        n += 5;
    }
    s[n++] = '1';
    memset(s + n, '}', JSONV_MAX_DEPTH);
    n += JSONV_MAX_DEPTH;
    ck_assert_int_eq(jsonv_parse(s, n, &root, err, sizeof(err)), 0);
    jsonv_free(root);
    s[n - JSONV_MAX_DEPTH - 1] = '{';
    ck_assert_int_eq(jsonv_parse(s, n, &root, err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "nesting too deep at byte 320");
    free(s);
}
END_TEST

/* The parser reads text[0..len) and nothing beyond, terminator or not. */
static const struct {
    const char *text;
    size_t len;
    int ret;
    const char *expect; /* dump on success, message on failure */
} bound_cases[] = {
    {"123", 2, 0, "12"},
    {"1.5", 2, -EINVAL, "expected a digit after '.' at byte 2"},
    {"1.25", 3, 0, "1.2"},
    {"1e10", 3, 0, "10"},
    {"[1]xyz", 3, 0, "[1]"},
    {"truex", 4, 0, "true"},
    {"true", 3, -EINVAL, "invalid literal at byte 0"},
    {"\"abc\"", 4, -EINVAL, "unterminated string at byte 0"},
    {"\"\\u0041\"", 7, -EINVAL, "unterminated string at byte 0"},
    {"\"\\u00e9\"x", 6, -EINVAL, "unterminated string at byte 0"},
    {"\"\xc3\xa9\"", 2, -EINVAL, "invalid UTF-8 in string at byte 1"},
    {"", 0, -EINVAL, "unexpected end of input at byte 0"},
};

START_TEST(jsonv_respects_length)
{
    const struct jsonv *root;
    char err[128];
    int r;

    r = jsonv_parse(bound_cases[_i].text, bound_cases[_i].len, &root, err, sizeof(err));
    ck_assert_int_eq(r, bound_cases[_i].ret);
    if (r == 0) {
        struct jsonw w;
        jsonw_init(&w);
        dump(&w, root);
        ck_assert_str_eq(w.buf, bound_cases[_i].expect);
        jsonw_done(&w);
        jsonv_free(root);
    } else {
        ck_assert_str_eq(err, bound_cases[_i].expect);
    }
}
END_TEST

START_TEST(jsonv_accepts_missing_or_short_errbuf)
{
    const struct jsonv *root;
    char err[8];

    ck_assert_int_eq(jsonv_parse("[", 1, &root, NULL, 0), -EINVAL);
    memset(err, 'x', sizeof(err));
    ck_assert_int_eq(jsonv_parse("[", 1, &root, err, 1), -EINVAL);
    ck_assert_int_eq(err[0], '\0');
    ck_assert_int_eq(err[1], 'x');
    ck_assert_int_eq(jsonv_parse("[", 1, &root, err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "unexpec");
    ck_assert_int_eq(jsonv_parse(NULL, 0, &root, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_null(jsonv_free(NULL));
}
END_TEST

/* ---- lookups --------------------------------------------------------------- */

START_TEST(jsonv_looks_up_members)
{
    const char *text = "{\"s\":\"str\",\"i\":-7,\"d\":2.5,\"b\":false,\"n\":null,"
                       "\"a\":[1],\"o\":{\"s\":\"inner\"},\"big\":1e300,\"s\":\"second\"}";
    const struct jsonv *root;
    int64_t i = 99;
    double d = 99.0;
    bool b = true;

    ck_assert_int_eq(jsonv_parse(text, strlen(text), &root, NULL, 0), 0);
    ck_assert_uint_eq(root->u.obj.n, 9);

    /* Duplicate keys are all kept; lookups return the first. */
    ck_assert_str_eq(jsonv_get_str(root, "s"), "str");
    ck_assert_str_eq(root->u.obj.members[8].key, "s");
    ck_assert_str_eq(root->u.obj.members[8].value.u.str.s, "second");

    ck_assert(jsonv_get_int(root, "i", &i));
    ck_assert(i == -7);
    ck_assert(jsonv_get_int(root, "i", NULL));
    ck_assert(jsonv_get_double(root, "i", &d));
    ck_assert(d == -7.0);
    ck_assert(jsonv_get_double(root, "d", &d));
    ck_assert(d == 2.5);
    ck_assert(jsonv_get_bool(root, "b", &b));
    ck_assert(!b);
    ck_assert(jsonv_is(jsonv_get(root, "n"), JSONV_NULL));
    ck_assert(jsonv_is(jsonv_get(root, "a"), JSONV_ARRAY));
    ck_assert_str_eq(jsonv_get_str(jsonv_get(root, "o"), "s"), "inner");

    /* Mistyped, missing, or not an object: false/NULL, out-params untouched. */
    i = 99;
    d = 99.0;
    b = true;
    ck_assert(!jsonv_get_int(root, "d", &i));
    ck_assert(!jsonv_get_int(root, "big", &i));
    ck_assert(!jsonv_get_int(root, "s", &i));
    ck_assert(!jsonv_get_double(root, "s", &d));
    ck_assert(!jsonv_get_bool(root, "n", &b));
    ck_assert(!jsonv_get_bool(root, "missing", &b));
    ck_assert(i == 99 && d == 99.0 && b);
    ck_assert_ptr_null(jsonv_get_str(root, "i"));
    ck_assert_ptr_null(jsonv_get(root, "missing"));
    ck_assert_ptr_null(jsonv_get(root, NULL));
    ck_assert_ptr_null(jsonv_get(NULL, "s"));
    ck_assert_ptr_null(jsonv_get(jsonv_get(root, "a"), "s"));
    ck_assert_ptr_null(jsonv_get_str(NULL, "s"));
    ck_assert(!jsonv_get_int(NULL, "i", &i));
    ck_assert(!jsonv_is(NULL, JSONV_NULL));
    ck_assert_ptr_null(jsonv_free(root));
}
END_TEST

/* ---- round trips and size -------------------------------------------------- */

static void
write_sample(struct jsonw *w, int rows)
{
    jsonw_obj_begin(w);
    jsonw_kstr(w, "type", "sample");
    jsonw_kint(w, "pid", 1234);
    jsonw_kint(w, "seq", INT64_MAX);
    jsonw_kint(w, "min", INT64_MIN);
    jsonw_kdouble(w, "t", 3.52, -1);
    jsonw_kdouble(w, "tiny", 5e-324, -1);
    jsonw_kbool(w, "final", false);
    jsonw_knull(w, "maxsize");
    jsonw_kstr(w, "odd", "tab\there \"quoted\" back\\slash \x01 caf\xc3\xa9 \xf0\x9f\x98\x80");
    jsonw_key(w, "caches");
    jsonw_arr_begin(w);
    for (int i = 0; i < rows; i++) {
        char name[64];
        snprintf(name, sizeof(name), "Class%d.method_%d", i, i * 7);
        jsonw_obj_begin(w);
        jsonw_kstr(w, "qualname", name);
        jsonw_kstr(w, "module", "__main__");
        jsonw_kstr(w, "file", "/abs/path/to/some/module.py");
        jsonw_kint(w, "line", i);
        jsonw_kstr(w, "kind", "method");
        jsonw_knull(w, "maxsize");
        jsonw_kbool(w, "typed", i % 2 == 0);
        jsonw_kint(w, "entries", (int64_t)i * 1000);
        jsonw_kint(w, "retained_bytes", (int64_t)i * 1234567);
        jsonw_kdouble(w, "ratio", i / 7.0, -1);
        jsonw_key(w, "tags");
        jsonw_arr_begin(w);
        jsonw_str(w, "leak");
        jsonw_int(w, -i);
        jsonw_arr_end(w);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}

START_TEST(jsonv_roundtrips_writer_output)
{
    const struct jsonv *root, *caches, *row;
    struct jsonw w;
    char *out;
    int64_t i;
    double d;

    jsonw_init(&w);
    write_sample(&w, 3);
    ck_assert_int_eq(w.err, 0);
    out = parse_and_dump(w.buf, w.len);
    ck_assert_str_eq(out, w.buf);
    free(out);

    ck_assert_int_eq(jsonv_parse(w.buf, w.len, &root, NULL, 0), 0);
    ck_assert(jsonv_get_int(root, "seq", &i) && i == INT64_MAX);
    ck_assert(jsonv_get_int(root, "min", &i) && i == INT64_MIN);
    ck_assert(jsonv_get_double(root, "t", &d) && d == 3.52);
    ck_assert(jsonv_get_double(root, "tiny", &d) && d == 5e-324);
    ck_assert_str_eq(jsonv_get_str(root, "odd"),
                     "tab\there \"quoted\" back\\slash \x01 caf\xc3\xa9 \xf0\x9f\x98\x80");
    caches = jsonv_get(root, "caches");
    ck_assert(jsonv_is(caches, JSONV_ARRAY));
    ck_assert_uint_eq(caches->u.arr.n, 3);
    row = &caches->u.arr.items[2];
    ck_assert_str_eq(jsonv_get_str(row, "qualname"), "Class2.method_14");
    ck_assert(jsonv_get_double(row, "ratio", &d) && d == 2 / 7.0);
    jsonv_free(root);
    jsonw_done(&w);
}
END_TEST

/* What the writer repairs, the parser accepts: U+FFFD for invalid bytes. */
START_TEST(jsonv_roundtrips_repaired_utf8)
{
    const struct jsonv *root;
    struct jsonw w;

    jsonw_init(&w);
    jsonw_str(&w, "a\xff\xc3z\x1f");
    ck_assert_int_eq(jsonv_parse(w.buf, w.len, &root, NULL, 0), 0);
    ck_assert_str_eq(root->u.str.s, "a\xef\xbf\xbd\xef\xbf\xbdz\x1f");
    ck_assert_uint_eq(root->u.str.len, 9);
    jsonv_free(root);
    jsonw_done(&w);
}
END_TEST

/* A recording line of several megabytes, as the CLI reads them. */
START_TEST(jsonv_parses_large_lines)
{
    const struct jsonv *root, *caches;
    struct jsonw w;
    char *out;
    int64_t i;

    jsonw_init(&w);
    write_sample(&w, 20000);
    ck_assert_int_eq(w.err, 0);
    ck_assert_uint_gt(w.len, 4u << 20);
    ck_assert_int_eq(jsonv_parse(w.buf, w.len, &root, NULL, 0), 0);
    caches = jsonv_get(root, "caches");
    ck_assert_uint_eq(caches->u.arr.n, 20000);
    ck_assert(jsonv_get_int(&caches->u.arr.items[19999], "line", &i) && i == 19999);
    jsonv_free(root);
    out = parse_and_dump(w.buf, w.len);
    ck_assert_str_eq(out, w.buf);
    free(out);
    jsonw_done(&w);
}
END_TEST

/* An array larger than an arena block gets a block of its own; an escaped
 * string much longer than its decoded form gives its slack back. */
START_TEST(jsonv_parses_oversized_items)
{
    enum { N = 200000 };
    const struct jsonv *root;
    struct jsonw w;
    char *big;

    jsonw_init(&w);
    jsonw_arr_begin(&w);
    for (int k = 0; k < N; k++) {
        jsonw_int(&w, k % 10);
    }
    jsonw_arr_end(&w);
    ck_assert_int_eq(jsonv_parse(w.buf, w.len, &root, NULL, 0), 0);
    ck_assert_uint_eq(root->u.arr.n, N);
    ck_assert(root->u.arr.items[N - 1].u.num.i == (N - 1) % 10);
    jsonv_free(root);

    /* ["\u000a\u000a...", "x"]: six input bytes per decoded byte. */
    big = malloc(N + 1);
    ck_assert_ptr_nonnull(big);
    memset(big, '\n', N);
    big[N] = '\0';
    jsonw_clear(&w);
    jsonw_arr_begin(&w);
    jsonw_str(&w, big);
    jsonw_str(&w, "x");
    jsonw_arr_end(&w);
    ck_assert_int_eq(jsonv_parse(w.buf, w.len, &root, NULL, 0), 0);
    ck_assert_uint_eq(root->u.arr.items[0].u.str.len, N);
    ck_assert_str_eq(root->u.arr.items[0].u.str.s, big);
    ck_assert_str_eq(root->u.arr.items[1].u.str.s, "x");
    jsonv_free(root);
    free(big);
    jsonw_done(&w);
}
END_TEST

Suite *
jsonv_suite(void)
{
    Suite *s = suite_create("jsonv");
    TCase *tc;

    tc = tcase_create("grammar");
    tcase_add_loop_test(tc, jsonv_parses_valid, 0, sizeof(valid_cases) / sizeof(valid_cases[0]));
    tcase_add_loop_test(tc, jsonv_rejects_invalid, 0,
                        sizeof(invalid_cases) / sizeof(invalid_cases[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("numbers");
    tcase_add_loop_test(tc, jsonv_converts_numbers, 0,
                        sizeof(number_cases) / sizeof(number_cases[0]));
    tcase_add_test(tc, jsonv_keeps_negative_zero);
    tcase_add_test(tc, jsonv_converts_long_numbers);
    tcase_add_test(tc, jsonv_numbers_ignore_locale);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_add_test(tc, jsonv_limits_depth);
    tcase_add_loop_test(tc, jsonv_respects_length, 0, sizeof(bound_cases) / sizeof(bound_cases[0]));
    tcase_add_test(tc, jsonv_accepts_missing_or_short_errbuf);
    suite_add_tcase(s, tc);

    tc = tcase_create("lookups");
    tcase_add_test(tc, jsonv_looks_up_members);
    suite_add_tcase(s, tc);

    tc = tcase_create("roundtrip");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, jsonv_roundtrips_writer_output);
    tcase_add_test(tc, jsonv_roundtrips_repaired_utf8);
    tcase_add_test(tc, jsonv_parses_large_lines);
    tcase_add_test(tc, jsonv_parses_oversized_items);
    suite_add_tcase(s, tc);
    return s;
}
