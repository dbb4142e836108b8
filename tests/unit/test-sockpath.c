/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for sockpath: directory selection from the environment, path
 * length limits, socket-name parsing, and the checks sockpath_ensure_dir
 * makes on what it finds. Every filesystem test works inside a private
 * mkdtemp directory (removed by the teardown); the wrong-owner case needs
 * root to chown and is skipped otherwise.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check-helpers.h"
#include "sockpath.h"

static char tmpdir[PATH_MAX];

static void
setup_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/lruleak-test-sockpath-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    ck_assert_int_eq(setenv("LRULEAK_DIR", tmpdir, 1), 0);
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void
teardown_tmpdir(void)
{
    if (tmpdir[0] != '\0') {
        nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        tmpdir[0] = '\0';
    }
}

/* tmpdir/<name> into buf. */
static const char *
in_tmp(char *buf, size_t size, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", tmpdir, name);

    ck_assert(n > 0 && (size_t)n < size);
    return buf;
}

static void
set_env(const char *name, const char *value)
{
    if (value == NULL) {
        ck_assert_int_eq(unsetenv(name), 0);
    } else {
        ck_assert_int_eq(setenv(name, value, 1), 0);
    }
}

/* ---- directory selection --------------------------------------------------- */

static const struct {
    const char *lruleak_dir;
    const char *xdg;
    const char *expect; /* NULL: /tmp/lruleak-<euid> */
} dir_cases[] = {
    {"/x/y", "/run/user/1", "/x/y"},
    {"/x/y/", NULL, "/x/y"},
    {"/x//", NULL, "/x"},
    {"/", NULL, "/"},
    {"", "/run/user/1", "/run/user/1/lruleak"},
    {NULL, "/run/user/1/", "/run/user/1/lruleak"},
    {NULL, "/", "/lruleak"},
    {NULL, NULL, NULL},
    {"", "", NULL},
};

START_TEST(sockpath_picks_directory)
{
    char buf[SOCKPATH_MAX], expect[64];

    set_env("LRULEAK_DIR", dir_cases[_i].lruleak_dir);
    set_env("XDG_RUNTIME_DIR", dir_cases[_i].xdg);
    if (dir_cases[_i].expect != NULL) {
        snprintf(expect, sizeof(expect), "%s", dir_cases[_i].expect);
    } else {
        snprintf(expect, sizeof(expect), "/tmp/lruleak-%u", (unsigned)geteuid());
    }
    ck_assert_int_eq(sockpath_dir(buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, expect);
}
END_TEST

START_TEST(sockpath_builds_pid_paths)
{
    char buf[SOCKPATH_MAX], dir[300];

    set_env("LRULEAK_DIR", "/run/lr");
    ck_assert_int_eq(sockpath_for_pid(1234, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "/run/lr/1234.sock");
    ck_assert_int_eq(sockpath_for_pid(2147483647, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "/run/lr/2147483647.sock");
    ck_assert_int_eq(sockpath_for_pid(0, buf, sizeof(buf)), -EINVAL);
    ck_assert_int_eq(sockpath_for_pid(-5, buf, sizeof(buf)), -EINVAL);

    /* Too small a buffer. */
    ck_assert_int_eq(sockpath_dir(buf, 5), -ENAMETOOLONG);
    ck_assert_str_eq(buf, "");
    ck_assert_int_eq(sockpath_for_pid(1234, buf, 10), -ENAMETOOLONG);

    /* 107 bytes fit sun_path, 108 do not, whatever the caller's buffer. */
    memset(dir, 'd', sizeof(dir));
    dir[0] = '/';
    dir[107 - strlen("/1.sock")] = '\0';
    set_env("LRULEAK_DIR", dir);
    ck_assert_int_eq(sockpath_for_pid(1, buf, sizeof(buf)), 0);
    ck_assert_uint_eq(strlen(buf), SOCKPATH_MAX - 1);
    char big[512];
    ck_assert_int_eq(sockpath_for_pid(12, big, sizeof(big)), -ENAMETOOLONG);
    dir[107 - strlen("/1.sock")] = 'd';
    dir[299] = '\0';
    set_env("LRULEAK_DIR", dir);
    ck_assert_int_eq(sockpath_dir(big, sizeof(big)), 0);
    ck_assert_int_eq(sockpath_dir(buf, sizeof(buf)), -ENAMETOOLONG);
    ck_assert_int_eq(sockpath_for_pid(1, big, sizeof(big)), -ENAMETOOLONG);
}
END_TEST

/* Another process's environment: same rule, that process's uid. */
START_TEST(sockpath_dir_for_another_environment)
{
    char buf[SOCKPATH_MAX];

    for (size_t i = 0; i < sizeof(dir_cases) / sizeof(dir_cases[0]); i++) {
        ck_assert_int_eq(
            sockpath_dir_from(dir_cases[i].lruleak_dir, dir_cases[i].xdg, 4321, buf, sizeof(buf)),
            0);
        ck_assert_str_eq(buf,
                         dir_cases[i].expect != NULL ? dir_cases[i].expect : "/tmp/lruleak-4321");
    }
    ck_assert_int_eq(sockpath_dir_from(NULL, NULL, 4321, buf, 8), -ENAMETOOLONG);
    ck_assert_str_eq(buf, "");
    ck_assert_int_eq(sockpath_in_dir("/run/x", 77, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "/run/x/77.sock");
    ck_assert_int_eq(sockpath_in_dir("/run/x", 0, buf, sizeof(buf)), -EINVAL);
}
END_TEST

/* ---- socket names ---------------------------------------------------------- */

static const struct {
    const char *name;
    pid_t expect;
} name_cases[] = {
    {"1234.sock", 1234},
    {"1.sock", 1},
    {"2147483647.sock", 2147483647},
    {"2147483648.sock", -EINVAL},
    {"99999999999999999999.sock", -EINVAL},
    {"0.sock", -EINVAL},
    {"0123.sock", -EINVAL},
    {"-1.sock", -EINVAL},
    {"+1.sock", -EINVAL},
    {" 1.sock", -EINVAL},
    {"12a.sock", -EINVAL},
    {"1234.sock.tmp", -EINVAL},
    {"1234.socks", -EINVAL},
    {"1234.SOCK", -EINVAL},
    {"1234.soc", -EINVAL},
    {"1234", -EINVAL},
    {".sock", -EINVAL},
    {"", -EINVAL},
    {"0", -EINVAL},
    {"-1", -EINVAL},
    {".", -EINVAL},
    {"..", -EINVAL},
};

START_TEST(sockpath_parses_names)
{
    ck_assert_int_eq(sockpath_parse_name(name_cases[_i].name), name_cases[_i].expect);
}
END_TEST

START_TEST(sockpath_parse_rejects_null)
{
    ck_assert_int_eq(sockpath_parse_name(NULL), -EINVAL);
}
END_TEST

/* ---- directory checks ------------------------------------------------------ */

START_TEST(sockpath_creates_directory)
{
    char dir[PATH_MAX], why[256];
    struct stat st;

    in_tmp(dir, sizeof(dir), "sock");
    ck_assert_int_eq(sockpath_ensure_dir(dir, why, sizeof(why)), 0);
    ck_assert_str_eq(why, "");
    ck_assert_int_eq(lstat(dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 07777, 0700);
    ck_assert_uint_eq(st.st_uid, geteuid());
    /* Existing and sound: fine again, and why may be NULL. */
    ck_assert_int_eq(sockpath_ensure_dir(dir, NULL, 0), 0);
    /* The private temp dir itself (0700 from mkdtemp) passes too. */
    ck_assert_int_eq(sockpath_ensure_dir(tmpdir, why, sizeof(why)), 0);
}
END_TEST

static const struct {
    mode_t mode;
    int expect;
} mode_cases[] = {
    /* clang-format off */
    {0700, 0},
    {0500, 0},
    {0750, 0},
    {0755, 0},
    {0720, -EACCES},
    {0702, -EACCES},
    {0770, -EACCES},
    {0777, -EACCES},
    {01777, -EACCES},
    /* clang-format on */
};

START_TEST(sockpath_checks_mode)
{
    char dir[PATH_MAX], name[32], why[256];
    int r;

    snprintf(name, sizeof(name), "mode-%d", _i);
    in_tmp(dir, sizeof(dir), name);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_eq(chmod(dir, mode_cases[_i].mode), 0);
    r = sockpath_ensure_dir(dir, why, sizeof(why));
    ck_assert_int_eq(r, mode_cases[_i].expect);
    if (r < 0) {
        ck_assert_ptr_nonnull(strstr(why, "writable by group or others"));
    }
    /* Never repaired behind the caller's back. */
    struct stat st;
    ck_assert_int_eq(lstat(dir, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, mode_cases[_i].mode);
}
END_TEST

START_TEST(sockpath_rejects_symlink)
{
    char dir[PATH_MAX], link[PATH_MAX], why[256];

    in_tmp(dir, sizeof(dir), "real");
    in_tmp(link, sizeof(link), "link");
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_eq(symlink(dir, link), 0);
    ck_assert_int_eq(sockpath_ensure_dir(link, why, sizeof(why)), -ELOOP);
    ck_assert_ptr_nonnull(strstr(why, "is a symlink"));

    /* A dangling symlink is not followed by mkdir either. */
    in_tmp(link, sizeof(link), "dangling");
    ck_assert_int_eq(symlink("/nonexistent/lruleak-target", link), 0);
    ck_assert_int_eq(sockpath_ensure_dir(link, why, sizeof(why)), -ELOOP);
    ck_assert_int_eq(access("/nonexistent/lruleak-target", F_OK), -1);
}
END_TEST

START_TEST(sockpath_rejects_non_directory)
{
    char path[PATH_MAX], why[256];
    int fd;

    in_tmp(path, sizeof(path), "file");
    fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(sockpath_ensure_dir(path, why, sizeof(why)), -ENOTDIR);
    ck_assert_ptr_nonnull(strstr(why, "not a directory"));
}
END_TEST

START_TEST(sockpath_rejects_missing_parent)
{
    char dir[PATH_MAX], why[256];

    in_tmp(dir, sizeof(dir), "no/such");
    ck_assert_int_eq(sockpath_ensure_dir(dir, why, sizeof(why)), -ENOENT);
    ck_assert_ptr_nonnull(strstr(why, "cannot create"));
    ck_assert_int_eq(sockpath_ensure_dir("", why, sizeof(why)), -EINVAL);
}
END_TEST

START_TEST(sockpath_rejects_foreign_owner)
{
    char dir[PATH_MAX], why[256];

    if (geteuid() != 0) {
        ck_diag("# skipped: chown to another uid needs root\n");
        return;
    }
    in_tmp(dir, sizeof(dir), "theirs");
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_eq(chown(dir, 65534, 65534), 0);
    ck_assert_int_eq(sockpath_ensure_dir(dir, why, sizeof(why)), -EPERM);
    ck_assert_ptr_nonnull(strstr(why, "owned by uid 65534"));
}
END_TEST

Suite *
sockpath_suite(void)
{
    Suite *s = suite_create("sockpath");
    TCase *tc;

    tc = tcase_create("paths");
    tcase_add_loop_test(tc, sockpath_picks_directory, 0, sizeof(dir_cases) / sizeof(dir_cases[0]));
    tcase_add_test(tc, sockpath_builds_pid_paths);
    tcase_add_test(tc, sockpath_dir_for_another_environment);
    suite_add_tcase(s, tc);

    tc = tcase_create("names");
    tcase_add_loop_test(tc, sockpath_parses_names, 0, sizeof(name_cases) / sizeof(name_cases[0]));
    tcase_add_test(tc, sockpath_parse_rejects_null);
    suite_add_tcase(s, tc);

    tc = tcase_create("directory");
    /* Unchecked: one directory for the whole case, removed by the parent
     * even when a forked test dies; each test uses its own names in it. */
    tcase_add_unchecked_fixture(tc, setup_tmpdir, teardown_tmpdir);
    tcase_add_test(tc, sockpath_creates_directory);
    tcase_add_loop_test(tc, sockpath_checks_mode, 0, sizeof(mode_cases) / sizeof(mode_cases[0]));
    tcase_add_test(tc, sockpath_rejects_symlink);
    tcase_add_test(tc, sockpath_rejects_non_directory);
    tcase_add_test(tc, sockpath_rejects_missing_parent);
    tcase_add_test(tc, sockpath_rejects_foreign_owner);
    suite_add_tcase(s, tc);
    return s;
}
