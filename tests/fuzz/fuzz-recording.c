/* SPDX-License-Identifier: MIT */
/*
 * fuzz-recording: libFuzzer target for the recording reader behind
 * `lruleak report` (and the merge in `lruleak run`).
 *
 * The input is a recording file: report_read_file() loads it through a
 * memory stream into a model (with and without the series, as `report
 * --format json` and `report` do), then both renderers write it out.
 * Oracles: a load either succeeds or fails with a one-line "<name>:<line>:
 * reason" message; the JSON report is one valid JSON object on one line;
 * the text report carries no control characters but '\n', C1 included (a recording's
 * strings come from the analysed program and must not reach a terminal as
 * escape sequences). Anything else aborts. Single-threaded.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_json(const char *buf, size_t len)
{
    const struct jsonv *root = NULL;

    if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\n', len) != buf + len - 1 ||
        jsonv_parse(buf, len - 1, &root, NULL, 0) < 0 || !jsonv_is(root, JSONV_OBJECT)) {
        abort();
    }
    jsonv_free(root);
}

static void
check_text(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if ((c < 0x20 && c != '\n') || c == 0x7f) {
            abort();
        }
        /* C1 controls (U+0080-U+009F: CSI and friends) in UTF-8. */
        if (c == 0xc2 && i + 1 < len && (unsigned char)buf[i + 1] < 0xa0) {
            abort();
        }
    }
}

static void
load_and_render(const uint8_t *data, size_t size, unsigned flags)
{
    struct report *rep = report_new(flags);
    char err[512], *out = NULL;
    size_t outlen = 0;
    FILE *in, *f;
    int r;

    if (rep == NULL) {
        return;
    }
    in = fmemopen((void *)data, size, "r");
    if (in == NULL) {
        goto out;
    }
    err[0] = '\0';
    r = report_read_file(rep, in, "fuzz.jsonl", err, sizeof(err));
    fclose(in);
    if (r < 0) {
        /* One line, naming the file. */
        if (strncmp(err, "fuzz.jsonl", 10) != 0 || strchr(err, '\n') != NULL) {
            abort();
        }
        goto out;
    }
    f = open_memstream(&out, &outlen);
    if (f == NULL) {
        goto out;
    }
    r = report_write_json(rep, f);
    if (fclose(f) != 0 || r < 0) {
        goto out;
    }
    check_json(out, outlen);
    free(out);
    out = NULL;

    f = open_memstream(&out, &outlen);
    if (f == NULL) {
        goto out;
    }
    r = report_write_text(rep, f, &(struct report_text_opts){.verbose = true});
    if (fclose(f) != 0 || r < 0) {
        goto out;
    }
    check_text(out, outlen);
out:
    free(out);
    report_free(rep);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_and_render(data, size, 0);
    load_and_render(data, size, REPORT_NO_SERIES);
    return 0;
}
