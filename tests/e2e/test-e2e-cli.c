/* SPDX-License-Identifier: MIT */
/*
 * test-e2e-cli: the lruleak command line against real processes.
 *
 * `run`: a short script (scenarios/short.py, well under 100 ms; tiny.py, a
 * few milliseconds) under
 * `lruleak run --output F`: the recording ends with a final sample whose
 * numbers match the truth the script wrote to a side file, `report F
 * --format json` shows the same, CMD's exit status passes through and
 * `--fail-on leak` turns a successful leaky run into exit 10. `run` follows
 * a Python child (scenarios/family.py). Errors: snapshot of a pid that does
 * not exist or has no agent (exit 3), report of a missing or corrupt file
 * (exit 1). The exit codes are the CLI's documented ones (cli/cli.h).
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e-helpers.h"

/* ---- helpers ---------------------------------------------------------------- */

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    fputs(text, f);
    fclose(f);
}

/* stderr is exactly one non-empty line. */
static void
assert_one_line(const struct e2e_proc *p, const char *what)
{
    const char *err = e2e_buf_str(&p->err);
    const char *nl = strchr(err, '\n');
    ck_assert_msg(p->err.len > 1 && nl != NULL && nl[1] == '\0',
                  "%s: stderr should be exactly one line, got: \"%s\"", what, err);
}

/* The script's truth file: {"pid": N, "Task.plan": {...}}. */
static const struct jsonv *
read_truth(const char *path)
{
    char *text = e2e_read_file(path);
    return e2e_json(text, strlen(text), "short.py's truth file");
}

/*
 * Validate short.py's non-destructive truth without the agent: --verify
 * recounts destructively and exits 1 on a difference.
 */
static void
verify_short_truth(const char *mode)
{
    char *path = e2e_strdupf("%s/verify-%s.json", e2e_recdir, mode);
    char *script = e2e_strdupf("%s/short.py", e2e_cfg.scenarios);
    char *argv[] = {(char *)e2e_cfg.python, script, (char *)mode, "0", path, "--verify", NULL};
    struct e2e_proc *p = e2e_run(argv, e2e_env(NULL), NULL, E2E_CLI_MS);
    ck_assert_msg(p->status == 0, "short.py %s --verify: its own truth is inconsistent: %s", mode,
                  e2e_buf_str(&p->err));
}

/* lruleak run [extra...] --output F -- python short.py MODE STATUS T */
static struct e2e_proc *
run_short(const char *mode, const char *status, const char *fail_on, const char *out,
          const char *truth)
{
    char *script = e2e_strdupf("%s/short.py", e2e_cfg.scenarios);
    char **env = e2e_env_cli(NULL);
    if (fail_on != NULL) {
        return e2e_cli(env, "run", "--output", out, "--fail-on", fail_on, "--", e2e_cfg.python,
                       script, mode, status, truth, NULL);
    }
    return e2e_cli(env, "run", "--output", out, "--", e2e_cfg.python, script, mode, status, truth,
                   NULL);
}

/* Compare a row (sample or report) with a short script's truth row. */
static void
check_task_row_named(const struct jsonv *caches, const struct jsonv *t, const char *qualname,
                     const char *what)
{
    const struct jsonv *row = e2e_find_row(caches, e2e_str(t, "module", "truth"), qualname, what);
    static const char *const fields[] = {"entries", "selves", "pinned"};
    int64_t pinned = e2e_int(t, "pinned", "truth");

    ck_assert_msg(row != NULL, "%s: no %s row", what, qualname);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        int64_t got = e2e_int(row, fields[i], what), want = e2e_int(t, fields[i], "truth");
        ck_assert_msg(got == want, "%s: %s %s is %lld, the script counted %lld", what, qualname,
                      fields[i], (long long)got, (long long)want);
    }
    ck_assert_str_eq(e2e_str(row, "kind", what), e2e_str(t, "kind", "truth"));
    ck_assert_msg(jsonv_is(jsonv_get(row, "maxsize"), JSONV_NULL), "%s: maxsize not null", what);
    ck_assert_str_eq(e2e_str(row, "verdict", what), pinned > 0 ? "leak" : "ok");
}

static void
check_task_row(const struct jsonv *caches, const struct jsonv *t, const char *what)
{
    check_task_row_named(caches, t, "Task.plan", what);
}

/* ---- run -------------------------------------------------------------------- */

START_TEST(cli_run_short_script_final_sample)
{
    char *out = e2e_strdupf("%s/run.jsonl", e2e_recdir);
    char *tpath = e2e_strdupf("%s/truth.json", e2e_recdir);

    verify_short_truth("leak");
    struct e2e_proc *run = run_short("leak", "0", NULL, out, tpath);
    ck_assert_msg(run->status == 0, "lruleak run exited %d, the script exited 0 (stderr: %s)",
                  run->status, e2e_buf_str(&run->err));

    const struct jsonv *truth = read_truth(tpath);
    const struct jsonv *t = jsonv_get(truth, "Task.plan");
    int64_t pid = e2e_int(truth, "pid", "truth");
    ck_assert_int_gt(e2e_int(t, "pinned", "truth"), 0);

    const struct jsonv **lines;
    size_t n = e2e_json_lines(e2e_read_file(out), &lines, "the --output recording");
    struct e2e_rec_proc pl = e2e_rec_proc(lines, n, pid);
    ck_assert_msg(pl.process != NULL, "the recording has no process line for pid %lld",
                  (long long)pid);
    ck_assert_msg(pl.samples > 0, "the recording has no sample for pid %lld", (long long)pid);
    ck_assert_msg(pl.finals == 1, "pid %lld has %zu final samples, expected 1", (long long)pid,
                  pl.finals);
    ck_assert_msg(e2e_bool(pl.last_sample, "final", "last sample"),
                  "the last sample of pid %lld is not the final one", (long long)pid);
    check_task_row(e2e_caches_of(pl.last_sample, (pid_t)pid, "final sample"), t,
                   "the final sample");

    struct e2e_proc *rep = e2e_cli(e2e_env_cli(NULL), "report", out, "--format", "json", NULL);
    ck_assert_msg(rep->status == 0, "lruleak report exited %d: %s", rep->status,
                  e2e_buf_str(&rep->err));
    const struct jsonv *doc =
        e2e_json(e2e_buf_str(&rep->out), rep->out.len, "lruleak report --format json");
    check_task_row(e2e_caches_of(doc, (pid_t)pid, "report"), t, "lruleak report");
}
END_TEST

/*
 * A script of a few milliseconds (scenarios/tiny.py prints its truth on
 * stdout, which `run` passes through). Five runs, so that a race between
 * the script's end and the agent's start-up shows up reliably.
 */
START_TEST(cli_run_tiny_script_final_sample)
{
    char *script = e2e_strdupf("%s/tiny.py", e2e_cfg.scenarios);
    char *verify[] = {(char *)e2e_cfg.python, script, "--verify", NULL};
    struct e2e_proc *p = e2e_run(verify, e2e_env(NULL), NULL, E2E_CLI_MS);
    ck_assert_msg(p->status == 0, "tiny.py --verify: its own truth is inconsistent: %s",
                  e2e_buf_str(&p->err));

    /* The agents' log explains a missing sample. */
    const char *log_env[] = {e2e_strdupf("LRULEAK_LOG=%s", e2e_log), NULL};
    for (int i = 0; i < 5; i++) {
        char *out = e2e_strdupf("%s/tiny-%d.jsonl", e2e_recdir, i);
        struct e2e_proc *run = e2e_cli(e2e_env_cli(log_env), "run", "--output", out, "--",
                                       e2e_cfg.python, script, NULL);
        ck_assert_msg(run->status == 0, "run %d: lruleak run exited %d (stderr: %s)", i,
                      run->status, e2e_buf_str(&run->err));
        const struct jsonv *truth =
            e2e_json(e2e_buf_str(&run->out), run->out.len, "tiny.py's truth line");
        int64_t pid = e2e_int(truth, "pid", "truth");
        const struct jsonv **lines;
        size_t n = e2e_json_lines(e2e_read_file(out), &lines, "the --output recording");
        struct e2e_rec_proc pl = e2e_rec_proc(lines, n, pid);
        ck_assert_msg(pl.process != NULL && pl.finals == 1,
                      "run %d of a %s script: %s process line and %zu final samples for pid "
                      "%lld, expected one of each (lruleak's stderr: %s; agent log: %s)",
                      i, "few-millisecond", pl.process != NULL ? "a" : "no", pl.finals,
                      (long long)pid, e2e_buf_str(&run->err),
                      access(e2e_log, R_OK) == 0 ? e2e_read_file(e2e_log) : "(none)");
        check_task_row_named(e2e_caches_of(pl.last_sample, (pid_t)pid, "final sample"),
                             jsonv_get(truth, "Note.text"), "Note.text", "the final sample");
    }
}
END_TEST

START_TEST(cli_run_passes_exit_status)
{
    static const char *const cases[][2] = {{"leak", "3"}, {"noleak", "0"}, {"noleak", "5"}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = e2e_strdupf("%s/run-%zu.jsonl", e2e_recdir, i);
        char *tpath = e2e_strdupf("%s/truth-%zu.json", e2e_recdir, i);
        struct e2e_proc *run = run_short(cases[i][0], cases[i][1], NULL, out, tpath);
        ck_assert_msg(run->status == atoi(cases[i][1]),
                      "lruleak run (no gate) exited %d, the %s script exited %s (stderr: %s)",
                      run->status, cases[i][0], cases[i][1], e2e_buf_str(&run->err));
    }

    /* cli/cli.h: 128+N when CMD dies of signal N, 127 when it cannot run. */
    char *out = e2e_strdupf("%s/run-signal.jsonl", e2e_recdir);
    struct e2e_proc *run = e2e_cli(e2e_env_cli(NULL), "run", "--output", out, "--", "/bin/sh", "-c",
                                   "kill -TERM $$", NULL);
    ck_assert_msg(run->status == 128 + 15, "lruleak run of a CMD killed by SIGTERM exited %d",
                  run->status);
    out = e2e_strdupf("%s/run-noexec.jsonl", e2e_recdir);
    run = e2e_cli(e2e_env_cli(NULL), "run", "--output", out, "--",
                  e2e_strdupf("%s/no-such-program", e2e_recdir), NULL);
    ck_assert_msg(run->status == 127, "lruleak run of a missing CMD exited %d, expected 127",
                  run->status);
}
END_TEST

START_TEST(cli_run_fail_on_leak_gate)
{
    char *out = e2e_strdupf("%s/run.jsonl", e2e_recdir);
    char *tpath = e2e_strdupf("%s/truth.json", e2e_recdir);

    struct e2e_proc *run = run_short("leak", "0", "leak", out, tpath);
    const struct jsonv *t = jsonv_get(read_truth(tpath), "Task.plan");
    ck_assert_int_gt(e2e_int(t, "pinned", "truth"), 0);
    ck_assert_msg(run->status == 10,
                  "lruleak run --fail-on leak exited %d; the script succeeded and pinned %lld "
                  "Tasks, expected 10 (stderr: %s)",
                  run->status, (long long)e2e_int(t, "pinned", "truth"), e2e_buf_str(&run->err));
}
END_TEST

START_TEST(cli_run_fail_on_without_leak)
{
    char *out = e2e_strdupf("%s/run.jsonl", e2e_recdir);
    char *tpath = e2e_strdupf("%s/truth.json", e2e_recdir);

    verify_short_truth("noleak");
    struct e2e_proc *run = run_short("noleak", "0", "leak", out, tpath);
    const struct jsonv *truth = read_truth(tpath);
    const struct jsonv *t = jsonv_get(truth, "Task.plan");
    ck_assert_int_eq(e2e_int(t, "pinned", "truth"), 0);
    ck_assert_msg(run->status == 0,
                  "lruleak run --fail-on leak exited %d with nothing pinned, expected 0 "
                  "(stderr: %s)",
                  run->status, e2e_buf_str(&run->err));

    struct e2e_proc *rep = e2e_cli(e2e_env_cli(NULL), "report", out, "--format", "json", NULL);
    ck_assert_msg(rep->status == 0, "lruleak report exited %d: %s", rep->status,
                  e2e_buf_str(&rep->err));
    const struct jsonv *doc = e2e_json(e2e_buf_str(&rep->out), rep->out.len, "report");
    check_task_row(e2e_caches_of(doc, (pid_t)e2e_int(truth, "pid", "truth"), "report"), t,
                   "lruleak report");
}
END_TEST

START_TEST(cli_run_fail_on_keeps_failure_status)
{
    char *out = e2e_strdupf("%s/run.jsonl", e2e_recdir);
    char *tpath = e2e_strdupf("%s/truth.json", e2e_recdir);

    struct e2e_proc *run = run_short("leak", "3", "leak", out, tpath);
    ck_assert_int_gt(e2e_int(jsonv_get(read_truth(tpath), "Task.plan"), "pinned", "truth"), 0);
    ck_assert_msg(run->status == 3,
                  "lruleak run --fail-on leak exited %d; the leaking script exited 3, which "
                  "must pass through (stderr: %s)",
                  run->status, e2e_buf_str(&run->err));
}
END_TEST

START_TEST(cli_run_follows_python_child)
{
    char *out = e2e_strdupf("%s/run.jsonl", e2e_recdir);
    char *pids = e2e_strdupf("%s/pids.json", e2e_recdir);
    char *script = e2e_strdupf("%s/family.py", e2e_cfg.scenarios);

    struct e2e_proc *run = e2e_cli(e2e_env_cli(NULL), "run", "--output", out, "--", e2e_cfg.python,
                                   script, pids, NULL);
    ck_assert_msg(run->status == 0, "lruleak run exited %d (stderr: %s)", run->status,
                  e2e_buf_str(&run->err));
    char *text = e2e_read_file(pids);
    const struct jsonv *family = e2e_json(text, strlen(text), "family.py's pids file");
    int64_t who[2] = {e2e_int(family, "parent", "pids"), e2e_int(family, "child", "pids")};

    const struct jsonv **lines;
    size_t n = e2e_json_lines(e2e_read_file(out), &lines, "the --output recording");
    for (size_t i = 0; i < 2; i++) {
        struct e2e_rec_proc pl = e2e_rec_proc(lines, n, who[i]);
        const char *role = i == 0 ? "parent" : "child";
        ck_assert_msg(pl.process != NULL, "no process line for the %s (pid %lld)", role,
                      (long long)who[i]);
        ck_assert_msg(pl.finals == 1, "the %s (pid %lld) has %zu final samples, expected 1", role,
                      (long long)who[i], pl.finals);
        if (i == 1) {
            ck_assert_int_eq(e2e_int(pl.process, "ppid", "child process line"), who[0]);
        }
    }
}
END_TEST

/* ---- list and LRULEAK_RECORD ------------------------------------------------- */

/* Some line of text starts (after blanks) with the token `word`. */
static bool
has_row(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *l = text; l != NULL && *l != '\0';
         l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        while (*l == ' ' || *l == '\t') {
            l++;
        }
        if (strncmp(l, word, n) == 0 && (l[n] == ' ' || l[n] == '\t' || l[n] == '\n')) {
            return true;
        }
    }
    return false;
}

START_TEST(cli_list_shows_running_agent)
{
    struct e2e_proc *v = e2e_victim(e2e_env_agent("0.05", NULL), "several.py", NULL);
    e2e_wait_agent(v);
    char *pid = e2e_strdupf("%d", (int)v->pid);

    struct e2e_proc *p = e2e_cli(e2e_env_cli(NULL), "list", NULL);
    ck_assert_msg(p->status == 0, "lruleak list exited %d: %s", p->status, e2e_buf_str(&p->err));
    ck_assert_msg(has_row(e2e_buf_str(&p->out), pid), "lruleak list has no row for pid %s:\n%s",
                  pid, e2e_buf_str(&p->out));

    e2e_victim_truth(v);
    p = e2e_cli(e2e_env_cli(NULL), "list", NULL);
    ck_assert_msg(p->status == 0, "lruleak list exited %d: %s", p->status, e2e_buf_str(&p->err));
    ck_assert_msg(!has_row(e2e_buf_str(&p->out), pid),
                  "lruleak list still lists pid %s after it exited:\n%s", pid,
                  e2e_buf_str(&p->out));
}
END_TEST

/*
 * LRULEAK_RECORD: the agent's own recording. While the victim waits, a full
 * snapshot matches its truth; then the victim clears its caches and exits,
 * so the recording must end with a final sample that lists none of them.
 */
START_TEST(cli_record_dir_recording)
{
    const char *rec[] = {e2e_strdupf("LRULEAK_RECORD=%s", e2e_recdir), NULL};
    struct e2e_proc *v = e2e_victim(e2e_env_agent("0.05", rec), "several.py", NULL);
    e2e_wait_agent(v);
    const struct jsonv *truth = e2e_truth_check(v, true);

    const struct jsonv **lines;
    size_t n = e2e_json_lines(e2e_read_file(e2e_strdupf("%s/%d.jsonl", e2e_recdir, (int)v->pid)),
                              &lines, "the LRULEAK_RECORD recording");
    ck_assert_msg(n >= 2, "the recording has %zu lines", n);
    ck_assert_str_eq(e2e_str(lines[0], "type", "line 1"), "process");
    ck_assert_int_eq(e2e_int(lines[0], "pid", "line 1"), v->pid);
    struct e2e_rec_proc pl = e2e_rec_proc(lines, n, v->pid);
    ck_assert_msg(pl.samples + 1 == n, "the recording has lines of other types or pids");
    ck_assert_msg(pl.finals == 1 && pl.last_sample == lines[n - 1] &&
                      e2e_bool(lines[n - 1], "final", "last line"),
                  "the recording does not end with its only final sample");
    const struct jsonv *caches = e2e_caches_of(lines[n - 1], v->pid, "final sample");
    for (size_t i = 0; i < truth->u.obj.n; i++) {
        const char *q = truth->u.obj.members[i].key;
        const char *module = e2e_str(&truth->u.obj.members[i].value, "module", "truth");
        ck_assert_msg(e2e_find_row(caches, module, q, "final sample") == NULL,
                      "the final sample lists %s, which the program cleared before exiting", q);
    }
}
END_TEST

/* ---- errors ----------------------------------------------------------------- */

START_TEST(cli_snapshot_no_such_pid)
{
    /* A pid that existed a moment ago: a reaped child of ours. */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    ck_assert_msg(kill(pid, 0) != 0, "pid %d was reused already", (int)pid);

    struct e2e_proc *p = e2e_cli(e2e_env_cli(NULL), "snapshot", e2e_strdupf("%d", (int)pid),
                                 "--format", "json", NULL);
    ck_assert_msg(p->status == 3, "snapshot of a dead pid exited %d, expected 3 (stderr: %s)",
                  p->status, e2e_buf_str(&p->err));
    ck_assert_msg(p->out.len == 0, "snapshot of a dead pid printed: %s", e2e_buf_str(&p->out));
    assert_one_line(p, "snapshot of a dead pid");
}
END_TEST

START_TEST(cli_snapshot_pid_without_agent)
{
    /* cat: no agent, not Python, and it exits on EOF if the test dies. */
    char *argv[] = {"/bin/cat", NULL};
    struct e2e_proc *sleeper = e2e_spawn(argv, e2e_env(NULL));

    struct e2e_proc *p = e2e_cli(e2e_env_cli(NULL), "snapshot",
                                 e2e_strdupf("%d", (int)sleeper->pid), "--format", "json", NULL);
    ck_assert_msg(p->status == 3,
                  "snapshot of a process without agent exited %d, expected 3 "
                  "(stderr: %s)",
                  p->status, e2e_buf_str(&p->err));
    assert_one_line(p, "snapshot of a process without agent");
    e2e_proc_kill(sleeper);
}
END_TEST

START_TEST(cli_report_missing_file)
{
    char *path = e2e_strdupf("%s/does-not-exist.jsonl", e2e_recdir);
    struct e2e_proc *p = e2e_cli(e2e_env_cli(NULL), "report", path, "--format", "json", NULL);

    ck_assert_msg(p->status == 1, "report of a missing file exited %d, expected 1 (stderr: %s)",
                  p->status, e2e_buf_str(&p->err));
    assert_one_line(p, "report of a missing file");
    ck_assert_msg(strstr(e2e_buf_str(&p->err), "does-not-exist.jsonl") != NULL,
                  "the message does not name the file: %s", e2e_buf_str(&p->err));
}
END_TEST

START_TEST(cli_report_corrupt_line_2)
{
    char *path = e2e_strdupf("%s/corrupt.jsonl", e2e_recdir);
    write_file(path, "{\"type\":\"process\",\"pid\":4242,\"ppid\":1,\"python\":\"3.11.2\","
                     "\"argv\":[\"python3\",\"app.py\"],\"start\":1763900000.25,"
                     "\"lruleak_version\":\"0.1.0\"}\n"
                     "{\"type\":\"sample\",\"pid\":4242,\"seq\":1,\"caches\":[{\"qualn\n"
                     "{\"type\":\"sample\",\"pid\":4242,\"seq\":2,\"t\":1.0,\"final\":true,"
                     "\"caches\":[]}\n");
    struct e2e_proc *p = e2e_cli(e2e_env_cli(NULL), "report", path, "--format", "json", NULL);
    const char *err = e2e_buf_str(&p->err);

    ck_assert_msg(p->status == 1, "report of a corrupt file exited %d, expected 1 (stderr: %s)",
                  p->status, err);
    ck_assert_msg(strstr(err, "line 2") != NULL || strstr(err, ":2:") != NULL,
                  "the message does not name line 2: %s", err);
}
END_TEST

static Suite *
cli_suite(void)
{
    Suite *s = suite_create("e2e-cli");
    TCase *tc = e2e_tcase("run");

    tcase_add_test(tc, cli_run_short_script_final_sample);
    tcase_add_test(tc, cli_run_tiny_script_final_sample);
    tcase_add_test(tc, cli_run_passes_exit_status);
    tcase_add_test(tc, cli_run_fail_on_leak_gate);
    tcase_add_test(tc, cli_run_fail_on_without_leak);
    tcase_add_test(tc, cli_run_fail_on_keeps_failure_status);
    tcase_add_test(tc, cli_run_follows_python_child);
    suite_add_tcase(s, tc);

    tc = e2e_tcase("agents");
    tcase_add_test(tc, cli_list_shows_running_agent);
    tcase_add_test(tc, cli_record_dir_recording);
    suite_add_tcase(s, tc);

    tc = e2e_tcase("errors");
    tcase_add_test(tc, cli_snapshot_no_such_pid);
    tcase_add_test(tc, cli_snapshot_pid_without_agent);
    tcase_add_test(tc, cli_report_missing_file);
    tcase_add_test(tc, cli_report_corrupt_line_2);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return e2e_main(cli_suite);
}
