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

const char *
protocol_request_line(enum protocol_cmd cmd, bool full)
{
    switch (cmd) {
    case PROTOCOL_HELLO:
        return "{\"cmd\":\"hello\"}";
    case PROTOCOL_SNAPSHOT:
        return full ? "{\"cmd\":\"snapshot\"}" : "{\"cmd\":\"snapshot\",\"full\":false}";
    case PROTOCOL_LATEST:
        return "{\"cmd\":\"latest\"}";
    case PROTOCOL_DETACH:
        return "{\"cmd\":\"detach\"}";
    }
    return "{}";
}

void
protocol_write_hello(struct jsonw *w, const struct protocol_hello *h)
{
    jsonw_obj_begin(w);
    jsonw_kbool(w, "ok", true);
    jsonw_kstr(w, "lruleak_version", h->lruleak_version);
    jsonw_kint(w, "pid", h->pid);
    jsonw_kint(w, "ppid", h->ppid);
    jsonw_kstr(w, "python", h->python);
    jsonw_key(w, "argv");
    if (h->argv_json != NULL) {
        jsonw_raw(w, h->argv_json, strlen(h->argv_json));
    } else {
        jsonw_null(w);
    }
    jsonw_kstr(w, "state", h->state);
    if (h->reason != NULL) {
        jsonw_kstr(w, "reason", h->reason);
    }
    jsonw_kdouble(w, "interval", h->interval, 3);
    jsonw_kint(w, "samples", h->samples);
    jsonw_obj_end(w);
    jsonw_bytes(w, "\n", 1);
}

int
protocol_read_hello(const struct jsonv *reply, struct protocol_hello *h)
{
    bool ok = false;
    const struct jsonv *argv = jsonv_get(reply, "argv");

    memset(h, 0, sizeof(*h));
    if (!jsonv_is(reply, JSONV_OBJECT) || !jsonv_get_bool(reply, "ok", &ok) || !ok) {
        return -EPROTO;
    }
    h->lruleak_version = jsonv_get_str(reply, "lruleak_version");
    (void)jsonv_get_int(reply, "pid", &h->pid);
    (void)jsonv_get_int(reply, "ppid", &h->ppid);
    h->python = jsonv_get_str(reply, "python");
    h->argv = jsonv_is(argv, JSONV_ARRAY) ? argv : NULL;
    h->state = jsonv_get_str(reply, "state");
    if (h->state == NULL) {
        h->state = "?";
    }
    h->reason = jsonv_get_str(reply, "reason");
    (void)jsonv_get_double(reply, "interval", &h->interval);
    (void)jsonv_get_int(reply, "samples", &h->samples);
    return 0;
}

void
protocol_write_sample_reply(struct jsonw *w, const char *sample, size_t len)
{
    jsonw_obj_begin(w);
    jsonw_kbool(w, "ok", true);
    jsonw_key(w, "sample");
    jsonw_raw(w, sample, len);
    jsonw_obj_end(w);
    jsonw_bytes(w, "\n", 1);
}

void
protocol_write_detached(struct jsonw *w)
{
    jsonw_obj_begin(w);
    jsonw_kbool(w, "ok", true);
    jsonw_kstr(w, "state", "detached");
    jsonw_obj_end(w);
    jsonw_bytes(w, "\n", 1);
}

int
protocol_read_reply(const struct jsonv *reply, int *ret_errno, const char **ret_msg)
{
    bool ok = false;
    int64_t e = 0;

    if (!jsonv_is(reply, JSONV_OBJECT) || !jsonv_get_bool(reply, "ok", &ok)) {
        return -EBADMSG;
    }
    if (ok) {
        return 1;
    }
    *ret_errno = jsonv_get_int(reply, "errno", &e) && e > 0 && e < 4096 ? (int)e : EIO;
    *ret_msg = jsonv_get_str(reply, "error");
    return 0;
}

const struct jsonv *
protocol_reply_sample(const struct jsonv *reply)
{
    const struct jsonv *s = jsonv_get(reply, "sample");

    return jsonv_is(s, JSONV_OBJECT) ? s : NULL;
}
