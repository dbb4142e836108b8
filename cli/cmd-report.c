/* SPDX-License-Identifier: MIT */
/*
 * cmd-report: `lruleak report FILE [--format text|json] [--html OUT] [CI options] [--verbose]`.
 *
 * Renders a recording (the output of `lruleak run`, or any agent's
 * <pid>.jsonl) to stdout. The file is streamed into the report model one
 * line at a time, so recordings of hundreds of megabytes load in linear
 * time and bounded extra memory; "-" reads stdin. A corrupt line stops the
 * load with "lruleak: FILE:LINE: reason". The CI options (ci.c) gate a
 * stored recording and write its JUnit/SARIF files as `run` would.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "report.h"

int
cli_print_report(const struct report *rep, const struct report_text_opts *opts)
{
    int r = arg_format == CLI_FORMAT_JSON ? report_write_json(rep, stdout)
                                          : report_write_text(rep, stdout, opts);

    if (r < 0) {
        fprintf(stderr, "lruleak: writing the report: %s\n", strerror(-r));
    }
    return r;
}

int
cmd_report(int argc, char **argv)
{
    const char *path = argv[1];
    struct report_text_opts opts = {.verbose = arg_verbose};
    struct report *rep = NULL;
    FILE *f = NULL;
    char err[512];
    int r, ret = CLI_EXIT_FAILURE;

    (void)argc;
    if (strcmp(path, "-") == 0) {
        f = stdin;
        path = "(stdin)";
    } else {
        f = fopen(path, "re");
        if (f == NULL) {
            fprintf(stderr, "lruleak: %s: %s\n", path, strerror(errno));
            goto out;
        }
    }
    /* Only the text renderer reads first/last; the series is for JSON and
     * the HTML plots. */
    rep = report_new(arg_format == CLI_FORMAT_JSON || arg_html != NULL ? 0 : REPORT_NO_SERIES);
    if (rep == NULL) {
        fprintf(stderr, "lruleak: out of memory\n");
        goto out;
    }
    r = report_read_file(rep, f, path, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "lruleak: %s\n", err);
        goto out;
    }
    if (cli_attribute(rep) < 0 || cli_print_report(rep, &opts) < 0) {
        goto out;
    }
    ret = cli_ci_outputs(rep);
out:
    if (f != NULL && f != stdin) {
        fclose(f);
    }
    report_free(rep);
    return ret;
}
