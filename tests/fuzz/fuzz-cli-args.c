/* SPDX-License-Identifier: MIT */
/*
 * fuzz-cli-args: libFuzzer target for the `lruleak` command line.
 *
 * The input is an argument vector: NUL-separated strings (at most
 * MAX_ARGS), after the program name. cli_parse_args() (cli/main.c, built
 * into this target with its main renamed) parses it without running the
 * verb; stdout and stderr are swapped for memory streams meanwhile.
 * Oracles: a usage error (status 2) prints exactly one line on stderr,
 * starting with "lruleak: ", and nothing on stdout; help and --version
 * (status 0, no verb) print on stdout and nothing on stderr; a verb gets
 * argv[0] = its name, positional arguments that are all in the input, and
 * prints nothing. Anything else aborts. Single-threaded (getopt).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_ARGS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
one_error_line(const char *s, size_t len)
{
    return len > 9 && strncmp(s, "lruleak: ", 9) == 0 && s[len - 1] == '\n' &&
           memchr(s, '\n', len) == s + len - 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy, *argv[MAX_ARGS + 2], *out = NULL, *err = NULL;
    size_t outlen = 0, errlen = 0;
    FILE *real_out = stdout, *real_err = stderr;
    struct cli_call call;
    int argc = 0;

    /* A NUL-terminated copy: the last argument ends at the input's end. */
    copy = malloc(size + 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    argv[argc++] = (char *)"lruleak";
    for (size_t i = 0; i <= size && argc <= MAX_ARGS;) {
        argv[argc++] = copy + i;
        i += strlen(copy + i) + 1;
    }
    argv[argc] = NULL;

    stdout = open_memstream(&out, &outlen);
    stderr = open_memstream(&err, &errlen);
    if (stdout == NULL || stderr == NULL) {
        abort();
    }
    cli_parse_args(argc, argv, &call);
    fclose(stdout);
    fclose(stderr);
    stdout = real_out;
    stderr = real_err;

    if (call.handler == NULL) {
        if (call.status == CLI_EXIT_USAGE) {
            if (!one_error_line(err, errlen) || outlen != 0) {
                abort();
            }
        } else if (call.status != CLI_EXIT_OK || outlen == 0 || errlen != 0) {
            abort();
        }
    } else {
        if (call.status != CLI_EXIT_OK || call.argc < 1 || call.argv == NULL ||
            call.argv[0] != argv[1] || call.argv[call.argc] != NULL || outlen != 0 || errlen != 0) {
            abort();
        }
        for (int i = 1; i < call.argc; i++) {
            bool found = false;
            for (int k = 2; k < argc; k++) {
                found = found || call.argv[i] == argv[k];
            }
            if (!found) {
                abort();
            }
        }
        free(call.argv);
    }
    free(out);
    free(err);
    free(copy);
    return 0;
}
