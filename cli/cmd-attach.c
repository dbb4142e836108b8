/* SPDX-License-Identifier: MIT */
/*
 * cmd-attach: `lruleak attach PID [--interval S] [--watch]` (its undoing,
 * `lruleak detach PID`, is cmd-detach.c).
 *
 * When PID's agent already answers, it only says so (and watches
 * with --watch). Otherwise it loads the agent into the running process
 * (inject_attach: sys.remote_exec's protocol on 3.14+, ptrace otherwise),
 * handing it the options a preloaded agent would read from its environment
 * (--interval, the socket directory this CLI looks in, LRULEAK_LOG and
 * LRULEAK_RECORD of the CLI's environment), then waits - bounded - until
 * the agent answers on its socket, and prints which route was taken. An
 * agent that refuses the interpreter is detached again.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attachopt.h"
#include "cli.h"
#include "protocol.h"
#include "client.h"
#include "inject.h"
#include "preload.h"
#include "util.h"

/* From the injection to the agent's first answer (it starts its threads
 * and opens its socket within milliseconds; a loaded machine is slower). */
#define ATTACH_ANSWER_S 15.0
/* A fresh agent says "waiting" until it has checked the interpreter; give
 * it this long to say "sampling" before reporting "waiting". */
#define ATTACH_SAMPLING_S 5.0

/* $name as an absolute path (the agent runs elsewhere) into buf, or "". */
static int
env_path(const char *name, char *buf, size_t size)
{
    const char *v = getenv(name);
    char cwd[PATH_MAX];

    buf[0] = '\0';
    if (v == NULL || v[0] == '\0') {
        return 0;
    }
    if (v[0] == '/') {
        return snprintf(buf, size, "%s", v) < (int)size ? 0 : -ENAMETOOLONG;
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        return -errno;
    }
    return snprintf(buf, size, "%s/%s", cwd, v) < (int)size ? 0 : -ENAMETOOLONG;
}

static int
build_options(pid_t pid, char *buf, size_t size, char *err, size_t errlen)
{
    struct attachopt o = {.interval = arg_interval, .trace_alloc = arg_trace_alloc};
    int r;

    r = client_agent_dir(pid, o.dir, sizeof(o.dir));
    if (r < 0) {
        snprintf(err, errlen, "socket directory name too long (set LRULEAK_DIR)");
        return r;
    }
    if (o.dir[0] != '/') {
        char shown[128];
        snprintf(err, errlen, "LRULEAK_DIR must be an absolute path for attach, not '%s'",
                 util_printable(o.dir, shown, sizeof(shown)));
        return -EINVAL;
    }
    if (env_path("LRULEAK_LOG", o.log, sizeof(o.log)) < 0 ||
        env_path("LRULEAK_RECORD", o.record, sizeof(o.record)) < 0) {
        snprintf(err, errlen, "LRULEAK_LOG or LRULEAK_RECORD is too long");
        return -ENAMETOOLONG;
    }
    r = attachopt_format(&o, buf, size);
    if (r < 0) {
        snprintf(err, errlen, "cannot pass these options to the agent (a newline in a path?)");
    }
    return r;
}

/* What a hello says. */
struct hello {
    char state[32];
    char reason[300];
    char python[32];
    double interval;
};

/* Ask pid's agent for hello. Returns 0 or -errno (see client_connect). */
static int
hello(pid_t pid, struct hello *h, char *err, size_t errlen)
{
    const struct jsonv *reply = NULL;
    struct client c;
    int r;

    memset(h, 0, sizeof(*h));
    client_init(&c);
    r = client_connect(&c, pid, CLIENT_TIMEOUT_MS, err, errlen);
    if (r == 0) {
        r = client_request(&c, protocol_request_line(PROTOCOL_HELLO, false), CLIENT_TIMEOUT_MS,
                           &reply, err, errlen);
    }
    struct protocol_hello ph;
    if (r == 0 && protocol_read_hello(reply, &ph) == 0) {
        snprintf(h->state, sizeof(h->state), "%s", ph.state);
        snprintf(h->reason, sizeof(h->reason), "%s", ph.reason != NULL ? ph.reason : "");
        snprintf(h->python, sizeof(h->python), "%s", ph.python != NULL ? ph.python : "");
        h->interval = ph.interval;
    } else if (r == 0) {
        snprintf(h->state, sizeof(h->state), "?");
    }
    jsonv_free(reply);
    client_done(&c);
    return r;
}

static int
watch_after(pid_t pid, char **argv)
{
    char *args[3] = {argv[0], argv[1], NULL};

    (void)pid;
    /* watch refreshes at --interval too (its floor is 0.05 s), else 1 s. */
    if (arg_interval > 0 && arg_interval < 0.05) {
        arg_interval = 0.05;
    }
    fflush(stdout);
    return cmd_watch(2, args);
}

int
cmd_attach(int argc, char **argv)
{
    char agent[PATH_MAX], tried[1024], options[ATTACHOPT_MAX], err[700];
    struct inject_result res;
    struct hello h;
    pid_t pid;
    int r;

    (void)argc;
    if (util_parse_pid(argv[1], &pid) < 0) {
        char shown[64];
        fprintf(stderr, "lruleak: attach: '%s' is not a pid\n",
                util_printable(argv[1], shown, sizeof(shown)));
        return CLI_EXIT_USAGE;
    }
    /* An agent that answers: nothing to load. */
    r = hello(pid, &h, err, sizeof(err));
    if (r == -ESRCH) {
        fprintf(stderr, "lruleak: %s\n", err);
        return CLI_EXIT_NO_AGENT;
    }
    if (r == 0) {
        printf("lruleak: pid %d already has an agent (state %s, interval %g s)\n", (int)pid,
               h.state, h.interval);
        if (arg_interval > 0 && arg_interval != h.interval) {
            printf("lruleak: --interval %g not applied: detach it first to change it\n",
                   arg_interval);
        }
        return arg_watch ? watch_after(pid, argv) : CLI_EXIT_OK;
    }
    r = preload_find_agent(agent, sizeof(agent), tried, sizeof(tried));
    if (r < 0) {
        fprintf(stderr, "lruleak: agent library not found (tried %s; set LRULEAK_AGENT)\n", tried);
        return CLI_EXIT_FAILURE;
    }
    r = build_options(pid, options, sizeof(options), err, sizeof(err));
    if (r == 0) {
        r = inject_attach(pid, agent, options, &res, err, sizeof(err));
    }
    if (r == -EALREADY) {
        char dir[SOCKPATH_MAX] = "?";
        client_agent_dir(pid, dir, sizeof(dir));
        fprintf(stderr,
                "lruleak: pid %d already runs an agent, but its socket is not in %s (it was "
                "started with another LRULEAK_DIR or XDG_RUNTIME_DIR: use the same)\n",
                (int)pid, dir);
        return CLI_EXIT_FAILURE;
    }
    if (r < 0) {
        fprintf(stderr, "lruleak: %s\n", err);
        return r == -ESRCH ? CLI_EXIT_NO_AGENT : CLI_EXIT_FAILURE;
    }
    /* The agent is in: wait for its socket. */
    double answer_by = util_now() + ATTACH_ANSWER_S, sampling_by = 0;
    for (;;) {
        r = hello(pid, &h, err, sizeof(err));
        if (r == -ESRCH) {
            fprintf(stderr, "lruleak: pid %d ended while the agent started\n", (int)pid);
            return CLI_EXIT_NO_AGENT;
        }
        if (r == 0 && sampling_by == 0) {
            sampling_by = util_now() + ATTACH_SAMPLING_S;
        }
        if (r == 0 && (strcmp(h.state, "waiting") != 0 || util_now() > sampling_by)) {
            break;
        }
        if (r < 0 && util_now() > answer_by) {
            fprintf(stderr,
                    "lruleak: the agent was loaded into pid %d (%s) but did not answer within "
                    "%.0f s: %s\n",
                    (int)pid, res.how, ATTACH_ANSWER_S, err);
            return CLI_EXIT_FAILURE;
        }
        util_sleep(0.02);
    }
    if (strcmp(h.state, "refused") == 0) {
        /* Leave the process as it was. */
        cli_detach_agent(pid, err, sizeof(err));
        fprintf(stderr, "lruleak: the agent refused pid %d: %s (detached again)\n", (int)pid,
                h.reason);
        return CLI_EXIT_FAILURE;
    }
    printf("lruleak: attached to pid %d (CPython %s) %s\n", (int)pid,
           h.python[0] != '\0' ? h.python : res.version, res.how);
    if (res.note[0] != '\0') {
        printf("lruleak: sys.remote_exec not used: %s\n", res.note);
    }
    if (strcmp(h.state, "waiting") == 0) {
        printf("lruleak: the agent waits: pid %d has not imported functools yet\n", (int)pid);
    }
    return arg_watch ? watch_after(pid, argv) : CLI_EXIT_OK;
}
