/* SPDX-License-Identifier: MIT */
/*
 * dispatch: see dispatch.h. Every failure becomes an {"ok":false} reply
 * with an errno; nothing here can affect the host.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "dispatch.h"
#include "protocol.h"

static const char *
state_name(enum agent_state s)
{
    switch (s) {
    case AGENT_SAMPLING:
        return "sampling";
    case AGENT_REFUSED:
        return "refused";
    case AGENT_STOPPED:
        return "stopped";
    case AGENT_DETACHED:
        return "detached";
    case AGENT_WAITING:
        break;
    }
    return "waiting";
}

uint64_t
dispatch_answered(void)
{
    pthread_mutex_lock(&agent.lock);
    uint64_t n = agent.answered;
    pthread_mutex_unlock(&agent.lock);
    return n;
}

static void
write_hello(struct jsonw *out)
{
    pthread_mutex_lock(&agent.lock);
    struct protocol_hello h = {
        .lruleak_version = LRULEAK_VERSION,
        .pid = agent.pid,
        .ppid = getppid(),
        .python = agent.python[0] != '\0' ? agent.python : NULL,
        .argv_json = agent.argv_json,
        .state = state_name(agent.state),
        .reason = agent.state == AGENT_REFUSED ? agent.reason : NULL,
        .interval = agent.interval,
        .samples = (int64_t)agent.seq,
    };
    protocol_write_hello(out, &h);
    pthread_mutex_unlock(&agent.lock);
}

void
dispatch_write_sample(struct jsonw *out)
{
    pthread_mutex_lock(&agent.lock);
    if (agent.latest == NULL) {
        pthread_mutex_unlock(&agent.lock);
        protocol_write_error(out, ENODATA, "no sample has been taken yet");
        return;
    }
    /* latest ends with '\n'; splice the object without it. */
    protocol_write_sample_reply(out, agent.latest, agent.latest_len - 1);
    pthread_mutex_unlock(&agent.lock);
}

void
dispatch_write_detached(struct jsonw *out)
{
    protocol_write_detached(out);
}

void
dispatch_write_timeout(struct jsonw *out)
{
    protocol_write_error(out, ETIMEDOUT,
                         "no sample within the time limit (is the program holding the GIL?)");
}

int
dispatch_request(const char *line, size_t len, struct jsonw *out, uint64_t *ret_after)
{
    struct protocol_request req;
    char err[160];
    int r;

    r = protocol_parse_request(line, len, &req, err, sizeof(err));
    if (r < 0) {
        protocol_write_error(out, -r, err);
        return 0;
    }
    switch (req.cmd) {
    case PROTOCOL_HELLO:
        write_hello(out);
        return 0;
    case PROTOCOL_LATEST:
        dispatch_write_sample(out);
        return 0;
    case PROTOCOL_DETACH:
        r = agent_request_detach();
        if (r < 0) {
            protocol_write_error(out, -r, "the interpreter is exiting: nothing to detach");
            return 0;
        }
        return 2;
    case PROTOCOL_SNAPSHOT:
        break;
    }
    pthread_mutex_lock(&agent.lock);
    enum agent_state state = agent.state;
    char reason[sizeof(agent.reason) + 64];
    snprintf(reason, sizeof(reason), "unsupported interpreter: %s", agent.reason);
    if (state == AGENT_SAMPLING) {
        agent.want_sample = true;
        agent.want_full = agent.want_full || req.full;
        *ret_after = ++agent.requests;
        pthread_cond_broadcast(&agent.cond);
    }
    pthread_mutex_unlock(&agent.lock);
    switch (state) {
    case AGENT_SAMPLING:
        return 1;
    case AGENT_STOPPED:
        dispatch_write_sample(out); /* the final sample */
        return 0;
    case AGENT_REFUSED:
        protocol_write_error(out, ENOTSUP, reason);
        return 0;
    case AGENT_WAITING:
    case AGENT_DETACHED:
        break;
    }
    protocol_write_error(out, EAGAIN,
                         "not sampling yet: the interpreter has not imported functools");
    return 0;
}
