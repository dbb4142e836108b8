/* SPDX-License-Identifier: MIT */
/*
 * metrics-expo: the Prometheus text format 0.0.4 and OpenMetrics 1.0
 * writer, and the Accept-header negotiation between them (see
 * metrics-expo.h for the contract).
 *
 * The two formats differ in few places, all handled here: the names in
 * the metadata lines of counters and info families, the escapes of HELP
 * text (text: \\ and \n; OpenMetrics: also \"), the UNIT line and the
 * final "# EOF". Specifications: https://prometheus.io/docs/instrumenting/
 * exposition_formats/ and https://github.com/OpenObservability/OpenMetrics/
 * blob/main/specification/OpenMetrics.md. Pure C; never logs.
 */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics-expo.h"
#include "utf8.h"

/* ---- buffer ------------------------------------------------------------ */

static void
put(struct metrics_expo *e, const char *s, size_t n)
{
    if (e->err != 0) {
        return;
    }
    if (e->len + n + 1 > e->cap) {
        size_t ncap = e->cap ? e->cap : 4096;
        char *b;

        while (ncap < e->len + n + 1) {
            ncap *= 2;
        }
        b = realloc(e->buf, ncap);
        if (b == NULL) {
            e->err = -ENOMEM;
            return;
        }
        e->buf = b;
        e->cap = ncap;
    }
    memcpy(e->buf + e->len, s, n);
    e->len += n;
    e->buf[e->len] = '\0';
}

static void
puts_(struct metrics_expo *e, const char *s)
{
    put(e, s, strlen(s));
}

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/*
 * s escaped for a label value (quote true) or a HELP text. Backslash and
 * newline are escaped in both, the double quote in label values and in
 * OpenMetrics HELP; other controls and invalid UTF-8 become U+FFFD.
 */
static void
put_escaped(struct metrics_expo *e, const char *s, bool quote)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];

        if (c == '\\') {
            puts_(e, "\\\\");
            i++;
        } else if (c == '\n') {
            puts_(e, "\\n");
            i++;
        } else if (c == '"' && quote) {
            puts_(e, "\\\"");
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            puts_(e, replacement);
            i++;
        } else if (c < 0x80) {
            put(e, (const char *)&p[i], 1);
            i++;
        } else {
            size_t k = utf8_sequence_len(p + i, n - i);

            /* C1 controls (U+0080-U+009F) are C2 80..C2 9F. */
            if (k == 0 || (k == 2 && c == 0xC2 && p[i + 1] < 0xA0)) {
                puts_(e, replacement);
                i += k == 0 ? 1 : k;
            } else {
                put(e, (const char *)&p[i], k);
                i += k;
            }
        }
    }
}

/* ---- names ------------------------------------------------------------- */

static bool
valid_name(const char *s, bool colon)
{
    if (s == NULL || s[0] == '\0' || isdigit((unsigned char)s[0])) {
        return false;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '_' || (colon && *p == ':')) ||
            (unsigned char)*p >= 0x80) {
            return false;
        }
    }
    return true;
}

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The sample name of the current family, into buf. */
static void
put_sample_name(struct metrics_expo *e)
{
    puts_(e, e->name);
    if (e->type == METRICS_COUNTER) {
        puts_(e, "_total");
    } else if (e->type == METRICS_INFO) {
        puts_(e, "_info");
    }
}

/* ---- writer ------------------------------------------------------------ */

void
metrics_expo_init(struct metrics_expo *e, enum metrics_format format)
{
    memset(e, 0, sizeof(*e));
    e->format = format;
}

void
metrics_expo_done(struct metrics_expo *e)
{
    free(e->buf);
    e->buf = NULL;
    e->len = e->cap = 0;
}

void
metrics_expo_family(struct metrics_expo *e, const char *name, enum metrics_type type,
                    const char *unit, const char *help)
{
    /* Programming errors: the names are constants of the caller. */
    assert(valid_name(name, true));
    assert(unit == NULL || (ends_with(name, unit) && strlen(name) > strlen(unit) &&
                            name[strlen(name) - strlen(unit) - 1] == '_'));
    assert(!ends_with(name, "_total") || type != METRICS_COUNTER);
    e->name = name;
    e->type = type;
    e->unit = unit;
    e->help = help;
    e->started = false;
}

static void
write_metadata(struct metrics_expo *e)
{
    static const char *const text_types[] = {"gauge", "counter", "gauge"};
    static const char *const om_types[] = {"gauge", "counter", "info"};

    if (e->format == METRICS_TEXT) {
        /* Text 0.0.4: the metadata names the samples (x_total, x_info). */
        puts_(e, "# HELP ");
        put_sample_name(e);
        puts_(e, " ");
        put_escaped(e, e->help, false);
        puts_(e, "\n# TYPE ");
        put_sample_name(e);
        puts_(e, " ");
        puts_(e, text_types[e->type]);
        puts_(e, "\n");
        return;
    }
    /* OpenMetrics: the metadata names the family. */
    puts_(e, "# TYPE ");
    puts_(e, e->name);
    puts_(e, " ");
    puts_(e, om_types[e->type]);
    puts_(e, "\n");
    if (e->unit != NULL) {
        puts_(e, "# UNIT ");
        puts_(e, e->name);
        puts_(e, " ");
        puts_(e, e->unit);
        puts_(e, "\n");
    }
    puts_(e, "# HELP ");
    puts_(e, e->name);
    puts_(e, " ");
    put_escaped(e, e->help, true);
    puts_(e, "\n");
}

void
metrics_expo_sample(struct metrics_expo *e, const struct metrics_label *labels, size_t n,
                    double value)
{
    char num[64];

    assert(e->name != NULL);
    if (!e->started) {
        write_metadata(e);
        e->started = true;
    }
    put_sample_name(e);
    if (n > 0) {
        puts_(e, "{");
        for (size_t i = 0; i < n; i++) {
            assert(valid_name(labels[i].name, false) && strncmp(labels[i].name, "__", 2) != 0);
            puts_(e, i > 0 ? "," : "");
            puts_(e, labels[i].name);
            puts_(e, "=\"");
            put_escaped(e, labels[i].value != NULL ? labels[i].value : "", true);
            puts_(e, "\"");
        }
        puts_(e, "}");
    }
    puts_(e, " ");
    puts_(e, metrics_format_value(value, num, sizeof(num)));
    puts_(e, "\n");
}

int
metrics_expo_finish(struct metrics_expo *e)
{
    if (e->format == METRICS_OPENMETRICS) {
        puts_(e, "# EOF\n");
    } else if (e->len == 0) {
        put(e, "", 0); /* an empty exposition is still a buffer */
    }
    return e->err;
}

char *
metrics_expo_take(struct metrics_expo *e, size_t *ret_len)
{
    char *b = e->err == 0 ? e->buf : NULL;

    if (b == NULL) {
        free(e->buf);
    } else {
        *ret_len = e->len;
    }
    e->buf = NULL;
    e->len = e->cap = 0;
    return b;
}

const char *
metrics_content_type(enum metrics_format format)
{
    return format == METRICS_OPENMETRICS
               ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
               : "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- numbers ----------------------------------------------------------- */

const char *
metrics_format_value(double value, char *buf, size_t size)
{
    if (isnan(value)) {
        snprintf(buf, size, "NaN");
    } else if (isinf(value)) {
        snprintf(buf, size, value > 0 ? "+Inf" : "-Inf");
    } else if (value == floor(value) && fabs(value) <= 9007199254740992.0) {
        snprintf(buf, size, "%.0f", value == 0 ? 0.0 : value); /* no "-0" */
    } else {
        snprintf(buf, size, "%.15g", value);
        if (strtod(buf, NULL) != value) {
            snprintf(buf, size, "%.17g", value);
        }
    }
    return buf;
}

/* ---- negotiation --------------------------------------------------------- */

/* s[0..n) with blanks trimmed on both sides. */
static void
trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) {
        (*n)--;
    }
}

static bool
token_is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* The q parameter among the parameters p[0..n) (";q=0.5;..."); 1 if none,
 * 0 if malformed. */
static double
quality(const char *p, size_t n)
{
    while (n > 0) {
        const char *semi = memchr(p, ';', n);
        size_t k = semi != NULL ? (size_t)(semi - p) : n;
        const char *s = p;
        size_t m = k;

        trim(&s, &m);
        if (m >= 2 && (s[0] == 'q' || s[0] == 'Q') && s[1] == '=') {
            char num[16];
            char *end;
            double q;

            if (m - 2 == 0 || m - 2 >= sizeof(num)) {
                return 0;
            }
            memcpy(num, s + 2, m - 2);
            num[m - 2] = '\0';
            q = strtod(num, &end);
            if (*end != '\0' || !(q >= 0 && q <= 1)) {
                return 0;
            }
            return q;
        }
        p += k;
        n -= k;
        if (n > 0) {
            p++;
            n--;
        }
    }
    return 1;
}

enum metrics_format
metrics_negotiate(const char *accept)
{
    double om = 0, text = 0;
    const char *p = accept;

    if (accept == NULL) {
        return METRICS_TEXT;
    }
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        const char *semi = memchr(p, ';', n);
        const char *type = p;
        size_t tn = semi != NULL ? (size_t)(semi - p) : n;
        double q = semi != NULL ? quality(semi + 1, n - tn - 1) : 1;

        trim(&type, &tn);
        if (token_is(type, tn, "application/openmetrics-text")) {
            om = q > om ? q : om;
        } else if (token_is(type, tn, "text/plain") || token_is(type, tn, "text/*") ||
                   token_is(type, tn, "*/*")) {
            text = q > text ? q : text;
        }
        p += n;
        if (*p == ',') {
            p++;
        }
    }
    return om > 0 && om >= text ? METRICS_OPENMETRICS : METRICS_TEXT;
}

double
metrics_scrape_budget(const char *header, double timeout)
{
    double limit, budget = timeout;
    char *end;

    if (header != NULL) {
        errno = 0;
        limit = strtod(header, &end);
        while (*end == ' ' || *end == '\t') {
            end++;
        }
        if (end != header && *end == '\0' && errno == 0 && limit > 0 && isfinite(limit) &&
            limit * 0.8 < budget) {
            budget = limit * 0.8;
        }
    }
    return budget < 0.01 ? 0.01 : budget;
}
