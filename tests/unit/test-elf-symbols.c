/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for elf-symbols: symbols and sections of real files (this
 * test's C library and executable), and files that are not ELF or are cut
 * short, which must be refused without reading past their end.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check-helpers.h"
#include "elf-symbols.h"

/* The path of the mapped C library (the object that holds malloc). */
static const char *
libc_path(void)
{
    static char path[4096];
    Dl_info info;

    ck_assert(dladdr((void *)malloc, &info) != 0 && info.dli_fname != NULL);
    snprintf(path, sizeof(path), "%s", info.dli_fname);
    return path;
}

START_TEST(elf_symbols_finds_libc_functions)
{
    struct elf_file f;
    uint64_t value = 0, size = 0;

    ck_assert_int_eq(elf_open(libc_path(), &f), 0);
    ck_assert_int_eq(elf_symbol(&f, "malloc", &value, &size), 0);
    ck_assert(value != 0 && size > 0);
    ck_assert_int_eq(elf_symbol(&f, "dlopen", &value, &size) == 0 ||
                         elf_symbol(&f, "__libc_dlopen_mode", &value, &size) == 0,
                     1);
    ck_assert_int_eq(elf_symbol(&f, "lruleak_no_such_symbol", &value, &size), -ENOENT);
    uint64_t addr = 0, ssize = 0;
    ck_assert_int_eq(elf_section(&f, ".dynsym", &addr, &ssize), 0);
    ck_assert(ssize > 0);
    ck_assert_int_eq(elf_section(&f, ".PyRuntime", &addr, &ssize), -ENOENT);
    /* The first bytes the loader maps are the ELF header itself. */
    unsigned char magic[4];
    ck_assert_int_eq(elf_read_vaddr(&f, f.first_vaddr, magic, sizeof(magic)), 0);
    ck_assert(memcmp(magic, ELFMAG, SELFMAG) == 0);
    elf_close(&f);
}
END_TEST

/* Every run-time address elf_symbol gives matches dlsym's, once biased. */
START_TEST(elf_symbols_agree_with_the_loader)
{
    struct elf_file f;
    uint64_t value = 0, size = 0;
    Dl_info info;

    ck_assert(dladdr((void *)malloc, &info) != 0);
    ck_assert_int_eq(elf_open(libc_path(), &f), 0);
    ck_assert_int_eq(elf_symbol(&f, "malloc", &value, &size), 0);
    uint64_t base = (uint64_t)(uintptr_t)info.dli_fbase;
    ck_assert_uint_eq(base - f.first_vaddr + value,
                      (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "malloc"));
    elf_close(&f);
}
END_TEST

static char tmp[64];

static void
write_tmp(const void *data, size_t n)
{
    snprintf(tmp, sizeof(tmp), "/tmp/lruleak-test-elf-XXXXXX");
    int fd = mkstemp(tmp);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
}

START_TEST(elf_symbols_refuses_bad_files)
{
    struct elf_file f;
    static const char text[] = "#!/bin/sh\necho not an ELF file\n";

    write_tmp(text, sizeof(text));
    ck_assert_int_eq(elf_open(tmp, &f), -ENOEXEC);
    unlink(tmp);

    /* A real header cut after 100 bytes: its tables lie past the end. */
    char head[100];
    int fd = open(libc_path(), O_RDONLY | O_CLOEXEC);
    ck_assert_int_eq(read(fd, head, sizeof(head)), (ssize_t)sizeof(head));
    close(fd);
    write_tmp(head, sizeof(head));
    ck_assert_int_eq(elf_open(tmp, &f), -ENOEXEC);
    unlink(tmp);

    ck_assert_int_eq(elf_open("/nonexistent/lruleak", &f), -ENOENT);
}
END_TEST

Suite *
elf_symbols_suite(void)
{
    Suite *s = suite_create("elf-symbols");
    TCase *tc = tcase_create("files");

    tcase_add_test(tc, elf_symbols_finds_libc_functions);
    tcase_add_test(tc, elf_symbols_agree_with_the_loader);
    tcase_add_test(tc, elf_symbols_refuses_bad_files);
    suite_add_tcase(s, tc);
    return s;
}
