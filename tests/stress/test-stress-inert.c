/* SPDX-License-Identifier: MIT */
/*
 * test-stress-inert: the inert and fork checks, STRESS_INERT_RUNS times, so
 * that a one-in-a-hundred flake fails (0.99^300 < 5%).
 *
 * Each run is scenarios/fork_inert.py under the agent (10 ms interval), with
 * `-W error::DeprecationWarning`: it forks from the main thread and from a
 * second thread whose copy in the child simply returns. Each run must end
 * within STRESS_INERT_DEADLINE_MS with exactly the stdout, stderr (empty)
 * and status of the run without the agent: on CPython 3.12+ no "This
 * process is multi-threaded, use of fork() may lead to deadlocks" warning,
 * no child kept alive by the agent's threads. Every forked child is
 * followed (the agent logs "following a forked child" once per child), so
 * the agent was sampling when each fork happened. Runs on python_shared
 * (3.12+ has the warning; 3.8-3.11 only the hang and the following).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e-helpers.h"

#define STRESS_INERT_RUNS 300
#define STRESS_INERT_DEADLINE_MS 15000
#define STRESS_INERT_INFLIGHT 2
#define STRESS_INERT_FORKS 2 /* children per run */

static struct e2e_proc *
start(bool agent)
{
    char *script = e2e_strdupf("%s/fork_inert.py", e2e_cfg.scenarios);
    char *argv[] = {
        (char *)e2e_cfg.python, "-W", "error::DeprecationWarning", script, "0.15", NULL};

    return e2e_spawn(argv, agent ? e2e_env_agent("0.01", NULL) : e2e_env_cli(NULL));
}

static size_t
count_lines(const char *text, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

START_TEST(stress_inert_forks)
{
    struct e2e_proc *inflight[STRESS_INERT_INFLIGHT];
    size_t next = 0, done = 0;
    double t0 = e2e_now_s();
    struct e2e_proc *base = start(false);

    ck_assert_msg(e2e_proc_wait(base, STRESS_INERT_DEADLINE_MS),
                  "fork_inert.py without the agent did not end");
    ck_assert_msg(base->status == 0 && e2e_buf_str(&base->err)[0] == '\0',
                  "fork_inert.py without the agent: status %d, stderr: %s", base->status,
                  e2e_buf_str(&base->err));
    for (size_t k = 0; k < STRESS_INERT_INFLIGHT; k++) {
        inflight[k] = start(true);
        next++;
    }
    while (done < STRESS_INERT_RUNS) {
        size_t k = done % STRESS_INERT_INFLIGHT;
        struct e2e_proc *p = inflight[k];

        ck_assert_msg(e2e_proc_wait(p, STRESS_INERT_DEADLINE_MS),
                      "run %zu did not end within %d ms (stdout so far: %s; stderr: %s)", done,
                      STRESS_INERT_DEADLINE_MS, e2e_buf_str(&p->out), e2e_buf_str(&p->err));
        e2e_assert_unchanged(p, base, false, e2e_strdupf("run %zu of %d", done, STRESS_INERT_RUNS));
        done++;
        if (next < STRESS_INERT_RUNS) {
            inflight[k] = start(true);
            next++;
        }
    }
    const char *log = e2e_read_text(e2e_log);
    size_t followed = count_lines(log, "following a forked child");
    size_t sampling = count_lines(log, "sampling CPython");
    fprintf(stderr,
            "stress-inert: %d runs of fork_inert.py (2 forks each, interval 10 ms) in %.1f s, "
            "all unchanged; %zu of %d children followed\n",
            STRESS_INERT_RUNS, e2e_now_s() - t0, followed, STRESS_INERT_RUNS * STRESS_INERT_FORKS);
    ck_assert_msg(sampling >= STRESS_INERT_RUNS, "only %zu of %d runs had a sampling agent (%s)",
                  sampling, STRESS_INERT_RUNS, e2e_log);
    ck_assert_msg(followed == STRESS_INERT_RUNS * STRESS_INERT_FORKS,
                  "%zu of %d forked children followed (%s)", followed,
                  STRESS_INERT_RUNS * STRESS_INERT_FORKS, e2e_log);
}
END_TEST

static Suite *
stress_inert_suite(void)
{
    Suite *s = suite_create("stress-inert");
    TCase *tc = e2e_tcase("inert");

    tcase_add_test(tc, stress_inert_forks);
    tcase_set_timeout(tc, 280);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return e2e_main(stress_inert_suite);
}
