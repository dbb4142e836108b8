/* SPDX-License-Identifier: MIT */
/*
 * metrics-expo: a writer for the two Prometheus exposition formats, the
 * text format 0.0.4 and OpenMetrics 1.0, into a growing memory buffer; and
 * the content negotiation between them (the HTTP Accept header).
 *
 * The caller declares a family (its base name, type, unit and help), then
 * adds that family's samples; the writer spells the names each format wants
 * (a counter "x" is "# TYPE x_total counter" in text and "# TYPE x counter"
 * in OpenMetrics, its samples "x_total" in both; an info family "x" is a
 * gauge "x_info" in text, an OpenMetrics "info" family "x" with samples
 * "x_info"), escapes label values as the format requires and ends an
 * OpenMetrics exposition with "# EOF". A family's metadata is written with
 * its first sample, so a family without samples leaves no trace.
 *
 * Label values come from examined programs: backslash, double quote and
 * newline are escaped (\\ \" \n, the only escapes both formats know); the
 * other control characters (C0, DEL, C1) and bytes that are not UTF-8 are
 * replaced by U+FFFD, so an exposition is valid UTF-8 and cannot drive the
 * terminal it is printed on.
 *
 * Errors (out of memory) are sticky: the first one is kept and returned by
 * metrics_expo_finish(). Pure C, no I/O, never logs.
 * Thread context: one writer per thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum metrics_format {
    METRICS_TEXT,        /* text/plain; version=0.0.4 */
    METRICS_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
};

enum metrics_type {
    METRICS_GAUGE,
    METRICS_COUNTER, /* base name without _total; samples get _total */
    METRICS_INFO,    /* base name without _info; samples get _info, value 1 */
};

struct metrics_label {
    const char *name; /* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" */
    const char *value;
};

struct metrics_expo {
    enum metrics_format format;
    char *buf; /* NUL-terminated; owned */
    size_t len;
    size_t cap;
    int err; /* first error (-ENOMEM), or 0 */
    /* The current family; its metadata waits for its first sample. */
    const char *name;
    const char *unit;
    const char *help;
    enum metrics_type type;
    bool started;
};

/* Embedded life cycle. done frees the buffer (unless taken). */
void metrics_expo_init(struct metrics_expo *e, enum metrics_format format);
void metrics_expo_done(struct metrics_expo *e);

/*
 * Begin the family `name` (base name: no _total or _info suffix; it must
 * match [a-zA-Z_:][a-zA-Z0-9_:]*). unit may be NULL; when given, name must
 * end with "_<unit>" (OpenMetrics writes a UNIT line, text has none). help
 * is a constant sentence. The strings must outlive the family's samples.
 * Each family may be begun once per exposition.
 */
void metrics_expo_family(struct metrics_expo *e, const char *name, enum metrics_type type,
                         const char *unit, const char *help);

/* One sample of the current family, with n labels (in that order). */
void metrics_expo_sample(struct metrics_expo *e, const struct metrics_label *labels, size_t n,
                         double value);

/*
 * End the exposition ("# EOF" for OpenMetrics). Returns 0 or the first
 * error (-ENOMEM). The text is e->buf[0..e->len).
 */
int metrics_expo_finish(struct metrics_expo *e);

/*
 * Hand the buffer over (free() it); the writer is left empty. Returns NULL
 * when an error occurred.
 */
char *metrics_expo_take(struct metrics_expo *e, size_t *ret_len);

/* The Content-Type header value of a format. */
const char *metrics_content_type(enum metrics_format format);

/*
 * The format to answer a request whose Accept header is accept (NULL when
 * absent): OpenMetrics when the header accepts application/openmetrics-text
 * (any version: we send 1.0.0) with a quality above zero and at least that
 * of text/plain or the wildcards; else the text format, which is also the
 * answer to anything unparsable.
 */
enum metrics_format metrics_negotiate(const char *accept);

/*
 * The seconds a scrape may spend asking agents: timeout (--timeout), but
 * at most 80 % of what the scraper allows when it says so (Prometheus
 * sends X-Prometheus-Scrape-Timeout-Seconds, header NULL when absent), so
 * that a silent agent costs its lruleak_up, never the whole scrape. At
 * least 0.01 s; a header that is not a positive number is ignored.
 */
double metrics_scrape_budget(const char *header, double timeout);

/*
 * Write value as both formats spell numbers: integers up to 2^53 exactly
 * without exponent, others with the shortest of %.15g/%.17g that reads
 * back the same, "NaN", "+Inf", "-Inf". buf has at least 32 bytes.
 * Returns buf.
 */
const char *metrics_format_value(double value, char *buf, size_t size);
