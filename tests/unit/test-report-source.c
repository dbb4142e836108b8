/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for report-source: the function around a line of a Python
 * file, as a traceback would name it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check-helpers.h"
#include "report-source.h"

static const char source[] = "import functools\n"           /* 1 */
                             "x = [1,\n"                    /* 2 */
                             "  2]\n"                       /* 3 */
                             "class Order:\n"               /* 4 */
                             "    size = 3\n"               /* 5 */
                             "    @functools.lru_cache\n"   /* 6 */
                             "    def total(self, n):\n"    /* 7 */
                             "        if n:\n"              /* 8 */
                             "            return Order()\n" /* 9 */
                             "        def inner():\n"       /* 10 */
                             "\t    pass\n"                 /* 11: a tab counts 8 columns */
                             "        return (1,\n"         /* 12 */
                             "# comment at column 0\n"      /* 13 */
                             "2)\n"                         /* 14: inside the bracket */
                             "async def handle(req):\n"     /* 15 */
                             "    for i in range(3):\n"     /* 16 */
                             "        obj = Order()\n"      /* 17 */
                             "if __name__ == '__main__':\n" /* 18 */
                             "    Order()\n";               /* 19 */

static const struct {
    long line;
    const char *name;
} cases[] = {
    {1, "<module>"}, {3, "<module>"}, {5, "Order"},   {7, "Order"},     {9, "total"},
    {11, "inner"},   {14, "total"},   {17, "handle"}, {19, "<module>"},
};

START_TEST(report_source_names_functions)
{
    char path[] = "/tmp/test-report-source-XXXXXX", name[64];
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, source, sizeof(source) - 1), (int)sizeof(source) - 1);
    close(fd);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(report_source_function(path, cases[i].line, name, sizeof(name)), 0);
        ck_assert_msg(strcmp(name, cases[i].name) == 0, "line %ld: %s, expected %s", cases[i].line,
                      name, cases[i].name);
    }
    ck_assert_int_eq(report_source_function(path, 99, name, sizeof(name)), -ENOENT);
    ck_assert_int_eq(report_source_function(path, 0, name, sizeof(name)), -EINVAL);
    unlink(path);
    ck_assert_int_eq(report_source_function(path, 1, name, sizeof(name)), -ENOENT);
}
END_TEST

Suite *
report_source_suite(void)
{
    Suite *s = suite_create("report-source");
    TCase *tc = tcase_create("functions");

    tcase_add_test(tc, report_source_names_functions);
    suite_add_tcase(s, tc);
    return s;
}
