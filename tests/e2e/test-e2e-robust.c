/* SPDX-License-Identifier: MIT */
/*
 * test-e2e-robust: the agent as a guest that must never disturb its host.
 *
 * Bad socket input (one victim per input, table-driven): malformed JSON, an
 * oversize line, an unknown command, non-objects, binary garbage. Each gets
 * exactly one {"ok":false,...} reply (the oversize line may instead close
 * the connection), the agent keeps answering, its numbers still match the
 * victim's truth, and the victim's output and exit status equal a run
 * without the agent.
 *
 * Clients: a stalled half request and a client that never reads its
 * replies block neither other clients nor the host's exit.
 *
 * Threads: scenarios/threads.py calls cached methods and cache_clear() from
 * four threads while the agent samples every 50 ms; its output must not
 * change and the counts must match the truth once the threads stop.
 *
 * GIL convoy: scenarios/spin.py's main thread drops and retakes the GIL in a
 * tight loop (select() with a zero timeout), which keeps a plain waiter
 * out for seconds on a debug build (agent/runtime/gil.h). Full snapshots taken
 * meanwhile must each be answered in the usual time, and match the truth.
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e-helpers.h"

/* ---- bad input ---------------------------------------------------------------- */

struct bad_input {
    const char *name;
    const char *data; /* NULL: built by make_input */
    size_t len;       /* 0: strlen(data) */
    bool may_close;   /* closing the connection instead of replying is allowed */
    int want_errno;   /* 0: any positive errno */
};

static const char garbage[] = {'\x00', '\xff', '\xfe', '\x80', '\x01', '{',    '\x1b',
                               '[',    '\xc3', '\x28', '\x7f', '"',    '\x00', '}'};

static const struct bad_input bad_inputs[] = {
    {"malformed JSON", "{\"cmd\":\"snapshot\"", 0, false, 0},
    {"malformed JSON (trailing garbage)", "{\"cmd\":\"hello\"} x", 0, false, 0},
    {"10000-byte line", NULL, 10000, true, 0},
    {"unknown command", "{\"cmd\":\"explode\"}", 0, false, 22},
    {"command not a string", "{\"cmd\":42}", 0, false, 0},
    {"non-object (array)", "[\"hello\"]", 0, false, 0},
    {"non-object (number)", "42", 0, false, 0},
    {"binary garbage", garbage, sizeof(garbage), false, 0},
};

/* The victim's whole run without the agent: stdout, stderr, status. */
static struct e2e_proc *
baseline(const char *script, const char *arg)
{
    char *path = e2e_strdupf("%s/%s", e2e_cfg.scenarios, script);
    char *argv[] = {(char *)e2e_cfg.python, path, (char *)arg, NULL};
    return e2e_run(argv, e2e_env_cli(NULL), "go\n", E2E_CLI_MS);
}

static void
assert_ok_false(const char *reply, const struct bad_input *in)
{
    const struct jsonv *r = e2e_json(reply, strlen(reply), in->name);
    bool ok = true;
    int64_t err = 0;

    ck_assert_msg(jsonv_is(r, JSONV_OBJECT), "%s: the reply is not an object: %s", in->name, reply);
    ck_assert_msg(jsonv_get_bool(r, "ok", &ok) && !ok, "%s: reply without ok:false: %s", in->name,
                  reply);
    ck_assert_msg(jsonv_get_int(r, "errno", &err) && err > 0,
                  "%s: reply without a positive errno: %s", in->name, reply);
    ck_assert_msg(jsonv_get_str(r, "error") != NULL, "%s: reply without an error text: %s",
                  in->name, reply);
    if (in->want_errno != 0) {
        ck_assert_msg(err == in->want_errno, "%s: errno %lld, expected %d: %s", in->name,
                      (long long)err, in->want_errno, reply);
    }
}

START_TEST(robust_bad_socket_input)
{
    const struct bad_input *in = &bad_inputs[_i];
    struct e2e_buf line = {0};

    if (in->data != NULL) {
        e2e_buf_append(&line, in->data, in->len ? in->len : strlen(in->data));
    } else {
        e2e_buf_append(&line, "{\"cmd\":\"", 8);
        while (line.len < in->len - 2) {
            e2e_buf_append(&line, "a", 1);
        }
        e2e_buf_append(&line, "\"}", 2);
    }
    e2e_buf_append(&line, "\n", 1);

    struct e2e_proc *base = baseline("several.py", NULL);
    struct e2e_proc *v = e2e_victim(e2e_env_agent("0.05", NULL), "several.py", NULL);
    e2e_wait_agent(v);

    int fd = e2e_connect(e2e_sock_path(v->pid));
    bool eof = false;
    /* The agent may close early on the oversize line: then sending fails. */
    e2e_send(fd, line.data, in->data == NULL ? 4000 : line.len);
    if (in->data == NULL) {
        ssize_t r = send(fd, line.data + 4000, line.len - 4000, MSG_NOSIGNAL);
        (void)r;
    }
    char *reply = e2e_recv_line(fd, E2E_REPLY_MS, &eof);
    if (reply == NULL) {
        ck_assert_msg(eof, "%s: no reply within %d ms", in->name, E2E_REPLY_MS);
        ck_assert_msg(in->may_close, "%s: the agent closed the connection without a reply",
                      in->name);
    } else {
        assert_ok_false(reply, in);
        /* Exactly one reply: the next line answers the next request. */
        static const char hello[] = "{\"cmd\":\"hello\"}\n";
        ssize_t r = send(fd, hello, sizeof(hello) - 1, MSG_NOSIGNAL);
        char *next = r > 0 ? e2e_recv_line(fd, E2E_REPLY_MS, &eof) : NULL;
        if (next != NULL) {
            const struct jsonv *h = e2e_json(next, strlen(next), "hello after bad input");
            ck_assert_msg(
                e2e_bool(h, "ok", "hello after bad input") && jsonv_get_str(h, "state") != NULL,
                "%s: the line after the error reply is not the hello reply: %s", in->name, next);
        } else {
            ck_assert_msg(in->may_close && (r <= 0 || eof),
                          "%s: no hello reply on the same connection after the error reply",
                          in->name);
        }
    }
    close(fd);

    /* Still serving, with the right numbers; the host saw nothing. */
    e2e_truth_check(v, true);
    ck_assert_msg(strcmp(e2e_buf_str(&v->out), e2e_buf_str(&base->out)) == 0,
                  "%s: the host's stdout changed:\n%s\nwithout the agent:\n%s", in->name,
                  e2e_buf_str(&v->out), e2e_buf_str(&base->out));
    ck_assert_msg(strcmp(e2e_buf_str(&v->err), e2e_buf_str(&base->err)) == 0,
                  "%s: the host's stderr changed:\n%s\nwithout the agent:\n%s", in->name,
                  e2e_buf_str(&v->err), e2e_buf_str(&base->err));
    ck_assert_int_eq(v->status, base->status);
    e2e_buf_done(&line);
}
END_TEST

/*
 * Clients that misbehave must not block the others or the host: one sends
 * half a request and stalls, one pipelines full snapshots and never reads
 * the replies. A new client is still answered, the numbers still match the
 * truth, and the host exits normally while both are still connected.
 */
START_TEST(robust_stalled_clients)
{
    struct e2e_proc *v = e2e_victim(e2e_env_agent("0.05", NULL), "several.py", NULL);
    e2e_wait_agent(v);
    const char *path = e2e_sock_path(v->pid);

    int half = e2e_connect(path);
    e2e_send(half, "{\"cmd\":", 7);
    int deaf = e2e_connect(path);
    int small = 4096;
    setsockopt(deaf, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    static const char full[] = "{\"cmd\":\"snapshot\",\"full\":true}\n";
    for (int i = 0; i < 20; i++) {
        e2e_send(deaf, full, sizeof(full) - 1);
    }

    int fd = e2e_connect(path);
    const struct jsonv *h = e2e_request(fd, "{\"cmd\":\"hello\"}");
    ck_assert_msg(e2e_bool(h, "ok", "hello"), "hello refused while other clients stall");
    close(fd);
    e2e_truth_check(v, true);
    ck_assert_int_eq(v->status, 0);
    close(half);
    close(deaf);
}
END_TEST

/* ---- threads -------------------------------------------------------------------- */

START_TEST(robust_threads_mutating_caches)
{
    /* The line before READY does not depend on timing, so a short
     * baseline run prints the same. */
    struct e2e_proc *base = baseline("threads.py", "0.3");
    struct e2e_proc *v = e2e_victim(e2e_env_agent("0.05", NULL), "threads.py", "2.0", NULL);
    const struct jsonv *hello = e2e_wait_agent(v);

    /* The sampler ran while the threads did (2 s at 50 ms: up to 40; fewer
     * when samples are slow, as in a sanitized build, since each waits 20
     * times its own duration). */
    int64_t samples = e2e_int(hello, "samples", "hello");
    ck_assert_msg(samples >= 5, "only %lld samples during 2 s at 50 ms intervals",
                  (long long)samples);

    e2e_truth_check(v, true);
    e2e_assert_unchanged(v, base, true, "threads.py");
    ck_assert_msg(strstr(e2e_buf_str(&v->out), ", 0 wrong results") != NULL,
                  "wrong cached results: %s", e2e_buf_str(&v->out));
}
END_TEST

/* ---- GIL convoy ------------------------------------------------------------------ */

START_TEST(robust_gil_convoy)
{
    struct e2e_proc *v = e2e_victim(e2e_env_agent("0.05", NULL), "spin.py", NULL);
    const struct jsonv *sample = NULL;

    e2e_wait_agent(v);
    for (int i = 0; i < 5; i++) {
        sample = e2e_agent_snapshot(v->pid, true);
    }
    e2e_spin_finish(v, sample, "spin.py: sampled during a GIL convoy");
}
END_TEST

static Suite *
robust_suite(void)
{
    Suite *s = suite_create("e2e-robust");
    TCase *tc = e2e_tcase("bad-input");

    tcase_add_loop_test(tc, robust_bad_socket_input, 0,
                        (int)(sizeof(bad_inputs) / sizeof(bad_inputs[0])));
    suite_add_tcase(s, tc);

    tc = e2e_tcase("clients");
    tcase_add_test(tc, robust_stalled_clients);
    suite_add_tcase(s, tc);

    tc = e2e_tcase("threads");
    tcase_add_test(tc, robust_threads_mutating_caches);
    tcase_add_test(tc, robust_gil_convoy);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return e2e_main(robust_suite);
}
