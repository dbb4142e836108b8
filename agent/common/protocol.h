/* SPDX-License-Identifier: MIT */
/*
 * protocol: the wire format between agents and clients.
 *
 * Line-delimited JSON both ways over a Unix stream socket. A request is one
 * object on one line, at most PROTOCOL_MAX_REQUEST bytes including '\n':
 *
 *   {"cmd":"hello"}                 who are you, what state are you in
 *   {"cmd":"snapshot"}              take a complete fresh sample now (with a
 *                                   full-heap wrapper discovery) and return it
 *   {"cmd":"snapshot","full":false} same, with only the cheap discovery
 *   {"cmd":"latest"}                the last sample taken, no new scan
 *   {"cmd":"detach"}                stop sampling, close the socket (the
 *                                   reply comes once the agent is out of
 *                                   Python; the socket is gone by then)
 *
 * Every request gets exactly one reply line, in order:
 *   {"ok":true, ...}                       (hello fields, or "sample":{...})
 *   {"ok":false,"errno":N,"error":"text"}  for anything that went wrong
 *
 * Both sides build and read these lines here only: clients send
 * protocol_request_line(), agents parse it; agents write the hello reply
 * with protocol_write_hello(), clients read it with protocol_read_hello().
 * (The sample's own schema is snapshot.h.) Nothing here knows about
 * sockets or Python. Never logs. Thread context: none.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonv.h"
#include "jsonw.h"

/* Longest request line, newline included; longer lines get an error. */
#define PROTOCOL_MAX_REQUEST 4096
/* Longest reply line a client accepts. */
#define PROTOCOL_MAX_REPLY (256u << 20)

enum protocol_cmd {
    PROTOCOL_HELLO,
    PROTOCOL_SNAPSHOT,
    PROTOCOL_LATEST,
    PROTOCOL_DETACH,
};

struct protocol_request {
    enum protocol_cmd cmd;
    bool full; /* snapshot: full-heap discovery (default true) */
};

/*
 * Parse one request line (without its '\n'). Returns 0 and fills *ret, or
 * -EINVAL / -ENOMEM with a one-line reason in err (always NUL-terminated).
 */
int protocol_parse_request(const char *line, size_t len, struct protocol_request *ret, char *err,
                           size_t errlen);

/* Append {"ok":false,"errno":E,"error":msg}\n to w. errnum is positive. */
void protocol_write_error(struct jsonw *w, int errnum, const char *msg);

/* Name of a command, for logs. */
const char *protocol_cmd_name(enum protocol_cmd cmd);

/* The request line a client sends for cmd (without '\n'); full matters
 * for PROTOCOL_SNAPSHOT only. A static string. */
const char *protocol_request_line(enum protocol_cmd cmd, bool full);

/*
 * The hello reply: who the agent is and what it is doing.
 *   {"ok":true,"lruleak_version":V,"pid":N,"ppid":N,"python":"3.11.2"|null,
 *    "argv":[...]|null,"state":S[,"reason":R],"interval":X,"samples":N}
 * state: waiting, sampling, refused (then reason says why), stopped,
 * detached.
 */
struct protocol_hello {
    const char *lruleak_version;
    int64_t pid;
    int64_t ppid;
    const char *python;       /* NULL until the agent knows */
    const char *argv_json;    /* writing: the command line as JSON text, or NULL */
    const struct jsonv *argv; /* reading: its array of strings, or NULL */
    const char *state;
    const char *reason; /* NULL unless refused */
    double interval;    /* seconds */
    int64_t samples;    /* samples published so far */
};

/* Append the hello reply (and its '\n') to w. */
void protocol_write_hello(struct jsonw *w, const struct protocol_hello *h);

/*
 * Read a hello reply: fills *h with pointers into reply (valid while it
 * is), "?" for a missing state. Returns 0, or -EPROTO when reply is not a
 * successful hello (not an object, "ok" not true).
 */
int protocol_read_hello(const struct jsonv *reply, struct protocol_hello *h);

/* {"ok":true,"sample":SAMPLE}\n, SAMPLE being the sample object's JSON text
 * (snapshot_write_json's, len bytes). */
void protocol_write_sample_reply(struct jsonw *w, const char *sample, size_t len);
/* {"ok":true,"state":"detached"}\n: the detach request's reply. */
void protocol_write_detached(struct jsonw *w);

/*
 * Read any reply: 1 when it says ok, 0 for an error reply (*ret_errno: its
 * errno, EIO when missing or out of range; *ret_msg: its text or NULL),
 * -EBADMSG when it is not a reply at all.
 */
int protocol_read_reply(const struct jsonv *reply, int *ret_errno, const char **ret_msg);
/* The sample object of a snapshot or latest reply, or NULL. */
const struct jsonv *protocol_reply_sample(const struct jsonv *reply);
