/* SPDX-License-Identifier: MIT */
/*
 * fdhigh: see fdhigh.h.
 */
#include "config.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fdhigh.h"

/* Lowest number of the high range: 3/4 of the soft limit, at most 65536. */
static int
high_floor(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY) {
        return 768;
    }
    rlim_t floor = rl.rlim_cur / 4 * 3;
    if (floor > 65536) {
        floor = 65536;
    }
    return floor > 3 ? (int)floor : 3;
}

int
fdhigh_move(int fd)
{
    if (fd < 0) {
        return fd;
    }
    int h = fcntl(fd, F_DUPFD_CLOEXEC, high_floor());
    if (h < 0 && fd <= 2) {
        h = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    }
    if (h < 0) {
        return fd; /* no room up there: keep it where it is */
    }
    close(fd);
    return h;
}
