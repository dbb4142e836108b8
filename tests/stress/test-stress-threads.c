/* SPDX-License-Identifier: MIT */
/*
 * test-stress-threads: 16 threads create instances, call cached methods
 * and clear the caches (scenarios/threads.py) for STRESS_THREADS_S seconds
 * while the agent samples every 10 ms.
 *
 * While they run, the test asks the agent for hello once a second: every
 * reply must come within E2E_REPLY_MS (the server is not stuck) and the
 * sample count must keep growing (the sampler is not stuck). When the
 * threads stop, the counts must match the program's ground truth, its
 * output must equal a run without the agent (the line before READY does
 * not depend on timing), and it must exit 0 within the deadline. The figures
 * (samples taken, samples per second) go to stderr for tests/README.md.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e-helpers.h"

#define STRESS_THREADS "16"
#define STRESS_THREADS_S 30

START_TEST(stress_16_threads_10ms)
{
    char *script = e2e_strdupf("%s/threads.py", e2e_cfg.scenarios);
    char *base_argv[] = {(char *)e2e_cfg.python, script, "0.3", STRESS_THREADS, NULL};
    struct e2e_proc *base = e2e_run(base_argv, e2e_env_cli(NULL), "go\n", E2E_CLI_MS);
    char *duration = e2e_strdupf("%d", STRESS_THREADS_S);
    char *argv[] = {(char *)e2e_cfg.python, script, duration, STRESS_THREADS, NULL};
    struct e2e_proc *v = e2e_spawn(argv, e2e_env_agent("0.01", NULL));

    e2e_wait_agent(v);
    double start = e2e_now_s(), last_poll = start;
    int64_t first = e2e_agent_samples(v->pid), prev = first, stalls = 0;
    const char *line = NULL;

    /* Poll until the threads are done (READY), at most twice the duration. */
    for (;;) {
        line = e2e_proc_read_line(v, 1000);
        if (line != NULL && strcmp(line, "READY") == 0) {
            break;
        }
        ck_assert_msg(!v->reaped && v->out_fd >= 0, "threads.py ended early (stderr: %s)",
                      e2e_buf_str(&v->err));
        ck_assert_msg(e2e_now_s() - start < 2.0 * STRESS_THREADS_S + 20,
                      "threads.py did not finish its %d s within %d s", STRESS_THREADS_S,
                      2 * STRESS_THREADS_S + 20);
        if (e2e_now_s() - last_poll >= 1.0) {
            int64_t n = e2e_agent_samples(v->pid);
            stalls += n == prev;
            prev = n;
            last_poll = e2e_now_s();
        }
    }
    double elapsed = e2e_now_s() - start;
    int64_t last = e2e_agent_samples(v->pid);
    fprintf(stderr,
            "stress-threads: %s threads for %.1f s at a 10 ms interval: %lld samples (%.1f/s), "
            "%lld one-second polls without a new sample\n",
            STRESS_THREADS, elapsed, (long long)(last - first), (double)(last - first) / elapsed,
            (long long)stalls);
    /* Never a whole second without a sample would be the ideal; the VM may
     * deschedule us, so allow a few. */
    ck_assert_msg(last - first >= STRESS_THREADS_S, "only %lld samples in %.0f s",
                  (long long)(last - first), elapsed);
    ck_assert_msg(stalls <= 3, "%lld one-second polls saw no new sample", (long long)stalls);

    e2e_truth_check(v, true);
    e2e_assert_unchanged(v, base, true, "threads.py");
    ck_assert_msg(strstr(e2e_buf_str(&v->out), ", 0 wrong results") != NULL,
                  "wrong cached results: %s", e2e_buf_str(&v->out));
}
END_TEST

static Suite *
stress_threads_suite(void)
{
    Suite *s = suite_create("stress-threads");
    TCase *tc = e2e_tcase("threads");

    tcase_add_test(tc, stress_16_threads_10ms);
    tcase_set_timeout(tc, 3 * STRESS_THREADS_S + 60);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return e2e_main(stress_threads_suite);
}
