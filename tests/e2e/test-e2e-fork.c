/* SPDX-License-Identifier: MIT */
/*
 * test-e2e-fork: process trees under the agent, each process checked
 * against the numbers it measured itself (weak references, gc.collect()).
 *
 * - os.fork() children that leak and end with os._exit() (which skips
 *   atexit): `lruleak run` records every child - process line with its
 *   parent and "forked", exactly one final sample, the caches it pins
 *   (its own and the copies of its parent's) - and the parent;
 * - multiprocessing.Pool workers with each start method (fork, forkserver,
 *   spawn): every worker's final sample pins what the worker counted, and
 *   every process of the tree (forkserver, resource tracker) has its final
 *   sample;
 * - os.fork() children of a parent whose agent is still getting ready (a
 *   fresh forkserver's pool workers), which leak and os._exit() at once:
 *   each has its final sample, with what it counted;
 * - a storm of 200 short children alive at once: every one recorded with
 *   its final sample, and the run ends (no hang);
 * - a forked child serves its own socket <dir>/<child pid>.sock: hello
 *   names the child and its parent, its snapshot shows its own caches;
 * - LRULEAK_FOLLOW_FORKS=0 keeps children out of the recording;
 * - a child forked after `lruleak detach` stays dormant (no socket, no
 *   recording), also when the parent is attached again (with ptrace
 *   rights), and the parent exits cleanly.
 * That a program that forks prints the same with the agent is checked in
 * test-e2e-inert.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e-helpers.h"

/* ---- helpers ----------------------------------------------------------------- */

/* The row named qualname in a sample (any module: spawn workers import the
 * main script as __mp_main__), or NULL when the cache holds nothing. */
static const struct jsonv *
row_named(const struct jsonv *sample, const char *qualname)
{
    const struct jsonv *caches = jsonv_get(sample, "caches");

    for (size_t i = 0; jsonv_is(caches, JSONV_ARRAY) && i < caches->u.arr.n; i++) {
        const char *q = jsonv_get_str(&caches->u.arr.items[i], "qualname");
        if (q != NULL && strcmp(q, qualname) == 0) {
            return &caches->u.arr.items[i];
        }
    }
    return NULL;
}

/* pinned of qualname in a sample: 0 when the cache is not listed. */
static int64_t
pinned_in(const struct jsonv *sample, const char *qualname)
{
    const struct jsonv *row = row_named(sample, qualname);

    return row != NULL ? e2e_int(row, "pinned", qualname) : 0;
}

struct recording {
    const struct jsonv **lines;
    size_t n;
    size_t processes; /* process lines */
};

/* lruleak run --output REC -- PYTHON scenarios/SCRIPT ARGS..., exit 0. */
static struct recording
run_recorded(const char *const *env_extra, const char *script, const char *const *args)
{
    struct recording rec = {0};
    const char *out = e2e_strdupf("%s/rec.jsonl", e2e_recdir);
    char *argv[16];
    size_t n = 0;

    argv[n++] = (char *)e2e_cfg.cli;
    argv[n++] = "run";
    argv[n++] = "--output";
    argv[n++] = (char *)out;
    argv[n++] = "--";
    argv[n++] = (char *)e2e_cfg.python;
    argv[n++] = e2e_strdupf("%s/%s", e2e_cfg.scenarios, script);
    for (size_t i = 0; args[i] != NULL; i++) {
        argv[n++] = (char *)args[i];
    }
    argv[n] = NULL;
    struct e2e_proc *p = e2e_run(argv, e2e_env_cli(env_extra), NULL, 4 * E2E_CLI_MS);
    ck_assert_msg(p->status == 0, "lruleak run -- %s exited %d: %s", script, p->status,
                  e2e_buf_str(&p->err));
    rec.n = e2e_json_lines(e2e_read_file(out), &rec.lines, "the recording");
    for (size_t i = 0; i < rec.n; i++) {
        const char *type = jsonv_get_str(rec.lines[i], "type");
        rec.processes += type != NULL && strcmp(type, "process") == 0;
    }
    return rec;
}

/*
 * pid is in the recording with a process line, exactly one final sample,
 * which is its last; returns that sample.
 */
static const struct jsonv *
final_sample(const struct recording *rec, int64_t pid, const char *what)
{
    struct e2e_rec_proc pl = e2e_rec_proc(rec->lines, rec->n, pid);

    ck_assert_msg(pl.process != NULL, "%s (pid %lld) has no process line", what, (long long)pid);
    ck_assert_msg(pl.finals == 1 && e2e_bool(pl.last_sample, "final", what),
                  "%s (pid %lld): %zu final samples in %zu, expected its last one to be final",
                  what, (long long)pid, pl.finals, pl.samples);
    return pl.last_sample;
}

static bool
forked(const struct recording *rec, int64_t pid)
{
    bool f = false;

    (void)jsonv_get_bool(e2e_rec_proc(rec->lines, rec->n, pid).process, "forked", &f);
    return f;
}

/* Run scenarios/SCRIPT TRUTH N under `lruleak run`; its truth file holds one
 * line per process, `expected` of them, all in the recording. */
static struct recording
run_counted(const char *script, const char *n, size_t expected, const struct jsonv ***ret_truth)
{
    const char *truth = e2e_strdupf("%s/truth.jsonl", e2e_recdir);
    const char *args[] = {truth, n, NULL};
    struct recording rec = run_recorded(NULL, script, args);
    size_t lines = e2e_json_lines(e2e_read_file(truth), ret_truth, "the victim's truth");

    ck_assert_msg(lines == expected, "%s: %zu truth lines, expected %zu", script, lines, expected);
    ck_assert_msg(rec.processes == lines, "%s: %zu processes recorded, %zu ran", script,
                  rec.processes, lines);
    return rec;
}

/* ---- tests ----------------------------------------------------------------------- */

START_TEST(fork_children_recorded)
{
    const struct jsonv **t;
    struct recording rec = run_counted("fork_children.py", "4", 5, &t);

    for (size_t i = 0; i < rec.processes; i++) {
        int64_t pid = e2e_int(t[i], "pid", "truth");
        const char *what = e2e_bool(t[i], "forked", "truth") ? "a forked child" : "the parent";
        const struct jsonv *s = final_sample(&rec, pid, what);
        const struct jsonv *proc = e2e_rec_proc(rec.lines, rec.n, pid).process;

        ck_assert_int_eq(e2e_int(proc, "ppid", what), e2e_int(t[i], "ppid", "truth"));
        ck_assert_msg(forked(&rec, pid) == e2e_bool(t[i], "forked", "truth"),
                      "%s (pid %lld): \"forked\" is wrong", what, (long long)pid);
        static const char *const caches[] = {"Parent.keep", "Child.work"};
        for (size_t k = 0; k < 2; k++) {
            int64_t want = e2e_int(t[i], caches[k], "truth"), got = pinned_in(s, caches[k]);
            ck_assert_msg(got == want, "%s (pid %lld): %s pins %lld, the process counted %lld",
                          what, (long long)pid, caches[k], (long long)got, (long long)want);
        }
    }
}
END_TEST

START_TEST(children_of_a_starting_agent_recorded)
{
    const char *truth = e2e_strdupf("%s/truth.jsonl", e2e_recdir);
    const char *args[] = {truth, "5", NULL};
    struct recording rec = run_recorded(NULL, "fork_while_starting.py", args);
    const struct jsonv **t;
    size_t n = e2e_json_lines(e2e_read_file(truth), &t, "the victim's truth");

    ck_assert_msg(n == 5, "fork_while_starting.py: %zu truth lines, expected 5", n);
    for (size_t i = 0; i < n; i++) {
        int64_t pid = e2e_int(t[i], "pid", "truth");
        const struct jsonv *s = final_sample(&rec, pid, "a child forked while starting");
        int64_t want = e2e_int(t[i], "Child.work", "truth");
        int64_t got = pinned_in(s, "main.<locals>.Child.work");

        ck_assert_msg(got == want, "child %lld: Child.work pins %lld, the child counted %lld",
                      (long long)pid, (long long)got, (long long)want);
    }
}
END_TEST

static const char *const start_methods[] = {"fork", "forkserver", "spawn"};

START_TEST(pool_workers_recorded)
{
    const char *method = start_methods[_i];
    const char *truth = e2e_strdupf("%s/truth.json", e2e_recdir);
    const char *args[] = {method, truth, NULL};
    struct recording rec = run_recorded(NULL, "pool_workers.py", args);
    char *text = e2e_read_file(truth);
    const struct jsonv *t = e2e_json(text, strlen(text), "pool_workers.py's truth");
    const struct jsonv *workers = jsonv_get(t, "workers");

    final_sample(&rec, e2e_int(t, "parent", "truth"), "the pool's parent");
    ck_assert_msg(jsonv_is(workers, JSONV_OBJECT) && workers->u.obj.n > 0, "no worker ran a task");
    for (size_t i = 0; i < workers->u.obj.n; i++) {
        int64_t pid = strtoll(workers->u.obj.members[i].key, NULL, 10);
        int64_t want = workers->u.obj.members[i].value.u.num.i;
        const struct jsonv *s = final_sample(&rec, pid, method);
        int64_t got = pinned_in(s, "Worker.compute");

        ck_assert_msg(got == want, "%s worker %lld: Worker.compute pins %lld, it counted %lld",
                      method, (long long)pid, (long long)got, (long long)want);
        ck_assert_msg(forked(&rec, pid) == (strcmp(method, "spawn") != 0),
                      "%s worker %lld: \"forked\" is wrong", method, (long long)pid);
    }
    /* No final sample lost: the forkserver and the resource tracker end
     * after the parent, and `run` waits for them. */
    for (size_t i = 0; i < rec.n; i++) {
        const char *type = jsonv_get_str(rec.lines[i], "type");
        if (type != NULL && strcmp(type, "process") == 0) {
            final_sample(&rec, e2e_int(rec.lines[i], "pid", "process line"), method);
        }
    }
}
END_TEST

START_TEST(fork_storm_recorded)
{
    const struct jsonv **t;
    struct recording rec = run_counted("fork_storm.py", "200", 201, &t);

    for (size_t i = 0; i < rec.processes; i++) {
        int64_t pid = e2e_int(t[i], "pid", "truth");
        const struct jsonv *s = final_sample(&rec, pid, "a storm child");
        int64_t want = e2e_int(t[i], "Storm.hit", "truth");

        ck_assert_msg(pinned_in(s, "Storm.hit") == want,
                      "pid %lld: Storm.hit pins %lld, it counted %lld", (long long)pid,
                      (long long)pinned_in(s, "Storm.hit"), (long long)want);
    }
}
END_TEST

START_TEST(forked_child_serves_its_socket)
{
    struct e2e_proc *v = e2e_victim(e2e_env_agent("0.05", NULL), "fork_serve.py", "5", NULL);
    const char *line = strstr(e2e_buf_str(&v->out), "CHILD ");

    ck_assert_msg(line != NULL, "no CHILD line: %s", e2e_buf_str(&v->out));
    line += strlen("CHILD ");
    const struct jsonv *child = e2e_json(line, strcspn(line, "\n"), "the child's truth");
    int64_t pid = e2e_int(child, "pid", "child truth");

    const struct jsonv *hello = e2e_wait_agent_in(v, (pid_t)pid);
    ck_assert_int_eq(e2e_int(hello, "pid", "the child's hello"), pid);
    ck_assert_int_eq(e2e_int(hello, "ppid", "the child's hello"), v->pid);
    const struct jsonv *s = e2e_agent_snapshot((pid_t)pid, true);
    ck_assert_int_eq(pinned_in(s, "Child.work"), e2e_int(child, "Child.work", "child truth"));
    ck_assert_int_eq(pinned_in(s, "Parent.keep"), e2e_int(child, "Parent.keep", "child truth"));
    /* The parent still answers for itself. */
    hello = e2e_wait_agent(v);
    ck_assert_int_eq(e2e_int(hello, "pid", "the parent's hello"), v->pid);
    s = e2e_agent_snapshot(v->pid, true);

    e2e_proc_write(v, "go\n");
    ck_assert(e2e_proc_wait(v, E2E_EXIT_MS));
    ck_assert_msg(v->status == 0, "fork_serve.py exited %d: %s", v->status, e2e_buf_str(&v->err));
    const char *last = strrchr(e2e_buf_str(&v->out), '{');
    const struct jsonv *parent = e2e_json(last, strcspn(last, "\n"), "the parent's truth");
    ck_assert_int_eq(pinned_in(s, "Parent.keep"), e2e_int(parent, "Parent.keep", "parent truth"));
    ck_assert_int_eq(pinned_in(s, "Child.work"), e2e_int(parent, "Child.work", "parent truth"));
}
END_TEST

/* A child forked while the parent's agent is detached stays dormant: no
 * socket, no recording, nothing on stderr; the parent can be attached again
 * (when the CLI may ptrace it) and the child is left alone. */
START_TEST(fork_after_detach_stays_dormant)
{
    const char *rec = e2e_strdupf("LRULEAK_RECORD=%s", e2e_recdir);
    const char *extra[] = {rec, NULL};
    struct e2e_proc *v =
        e2e_victim(e2e_env_agent("0.05", extra), "fork_serve.py", "3", "wait", NULL);
    char why[256];

    e2e_wait_agent(v);
    e2e_detach(v->pid);
    e2e_proc_write(v, "fork\n");
    const char *line = e2e_proc_read_line(v, E2E_EXIT_MS);
    ck_assert_msg(line != NULL && strncmp(line, "CHILD ", 6) == 0, "no CHILD line: %s",
                  e2e_buf_str(&v->out));
    const struct jsonv *child = e2e_json(line + 6, strlen(line + 6), "the child's truth");
    int64_t pid = e2e_int(child, "pid", "child truth");
    ck_assert_int_eq(e2e_int(child, "Child.work", "child truth"), 3);

    /* A followed child makes its socket within milliseconds of the fork
     * (forked_child_serves_its_socket); give it a generous second. */
    double until = e2e_now_s() + 1.5;
    while (e2e_now_s() < until) {
        ck_assert_msg(access(e2e_sock_path((pid_t)pid), F_OK) != 0,
                      "the child of a detached agent made a socket");
        e2e_sleep_s(0.05);
    }
    ck_assert_msg(access(e2e_strdupf("%s/%lld.jsonl", e2e_recdir, (long long)pid), F_OK) != 0,
                  "the child of a detached agent records");
    if (e2e_can_attach(why, sizeof(why))) {
        e2e_attach(v->pid, NULL, "0.05");
        ck_assert_int_eq(pinned_in(e2e_agent_snapshot(v->pid, true), "Parent.keep"), 2);
        ck_assert_msg(access(e2e_sock_path((pid_t)pid), F_OK) != 0,
                      "attaching the parent woke its dormant child");
    }
    e2e_proc_write(v, "go\n");
    ck_assert(e2e_proc_wait(v, E2E_EXIT_MS));
    ck_assert_msg(v->status == 0, "fork_serve.py exited %d: %s", v->status, e2e_buf_str(&v->err));
    ck_assert_msg(e2e_buf_str(&v->err)[0] == '\0', "stderr: %s", e2e_buf_str(&v->err));
}
END_TEST

START_TEST(follow_forks_off)
{
    const char *truth = e2e_strdupf("%s/truth.jsonl", e2e_recdir);
    const char *args[] = {truth, "2", NULL};
    const char *env[] = {"LRULEAK_FOLLOW_FORKS=0", NULL};
    struct recording rec = run_recorded(env, "fork_children.py", args);

    ck_assert_msg(rec.processes == 1, "%zu processes recorded with LRULEAK_FOLLOW_FORKS=0",
                  rec.processes);
}
END_TEST

static Suite *
fork_suite(void)
{
    Suite *s = suite_create("e2e-fork");
    TCase *tc = e2e_tcase("fork");

    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, fork_children_recorded);
    tcase_add_loop_test(tc, pool_workers_recorded, 0,
                        sizeof(start_methods) / sizeof(start_methods[0]));
    tcase_add_test(tc, children_of_a_starting_agent_recorded);
    tcase_add_test(tc, fork_storm_recorded);
    tcase_add_test(tc, forked_child_serves_its_socket);
    tcase_add_test(tc, follow_forks_off);
    tcase_add_test(tc, fork_after_detach_stays_dormant);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return e2e_main(fork_suite);
}
