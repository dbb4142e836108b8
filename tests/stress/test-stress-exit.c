/* SPDX-License-Identifier: MIT */
/*
 * test-stress-exit: STRESS_EXIT_RUNS short-lived Python processes
 * (scenarios/exiter.py) end while the agent samples every millisecond.
 *
 * They end every way a program ends (falling off the end, sys.exit, an
 * uncaught exception, os._exit, daemon threads still calling cached
 * methods, SIGTERM), after a busy spin of 0-24 ms, two at a time. Each must
 * end within STRESS_EXIT_DEADLINE_MS with exactly the stdout, stderr and
 * status of a run without the agent. The agent logs each exit that found
 * a sample running ("exit during a sample"); there must be some, or the
 * test did not test what it says, and their number is printed for the
 * tests/README.md with the slowest exit.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2e-helpers.h"

#define STRESS_EXIT_RUNS 500
#define STRESS_EXIT_DEADLINE_MS 20000
#define STRESS_EXIT_INFLIGHT 2

static const char *const modes[] = {"return", "exit", "raise", "_exit", "threads", "sigterm"};
#define NMODES (sizeof(modes) / sizeof(modes[0]))

struct run {
    struct e2e_proc *p;
    size_t mode;
    double started;
};

static struct e2e_proc *
start(size_t i, size_t mode, bool agent)
{
    char *script = e2e_strdupf("%s/exiter.py", e2e_cfg.scenarios);
    char *delay = e2e_strdupf("%zu", agent ? (i * 7) % 25 : 0);
    char *argv[] = {(char *)e2e_cfg.python, script, (char *)modes[mode], delay, NULL};
    struct e2e_proc *p = e2e_spawn(argv, agent ? e2e_env_agent("0.001", NULL) : e2e_env_cli(NULL));

    return p;
}

/* Wait for r's process and compare it with the baseline of its mode.
 * Returns how long it took. */
static double
finish(struct run *r, struct e2e_proc *const *base, size_t i)
{
    const struct e2e_proc *b = base[r->mode];
    bool done = e2e_proc_wait(r->p, STRESS_EXIT_DEADLINE_MS);

    ck_assert_msg(done, "run %zu (%s) did not end within %d ms (stderr: %s)", i, modes[r->mode],
                  STRESS_EXIT_DEADLINE_MS, e2e_buf_str(&r->p->err));
    e2e_assert_unchanged(r->p, b, false, e2e_strdupf("run %zu (%s)", i, modes[r->mode]));
    return 1e3 * e2e_now_s() - r->started;
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

START_TEST(stress_exit_while_sampling)
{
    struct e2e_proc *base[NMODES];
    struct run inflight[STRESS_EXIT_INFLIGHT];
    size_t next = 0, done = 0;
    double slowest = 0, t0 = 1e3 * e2e_now_s();

    for (size_t m = 0; m < NMODES; m++) {
        base[m] = start(0, m, false);
        ck_assert_msg(e2e_proc_wait(base[m], STRESS_EXIT_DEADLINE_MS),
                      "exiter.py %s without the agent did not end", modes[m]);
    }
    for (size_t k = 0; k < STRESS_EXIT_INFLIGHT; k++) {
        inflight[k] =
            (struct run){start(next, next % NMODES, true), next % NMODES, 1e3 * e2e_now_s()};
        next++;
    }
    while (done < STRESS_EXIT_RUNS) {
        size_t k = done % STRESS_EXIT_INFLIGHT;
        double ms = finish(&inflight[k], base, done);

        slowest = ms > slowest ? ms : slowest;
        done++;
        if (next < STRESS_EXIT_RUNS) {
            inflight[k] =
                (struct run){start(next, next % NMODES, true), next % NMODES, 1e3 * e2e_now_s()};
            next++;
        }
    }
    size_t during = count_lines(e2e_read_text(e2e_log), "exit during a sample");
    size_t problems = count_lines(e2e_read_text(e2e_log), "did not stop in time");
    fprintf(stderr,
            "stress-exit: %d processes (%zu ways to end, 0-24 ms after start-up, interval 1 ms) "
            "in %.1f s; slowest %.0f ms from start to exit; %zu exits found a sample "
            "running\n",
            STRESS_EXIT_RUNS, NMODES, (1e3 * e2e_now_s() - t0) / 1e3, slowest, during);
    ck_assert_msg(problems == 0, "%zu exits waited in vain for the sampler (see %s)", problems,
                  e2e_log);
    ck_assert_msg(during > 0, "no process ended during a sample: the test missed its point");
}
END_TEST

static Suite *
stress_exit_suite(void)
{
    Suite *s = suite_create("stress-exit");
    TCase *tc = e2e_tcase("exit");

    tcase_add_test(tc, stress_exit_while_sampling);
    tcase_set_timeout(tc, 280);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return e2e_main(stress_exit_suite);
}
