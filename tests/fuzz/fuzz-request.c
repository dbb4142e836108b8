/* SPDX-License-Identifier: MIT */
/*
 * fuzz-request: libFuzzer target for what arrives on the agent's socket.
 *
 * The input is a byte stream as a client would send it. It is cut into
 * lines exactly as server.c frames them (at '\n', a trailing '\r' dropped,
 * empty lines skipped, a line that fills PROTOCOL_MAX_REQUEST bytes without
 * a newline is refused) and each line goes through dispatch_request(), the
 * real protocol parser and reply writer. The first byte picks the agent's
 * state (waiting, sampling, refused, stopped) and whether a sample exists,
 * so every reply path runs (an accepted detach is answered as the server
 * does once the agent is out). Oracle: every request gets exactly one reply
 * line, and that line is a JSON object with a boolean "ok" (plus a
 * positive "errno" and a string "error" when ok is false); anything else
 * aborts. Runs single-threaded; no Python, no socket.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "dispatch.h"
#include "jsonv.h"
#include "jsonw.h"
#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fake_sample[] =
    "{\"type\":\"sample\",\"pid\":1,\"seq\":3,\"t\":1.5,\"caches\":[]}\n";

/* One reply line, checked; returns the number of bytes it took. */
static size_t
check_reply(const char *buf, size_t len)
{
    const char *nl = memchr(buf, '\n', len);
    const struct jsonv *root = NULL;
    bool ok = false;
    int64_t err = 0;

    if (nl == NULL || jsonv_parse(buf, (size_t)(nl - buf), &root, NULL, 0) < 0 ||
        !jsonv_is(root, JSONV_OBJECT) || !jsonv_get_bool(root, "ok", &ok)) {
        abort();
    }
    if (!ok &&
        (!jsonv_get_int(root, "errno", &err) || err <= 0 || jsonv_get_str(root, "error") == NULL)) {
        abort();
    }
    jsonv_free(root);
    return (size_t)(nl - buf) + 1;
}

/* Exactly one well-formed reply line in out. */
static void
check_one_reply(struct jsonw *out)
{
    if (out->err < 0 || out->len == 0 || check_reply(out->buf, out->len) != out->len) {
        abort();
    }
    jsonw_clear(out);
}

static void
handle(const char *line, size_t len, struct jsonw *out)
{
    uint64_t after = 0;

    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    if (len == 0) {
        return;
    }
    int r = dispatch_request(line, len, out, &after);
    if (r == 1) {
        /* A snapshot request: the server answers with the next sample. */
        if (agent.state != AGENT_SAMPLING) {
            abort();
        }
        dispatch_write_sample(out);
    } else if (r == 2) {
        /* An accepted detach: the server answers once the agent is out. */
        dispatch_write_detached(out);
    }
    check_one_reply(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum agent_state states[] = {AGENT_WAITING, AGENT_SAMPLING, AGENT_REFUSED,
                                              AGENT_STOPPED};
    const char *p = (const char *)data;
    struct jsonw out;
    size_t start = 0;

    if (size == 0) {
        return 0;
    }
    agent.state = states[data[0] & 3];
    agent.detaching = false; /* an earlier input's detach */
    snprintf(agent.reason, sizeof(agent.reason), "fuzzing");
    agent.latest = (data[0] & 4) ? (char *)fake_sample : NULL;
    agent.latest_len = sizeof(fake_sample) - 1;
    agent.seq = (data[0] & 4) ? 3 : 0;
    p++;
    size--;

    jsonw_init(&out);
    for (size_t i = 0; i < size; i++) {
        if (p[i] == '\n') {
            handle(p + start, i - start, &out);
            start = i + 1;
        } else if (i + 1 - start == PROTOCOL_MAX_REQUEST) {
            /* The server's buffer is full without a newline: it refuses
             * the line and closes; nothing after it is read. */
            protocol_write_error(&out, E2BIG, "request line too long");
            check_one_reply(&out);
            break;
        }
    }
    jsonw_done(&out);
    agent.latest = NULL;
    return 0;
}
