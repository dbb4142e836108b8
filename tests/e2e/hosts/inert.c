/* SPDX-License-Identifier: MIT */
/*
 * inert: a small non-Python program for test-e2e-inert.
 *
 * The agent preloaded into it must change nothing: it prints its arguments
 * and a few facts about its own process (whether Py_IsInitialized resolves,
 * which fds are open above 2, how many threads it has) to stdout and one
 * line to stderr, then exits with the status given as argv[1]. The test
 * compares everything with a run without LD_PRELOAD. It deliberately does
 * not print anything that differs between two runs (pids, times).
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Number of fds above 2 open in this process, excluding the one opendir uses. */
static int
count_extra_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) {
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd > 2 && fd != dirfd(d)) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* The Threads: line of /proc/self/status, or -1. */
static int
count_threads(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    int n = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "Threads:", 8) == 0) {
            n = atoi(line + 8);
        }
    }
    fclose(f);
    return n;
}

int
main(int argc, char **argv)
{
    /* Give a lazily started agent thread the chance to appear. */
    usleep(200 * 1000);
    for (int i = 0; i < argc; i++) {
        printf("arg %d: %s\n", i, i == 0 ? "inert" : argv[i]);
    }
    printf("Py_IsInitialized: %s\n",
           dlsym(RTLD_DEFAULT, "Py_IsInitialized") != NULL ? "found" : "absent");
    printf("extra fds: %d\n", count_extra_fds());
    printf("threads: %d\n", count_threads());
    fprintf(stderr, "inert: done\n");
    fflush(stdout);
    return argc > 1 ? atoi(argv[1]) : 0;
}
