/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for protocol: a table of request lines (valid, malformed,
 * mistyped, unknown, oversize) and the error reply, read back with jsonv.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-helpers.h"
#include "jsonv.h"
#include "protocol.h"

START_TEST(protocol_parses_hello)
{
    struct protocol_request req;
    char err[128];
    ck_assert_int_eq(protocol_parse_request("{\"cmd\":\"hello\"}", 15, &req, err, sizeof(err)), 0);
    ck_assert_int_eq(req.cmd, PROTOCOL_HELLO);
}
END_TEST

static const struct {
    const char *line;
    int ret;
    enum protocol_cmd cmd;
    bool full;
    const char *error; /* substring of the reason when ret < 0 */
} request_cases[] = {
    {"{\"cmd\":\"hello\"}", 0, PROTOCOL_HELLO, false, NULL},
    {" { \"cmd\" : \"hello\" } ", 0, PROTOCOL_HELLO, false, NULL},
    {"{\"cmd\":\"snapshot\"}", 0, PROTOCOL_SNAPSHOT, true, NULL}, /* full by default */
    {"{\"cmd\":\"snapshot\",\"full\":true}", 0, PROTOCOL_SNAPSHOT, true, NULL},
    {"{\"full\":false,\"cmd\":\"snapshot\"}", 0, PROTOCOL_SNAPSHOT, false, NULL},
    {"{\"cmd\":\"latest\"}", 0, PROTOCOL_LATEST, false, NULL},
    {"{\"cmd\":\"detach\"}", 0, PROTOCOL_DETACH, false, NULL},
    /* Unknown members are ignored so newer clients reach older agents. */
    {"{\"cmd\":\"hello\",\"client\":\"lruleak 9\",\"x\":[1,{}]}", 0, PROTOCOL_HELLO, false, NULL},
    {"{\"cmd\":\"hel\\u006co\"}", 0, PROTOCOL_HELLO, false, NULL},
    {"{\"cmd\":\"hello\",\"cmd\":\"latest\"}", 0, PROTOCOL_HELLO, false, NULL},
    {"", -EINVAL, 0, false, "malformed request: unexpected end of input at byte 0"},
    {"{\"cmd\":\"hello\"", -EINVAL, 0, false, "malformed request: unexpected end of input"},
    {"{cmd:hello}", -EINVAL, 0, false, "malformed request: expected a string key at byte 1"},
    {"{\"cmd\":\"hello\",}", -EINVAL, 0, false, "malformed request"},
    {"{\"cmd\":\"hello\"}}", -EINVAL, 0, false, "unexpected trailing characters at byte 15"},
    {"{\"cmd\":\"hello\"} {\"cmd\":\"hello\"}", -EINVAL, 0, false, "trailing characters"},
    {"{\"cmd\":\"hello\"}\r", 0, PROTOCOL_HELLO, false, NULL},
    {"{\"cmd\":\"h\xffllo\"}", -EINVAL, 0, false, "invalid UTF-8"},
    {"[\"hello\"]", -EINVAL, 0, false, "request must be a JSON object"},
    {"\"hello\"", -EINVAL, 0, false, "request must be a JSON object"},
    {"null", -EINVAL, 0, false, "request must be a JSON object"},
    {"{}", -EINVAL, 0, false, "no string member \"cmd\""},
    {"{\"command\":\"hello\"}", -EINVAL, 0, false, "no string member \"cmd\""},
    {"{\"cmd\":1}", -EINVAL, 0, false, "no string member \"cmd\""},
    {"{\"cmd\":null}", -EINVAL, 0, false, "no string member \"cmd\""},
    {"{\"cmd\":[\"hello\"]}", -EINVAL, 0, false, "no string member \"cmd\""},
    {"{\"cmd\":\"x\"}", -EINVAL, 0, false, "unknown command \"x\""},
    {"{\"cmd\":\"HELLO\"}", -EINVAL, 0, false, "unknown command \"HELLO\""},
    {"{\"cmd\":\"\"}", -EINVAL, 0, false, "unknown command \"\""},
    {"{\"cmd\":\"snapshot\",\"full\":1}", -EINVAL, 0, false, "\"full\" must be true or false"},
    {"{\"cmd\":\"snapshot\",\"full\":\"true\"}", -EINVAL, 0, false,
     "\"full\" must be true or false"},
    {"{\"cmd\":\"snapshot\",\"full\":null}", -EINVAL, 0, false, "\"full\" must be true or false"},
    {"{\"cmd\":\"hello\",\"full\":0}", -EINVAL, 0, false, "\"full\" must be true or false"},
};

START_TEST(protocol_parses_requests)
{
    struct protocol_request req = {.cmd = PROTOCOL_LATEST, .full = true};
    const char *line = request_cases[_i].line;
    char err[256];
    int r;

    memset(err, 0, sizeof(err));
    r = protocol_parse_request(line, strlen(line), &req, err, sizeof(err));
    if (r != request_cases[_i].ret) {
        ck_diag("# %s -> %d (%s)\n", line, r, err);
    }
    ck_assert_int_eq(r, request_cases[_i].ret);
    if (r == 0) {
        ck_assert_int_eq(req.cmd, request_cases[_i].cmd);
        ck_assert_int_eq(req.full, request_cases[_i].full);
    } else {
        ck_assert_ptr_nonnull(strstr(err, request_cases[_i].error));
        /* Nothing half-parsed leaks out on failure. */
        ck_assert_int_eq(req.cmd, PROTOCOL_LATEST);
        ck_assert_int_eq(req.full, true);
    }
}
END_TEST

/* A request padded with an ignored member to exactly len bytes. */
static char *
padded_request(size_t len)
{
    static const char head[] = "{\"cmd\":\"hello\",\"pad\":\"";
    char *line = malloc(len + 1);

    ck_assert_ptr_nonnull(line);
    ck_assert_uint_gt(len, sizeof(head) + 1);
    memcpy(line, head, sizeof(head) - 1);
    memset(line + sizeof(head) - 1, 'p', len - (sizeof(head) - 1) - 2);
    memcpy(line + len - 2, "\"}", 2);
    line[len] = '\0';
    return line;
}

static const struct {
    size_t len;
    int ret;
} size_cases[] = {
    {PROTOCOL_MAX_REQUEST - 1, 0},
    {PROTOCOL_MAX_REQUEST, -EINVAL},
    {5000, -EINVAL},
};

START_TEST(protocol_rejects_oversize_request)
{
    struct protocol_request req;
    char *line = padded_request(size_cases[_i].len);
    char err[128];
    int r;

    r = protocol_parse_request(line, size_cases[_i].len, &req, err, sizeof(err));
    ck_assert_int_eq(r, size_cases[_i].ret);
    if (r == 0) {
        ck_assert_int_eq(req.cmd, PROTOCOL_HELLO);
    } else {
        ck_assert_str_eq(err, "request longer than 4095 bytes");
    }
    free(line);
}
END_TEST

/* The length given is the line: bytes beyond it are never looked at. */
START_TEST(protocol_parses_within_length)
{
    const char *buf = "{\"cmd\":\"latest\"}\n{\"cmd\":\"x\"}\n";
    struct protocol_request req;
    char err[128];

    ck_assert_int_eq(protocol_parse_request(buf, 16, &req, err, sizeof(err)), 0);
    ck_assert_int_eq(req.cmd, PROTOCOL_LATEST);
}
END_TEST

START_TEST(protocol_names_commands)
{
    ck_assert_str_eq(protocol_cmd_name(PROTOCOL_HELLO), "hello");
    ck_assert_str_eq(protocol_cmd_name(PROTOCOL_SNAPSHOT), "snapshot");
    ck_assert_str_eq(protocol_cmd_name(PROTOCOL_LATEST), "latest");
    ck_assert_str_eq(protocol_cmd_name((enum protocol_cmd)42), "?");
}
END_TEST

/* The error reply is one line of JSON that jsonv reads back exactly. */
START_TEST(protocol_writes_error_reply)
{
    const char *msg = "unknown command \"x\\y\"\n\xff";
    const struct jsonv *root;
    struct jsonw w;
    int64_t errnum;
    bool ok = true;

    jsonw_init(&w);
    protocol_write_error(&w, EINVAL, "unknown command \"x\"");
    ck_assert_int_eq(w.err, 0);
    ck_assert_str_eq(w.buf,
                     "{\"ok\":false,\"errno\":22,\"error\":\"unknown command \\\"x\\\"\"}\n");

    jsonw_clear(&w);
    protocol_write_error(&w, EAGAIN, msg);
    ck_assert_int_eq(w.buf[w.len - 1], '\n');
    ck_assert_ptr_null(memchr(w.buf, '\n', w.len - 1));
    ck_assert_int_eq(jsonv_parse(w.buf, w.len - 1, &root, NULL, 0), 0);
    ck_assert(jsonv_get_bool(root, "ok", &ok) && !ok);
    ck_assert(jsonv_get_int(root, "errno", &errnum) && errnum == EAGAIN);
    ck_assert_str_eq(jsonv_get_str(root, "error"), "unknown command \"x\\y\"\n\xef\xbf\xbd");
    jsonv_free(root);
    jsonw_done(&w);
}
END_TEST

/* Every parse failure's reason, sent back as an error reply, is valid JSON. */
START_TEST(protocol_error_reasons_roundtrip)
{
    const char *line = request_cases[_i].line;
    struct protocol_request req;
    const struct jsonv *root;
    struct jsonw w;
    char err[256];

    if (protocol_parse_request(line, strlen(line), &req, err, sizeof(err)) == 0) {
        return;
    }
    jsonw_init(&w);
    protocol_write_error(&w, EINVAL, err);
    ck_assert_int_eq(jsonv_parse(w.buf, w.len, &root, NULL, 0), 0);
    ck_assert_ptr_nonnull(jsonv_get_str(root, "error"));
    jsonv_free(root);
    jsonw_done(&w);
}
END_TEST

/* What a client sends is what the agent parses, for every request. */
START_TEST(protocol_request_lines_roundtrip)
{
    static const struct {
        enum protocol_cmd cmd;
        bool full;
    } cases[] = {
        {PROTOCOL_HELLO, true},  {PROTOCOL_SNAPSHOT, true}, {PROTOCOL_SNAPSHOT, false},
        {PROTOCOL_LATEST, true}, {PROTOCOL_DETACH, true},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *line = protocol_request_line(cases[i].cmd, cases[i].full);
        struct protocol_request req;
        char err[256];

        ck_assert_msg(protocol_parse_request(line, strlen(line), &req, err, sizeof(err)) == 0,
                      "%s: %s", line, err);
        ck_assert_int_eq(req.cmd, cases[i].cmd);
        ck_assert_msg(req.cmd != PROTOCOL_SNAPSHOT || req.full == cases[i].full, "%s", line);
    }
}
END_TEST

/* The hello an agent writes reads back field for field; a refusal
 * carries its reason, an error reply is not a hello. */
START_TEST(protocol_hello_roundtrip)
{
    const struct protocol_hello in = {
        .lruleak_version = "0.1.0",
        .pid = 4242,
        .ppid = 1,
        .python = "3.11.2",
        .argv_json = "[\"python3\",\"app \\\"x\\\".py\"]",
        .state = "refused",
        .reason = "free-threaded build",
        .interval = 0.25,
        .samples = 17,
    };
    struct protocol_hello out;
    const struct jsonv *root;
    struct jsonw w;

    jsonw_init(&w);
    protocol_write_hello(&w, &in);
    ck_assert_int_eq(w.err, 0);
    ck_assert_int_eq(w.buf[w.len - 1], '\n');
    ck_assert_int_eq(jsonv_parse(w.buf, w.len - 1, &root, NULL, 0), 0);
    ck_assert_int_eq(protocol_read_hello(root, &out), 0);
    ck_assert_str_eq(out.lruleak_version, "0.1.0");
    ck_assert_int_eq(out.pid, 4242);
    ck_assert_int_eq(out.ppid, 1);
    ck_assert_str_eq(out.python, "3.11.2");
    ck_assert_str_eq(out.state, "refused");
    ck_assert_str_eq(out.reason, "free-threaded build");
    ck_assert(out.interval == 0.25);
    ck_assert_int_eq(out.samples, 17);
    ck_assert_ptr_nonnull(out.argv);
    ck_assert_uint_eq(out.argv->u.arr.n, 2);
    ck_assert_str_eq(out.argv->u.arr.items[1].u.str.s, "app \"x\".py");
    jsonv_free(root);

    jsonw_clear(&w);
    protocol_write_error(&w, EINVAL, "no");
    ck_assert_int_eq(jsonv_parse(w.buf, w.len - 1, &root, NULL, 0), 0);
    ck_assert_int_eq(protocol_read_hello(root, &out), -EPROTO);
    jsonv_free(root);
    jsonw_done(&w);
}
END_TEST

/* A sample reply carries the sample object whole; replies read as ok,
 * as an error with its errno and text, or as no reply at all. */
START_TEST(protocol_replies_roundtrip)
{
    const char *sample = "{\"type\":\"sample\",\"pid\":7,\"caches\":[]}";
    const struct jsonv *root;
    const char *msg = NULL;
    int errnum = 0;
    struct jsonw w;

    jsonw_init(&w);
    protocol_write_sample_reply(&w, sample, strlen(sample));
    ck_assert_int_eq(w.buf[w.len - 1], '\n');
    ck_assert_int_eq(jsonv_parse(w.buf, w.len - 1, &root, NULL, 0), 0);
    ck_assert_int_eq(protocol_read_reply(root, &errnum, &msg), 1);
    ck_assert_str_eq(jsonv_get_str(protocol_reply_sample(root), "type"), "sample");
    jsonv_free(root);

    jsonw_clear(&w);
    protocol_write_detached(&w);
    ck_assert_int_eq(jsonv_parse(w.buf, w.len - 1, &root, NULL, 0), 0);
    ck_assert_int_eq(protocol_read_reply(root, &errnum, &msg), 1);
    ck_assert_str_eq(jsonv_get_str(root, "state"), "detached");
    ck_assert_ptr_null(protocol_reply_sample(root));
    jsonv_free(root);

    jsonw_clear(&w);
    protocol_write_error(&w, ENODATA, "no sample has been taken yet");
    ck_assert_int_eq(jsonv_parse(w.buf, w.len - 1, &root, NULL, 0), 0);
    ck_assert_int_eq(protocol_read_reply(root, &errnum, &msg), 0);
    ck_assert_int_eq(errnum, ENODATA);
    ck_assert_str_eq(msg, "no sample has been taken yet");
    jsonv_free(root);
    jsonw_done(&w);

    static const char *const bad[] = {"[]", "{}", "{\"ok\":1}", "{\"ok\":false,\"errno\":99999}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(jsonv_parse(bad[i], strlen(bad[i]), &root, NULL, 0), 0);
        int r = protocol_read_reply(root, &errnum, &msg);
        if (i < 3) {
            ck_assert_msg(r == -EBADMSG, "%s read as %d", bad[i], r);
        } else {
            ck_assert_int_eq(r, 0);
            ck_assert_int_eq(errnum, EIO); /* out of range */
        }
        jsonv_free(root);
    }
}
END_TEST

Suite *
protocol_suite(void)
{
    Suite *s = suite_create("protocol");
    TCase *tc = tcase_create("requests");
    tcase_add_test(tc, protocol_parses_hello);
    tcase_add_loop_test(tc, protocol_parses_requests, 0,
                        sizeof(request_cases) / sizeof(request_cases[0]));
    tcase_add_loop_test(tc, protocol_rejects_oversize_request, 0,
                        sizeof(size_cases) / sizeof(size_cases[0]));
    tcase_add_test(tc, protocol_parses_within_length);
    tcase_add_test(tc, protocol_names_commands);
    suite_add_tcase(s, tc);

    tc = tcase_create("replies");
    tcase_add_test(tc, protocol_writes_error_reply);
    tcase_add_loop_test(tc, protocol_error_reasons_roundtrip, 0,
                        sizeof(request_cases) / sizeof(request_cases[0]));
    tcase_add_test(tc, protocol_request_lines_roundtrip);
    tcase_add_test(tc, protocol_hello_roundtrip);
    tcase_add_test(tc, protocol_replies_roundtrip);
    suite_add_tcase(s, tc);
    return s;
}
