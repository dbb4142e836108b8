/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for metrics-expo (CLI): the Prometheus text format 0.0.4 and
 * OpenMetrics 1.0 writer (names of counters and info families in both
 * formats, escaping of label values and HELP text, UNIT, "# EOF"), number
 * spelling and the Accept-header negotiation, table-driven where it fits.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-helpers.h"
#include "metrics-expo.h"

/* The exposition of one gauge sample with one label value, in format. */
static char *
one_label(enum metrics_format format, const char *value)
{
    struct metrics_expo e;
    struct metrics_label l[] = {{"pid", "1"}, {"cache", value}};
    size_t len = 0;
    char *text;

    metrics_expo_init(&e, format);
    metrics_expo_family(&e, "x_objects", METRICS_GAUGE, NULL, "h");
    metrics_expo_sample(&e, l, 2, 3);
    ck_assert_int_eq(metrics_expo_finish(&e), 0);
    text = metrics_expo_take(&e, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strlen(text), len);
    metrics_expo_done(&e);
    return text;
}

/* clang-format off */
static const struct {
    const char *in;
    const char *out; /* between the quotes */
} label_cases[] = {
    {"plain", "plain"},
    {"", ""},
    {"back\\slash", "back\\\\slash"},
    {"a \"quoted\" name", "a \\\"quoted\\\" name"},
    {"new\nline", "new\\nline"},
    {"\\n is not a newline", "\\\\n is not a newline"},
    {"all \\ \" \n three", "all \\\\ \\\" \\n three"},
    {"tab\there", "tab\xef\xbf\xbdhere"},
    {"esc\x1b[31m", "esc\xef\xbf\xbd[31m"},
    {"cr\r", "cr\xef\xbf\xbd"},
    {"del\x7f", "del\xef\xbf\xbd"},
    {"csi\xc2\x9b" "31m", "csi\xef\xbf\xbd" "31m"},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"bad\xff\xfe", "bad\xef\xbf\xbd\xef\xbf\xbd"},
    {"cut\xe2\x82", "cut\xef\xbf\xbd\xef\xbf\xbd"},
    {"surrogate\xed\xa0\x80", "surrogate\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
};
/* clang-format on */

START_TEST(metrics_expo_escapes_label_values)
{
    for (int f = 0; f < 2; f++) {
        char *text = one_label(f == 0 ? METRICS_TEXT : METRICS_OPENMETRICS, label_cases[_i].in);
        char want[256];

        snprintf(want, sizeof(want), "x_objects{pid=\"1\",cache=\"%s\"} 3\n", label_cases[_i].out);
        ck_assert_contains(text, want);
        /* HELP, TYPE, the sample (and # EOF): an escaped newline never
         * breaks the sample's line. */
        int lines = 0;
        for (const char *p = text; *p != '\0'; p++) {
            lines += *p == '\n';
        }
        ck_assert_int_eq(lines, f == 0 ? 3 : 4);
        free(text);
    }
}
END_TEST

/* Both formats: families, counters, info, units, help escaping. */
static char *
sample_exposition(enum metrics_format format)
{
    struct metrics_expo e;
    struct metrics_label pid[] = {{"pid", "42"}};
    struct metrics_label info[] = {{"pid", "42"}, {"python", "3.11.2"}};
    size_t len;
    char *text;

    metrics_expo_init(&e, format);
    metrics_expo_family(&e, "t_up", METRICS_GAUGE, NULL, "a \\ back\nslash and \"quote\"");
    metrics_expo_sample(&e, pid, 1, 1);
    metrics_expo_family(&e, "t_empty", METRICS_GAUGE, NULL, "never sampled");
    metrics_expo_family(&e, "t_hits", METRICS_COUNTER, NULL, "hits");
    metrics_expo_sample(&e, pid, 1, 7);
    metrics_expo_family(&e, "t_agent", METRICS_INFO, NULL, "info");
    metrics_expo_sample(&e, info, 2, 1);
    metrics_expo_family(&e, "t_retained_bytes", METRICS_GAUGE, "bytes", "bytes");
    metrics_expo_sample(&e, pid, 1, 2152000);
    metrics_expo_family(&e, "t_cpu_seconds", METRICS_GAUGE, "seconds", "cpu");
    metrics_expo_sample(&e, NULL, 0, 0.0017);
    ck_assert_int_eq(metrics_expo_finish(&e), 0);
    text = metrics_expo_take(&e, &len);
    ck_assert_ptr_nonnull(text);
    metrics_expo_done(&e);
    return text;
}

START_TEST(metrics_expo_text_format)
{
    char *text = sample_exposition(METRICS_TEXT);
    const char *want = "# HELP t_up a \\\\ back\\nslash and \"quote\"\n"
                       "# TYPE t_up gauge\n"
                       "t_up{pid=\"42\"} 1\n"
                       "# HELP t_hits_total hits\n"
                       "# TYPE t_hits_total counter\n"
                       "t_hits_total{pid=\"42\"} 7\n"
                       "# HELP t_agent_info info\n"
                       "# TYPE t_agent_info gauge\n"
                       "t_agent_info{pid=\"42\",python=\"3.11.2\"} 1\n"
                       "# HELP t_retained_bytes bytes\n"
                       "# TYPE t_retained_bytes gauge\n"
                       "t_retained_bytes{pid=\"42\"} 2152000\n"
                       "# HELP t_cpu_seconds cpu\n"
                       "# TYPE t_cpu_seconds gauge\n"
                       "t_cpu_seconds 0.0017\n";

    if (strcmp(text, want) != 0) {
        ck_diag("%s", text);
        ck_abort_msg("text exposition differs (it is on stderr)");
    }
    ck_assert_ptr_null(strstr(text, "# EOF"));
    ck_assert_ptr_null(strstr(text, "# UNIT"));
    ck_assert_ptr_null(strstr(text, "t_empty"));
    free(text);
}
END_TEST

START_TEST(metrics_expo_openmetrics_format)
{
    char *text = sample_exposition(METRICS_OPENMETRICS);
    const char *want = "# TYPE t_up gauge\n"
                       "# HELP t_up a \\\\ back\\nslash and \\\"quote\\\"\n"
                       "t_up{pid=\"42\"} 1\n"
                       "# TYPE t_hits counter\n"
                       "# HELP t_hits hits\n"
                       "t_hits_total{pid=\"42\"} 7\n"
                       "# TYPE t_agent info\n"
                       "# HELP t_agent info\n"
                       "t_agent_info{pid=\"42\",python=\"3.11.2\"} 1\n"
                       "# TYPE t_retained_bytes gauge\n"
                       "# UNIT t_retained_bytes bytes\n"
                       "# HELP t_retained_bytes bytes\n"
                       "t_retained_bytes{pid=\"42\"} 2152000\n"
                       "# TYPE t_cpu_seconds gauge\n"
                       "# UNIT t_cpu_seconds seconds\n"
                       "# HELP t_cpu_seconds cpu\n"
                       "t_cpu_seconds 0.0017\n"
                       "# EOF\n";

    if (strcmp(text, want) != 0) {
        ck_diag("%s", text);
        ck_abort_msg("OpenMetrics exposition differs (it is on stderr)");
    }
    free(text);
}
END_TEST

START_TEST(metrics_expo_empty)
{
    struct metrics_expo e;
    size_t len = 99;
    char *text;

    metrics_expo_init(&e, METRICS_OPENMETRICS);
    metrics_expo_family(&e, "nothing", METRICS_COUNTER, NULL, "no samples");
    ck_assert_int_eq(metrics_expo_finish(&e), 0);
    text = metrics_expo_take(&e, &len);
    ck_assert_str_eq(text, "# EOF\n");
    ck_assert_uint_eq(len, 6);
    free(text);

    metrics_expo_init(&e, METRICS_TEXT);
    ck_assert_int_eq(metrics_expo_finish(&e), 0);
    text = metrics_expo_take(&e, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, "");
    ck_assert_uint_eq(len, 0);
    free(text);
    metrics_expo_done(&e);
}
END_TEST

START_TEST(metrics_expo_many_samples_grow)
{
    struct metrics_expo e;
    char value[32];
    struct metrics_label l[] = {{"cache", value}};
    size_t len;
    char *text;
    int lines = 0;

    metrics_expo_init(&e, METRICS_TEXT);
    metrics_expo_family(&e, "g", METRICS_GAUGE, NULL, "h");
    for (int i = 0; i < 5000; i++) {
        snprintf(value, sizeof(value), "c%d", i);
        metrics_expo_sample(&e, l, 1, i);
    }
    ck_assert_int_eq(metrics_expo_finish(&e), 0);
    text = metrics_expo_take(&e, &len);
    for (const char *p = text; *p != '\0'; p++) {
        lines += *p == '\n';
    }
    ck_assert_int_eq(lines, 5002);
    ck_assert_contains(text, "\ng{cache=\"c4999\"} 4999\n");
    free(text);
}
END_TEST

/* clang-format off */
static const struct {
    double in;
    const char *out;
} value_cases[] = {
    {0, "0"},
    {-0.0, "0"},
    {1, "1"},
    {-3, "-3"},
    {400, "400"},
    {2152000, "2152000"},
    {9007199254740992.0, "9007199254740992"},
    {0.5, "0.5"},
    {0.0017, "0.0017"},
    {0.1, "0.1"},
    {1e-3 * 1.7, "0.0017"},
    {1.0 / 3, "0.33333333333333331"},
    {1e300, "1e+300"},
    {1152921504606846976.0, "1.152921504606847e+18"},
};
/* clang-format on */

START_TEST(metrics_expo_values)
{
    char buf[64];

    metrics_format_value(value_cases[_i].in, buf, sizeof(buf));
    ck_assert_msg(strcmp(buf, value_cases[_i].out) == 0, "case %d: %s, expected %s", _i, buf,
                  value_cases[_i].out);
    ck_assert(strtod(buf, NULL) == value_cases[_i].in);
}
END_TEST

START_TEST(metrics_expo_special_values)
{
    char buf[64];

    ck_assert_str_eq(metrics_format_value(NAN, buf, sizeof(buf)), "NaN");
    ck_assert_str_eq(metrics_format_value(INFINITY, buf, sizeof(buf)), "+Inf");
    ck_assert_str_eq(metrics_format_value(-INFINITY, buf, sizeof(buf)), "-Inf");
}
END_TEST

/* clang-format off */
static const struct {
    const char *accept;
    enum metrics_format want;
} negotiate_cases[] = {
    {NULL, METRICS_TEXT},
    {"", METRICS_TEXT},
    {"*/*", METRICS_TEXT},
    {"text/plain", METRICS_TEXT},
    {"text/plain;version=0.0.4", METRICS_TEXT},
    {"application/openmetrics-text", METRICS_OPENMETRICS},
    {"application/openmetrics-text; version=1.0.0; charset=utf-8", METRICS_OPENMETRICS},
    /* What Prometheus 2.42 sends. */
    {"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
     "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", METRICS_OPENMETRICS},
    /* What Prometheus sends with OpenMetrics turned off. */
    {"text/plain;version=0.0.4;q=1,*/*;q=0.1", METRICS_TEXT},
    {"text/plain;q=0.9, application/openmetrics-text;q=0.5", METRICS_TEXT},
    {"text/plain;q=0.5, application/openmetrics-text;q=0.9", METRICS_OPENMETRICS},
    {"application/openmetrics-text;q=0", METRICS_TEXT},
    {"Application/OpenMetrics-Text", METRICS_OPENMETRICS},
    {"application/openmetrics-text;q=bogus", METRICS_TEXT},
    {"application/json", METRICS_TEXT},
    {",,;;==", METRICS_TEXT},
};
/* clang-format on */

START_TEST(metrics_expo_negotiates)
{
    ck_assert_msg(metrics_negotiate(negotiate_cases[_i].accept) == negotiate_cases[_i].want,
                  "case %d: '%s'", _i,
                  negotiate_cases[_i].accept ? negotiate_cases[_i].accept : "(null)");
}
END_TEST

START_TEST(metrics_expo_content_types)
{
    ck_assert_str_eq(metrics_content_type(METRICS_TEXT),
                     "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_str_eq(metrics_content_type(METRICS_OPENMETRICS),
                     "application/openmetrics-text; version=1.0.0; charset=utf-8");
}
END_TEST

/* clang-format off */
static const struct {
    const char *header;
    double timeout;
    double want;
} budget_cases[] = {
    {NULL, 2, 2},
    {"10", 2, 2},
    {"1", 2, 0.8},
    {"0.5", 2, 0.4},
    {"2.5", 2, 2},
    {"1 ", 2, 0.8},
    {"0", 2, 2},
    {"-1", 2, 2},
    {"abc", 2, 2},
    {"1s", 2, 2},
    {"", 2, 2},
    {"nan", 2, 2},
    {"inf", 2, 2},
    {"0.001", 2, 0.01},
    {NULL, 0.001, 0.01},
};
/* clang-format on */

START_TEST(metrics_expo_scrape_budget)
{
    double got = metrics_scrape_budget(budget_cases[_i].header, budget_cases[_i].timeout);

    ck_assert_msg(fabs(got - budget_cases[_i].want) < 1e-9, "case %d: %g, expected %g", _i, got,
                  budget_cases[_i].want);
}
END_TEST

Suite *
metrics_expo_suite(void)
{
    Suite *s = suite_create("metrics-expo");
    TCase *tc;

    tc = tcase_create("escaping");
    tcase_add_loop_test(tc, metrics_expo_escapes_label_values, 0,
                        sizeof(label_cases) / sizeof(label_cases[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("formats");
    tcase_add_test(tc, metrics_expo_text_format);
    tcase_add_test(tc, metrics_expo_openmetrics_format);
    tcase_add_test(tc, metrics_expo_empty);
    tcase_add_test(tc, metrics_expo_many_samples_grow);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_loop_test(tc, metrics_expo_values, 0, sizeof(value_cases) / sizeof(value_cases[0]));
    tcase_add_test(tc, metrics_expo_special_values);
    suite_add_tcase(s, tc);

    tc = tcase_create("negotiation");
    tcase_add_loop_test(tc, metrics_expo_negotiates, 0,
                        sizeof(negotiate_cases) / sizeof(negotiate_cases[0]));
    tcase_add_test(tc, metrics_expo_content_types);
    tcase_add_loop_test(tc, metrics_expo_scrape_budget, 0,
                        sizeof(budget_cases) / sizeof(budget_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}
