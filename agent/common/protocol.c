/* SPDX-License-Identifier: MIT */
/*
 * protocol: request parsing and error replies (see protocol.h for the wire
 * format). Requests are untrusted: the parser is jsonv (strict, bounded),
 * unknown members are ignored so newer clients can talk to older agents,
 * and an unknown command is an error, never a guess.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jsonv.h"
#include "protocol.h"

static const struct {
    const char *name;
    enum protocol_cmd cmd;
} commands[] = {
    {"hello", PROTOCOL_HELLO},
    {"snapshot", PROTOCOL_SNAPSHOT},
    {"latest", PROTOCOL_LATEST},
    {"detach", PROTOCOL_DETACH},
};

const char *
protocol_cmd_name(enum protocol_cmd cmd)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (commands[i].cmd == cmd) {
            return commands[i].name;
        }
    }
    return "?";
}

int
protocol_parse_request(const char *line, size_t len, struct protocol_request *ret, char *err,
                       size_t errlen)
{
    const struct jsonv *root = NULL;
    char why[128];
    int r;

    if (len >= PROTOCOL_MAX_REQUEST) {
        snprintf(err, errlen, "request longer than %d bytes", PROTOCOL_MAX_REQUEST - 1);
        return -EINVAL;
    }
    r = jsonv_parse(line, len, &root, why, sizeof(why));
    if (r == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (r < 0) {
        snprintf(err, errlen, "malformed request: %s", why);
        goto out;
    }
    if (!jsonv_is(root, JSONV_OBJECT)) {
        snprintf(err, errlen, "request must be a JSON object");
        r = -EINVAL;
        goto out;
    }
    const char *name = jsonv_get_str(root, "cmd");
    if (name == NULL) {
        snprintf(err, errlen, "request has no string member \"cmd\"");
        r = -EINVAL;
        goto out;
    }
    r = -EINVAL;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0) {
            struct protocol_request req = {.cmd = commands[i].cmd};
            const struct jsonv *full = jsonv_get(root, "full");
            if (full != NULL && !jsonv_is(full, JSONV_BOOL)) {
                snprintf(err, errlen, "\"full\" must be true or false");
                goto out;
            }
            /* A requested snapshot is complete unless asked otherwise. */
            req.full = full != NULL ? full->u.b : req.cmd == PROTOCOL_SNAPSHOT;
            *ret = req;
            r = 0;
            goto out;
        }
    }
    /* Quote at most 32 bytes of the unknown name, escaped by the writer. */
    snprintf(err, errlen, "unknown command \"%.32s\"", name);
out:
    jsonv_free(root);
    return r;
}

void
protocol_write_error(struct jsonw *w, int errnum, const char *msg)
{
    jsonw_obj_begin(w);
    jsonw_kbool(w, "ok", false);
    jsonw_kint(w, "errno", errnum);
    jsonw_kstr(w, "error", msg);
    jsonw_obj_end(w);
    jsonw_bytes(w, "\n", 1);
}
