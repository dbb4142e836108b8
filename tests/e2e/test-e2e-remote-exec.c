/* SPDX-License-Identifier: MIT */
/*
 * test-e2e-remote-exec: the CPython 3.14+ route of `lruleak attach`, the
 * interpreter's own remote execution (PEP 768), and its fallback to ptrace.
 * Exits 77 (SKIP) when PYTHON is older than 3.14.
 *
 *   - a main thread that runs bytecode (scenarios/spin.py): attached through
 *     sys.remote_exec, its numbers against the program's truth; detached
 *     and attached again the same way (the module is loaded already);
 *   - PYTHON_DISABLE_REMOTE_DEBUG=1 in the target: ptrace, and the CLI says
 *     that remote debugging is disabled;
 *   - a main thread asleep in one long time.sleep(): remote exec cannot be
 *     delivered in time, the CLI takes the request back and uses ptrace,
 *     and the sleep still lasts exactly as long.
 * No attach script is left behind in /tmp.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e-helpers.h"

/* /tmp/lruleak-attach-PID-* directories (the scripts of the 3.14 route)
 * for this target; other tests may attach to their own meanwhile. */
static int
attach_dirs(pid_t pid)
{
    DIR *d = opendir("/tmp");
    struct dirent *e;
    char prefix[64];
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    snprintf(prefix, sizeof(prefix), "lruleak-attach-%d-", (int)pid);
    while ((e = readdir(d)) != NULL) {
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    }
    closedir(d);
    return n;
}

static void
expect_route(struct e2e_proc *cli, const char *route, const char *note)
{
    const char *out = e2e_buf_str(&cli->out);

    ck_assert_msg(strstr(out, route) != NULL, "attach took another route than '%s': %s", route,
                  out);
    if (note != NULL) {
        ck_assert_msg(strstr(out, note) != NULL, "attach does not say '%s': %s", note, out);
    }
}

START_TEST(remote_exec_service)
{
    struct e2e_proc *v = e2e_victim(e2e_env_cli(NULL), "spin.py", NULL);

    expect_route(e2e_attach(v->pid, NULL, NULL), "with sys.remote_exec (PEP 768)", NULL);
    const struct jsonv *sample = e2e_agent_snapshot(v->pid, true);
    e2e_detach(v->pid);
    /* Again: the interpreter has the module already; start() runs again. */
    expect_route(e2e_attach(v->pid, NULL, NULL), "with sys.remote_exec (PEP 768)", NULL);
    e2e_detach(v->pid);
    ck_assert_int_eq(attach_dirs(v->pid), 0);

    e2e_spin_finish(v, sample, "spin.py: attached through sys.remote_exec");
    ck_assert_msg(v->err.len == 0, "the target wrote to stderr: %s", e2e_buf_str(&v->err));
}
END_TEST

START_TEST(remote_exec_disabled_falls_back)
{
    const char *env[] = {"PYTHON_DISABLE_REMOTE_DEBUG=1", NULL};
    struct e2e_proc *v = e2e_victim(e2e_env_cli(env), "spin.py", NULL);

    expect_route(e2e_attach(v->pid, NULL, NULL), "with ptrace",
                 "remote debugging is disabled in pid");
    const struct jsonv *sample = e2e_agent_snapshot(v->pid, true);
    e2e_detach(v->pid);
    e2e_spin_finish(v, sample, "spin.py: remote debugging disabled, attached with ptrace");
}
END_TEST

START_TEST(remote_exec_blocked_main_falls_back)
{
    struct e2e_proc *v = e2e_victim(e2e_env_cli(NULL), "blocked.py", "sleep", "8", NULL);

    e2e_sleep_s(0.2);
    expect_route(e2e_attach(v->pid, NULL, NULL), "with ptrace", "ran no Python code for");
    const struct jsonv *sample = e2e_agent_snapshot(v->pid, true);
    ck_assert_int_eq(attach_dirs(v->pid), 0);
    const char *line = e2e_proc_read_line(v, 8000 + E2E_EXIT_MS);
    ck_assert_msg(line != NULL, "blocked.py: no result (stderr: %s)", e2e_buf_str(&v->err));
    const struct jsonv *r = e2e_json(line, strlen(line), "blocked.py's result");
    double elapsed = 0;
    jsonv_get_double(r, "elapsed", &elapsed);
    ck_assert_msg(elapsed >= 8.0 - 0.001 && elapsed < 9.0, "time.sleep(8) took %.3f s", elapsed);
    /* The request taken back never runs: nothing on the target's stderr. */
    e2e_detach(v->pid);
    const struct jsonv *truth = e2e_victim_truth(v);
    ck_assert_msg(v->err.len == 0, "the target wrote to stderr: %s", e2e_buf_str(&v->err));
    e2e_check_truth(e2e_caches_of(sample, v->pid, "blocked"), truth,
                    "blocked.py: main thread asleep, attached with ptrace");
}
END_TEST

static Suite *
remote_exec_suite(void)
{
    Suite *s = suite_create("e2e-remote-exec");
    TCase *tc = e2e_tcase("pep768");

    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, remote_exec_service);
    tcase_add_test(tc, remote_exec_disabled_falls_back);
    tcase_add_test(tc, remote_exec_blocked_main_falls_back);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    int major = 0, minor = 0;
    bool ft = false;
    const char *python = getenv("PYTHON");
    char why[160];

    if (!e2e_can_attach(why, sizeof(why))) {
        fprintf(stderr, "e2e: %s (skipping)\n", why);
        return 77;
    }
    if (python != NULL && python[0] != '\0') {
        e2e_cfg.python = python;
        if (e2e_python_version(&major, &minor, &ft) == 0 &&
            (major != 3 || minor < 14 || minor > 14 || ft)) {
            fprintf(stderr,
                    "e2e: %s is Python %d.%d%s: the remote-exec route needs CPython "
                    "3.14 (skipping)\n",
                    python, major, minor, ft ? " (free-threaded)" : "");
            return 77;
        }
    }
    return e2e_main(remote_exec_suite);
}
