/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for svgplot (CLI): HTML escaping (table-driven), min/max
 * downsampling (a spike survives, first and last stay, order is kept, the
 * count is bounded), tick steps and labels, and a whole plot: its points
 * carry the plotted values, its legend is escaped.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-helpers.h"
#include "markup.h"
#include "svgplot.h"

/* The output of fn(f) as a malloc'ed string. */
static char *
capture(void (*fn)(FILE *f, const void *arg), const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    fn(f, arg);
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

static void
put_html(FILE *f, const void *arg)
{
    markup_put(f, arg);
}

/* clang-format off */
static const struct {
    const char *in, *out;
} html_cases[] = {
    {"plain", "plain"},
    {"", ""},
    {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
    {"\"><img src=x onerror=\"x\">", "&quot;&gt;&lt;img src=x onerror=&quot;x&quot;&gt;"},
    {"a & b's", "a &amp; b&#39;s"},
    {"tab\there\n", "tab\\x09here\\x0a"},
    {"esc\x1b[31m del\x7f", "esc\\x1b[31m del\\x7f"},
    {"caf\xc3\xa9", "caf\xc3\xa9"},
};
/* clang-format on */

START_TEST(svgplot_escapes_html)
{
    char *out = capture(put_html, html_cases[_i].in);

    ck_assert_str_eq(out, html_cases[_i].out);
    free(out);
}
END_TEST

START_TEST(svgplot_escapes_null_as_nothing)
{
    char *out = capture(put_html, NULL);

    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(svgplot_downsample_keeps_short_series)
{
    double t[5] = {0, 1, 2, 3, 4}, v[5] = {5, 4, 3, 2, 1};
    size_t idx[2 * 3 + 2];
    size_t n = svgplot_downsample(t, v, 5, 3, idx);

    ck_assert_uint_eq(n, 5);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(idx[i], i);
    }
}
END_TEST

START_TEST(svgplot_downsample_keeps_spikes)
{
    enum { N = 86400, B = 300 };
    double *t = malloc(N * sizeof(double)), *v = malloc(N * sizeof(double));
    size_t *idx = malloc((2 * B + 2) * sizeof(size_t));
    size_t n, spike = 0, dip = 0;

    for (size_t i = 0; i < N; i++) {
        t[i] = (double)i;
        v[i] = 1000 + (double)(i % 7);
    }
    v[12345] = 99999; /* one sample high */
    v[54321] = 0;     /* one sample low */
    n = svgplot_downsample(t, v, N, B, idx);
    ck_assert_uint_le(n, 2 * B + 2);
    ck_assert_uint_ge(n, B);
    ck_assert_uint_eq(idx[0], 0);
    ck_assert_uint_eq(idx[n - 1], N - 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            ck_assert_uint_gt(idx[i], idx[i - 1]); /* time order, no duplicates */
        }
        spike += idx[i] == 12345;
        dip += idx[i] == 54321;
    }
    ck_assert_uint_eq(spike, 1);
    ck_assert_uint_eq(dip, 1);
    free(t);
    free(v);
    free(idx);
}
END_TEST

START_TEST(svgplot_downsample_same_time)
{
    double t[100], v[100];
    size_t idx[2 * 10 + 2];
    size_t n;

    for (size_t i = 0; i < 100; i++) {
        t[i] = 7;
        v[i] = i == 50 ? 1000 : 1;
    }
    n = svgplot_downsample(t, v, 100, 10, idx);
    ck_assert_uint_le(n, 22);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        found |= idx[i] == 50;
    }
    ck_assert(found);
}
END_TEST

START_TEST(svgplot_tick_steps)
{
    ck_assert_double_eq(svgplot_tick_step(0, 100, 5, false), 20);
    ck_assert_double_eq(svgplot_tick_step(0, 7, 5, false), 2);
    ck_assert_double_eq(svgplot_tick_step(0, 1, 5, false), 0.2);
    ck_assert_double_eq(svgplot_tick_step(0, 0, 5, false), 0.2); /* empty span: 1 */
    ck_assert_double_eq(svgplot_tick_step(0, 5 * 1048576.0, 5, true), 1048576);
    ck_assert_double_eq(svgplot_tick_step(0, 500, 5, true), 100); /* below 1 KiB: decimal */
}
END_TEST

START_TEST(svgplot_formats_labels)
{
    char buf[32];

    svgplot_format(1500, SVGPLOT_COUNT, buf, sizeof(buf));
    ck_assert_str_eq(buf, "1500");
    svgplot_format(25000, SVGPLOT_COUNT, buf, sizeof(buf));
    ck_assert_str_eq(buf, "25k");
    svgplot_format(3e6, SVGPLOT_COUNT, buf, sizeof(buf));
    ck_assert_str_eq(buf, "3M");
    svgplot_format(524288, SVGPLOT_BYTES, buf, sizeof(buf));
    ck_assert_str_eq(buf, "512 KiB");
    svgplot_format(512, SVGPLOT_BYTES, buf, sizeof(buf));
    ck_assert_str_eq(buf, "512 B");
    svgplot_format(90, SVGPLOT_SECONDS, buf, sizeof(buf));
    ck_assert_str_eq(buf, "90 s");
    svgplot_format(600, SVGPLOT_SECONDS, buf, sizeof(buf));
    ck_assert_str_eq(buf, "10 min");
    svgplot_format(86400, SVGPLOT_SECONDS, buf, sizeof(buf));
    ck_assert_str_eq(buf, "24 h");
}
END_TEST

struct two_series {
    struct svgplot plot;
    struct svgplot_series s[2];
};

static void
write_plot(FILE *f, const void *arg)
{
    const struct two_series *p = arg;

    ck_assert_int_eq(svgplot_write(f, &p->plot, p->s, 2), 0);
}

START_TEST(svgplot_writes_points_and_escaped_legend)
{
    double t[3] = {1.5, 2.5, 3.5}, a[3] = {10, 20, 30}, b[3] = {0, 5, 0};
    struct two_series p = {
        .plot = {.title = "t<1>", .y_title = "pinned", .y_unit = SVGPLOT_COUNT},
        .s = {{.label = "<script>x</script>", .t = t, .v = a, .n = 3, .name = "one"},
              {.label = "b&c", .t = t, .v = b, .n = 3, .name = "two"}},
    };
    char *out = capture(write_plot, &p);

    ck_assert_contains(out, "<svg ");
    ck_assert_contains(out, "data-t=\"1.500 2.500 3.500\" data-v=\"10 20 30\"");
    ck_assert_contains(out, "data-v=\"0 5 0\"");
    ck_assert_contains(out, "&lt;script&gt;x&lt;/script&gt;");
    ck_assert_contains(out, "b&amp;c");
    ck_assert_contains(out, "t&lt;1&gt;");
    ck_assert_contains(out, "<circle");
    ck_assert_ptr_null(strstr(out, "<script"));
    ck_assert_contains(out, "</svg>");
    free(out);
}
END_TEST

Suite *
svgplot_suite(void)
{
    Suite *s = suite_create("svgplot");
    TCase *tc = tcase_create("escape");

    tcase_add_loop_test(tc, svgplot_escapes_html, 0, sizeof(html_cases) / sizeof(html_cases[0]));
    tcase_add_test(tc, svgplot_escapes_null_as_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("downsample");
    tcase_add_test(tc, svgplot_downsample_keeps_short_series);
    tcase_add_test(tc, svgplot_downsample_keeps_spikes);
    tcase_add_test(tc, svgplot_downsample_same_time);
    suite_add_tcase(s, tc);
    tc = tcase_create("plot");
    tcase_add_test(tc, svgplot_tick_steps);
    tcase_add_test(tc, svgplot_formats_labels);
    tcase_add_test(tc, svgplot_writes_points_and_escaped_legend);
    suite_add_tcase(s, tc);
    return s;
}
