/* SPDX-License-Identifier: MIT */
/*
 * cmd-snapshot: `lruleak snapshot PID [--format text|json] [--quick]`.
 *
 * Asks the agent in PID who it is ({"cmd":"hello"}) and for a fresh sample
 * ({"cmd":"snapshot"}, with "full":false for --quick) on one connection,
 * feeds both into a report model and renders it to stdout, in the same
 * formats as `lruleak report`. Errors name the cause (see client.h) and
 * exit 3 when nobody answers for that pid.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "protocol.h"
#include "client.h"
#include "report.h"
#include "util.h"

int
cmd_snapshot(int argc, char **argv)
{
    struct report_text_opts opts = {.verbose = arg_verbose, .no_growth = true};
    const struct jsonv *hello = NULL, *reply = NULL;
    struct report *rep = NULL;
    struct client c;
    char err[512];
    pid_t pid;
    int r, ret = CLI_EXIT_FAILURE;

    (void)argc;
    client_init(&c);
    if (util_parse_pid(argv[1], &pid) < 0) {
        char shown[128];

        fprintf(stderr, "lruleak: snapshot: '%s' is not a pid\n",
                util_printable(argv[1], shown, sizeof(shown)));
        ret = CLI_EXIT_USAGE;
        goto out;
    }
    rep = report_new(0);
    if (rep == NULL) {
        fprintf(stderr, "lruleak: out of memory\n");
        goto out;
    }
    r = client_connect(&c, pid, CLIENT_TIMEOUT_MS, err, sizeof(err));
    if (r == 0) {
        r = client_request(&c, protocol_request_line(PROTOCOL_HELLO, false), CLIENT_TIMEOUT_MS,
                           &hello, err, sizeof(err));
    }
    if (r == 0) {
        /* A plain snapshot is complete (full-heap discovery); --quick asks
         * for the cheap one. Allow the time a full walk can take. */
        r = client_request(&c, protocol_request_line(PROTOCOL_SNAPSHOT, !arg_quick || arg_full),
                           CLIENT_FULL_TIMEOUT_MS, &reply, err, sizeof(err));
    }
    if (r < 0) {
        fprintf(stderr, "lruleak: %s\n", err);
        ret = client_exit_code(r);
        goto out;
    }
    r = report_add_hello(rep, hello, err, sizeof(err));
    if (r == 0) {
        r = report_add_sample(rep, protocol_reply_sample(reply), err, sizeof(err));
    }
    if (r < 0) {
        fprintf(stderr, "lruleak: the agent in pid %d sent a bad reply: %s\n", (int)pid, err);
        goto out;
    }
    if (cli_print_report(rep, &opts) < 0) {
        goto out;
    }
    ret = CLI_EXIT_OK;
out:
    jsonv_free(hello);
    jsonv_free(reply);
    client_done(&c);
    report_free(rep);
    return ret;
}
