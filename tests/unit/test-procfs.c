/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for procfs, on this test's own process (and a child that has
 * exited): status fields, the memory map, threads, the root directory and
 * the initial environment.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-helpers.h"
#include "procfs.h"

START_TEST(procfs_reads_own_status)
{
    struct procfs_status st;

    ck_assert_int_eq(procfs_status(getpid(), &st), 0);
    ck_assert(st.state == 'R' || st.state == 'S');
    ck_assert_int_eq(st.uid[0], getuid());
    ck_assert_int_eq(st.uid[1], geteuid());
    ck_assert_int_eq(st.gid[0], getgid());
    ck_assert_int_eq(st.ppid, getppid());
    ck_assert_int_ge(st.threads, 1);
    ck_assert_int_eq(procfs_threads(getpid(), NULL, 0), st.threads);
}
END_TEST

START_TEST(procfs_maps_cover_code_and_stack)
{
    struct procfs_maps m;
    int local = 0;

    ck_assert_int_eq(procfs_maps(getpid(), &m), 0);
    const struct procfs_map *code = procfs_maps_find(&m, (uint64_t)(uintptr_t)procfs_maps_done);
    const struct procfs_map *stack = procfs_maps_find(&m, (uint64_t)(uintptr_t)&local);
    ck_assert_ptr_nonnull(code);
    ck_assert_ptr_nonnull(stack);
    ck_assert(code->perms[2] == 'x' && code->path[0] == '/' && code->inode != 0);
    /* "[stack]", except under valgrind, whose stacks are anonymous. */
    ck_assert(stack->perms[0] == 'r' && stack->perms[1] == 'w' && stack->inode == 0);
    ck_assert_ptr_null(procfs_maps_find(&m, 0));
    procfs_maps_done(&m);
}
END_TEST

START_TEST(procfs_gone_process_is_esrch)
{
    struct procfs_status st;
    struct procfs_maps m;
    pid_t child = fork();

    if (child == 0) {
        _exit(0);
    }
    ck_assert_int_eq(waitpid(child, NULL, 0), child);
    ck_assert_int_eq(procfs_status(child, &st), -ESRCH);
    ck_assert_int_eq(procfs_maps(child, &m), -ESRCH);
    ck_assert_int_eq(procfs_threads(child, NULL, 0), -ESRCH);
}
END_TEST

START_TEST(procfs_root_and_environment)
{
    char buf[256];

    ck_assert_int_eq(procfs_same_root(getpid()), 1);
    /* The initial environment: check-main runs us with PATH set by meson
     * or the shell; a variable nobody sets is -ENOENT. */
    ck_assert_int_eq(
        procfs_environ_get(getpid(), "LRULEAK_TEST_NO_SUCH_VARIABLE", buf, sizeof(buf)), -ENOENT);
    if (getenv("PATH") != NULL && procfs_environ_get(getpid(), "PATH", buf, sizeof(buf)) == 0) {
        ck_assert_str_eq(buf, getenv("PATH"));
    }
    ck_assert_int_eq(
        procfs_environ_get(getpid(), "PATH", buf, 1) == -ENAMETOOLONG || getenv("PATH") == NULL, 1);
}
END_TEST

Suite *
procfs_suite(void)
{
    Suite *s = suite_create("procfs");
    TCase *tc = tcase_create("self");

    tcase_add_test(tc, procfs_reads_own_status);
    tcase_add_test(tc, procfs_maps_cover_code_and_stack);
    tcase_add_test(tc, procfs_gone_process_is_esrch);
    tcase_add_test(tc, procfs_root_and_environment);
    suite_add_tcase(s, tc);
    return s;
}
