/* SPDX-License-Identifier: MIT */
/*
 * cmd-list: `lruleak list`, the running agents of this user.
 *
 * Walks the socket directory, says hello to every <pid>.sock and prints one
 * row per agent that answers (pid, python version, state, samples, command
 * line), sorted by pid. Sockets whose process is gone are removed (an agent
 * killed by SIGKILL cannot clean up after itself); sockets that exist but do
 * not answer are skipped, since their process may just be busy. Each hello
 * has a short deadline so a wedged agent cannot stall the listing.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "protocol.h"
#include "client.h"
#include "util.h"
#include "sockpath.h"

/* Per-agent deadline: the listing must stay quick with many agents. */
#define LIST_TIMEOUT_MS 2000

struct row {
    pid_t pid;
    const struct jsonv *hello;
};

static int
cmp_rows(const void *a, const void *b)
{
    const struct row *x = a, *y = b;

    return (x->pid > y->pid) - (x->pid < y->pid);
}

static void
print_row(const struct row *row)
{
    struct protocol_hello h;

    if (protocol_read_hello(row->hello, &h) < 0) {
        h = (struct protocol_hello){.state = "?"};
    }
    printf("%-8d %-8s %-9s %7lld  ", (int)row->pid, h.python != NULL ? h.python : "?", h.state,
           (long long)h.samples);
    if (h.argv != NULL && h.argv->u.arr.n > 0) {
        for (size_t i = 0; i < h.argv->u.arr.n; i++) {
            const struct jsonv *a = &h.argv->u.arr.items[i];

            fputs(i > 0 ? " " : "", stdout);
            util_put_printable(stdout, jsonv_is(a, JSONV_STRING) ? a->u.str.s : "?");
        }
    } else {
        fputs("?", stdout);
    }
    putchar('\n');
    if (h.reason != NULL) {
        fputs("         refused: ", stdout);
        util_put_printable(stdout, h.reason);
        putchar('\n');
    }
}

int
cmd_list(int argc, char **argv)
{
    struct row *rows = NULL;
    size_t nrows = 0, cap = 0;
    struct dirent *de;
    char dir[SOCKPATH_MAX], err[512];
    DIR *d = NULL;
    int ret = CLI_EXIT_FAILURE;

    (void)argc;
    (void)argv;
    if (sockpath_dir(dir, sizeof(dir)) < 0) {
        fprintf(stderr, "lruleak: the socket directory path is too long (check LRULEAK_DIR)\n");
        goto out;
    }
    d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT) {
            fprintf(stderr, "lruleak: no running agents (no %s)\n", dir);
            ret = CLI_EXIT_OK;
        } else if (errno == EACCES) {
            fprintf(stderr, "lruleak: permission denied on %s\n", dir);
        } else {
            fprintf(stderr, "lruleak: %s: %s\n", dir, strerror(errno));
        }
        goto out;
    }
    while ((errno = 0, de = readdir(d)) != NULL) {
        pid_t pid = sockpath_parse_name(de->d_name);
        struct client c;
        const struct jsonv *hello = NULL;
        int r;

        if (pid <= 0) {
            continue;
        }
        if (kill(pid, 0) < 0 && errno == ESRCH) {
            char path[SOCKPATH_MAX];

            /* Stale: the agent died without unlinking. Best effort. */
            if (sockpath_for_pid(pid, path, sizeof(path)) == 0) {
                (void)unlink(path);
            }
            continue;
        }
        client_init(&c);
        r = client_connect(&c, pid, LIST_TIMEOUT_MS, err, sizeof(err));
        if (r == 0) {
            r = client_request(&c, protocol_request_line(PROTOCOL_HELLO, false), LIST_TIMEOUT_MS,
                               &hello, err, sizeof(err));
        }
        client_done(&c);
        if (r < 0) {
            continue;
        }
        if (nrows == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct row *v = realloc(rows, ncap * sizeof(*v));

            if (v == NULL) {
                jsonv_free(hello);
                fprintf(stderr, "lruleak: out of memory\n");
                goto out;
            }
            rows = v;
            cap = ncap;
        }
        rows[nrows++] = (struct row){.pid = pid, .hello = hello};
    }
    if (errno != 0) {
        fprintf(stderr, "lruleak: %s: %s\n", dir, strerror(errno));
        goto out;
    }
    if (nrows == 0) {
        fprintf(stderr, "lruleak: no running agents in %s\n", dir);
        ret = CLI_EXIT_OK;
        goto out;
    }
    qsort(rows, nrows, sizeof(*rows), cmp_rows);
    printf("%-8s %-8s %-9s %7s  %s\n", "PID", "PYTHON", "STATE", "SAMPLES", "COMMAND");
    for (size_t i = 0; i < nrows; i++) {
        print_row(&rows[i]);
    }
    ret = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
out:
    for (size_t i = 0; i < nrows; i++) {
        jsonv_free(rows[i].hello);
    }
    free(rows);
    if (d != NULL) {
        closedir(d);
    }
    return ret;
}
