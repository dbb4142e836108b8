/* SPDX-License-Identifier: MIT */
/*
 * test-e2e-inert: the agent changes nothing where it must stay inert.
 *
 * LD_PRELOAD is inherited by every child of a traced program, so the agent
 * lands in shells and C programs: there it must leave output and exit status
 * unchanged and create no socket (style.md 8.4, 8.10). The same holds for a
 * Python process with LRULEAK_DISABLE=1. Each case runs the program with and
 * without the agent and compares stdout, stderr and the exit status, then
 * checks that the private LRULEAK_DIR is still empty.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e-helpers.h"

/* Names in the socket directory, "" when it is empty. */
static const char *
sockdir_entries(void)
{
    DIR *d = opendir(e2e_sockdir);
    struct e2e_buf b = {0};
    struct dirent *e;

    if (d == NULL) {
        return ""; /* removed or never there: nothing in it either */
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            e2e_buf_append(&b, e->d_name, strlen(e->d_name));
            e2e_buf_append(&b, " ", 1);
        }
    }
    closedir(d);
    return e2e_buf_str(&b);
}

static void
assert_same(const struct e2e_proc *with, const struct e2e_proc *without, const char *what)
{
    ck_assert_msg(with->status == without->status, "%s: exit status %d with the agent, %d without",
                  what, with->status, without->status);
    ck_assert_msg(strcmp(e2e_buf_str(&with->out), e2e_buf_str(&without->out)) == 0,
                  "%s: stdout differs.\nwith the agent:\n%s\nwithout:\n%s", what,
                  e2e_buf_str(&with->out), e2e_buf_str(&without->out));
    ck_assert_msg(strcmp(e2e_buf_str(&with->err), e2e_buf_str(&without->err)) == 0,
                  "%s: stderr differs.\nwith the agent:\n%s\nwithout:\n%s", what,
                  e2e_buf_str(&with->err), e2e_buf_str(&without->err));
}

static void
assert_no_socket(const char *what)
{
    const char *names = sockdir_entries();
    ck_assert_msg(names[0] == '\0', "%s: the agent created %s in %s", what, names, e2e_sockdir);
}

/* Run argv with the agent (interval 0.05) and without; compare. */
static void
check_inert(char *const argv[], const char *what)
{
    struct e2e_proc *with = e2e_run(argv, e2e_env_agent("0.05", NULL), NULL, E2E_CLI_MS);
    struct e2e_proc *without = e2e_run(argv, e2e_env_cli(NULL), NULL, E2E_CLI_MS);

    assert_same(with, without, what);
    assert_no_socket(what);
}

START_TEST(inert_in_shell)
{
    /* The sleep leaves a lazily started agent thread time to misbehave. */
    char *argv[] = {"/bin/sh",
                    "-c",
                    "echo \"out $0 $#\"; sleep 0.3; echo err >&2; printf 'x%s\\n' \"$1\"; exit 7",
                    "sh",
                    "arg",
                    NULL};
    check_inert(argv, "/bin/sh");
}
END_TEST

START_TEST(inert_in_c_program)
{
    char *argv[] = {(char *)e2e_cfg.inert, "5", "two words", NULL};
    check_inert(argv, "hosts/inert");
}
END_TEST

START_TEST(inert_in_python_when_disabled)
{
    const char *disable[] = {"LRULEAK_DISABLE=1", NULL};
    struct e2e_proc *with = e2e_victim(e2e_env_agent("0.05", disable), "bounded.py", NULL);
    /* An enabled agent answers within a few intervals (see e2e_wait_agent). */
    struct timespec ts = {0, 500 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_no_socket("python with LRULEAK_DISABLE=1, after READY");
    e2e_proc_write(with, "go\n");
    ck_assert(e2e_proc_wait(with, E2E_EXIT_MS));

    char *script = e2e_strdupf("%s/bounded.py", e2e_cfg.scenarios);
    char *argv[] = {(char *)e2e_cfg.python, script, NULL};
    struct e2e_proc *without = e2e_run(argv, e2e_env_cli(NULL), "go\n", E2E_CLI_MS);
    assert_same(with, without, "python with LRULEAK_DISABLE=1");
    ck_assert_int_eq(with->status, 0);
    assert_no_socket("python with LRULEAK_DISABLE=1, after exit");
}
END_TEST

/*
 * Not inert - the agent samples this one - but the host must not notice:
 * a program that forks (os.fork and a fork-context pool) prints the same
 * with and without the agent. On 3.12+ the agent's threads would otherwise
 * make every os.fork() print a multi-threading DeprecationWarning.
 */
START_TEST(unchanged_python_that_forks)
{
    char *script = e2e_strdupf("%s/forker.py", e2e_cfg.scenarios);
    char *argv[] = {(char *)e2e_cfg.python, script, NULL};
    struct e2e_proc *with = e2e_run(argv, e2e_env_agent("0.05", NULL), NULL, E2E_CLI_MS);
    struct e2e_proc *without = e2e_run(argv, e2e_env_cli(NULL), NULL, E2E_CLI_MS);

    ck_assert_msg(without->status == 0, "forker.py without the agent exited %d: %s",
                  without->status, e2e_buf_str(&without->err));
    assert_same(with, without, "python that forks");
}
END_TEST

/* Errors of the _lruleak module reach Python as RuntimeError (the exception
 * object is read through its pointer variable) instead of crashing. */
START_TEST(module_errors_raise)
{
    char *script = e2e_strdupf("%s/module_errors.py", e2e_cfg.scenarios);
    char *agent_dir = e2e_strdupf("%s", e2e_cfg.agent);
    char *slash = strrchr(agent_dir, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    char *argv[] = {(char *)e2e_cfg.python, script, agent_dir, NULL};
    struct e2e_proc *p = e2e_run(argv, e2e_env_cli(NULL), NULL, E2E_CLI_MS);

    ck_assert_msg(p->status == 0, "module_errors.py exited %d (stdout: %s, stderr: %s)", p->status,
                  e2e_buf_str(&p->out), e2e_buf_str(&p->err));
    ck_assert_msg(strstr(e2e_buf_str(&p->out), "in a forked child:") != NULL,
                  "no RuntimeError in the child: %s", e2e_buf_str(&p->out));
}
END_TEST

/*
 * An interpreter the agent does not know - simulated by preloading
 * hosts/fake-version.c, whose Py_GetVersion() announces `version` - is
 * refused: the agent never touches Python, says why on its socket (hello,
 * snapshot) and the program's output and exit status are those of the
 * same run without the agent.
 */
static void
check_refused(const char *version, const char *expect)
{
    const char *shim = getenv("E2E_FAKE_VERSION");
    ck_assert_msg(shim != NULL, "E2E_FAKE_VERSION is not set");
    const char *fake = e2e_strdupf("FAKE_PY_VERSION=%s", version);
    const char *with_vars[] = {
        e2e_preload_var(e2e_strdupf("%s:%s", shim, e2e_cfg.agent)),
        e2e_strdupf("LRULEAK_DIR=%s", e2e_sockdir),
        e2e_strdupf("LRULEAK_LOG=%s", e2e_log),
        "LRULEAK_INTERVAL=0.05",
        fake,
        NULL,
    };
    const char *without_vars[] = {e2e_preload_var(shim), fake, NULL};
    char *script = e2e_strdupf("%s/bounded.py", e2e_cfg.scenarios);
    char *argv[] = {(char *)e2e_cfg.python, script, NULL};

    struct e2e_proc *with = e2e_victim(e2e_env(with_vars), "bounded.py", NULL);
    const char *sock = e2e_sock_path(with->pid);
    const struct jsonv *hello = NULL;
    for (int i = 0; i < 200 && hello == NULL; i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        if (access(sock, F_OK) == 0) {
            int fd = e2e_connect(sock);
            hello = e2e_request(fd, "{\"cmd\":\"hello\"}");
            close(fd);
        } else {
            nanosleep(&ts, NULL);
        }
    }
    ck_assert_msg(hello != NULL, "%s: the agent never opened %s", version, sock);
    const char *state = e2e_str(hello, "state", "hello");
    if (strcmp(state, "sampling") == 0 || strcmp(state, "waiting") == 0) {
        /* libpython is linked into this executable, whose Py_GetVersion
         * comes first: the simulation cannot work here. */
        e2e_proc_write(with, "go\n");
        e2e_proc_wait(with, E2E_EXIT_MS);
        fprintf(stderr, "%s: not simulated: %s defines Py_GetVersion itself\n", version,
                e2e_cfg.python);
        return;
    }
    ck_assert_str_eq(state, "refused");
    const char *reason = e2e_str(hello, "reason", "hello");
    ck_assert_msg(strstr(reason, expect) != NULL, "%s: reason \"%s\" does not say \"%s\"", version,
                  reason, expect);

    char *pid = e2e_strdupf("%d", (int)with->pid);
    struct e2e_proc *snap = e2e_cli(e2e_env_cli(NULL), "snapshot", pid, NULL);
    ck_assert_msg(snap->status != 0 && strstr(e2e_buf_str(&snap->err), expect) != NULL,
                  "%s: lruleak snapshot exited %d without the reason: %s", version, snap->status,
                  e2e_buf_str(&snap->err));

    struct e2e_proc *list = e2e_cli(e2e_env_cli(NULL), "list", NULL);
    char *line = e2e_strdupf("refused: %s", reason);
    ck_assert_msg(list->status == 0 && strstr(e2e_buf_str(&list->out), line) != NULL,
                  "%s: lruleak list does not say \"%s\": %s", version, line,
                  e2e_buf_str(&list->out));

    e2e_proc_write(with, "go\n");
    ck_assert(e2e_proc_wait(with, E2E_EXIT_MS));
    struct e2e_proc *without = e2e_run(argv, e2e_env(without_vars), "go\n", E2E_CLI_MS);
    /* Both print READY then the truth; with the agent it was read already. */
    ck_assert_msg(with->status == 0 && without->status == 0, "%s: exit %d with, %d without",
                  version, with->status, without->status);
    const char *out_without = strstr(e2e_buf_str(&without->out), "READY\n");
    ck_assert(out_without != NULL);
    ck_assert_msg(strstr(e2e_buf_str(&with->out), out_without + 6) != NULL,
                  "%s: stdout differs.\nwith the agent:\n%s\nwithout:\n%s", version,
                  e2e_buf_str(&with->out), e2e_buf_str(&without->out));
    ck_assert_str_eq(e2e_buf_str(&with->err), e2e_buf_str(&without->err));
}

START_TEST(refuses_unknown_version)
{
    check_refused("3.99.0 (main, Jan 1 2030, 00:00:00) [GCC 99]", "3.99 is not a version");
}
END_TEST

START_TEST(refuses_free_threaded)
{
    check_refused("3.13.0 experimental free-threading build (main, Oct 7 2024) [GCC 12]",
                  "free-threaded CPython 3.13");
}
END_TEST

static Suite *
inert_suite(void)
{
    Suite *s = suite_create("e2e-inert");
    TCase *tc = e2e_tcase("inert");

    tcase_add_test(tc, inert_in_shell);
    tcase_add_test(tc, inert_in_c_program);
    tcase_add_test(tc, inert_in_python_when_disabled);
    tcase_add_test(tc, unchanged_python_that_forks);
    tcase_add_test(tc, module_errors_raise);
    tcase_add_test(tc, refuses_unknown_version);
    tcase_add_test(tc, refuses_free_threaded);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return e2e_main(inert_suite);
}
