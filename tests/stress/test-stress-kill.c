/* SPDX-License-Identifier: MIT */
/*
 * test-stress-kill: processes killed at the worst moment.
 *
 * A client killed with SIGKILL while it reads a long reply (a sample of
 * scenarios/many.py is about a megabyte), five times in a row: the agent
 * drops the half-sent reply, keeps sampling, answers the next client with
 * the right numbers, and the host's output is unchanged.
 *
 * `lruleak run` killed while its command runs, as README documents it:
 * SIGKILL (nothing can be forwarded) leaves CMD running, reparented, with
 * a working agent that keeps sampling, still answers, keeps recording into
 * the spool directory, and CMD ends normally; SIGTERM is forwarded to CMD,
 * which ends, is reaped by lruleak, and lruleak exits with 128+15 after
 * writing its report. The test process is a child subreaper, so the
 * orphaned command becomes its child and can be reaped.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e-helpers.h"

#define KILL_ROUNDS 5
#define KILL_AFTER_BYTES (128u << 10)

/* The agent keeps sampling: the count grows within a few seconds. */
static void
assert_sampling_goes_on(pid_t pid, const char *what)
{
    int64_t before = e2e_agent_samples(pid);
    for (int i = 0; i < 100; i++) {
        e2e_sleep_ms(50);
        if (e2e_agent_samples(pid) > before) {
            return;
        }
    }
    ck_abort_msg("%s: the agent took no sample in 5 s", what);
}

/* ---- a client killed mid-stream --------------------------------------------------- */

START_TEST(kill_client_mid_stream)
{
    char *script = e2e_strdupf("%s/many.py", e2e_cfg.scenarios);
    char *argv[] = {(char *)e2e_cfg.python, script, NULL};
    struct e2e_proc *base = e2e_run(argv, e2e_env_cli(NULL), "go\n", 60000);
    struct e2e_proc *v = e2e_victim(e2e_env_agent("0.05", NULL), "many.py", NULL);
    const char *path;

    e2e_wait_agent(v);
    path = e2e_sock_path(v->pid);
    for (int round = 0; round < KILL_ROUNDS; round++) {
        int ready[2];
        ck_assert(pipe(ready) == 0);
        pid_t pid = fork();
        ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
            /* The client: ask for ten full samples, read part of the
             * first reply, say so, and wait to be killed. */
            static const char req[] = "{\"cmd\":\"snapshot\"}\n";
            char buf[65536];
            size_t got = 0;
            int fd = e2e_connect(path);
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            for (int i = 0; i < 10; i++) {
                e2e_send(fd, req, sizeof(req) - 1);
            }
            while (got < KILL_AFTER_BYTES) {
                ssize_t n = recv(fd, buf, sizeof(buf), 0);
                if (n <= 0) {
                    _exit(3);
                }
                got += (size_t)n;
            }
            (void)!write(ready[1], "x", 1);
            for (;;) {
                pause();
            }
        }
        close(ready[1]);
        char c;
        ssize_t n = read(ready[0], &c, 1);
        close(ready[0]);
        ck_assert_msg(n == 1, "round %d: the client did not get %u bytes of a reply", round,
                      KILL_AFTER_BYTES);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "round %d: client status %d",
                      round, st);
    }
    assert_sampling_goes_on(v->pid, "after killed clients");
    e2e_truth_check(v, true);
    /* The truth line is the same whatever the agent does. */
    e2e_assert_unchanged(v, base, false, "many.py");
}
END_TEST

/* ---- lruleak run killed ------------------------------------------------------------- */

/* The pid of the one agent socket in the socket directory, waiting for it. */
static pid_t
agent_pid(void)
{
    for (int i = 0; i < 1000; i++) {
        DIR *d = opendir(e2e_sockdir);
        struct dirent *e;
        pid_t pid = 0;

        while (d != NULL && (e = readdir(d)) != NULL) {
            if (strstr(e->d_name, ".sock") != NULL) {
                pid = (pid_t)atoi(e->d_name);
            }
        }
        if (d != NULL) {
            closedir(d);
        }
        if (pid > 0) {
            return pid;
        }
        e2e_sleep_ms(10);
    }
    ck_abort_msg("no agent socket in %s", e2e_sockdir);
    return 0;
}

/* `lruleak run --output OUT -- python several.py` with its spool in
 * e2e_recdir; returns once the victim printed READY and its agent answers.
 * *ret_victim describes the victim: its pid, and the CLI's pipes, which it
 * shares. */
static struct e2e_proc *
start_run(const char *out, struct e2e_proc *ret_victim)
{
    const char *tmpdir[] = {e2e_strdupf("TMPDIR=%s", e2e_recdir), NULL};
    char *script = e2e_strdupf("%s/several.py", e2e_cfg.scenarios);
    char *argv[] = {(char *)e2e_cfg.cli, "run", "--interval",           "0.05", "--output",
                    (char *)out,         "--",  (char *)e2e_cfg.python, script, NULL};
    struct e2e_proc *cli;
    const char *line;

    ck_assert(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    cli = e2e_spawn(argv, e2e_env_cli(tmpdir));
    line = e2e_proc_read_line(cli, E2E_READY_MS);
    ck_assert_msg(line != NULL && strcmp(line, "READY") == 0,
                  "lruleak run: no READY from several.py (stderr: %s)", e2e_buf_str(&cli->err));
    *ret_victim = *cli;
    ret_victim->pid = agent_pid();
    ret_victim->name = script;
    ret_victim->out = (struct e2e_buf){0};
    ret_victim->err = (struct e2e_buf){0};
    ret_victim->out_pos = 0;
    e2e_wait_agent(ret_victim);
    return cli;
}

/* The spool directory lruleak made in e2e_recdir, or NULL. */
static char *
find_spool(void)
{
    DIR *d = opendir(e2e_recdir);
    struct dirent *e;
    char *found = NULL;

    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "lruleak-run-", 12) == 0) {
            found = e2e_strdupf("%s/%s", e2e_recdir, e->d_name);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return found;
}

START_TEST(kill_cli_run_sigkill)
{
    char *out = e2e_strdupf("%s/run.jsonl", e2e_recdir);
    struct e2e_proc victim;
    struct e2e_proc *cli = start_run(out, &victim);
    int st;

    kill(cli->pid, SIGKILL);
    ck_assert(waitpid(cli->pid, &st, 0) == cli->pid);
    cli->reaped = true;
    cli->in_fd = cli->out_fd = cli->err_fd = -1; /* the victim's now */

    /* The command lives on, reparented to us, with a working agent. */
    ck_assert_msg(kill(victim.pid, 0) == 0, "several.py died with lruleak run");
    assert_sampling_goes_on(victim.pid, "after lruleak run was killed");
    e2e_truth_check(&victim, true);

    /* Its recording went on in the spool, up to the final sample. */
    char *spool = find_spool();
    ck_assert_msg(spool != NULL, "no spool directory left in %s", e2e_recdir);
    char *rec = e2e_strdupf("%s/%d.jsonl", spool, (int)victim.pid);
    ck_assert_msg(strstr(e2e_read_text(rec), "\"final\":true") != NULL,
                  "the recording %s has no final sample", rec);
}
END_TEST

START_TEST(kill_cli_run_sigterm)
{
    char *out = e2e_strdupf("%s/run.jsonl", e2e_recdir);
    struct e2e_proc victim;
    struct e2e_proc *cli = start_run(out, &victim);

    kill(cli->pid, SIGTERM);
    ck_assert_msg(e2e_proc_wait(cli, E2E_CLI_MS), "lruleak run did not end after SIGTERM");
    ck_assert_msg(cli->status == 128 + SIGTERM, "lruleak run exited %d after SIGTERM (stderr: %s)",
                  cli->status, e2e_buf_str(&cli->err));
    /* lruleak reaped it: no process, no zombie left with us. */
    ck_assert_msg(kill(victim.pid, 0) < 0 && errno == ESRCH, "several.py (%d) still exists",
                  (int)victim.pid);
    ck_assert_msg(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD,
                  "a child of lruleak run was left to us");
    ck_assert_msg(find_spool() == NULL, "lruleak run left its spool directory");
    ck_assert_msg(strstr(e2e_buf_str(&cli->err), "recording written to") != NULL,
                  "no report after SIGTERM: %s", e2e_buf_str(&cli->err));
    ck_assert_msg(access(out, R_OK) == 0, "no recording %s", out);
}
END_TEST

static Suite *
stress_kill_suite(void)
{
    Suite *s = suite_create("stress-kill");
    TCase *tc = e2e_tcase("client");

    tcase_add_test(tc, kill_client_mid_stream);
    tcase_set_timeout(tc, 180);
    suite_add_tcase(s, tc);
    tc = e2e_tcase("run");
    tcase_add_test(tc, kill_cli_run_sigkill);
    tcase_add_test(tc, kill_cli_run_sigterm);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return e2e_main(stress_kill_suite);
}
