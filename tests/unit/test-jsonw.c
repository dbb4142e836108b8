/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for jsonw: structure and commas, string escaping and UTF-8
 * repair, number formatting (including under a comma-radix locale when one
 * is installed), the depth limit, sticky errors and buffer reuse.
 */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check-helpers.h"
#include "jsonw.h"

/* ---- structure ------------------------------------------------------------- */

static void
build_empty_object(struct jsonw *w)
{
    jsonw_obj_begin(w);
    jsonw_obj_end(w);
}

static void
build_empty_array(struct jsonw *w)
{
    jsonw_arr_begin(w);
    jsonw_arr_end(w);
}

static void
build_nested(struct jsonw *w)
{
    jsonw_obj_begin(w);
    jsonw_kint(w, "a", 1);
    jsonw_key(w, "b");
    jsonw_arr_begin(w);
    jsonw_int(w, 1);
    jsonw_obj_begin(w);
    jsonw_obj_end(w);
    jsonw_arr_begin(w);
    jsonw_arr_end(w);
    jsonw_str(w, "x");
    jsonw_arr_end(w);
    jsonw_kbool(w, "c", true);
    jsonw_kbool(w, "d", false);
    jsonw_knull(w, "e");
    jsonw_kstr(w, "f", NULL);
    jsonw_kdouble(w, "g", 0.5, 2);
    jsonw_obj_end(w);
}

static void
build_raw(struct jsonw *w)
{
    jsonw_arr_begin(w);
    jsonw_int(w, 1);
    jsonw_raw(w, "{\"x\":[]}", 8);
    jsonw_raw(w, "2", 1);
    jsonw_arr_end(w);
}

/* Two documents at depth 0 are lines, not list items: no comma. */
static void
build_lines(struct jsonw *w)
{
    jsonw_obj_begin(w);
    jsonw_kstr(w, "type", "process");
    jsonw_obj_end(w);
    jsonw_bytes(w, "\n", 1);
    jsonw_obj_begin(w);
    jsonw_kint(w, "seq", 1);
    jsonw_obj_end(w);
    jsonw_bytes(w, "\n", 1);
}

static void
build_scalars(struct jsonw *w)
{
    jsonw_arr_begin(w);
    jsonw_bool(w, true);
    jsonw_null(w);
    jsonw_strn(w, NULL, 3);
    jsonw_str(w, "");
    jsonw_arr_end(w);
}

static const struct {
    void (*build)(struct jsonw *w);
    const char *expect;
} structure_cases[] = {
    {build_empty_object, "{}"},
    {build_empty_array, "[]"},
    {build_nested, "{\"a\":1,\"b\":[1,{},[],\"x\"],\"c\":true,\"d\":false,\"e\":null,\"f\":null,"
                   "\"g\":0.50}"},
    {build_raw, "[1,{\"x\":[]},2]"},
    {build_lines, "{\"type\":\"process\"}\n{\"seq\":1}\n"},
    {build_scalars, "[true,null,null,\"\"]"},
};

START_TEST(jsonw_writes_structure)
{
    struct jsonw w;

    jsonw_init(&w);
    structure_cases[_i].build(&w);
    ck_assert_int_eq(w.err, 0);
    ck_assert_int_eq(w.depth, 0);
    ck_assert_str_eq(w.buf, structure_cases[_i].expect);
    ck_assert_uint_eq(w.len, strlen(structure_cases[_i].expect));
    jsonw_done(&w);
}
END_TEST

/* ---- strings --------------------------------------------------------------- */

static const struct {
    const char *in;
    size_t n; /* 0: strlen(in) */
    const char *expect;
} string_cases[] = {
    {"plain", 0, "\"plain\""},
    {"q\"b\\s/", 0, "\"q\\\"b\\\\s/\""},
    {"\n\t\r\b\f", 0, "\"\\u000a\\u0009\\u000d\\u0008\\u000c\""},
    {"\x01\x1f\x7f", 0, "\"\\u0001\\u001f\x7f\""},
    {"a\0b", 3, "\"a\\u0000b\""},
    /* Valid UTF-8 passes through untouched: 2, 3 and 4 byte forms. */
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0,
     "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
    {"\xf4\x8f\xbf\xbf", 0, "\"\xf4\x8f\xbf\xbf\""},
    /* Each invalid byte becomes one U+FFFD. */
    {"\x80", 0, "\"\\ufffd\""},
    {"a\xffz", 0, "\"a\\ufffdz\""},
    {"\xc0\x80", 0, "\"\\ufffd\\ufffd\""},
    {"\xed\xa0\x80", 0, "\"\\ufffd\\ufffd\\ufffd\""},
    {"\xe2\x82", 0, "\"\\ufffd\\ufffd\""},
    {"\xe2\x82z", 0, "\"\\ufffd\\ufffdz\""},
    {"\xf4\x90\x80\x80", 0, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
    {"\xf5\x80", 0, "\"\\ufffd\\ufffd\""},
    {"\xe0\x9f\xbf", 0, "\"\\ufffd\\ufffd\\ufffd\""},
    {"\xc3", 0, "\"\\ufffd\""},
    /* strn stops at n even inside a multibyte sequence. */
    {"\xc3\xa9", 1, "\"\\ufffd\""},
};

START_TEST(jsonw_escapes_strings)
{
    struct jsonw w;
    const char *in = string_cases[_i].in;
    size_t n = string_cases[_i].n != 0 ? string_cases[_i].n : strlen(in);

    jsonw_init(&w);
    jsonw_strn(&w, in, n);
    ck_assert_int_eq(w.err, 0);
    ck_assert_str_eq(w.buf, string_cases[_i].expect);
    jsonw_done(&w);
}
END_TEST

START_TEST(jsonw_escapes_keys)
{
    struct jsonw w;

    jsonw_init(&w);
    jsonw_obj_begin(&w);
    jsonw_kint(&w, "k\"\n\xff", 1);
    jsonw_obj_end(&w);
    ck_assert_int_eq(w.err, 0);
    ck_assert_str_eq(w.buf, "{\"k\\\"\\u000a\\ufffd\":1}");
    jsonw_done(&w);
}
END_TEST

/* ---- numbers --------------------------------------------------------------- */

static const struct {
    int64_t v;
    const char *expect;
} int_cases[] = {
    {0, "0"},
    {7, "7"},
    {-1, "-1"},
    {1234567890123, "1234567890123"},
    {INT64_MAX, "9223372036854775807"},
    {INT64_MIN, "-9223372036854775808"},
};

START_TEST(jsonw_formats_ints)
{
    struct jsonw w;

    jsonw_init(&w);
    jsonw_int(&w, int_cases[_i].v);
    ck_assert_str_eq(w.buf, int_cases[_i].expect);
    jsonw_done(&w);
}
END_TEST

static const struct {
    double v;
    int decimals;
    const char *expect;
} double_cases[] = {
    {1.5, 1, "1.5"},
    {3.14159, 2, "3.14"},
    {2.0, 3, "2.000"},
    {2.7, 0, "3"},
    {-0.25, 2, "-0.25"},
    {1e-9, 3, "0.000"},
    {0.1, -1, "0.10000000000000001"},
    {1e300, -1, "1.0000000000000001e+300"},
    {-2.5e-300, -1, "-2.5e-300"},
    {100.0, -1, "100"},
    {NAN, 2, "null"},
    {INFINITY, -1, "null"},
    {-INFINITY, 3, "null"},
};

START_TEST(jsonw_formats_doubles)
{
    struct jsonw w;

    jsonw_init(&w);
    jsonw_double(&w, double_cases[_i].v, double_cases[_i].decimals);
    ck_assert_int_eq(w.err, 0);
    ck_assert_str_eq(w.buf, double_cases[_i].expect);
    jsonw_done(&w);
}
END_TEST

/* A value far wider than the initial buffer takes the second format pass. */
START_TEST(jsonw_formats_wide_doubles)
{
    struct jsonw w;

    jsonw_init(&w);
    jsonw_arr_begin(&w);
    jsonw_double(&w, 1e300, 400);
    jsonw_arr_end(&w);
    ck_assert_int_eq(w.err, 0);
    ck_assert_uint_eq(w.len, 1 + 301 + 1 + 400 + 1);
    ck_assert(strncmp(w.buf, "[1000000000000000052504760255204420248704468581108159154915854115",
                      65) == 0);
    ck_assert_int_eq(w.buf[1 + 301], '.');
    ck_assert_int_eq(w.buf[w.len - 1], ']');
    jsonw_done(&w);
}
END_TEST

/* The host may switch LC_NUMERIC to a comma locale; JSON must not follow. */
START_TEST(jsonw_double_ignores_locale)
{
    static const char *const locales[] = {"de_DE.UTF-8", "de_DE.utf8",  "fr_FR.UTF-8",
                                          "fr_FR.utf8",  "ps_AF.UTF-8", "ps_AF.utf8"};
    const char *found = NULL;
    struct jsonw w;

    for (size_t i = 0; i < sizeof(locales) / sizeof(locales[0]) && found == NULL; i++) {
        found = setlocale(LC_NUMERIC, locales[i]);
    }
    if (found == NULL) {
        ck_diag("# no comma-radix locale installed; checking the C locale only\n");
    }
    jsonw_init(&w);
    jsonw_arr_begin(&w);
    jsonw_double(&w, 1.5, 2);
    jsonw_double(&w, -0.125, -1);
    jsonw_double(&w, 1e22, 1);
    jsonw_arr_end(&w);
    ck_assert_str_eq(w.buf, "[1.50,-0.125,10000000000000000000000.0]");
    jsonw_done(&w);
    setlocale(LC_NUMERIC, "C");
}
END_TEST

/* ---- limits, errors and buffer life cycle ---------------------------------- */

START_TEST(jsonw_limits_depth)
{
    struct jsonw w;

    jsonw_init(&w);
    for (int i = 0; i < JSONW_MAX_DEPTH; i++) {
        jsonw_arr_begin(&w);
    }
    ck_assert_int_eq(w.err, 0);
    jsonw_obj_begin(&w);
    ck_assert_int_eq(w.err, -E2BIG);
    /* Sticky: nothing more is written, even the closing brackets. */
    size_t len = w.len;
    for (int i = 0; i < JSONW_MAX_DEPTH; i++) {
        jsonw_arr_end(&w);
    }
    ck_assert_int_eq(w.err, -E2BIG);
    ck_assert_uint_eq(w.len, len);
    ck_assert_uint_eq(len, JSONW_MAX_DEPTH);
    jsonw_done(&w);

    jsonw_init(&w);
    for (int i = 0; i < JSONW_MAX_DEPTH; i++) {
        jsonw_arr_begin(&w);
    }
    for (int i = 0; i < JSONW_MAX_DEPTH; i++) {
        jsonw_arr_end(&w);
    }
    ck_assert_int_eq(w.err, 0);
    ck_assert_uint_eq(w.len, 2 * JSONW_MAX_DEPTH);
    jsonw_done(&w);
}
END_TEST

static void
misuse_end_at_top(struct jsonw *w)
{
    jsonw_obj_end(w);
}

static void
misuse_key_at_top(struct jsonw *w)
{
    jsonw_key(w, "k");
}

static void
misuse_key_twice(struct jsonw *w)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "a");
    jsonw_key(w, "b");
}

static void
misuse_end_after_key(struct jsonw *w)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "a");
    jsonw_obj_end(w);
}

static void (*const misuse_cases[])(struct jsonw *w) = {
    misuse_end_at_top,
    misuse_key_at_top,
    misuse_key_twice,
    misuse_end_after_key,
};

START_TEST(jsonw_rejects_misuse)
{
    struct jsonw w;

    jsonw_init(&w);
    misuse_cases[_i](&w);
    ck_assert_int_eq(w.err, -EINVAL);
    jsonw_done(&w);
}
END_TEST

START_TEST(jsonw_error_is_sticky)
{
    struct jsonw w;

    jsonw_init(&w);
    jsonw_obj_begin(&w);
    w.err = -ENOMEM; /* as if realloc had failed */
    size_t len = w.len;
    jsonw_kstr(&w, "a", "b");
    jsonw_kint(&w, "b", 1);
    jsonw_kdouble(&w, "c", 1.0, 1);
    jsonw_raw(&w, "1", 1);
    jsonw_bytes(&w, "\n", 1);
    jsonw_obj_end(&w);
    ck_assert_int_eq(w.err, -ENOMEM);
    ck_assert_uint_eq(w.len, len);
    ck_assert_str_eq(w.buf, "{");
    jsonw_done(&w);
    ck_assert_ptr_null(w.buf);
    ck_assert_int_eq(w.err, 0);
}
END_TEST

START_TEST(jsonw_clear_keeps_buffer)
{
    struct jsonw w;

    jsonw_init(&w);
    ck_assert_ptr_null(w.buf);
    jsonw_clear(&w); /* on a fresh writer: a no-op */
    jsonw_arr_begin(&w);
    jsonw_int(&w, 1);
    char *buf = w.buf;
    size_t cap = w.cap;
    w.err = -ENOMEM;
    jsonw_clear(&w);
    ck_assert_ptr_eq(w.buf, buf);
    ck_assert_uint_eq(w.cap, cap);
    ck_assert_uint_eq(w.len, 0);
    ck_assert_int_eq(w.err, 0);
    ck_assert_uint_eq(w.depth, 0);
    ck_assert_str_eq(w.buf, "");
    jsonw_arr_begin(&w);
    jsonw_int(&w, 2);
    jsonw_arr_end(&w);
    ck_assert_str_eq(w.buf, "[2]");
    jsonw_done(&w);
}
END_TEST

/* Many values: growth is amortised and the content stays exact. */
START_TEST(jsonw_grows_buffer)
{
    enum { N = 100000 };
    struct jsonw w;
    size_t expect = 2, reallocs = 0;
    char *last = NULL;

    jsonw_init(&w);
    jsonw_arr_begin(&w);
    for (int i = 0; i < N; i++) {
        jsonw_int(&w, i);
        if (w.buf != last) {
            reallocs++;
            last = w.buf;
        }
        expect += (size_t)snprintf(NULL, 0, "%d", i) + (i > 0);
    }
    jsonw_arr_end(&w);
    ck_assert_int_eq(w.err, 0);
    ck_assert_uint_eq(w.len, expect);
    ck_assert_uint_eq(strlen(w.buf), expect);
    ck_assert(strncmp(w.buf, "[0,1,2,", 7) == 0);
    ck_assert(strcmp(w.buf + w.len - 7, ",99999]") == 0);
    ck_assert_uint_lt(reallocs, 20);
    jsonw_done(&w);
}
END_TEST

Suite *
jsonw_suite(void)
{
    Suite *s = suite_create("jsonw");
    TCase *tc;

    tc = tcase_create("structure");
    tcase_add_loop_test(tc, jsonw_writes_structure, 0,
                        sizeof(structure_cases) / sizeof(structure_cases[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("strings");
    tcase_add_loop_test(tc, jsonw_escapes_strings, 0,
                        sizeof(string_cases) / sizeof(string_cases[0]));
    tcase_add_test(tc, jsonw_escapes_keys);
    suite_add_tcase(s, tc);

    tc = tcase_create("numbers");
    tcase_add_loop_test(tc, jsonw_formats_ints, 0, sizeof(int_cases) / sizeof(int_cases[0]));
    tcase_add_loop_test(tc, jsonw_formats_doubles, 0,
                        sizeof(double_cases) / sizeof(double_cases[0]));
    tcase_add_test(tc, jsonw_formats_wide_doubles);
    tcase_add_test(tc, jsonw_double_ignores_locale);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, jsonw_limits_depth);
    tcase_add_loop_test(tc, jsonw_rejects_misuse, 0,
                        sizeof(misuse_cases) / sizeof(misuse_cases[0]));
    tcase_add_test(tc, jsonw_error_is_sticky);
    suite_add_tcase(s, tc);

    tc = tcase_create("buffer");
    tcase_add_test(tc, jsonw_clear_keeps_buffer);
    tcase_add_test(tc, jsonw_grows_buffer);
    suite_add_tcase(s, tc);
    return s;
}
