/* SPDX-License-Identifier: MIT */
/*
 * log: see log.h. The fd is opened O_CLOEXEC and moved above 2 so the agent
 * can never end up writing into the host's standard streams, even when the
 * host closed them before we started.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "fdhigh.h"
#include "log.h"

static int log_fd = -1;

void
log_open(const char *path)
{
    int fd;

    /* Once open, the log stays (an attach may name one again): closing an
     * fd another thread may be writing to could send lines into whatever
     * file the host opens next under that number. */
    if (path == NULL || path[0] == '\0' || log_fd >= 0) {
        return;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        return;
    }
    log_fd = fdhigh_move(fd);
}

void
log_msg(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n, m;

    if (log_fd < 0) {
        return;
    }
    int saved_errno = errno;
    n = snprintf(line, sizeof(line), "lruleak[%d]: ", (int)getpid());
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) {
        m = 0;
    }
    n += m;
    if (n > (int)sizeof(line) - 2) {
        n = (int)sizeof(line) - 2;
    }
    line[n++] = '\n';
    (void)!write(log_fd, line, (size_t)n);
    errno = saved_errno;
}
