/* SPDX-License-Identifier: MIT */
/*
 * cmd-detach: `lruleak detach PID` asks the agent to stop
 * ({"cmd":"detach"}); it leaves Python, removes its socket and its threads
 * end. The library stays mapped (code that may still run is never
 * unloaded); a later attach starts it again.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "protocol.h"
#include "client.h"
#include "jsonv.h"
#include "util.h"

/* The agent takes its final steps before it answers: a busy host is slow. */
#define DETACH_TIMEOUT_MS 30000

/* Send {"cmd":"detach"} and wait for the socket to go. */
int
cli_detach_agent(pid_t pid, char *err, size_t errlen)
{
    const struct jsonv *reply = NULL;
    struct client c;
    struct stat st;
    int r;

    client_init(&c);
    r = client_connect(&c, pid, CLIENT_TIMEOUT_MS, err, errlen);
    if (r == 0) {
        r = client_request(&c, protocol_request_line(PROTOCOL_DETACH, false), DETACH_TIMEOUT_MS,
                           &reply, err, errlen);
    }
    if (r == 0 && stat(c.path, &st) == 0) {
        snprintf(err, errlen, "the agent in pid %d said it detached, but %s is still there",
                 (int)pid, c.path);
        r = -EEXIST;
    }
    jsonv_free(reply);
    client_done(&c);
    return r;
}

int
cmd_detach(int argc, char **argv)
{
    char err[600];
    pid_t pid;
    int r;

    (void)argc;
    if (util_parse_pid(argv[1], &pid) < 0) {
        char shown[64];
        fprintf(stderr, "lruleak: detach: '%s' is not a pid\n",
                util_printable(argv[1], shown, sizeof(shown)));
        return CLI_EXIT_USAGE;
    }
    r = cli_detach_agent(pid, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "lruleak: %s\n", err);
        return client_exit_code(r);
    }
    printf("lruleak: detached from pid %d: sampling stopped, socket removed (the library stays "
           "loaded; lruleak attach %d starts it again)\n",
           (int)pid, (int)pid);
    return CLI_EXIT_OK;
}
