/* SPDX-License-Identifier: MIT */
/*
 * ci: what `run` and `report` do for CI systems once a recording is in the
 * model: the attribution rules from the options, the JUnit and SARIF files
 * (and the HTML page, which `run` and `report` write at the same point) and
 * the exit-code gate (see cli.h). Errors go to stderr, one line each.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gate.h"
#include "report.h"

static struct report_rules
rules_of_options(void)
{
    return (struct report_rules){
        .ignore = arg_ignore,
        .nignore = arg_nignore,
        .no_warmup = arg_no_warmup,
    };
}

int
cli_attribute(struct report *rep)
{
    struct report_rules rules = rules_of_options();
    int r = report_attribute(rep, &rules);

    if (r < 0) {
        fprintf(stderr, "lruleak: out of memory\n");
    }
    return r;
}

/* Write one output file through fn; say why on failure. */
static int
write_file(const char *path, const char *what, const struct report *rep,
           int (*fn)(const struct report *rep, FILE *f))
{
    FILE *f = fopen(path, "we");
    int r;

    if (f == NULL) {
        fprintf(stderr, "lruleak: %s file %s: %s\n", what, path, strerror(errno));
        return -errno;
    }
    r = fn(rep, f);
    if (fclose(f) != 0 && r == 0) {
        r = -errno;
    }
    if (r < 0) {
        fprintf(stderr, "lruleak: writing %s file %s: %s\n", what, path, strerror(-r));
    }
    return r;
}

static int
junit(const struct report *rep, FILE *f)
{
    struct report_rules rules = rules_of_options();
    struct gate_rules gate = {.fail_on = arg_fail_on, .max_pinned = arg_max_pinned};

    return report_write_junit(rep, &rules, gate_threshold(&gate), f);
}

static int
sarif(const struct report *rep, FILE *f)
{
    struct report_rules rules = rules_of_options();
    char cwd[PATH_MAX];

    return report_write_sarif(rep, &rules, getcwd(cwd, sizeof(cwd)) != NULL ? cwd : NULL, f);
}

int
cli_ci_outputs(const struct report *rep)
{
    struct report_rules rules = rules_of_options();
    struct gate_rules gate = {.fail_on = arg_fail_on, .max_pinned = arg_max_pinned};
    int ret = CLI_EXIT_OK, r;

    if (arg_junit != NULL && write_file(arg_junit, "JUnit", rep, junit) < 0) {
        ret = CLI_EXIT_FAILURE;
    }
    if (arg_sarif != NULL && write_file(arg_sarif, "SARIF", rep, sarif) < 0) {
        ret = CLI_EXIT_FAILURE;
    }
    if (arg_html != NULL && write_file(arg_html, "HTML", rep, report_write_html) < 0) {
        ret = CLI_EXIT_FAILURE;
    }
    r = gate_check(rep, &rules, &gate, stderr);
    if (r < 0) {
        fprintf(stderr, "lruleak: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    if (ret == CLI_EXIT_OK && r > 0) {
        ret = CLI_EXIT_GATE;
    }
    return ret;
}
