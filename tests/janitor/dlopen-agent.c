/* SPDX-License-Identifier: MIT */
/*
 * dlopen-agent: load the agent into a process that is not Python (this C
 * program) and check that it stays inert: it loads, answers its version
 * probe, refuses an attach (lruleak_agent_attach returns -ENOTSUP), starts
 * no thread, opens no file descriptor, creates nothing in the socket
 * directory and prints nothing. Usage: dlopen-agent AGENT.so
 * (LRULEAK_DIR should name an empty private directory).
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
count_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n;
}

int
main(int argc, char **argv)
{
    const char *dir = getenv("LRULEAK_DIR");
    int threads0 = count_entries("/proc/self/task");
    int fds0 = count_entries("/proc/self/fd");
    void *h;

    if (argc != 2) {
        fprintf(stderr, "usage: dlopen-agent AGENT.so\n");
        return 2;
    }
    h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "dlopen-agent: %s\n", dlerror());
        return 1;
    }
    const char *(*version)(void) = (const char *(*)(void))dlsym(h, "lruleak_agent_version");
    int (*attach)(const char *) = (int (*)(const char *))dlsym(h, "lruleak_agent_attach");
    if (version == NULL || strcmp(version(), LRULEAK_VERSION) != 0 || attach == NULL) {
        fprintf(stderr, "dlopen-agent: version probe failed\n");
        return 1;
    }
    int r = attach("interval=0.5\n");
    if (r != -ENOTSUP) {
        fprintf(stderr, "dlopen-agent: attach in a non-Python process returned %d, not %d\n", r,
                -ENOTSUP);
        return 1;
    }
    usleep(200 * 1000);
    int threads1 = count_entries("/proc/self/task");
    int fds1 = count_entries("/proc/self/fd");
    if (threads1 != threads0 || fds1 != fds0) {
        fprintf(stderr, "dlopen-agent: threads %d -> %d, fds %d -> %d\n", threads0, threads1, fds0,
                fds1);
        return 1;
    }
    if (dir != NULL && count_entries(dir) > 0) {
        fprintf(stderr, "dlopen-agent: the agent created files in %s\n", dir);
        return 1;
    }
    dlclose(h);
    return 0;
}
