/* SPDX-License-Identifier: MIT */
/*
 * test-e2e-security: nobody but the owner talks to an agent, and an agent
 * never serves from a socket directory someone else could have planted or
 * could tamper with.
 *
 * Socket directory (table-driven): LRULEAK_DIR pre-created as a symlink to
 * a private directory, owned by another user (nobody), world-writable, or
 * group-writable. The agent must refuse it: no socket anywhere (neither in
 * the directory nor behind the symlink), the directory left as it was, the
 * reason in its log; and stay otherwise unnoticed: it keeps recording
 * samples (LRULEAK_RECORD), and the host's output and status equal a run
 * without the agent.
 *
 * Another user: with a normal agent, a client running as nobody (setpriv)
 * is refused by the file system (lruleak snapshot says "permission denied"
 * in one line); the same client given CAP_DAC_OVERRIDE gets through the
 * file system and is refused by the agent's SO_PEERCRED check (no reply;
 * "refused a client of another user" in the agent's log). The owner is
 * still served with the right numbers afterwards.
 *
 * Needs root (chown, setpriv); exits 77 (SKIP) otherwise.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "e2e-helpers.h"

#define NOBODY 65534

/* Names in dir, "" when empty or absent. */
static const char *
entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct e2e_buf b = {0};
    struct dirent *e;

    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            e2e_buf_append(&b, e->d_name, strlen(e->d_name));
            e2e_buf_append(&b, " ", 1);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return e2e_buf_str(&b);
}

/* ---- the socket directory ------------------------------------------------------------ */

struct bad_dir {
    const char *name;
    const char *why; /* in the agent's log */
};

static const struct bad_dir bad_dirs[] = {
    {"symlink", "is a symlink"},
    {"owned by nobody", "is owned by uid 65534"},
    {"world-writable", "writable"},
    {"group-writable", "writable"},
};

/* Make the directory of case i at path; returns the symlink's target for
 * the symlink case (else NULL). */
static char *
plant(size_t i, const char *path)
{
    char *target = NULL;

    switch (i) {
    case 0:
        target = e2e_strdupf("%s/target", e2e_dir);
        ck_assert(mkdir(target, 0700) == 0);
        ck_assert(symlink(target, path) == 0);
        break;
    case 1:
        ck_assert(mkdir(path, 0700) == 0);
        ck_assert(chown(path, NOBODY, NOBODY) == 0);
        break;
    case 2:
        ck_assert(mkdir(path, 0700) == 0);
        ck_assert(chmod(path, 01777) == 0);
        break;
    case 3:
        ck_assert(mkdir(path, 0700) == 0);
        ck_assert(chmod(path, 0770) == 0);
        break;
    }
    return target;
}

START_TEST(security_refuses_socket_dir)
{
    const struct bad_dir *bd = &bad_dirs[_i];
    char *dir = e2e_strdupf("%s/planted", e2e_dir);
    char *target = plant((size_t)_i, dir);
    struct stat before, after;
    ck_assert(lstat(dir, &before) == 0);

    char *script = e2e_strdupf("%s/several.py", e2e_cfg.scenarios);
    char *argv[] = {(char *)e2e_cfg.python, script, NULL};
    struct e2e_proc *base = e2e_run(argv, e2e_env_cli(NULL), "go\n", E2E_CLI_MS);

    const char *extra[] = {e2e_strdupf("LRULEAK_DIR=%s", dir),
                           e2e_strdupf("LRULEAK_RECORD=%s", e2e_recdir), NULL};
    struct e2e_proc *v = e2e_victim(e2e_env_agent("0.05", extra), "several.py", NULL);
    char *rec = e2e_strdupf("%s/%d.jsonl", e2e_recdir, (int)v->pid);

    /* The agent samples (and records) although it does not serve. */
    for (int i = 0; i < 1000 && strstr(e2e_read_text(rec), "\"type\":\"sample\"") == NULL; i++) {
        e2e_sleep_ms(10);
    }
    ck_assert_msg(strstr(e2e_read_text(rec), "\"type\":\"sample\"") != NULL,
                  "%s: no sample recorded in 10 s (log: %s)", bd->name, e2e_read_text(e2e_log));
    const char *log = e2e_read_text(e2e_log);
    ck_assert_msg(strstr(log, "refused") != NULL && strstr(log, bd->why) != NULL,
                  "%s: the log does not say the directory was refused because it %s: %s", bd->name,
                  bd->why, log);

    e2e_proc_write(v, "go\n");
    ck_assert(e2e_proc_wait(v, E2E_EXIT_MS));
    /* The truth line depends on nothing the agent does. */
    e2e_assert_unchanged(v, base, false, bd->name);
    ck_assert_int_eq(v->status, 0);

    /* Nothing created, nothing changed. */
    ck_assert(lstat(dir, &after) == 0);
    ck_assert_msg(after.st_mode == before.st_mode && after.st_uid == before.st_uid,
                  "%s: the directory's mode or owner changed", bd->name);
    ck_assert_msg(S_ISLNK(after.st_mode) || entries(dir)[0] == '\0', "%s: %s holds %s", bd->name,
                  dir, entries(dir));
    if (target != NULL) {
        ck_assert_msg(entries(target)[0] == '\0', "%s: the symlink's target holds %s", bd->name,
                      entries(target));
    }
}
END_TEST

/* ---- clients of another user --------------------------------------------------------- */

START_TEST(security_refuses_other_user)
{
    struct e2e_proc *v = e2e_victim(e2e_env_agent("0.05", NULL), "several.py", NULL);
    e2e_wait_agent(v);
    const char *sock = e2e_sock_path(v->pid);
    char *pid = e2e_strdupf("%d", (int)v->pid);
    char *cli_dir = e2e_strdupf("LRULEAK_DIR=%s", e2e_sockdir);

    /* nobody, plainly: the file system says no, the CLI says why. */
    char *plain[] = {"/usr/bin/setpriv",
                     "--reuid=65534",
                     "--regid=65534",
                     "--clear-groups",
                     "/usr/bin/env",
                     cli_dir,
                     (char *)e2e_cfg.cli,
                     "snapshot",
                     pid,
                     NULL};
    struct e2e_proc *p = e2e_run(plain, e2e_env_cli(NULL), NULL, E2E_CLI_MS);
    const char *err = e2e_buf_str(&p->err);
    ck_assert_msg(p->status != 0 && p->out.len == 0,
                  "lruleak snapshot as nobody: status %d, stdout %s", p->status,
                  e2e_buf_str(&p->out));
    ck_assert_msg(strncmp(err, "lruleak: ", 9) == 0 && strstr(err, "permission denied") != NULL &&
                      strchr(err, '\n') == err + strlen(err) - 1,
                  "lruleak snapshot as nobody: not one 'permission denied' line: %s", err);

    /* nobody past the file system (CAP_DAC_OVERRIDE): the agent says no. */
    char *capable[] = {"/usr/bin/setpriv",
                       "--reuid=65534",
                       "--regid=65534",
                       "--clear-groups",
                       "--inh-caps=+dac_override",
                       "--ambient-caps=+dac_override",
                       "/usr/bin/socat",
                       "-t5",
                       "-",
                       e2e_strdupf("UNIX-CONNECT:%s", sock),
                       NULL};
    p = e2e_run(capable, e2e_env_cli(NULL), "{\"cmd\":\"hello\"}\n", E2E_CLI_MS);
    ck_assert_msg(strstr(e2e_buf_str(&p->err), "Permission denied") == NULL,
                  "the capable client did not get past the file system: %s", e2e_buf_str(&p->err));
    ck_assert_msg(p->out.len == 0, "the agent answered a client of another user: %s",
                  e2e_buf_str(&p->out));
    for (int i = 0; i < 500 && strstr(e2e_read_text(e2e_log), "refused a client") == NULL; i++) {
        e2e_sleep_ms(10);
    }
    ck_assert_msg(strstr(e2e_read_text(e2e_log), "refused a client of another user") != NULL,
                  "the agent's log does not show the refusal: %s", e2e_read_text(e2e_log));

    /* The owner is served as before. */
    e2e_truth_check(v, true);
}
END_TEST

static Suite *
security_suite(void)
{
    Suite *s = suite_create("e2e-security");
    TCase *tc = e2e_tcase("socket-dir");

    tcase_add_loop_test(tc, security_refuses_socket_dir, 0,
                        (int)(sizeof(bad_dirs) / sizeof(bad_dirs[0])));
    suite_add_tcase(s, tc);
    tc = e2e_tcase("other-user");
    tcase_add_test(tc, security_refuses_other_user);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "e2e-security: needs root (chown, setpriv): skipping\n");
        return 77;
    }
    if (access("/usr/bin/setpriv", X_OK) != 0 || access("/usr/bin/socat", X_OK) != 0) {
        fprintf(stderr, "e2e-security: needs setpriv (util-linux) and socat: skipping\n");
        return 77;
    }
    return e2e_main(security_suite);
}
