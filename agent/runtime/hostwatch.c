/* SPDX-License-Identifier: MIT */
/*
 * hostwatch: see hostwatch.h. Threads are counted from /proc/self/task,
 * skipping zombies and the agent's own threads.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "fdhigh.h"
#include "hostwatch.h"

static struct {
    pthread_key_t end_key;
    int leader_fd; /* /proc/self/stat, kept open for the periodic look (sampler thread) */
    pid_t leader_pid;
    bool have_key;
} hw = {.leader_fd = -1};
/* Set in the forking thread just before fork(): was it the initial thread?
 * The child's copy of this thread-local tells the child. */
static __thread bool forking_from_initial = true;

static pid_t
gettid_now(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* State letter of /proc/self/task/<tid>/stat (or of the leader with tid
 * 0); '?' when it cannot be read (the thread is gone). */
static char
thread_state(pid_t tid)
{
    char path[64], buf[512];
    ssize_t n;
    int fd;

    if (tid > 0) {
        snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return '?';
        }
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
    } else {
        /* The periodic look: one high descriptor, kept (a fresh open
         * would take the lowest free number, maybe the one the program
         * is about to get). /proc/self names the process that opened it:
         * open it again in a forked child. */
        if (hw.leader_fd < 0 || hw.leader_pid != getpid()) {
            if (hw.leader_fd >= 0) {
                close(hw.leader_fd);
            }
            hw.leader_fd = fdhigh_move(open("/proc/self/stat", O_RDONLY | O_CLOEXEC));
            hw.leader_pid = getpid();
        }
        n = hw.leader_fd >= 0 ? pread(hw.leader_fd, buf, sizeof(buf) - 1, 0) : -1;
    }
    if (n <= 0) {
        return '?';
    }
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm may contain spaces and parentheses */
    return p != NULL && p[1] == ' ' && p[2] != '\0' ? p[2] : '?';
}

/* Live threads of the program, other than `self` (0: none). */
static int
program_threads(pid_t self)
{
    pid_t ours[2];
    struct dirent *e;
    int n = 0;
    DIR *d = opendir("/proc/self/task");

    if (d == NULL) {
        return 1; /* cannot tell: assume the program runs */
    }
    pthread_mutex_lock(&agent.lock);
    ours[0] = agent.sampler_os_tid;
    ours[1] = agent.server_os_tid;
    pthread_mutex_unlock(&agent.lock);
    while ((e = readdir(d)) != NULL) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || tid == self || tid == ours[0] || tid == ours[1]) {
            continue;
        }
        char st = thread_state(tid);
        if (st != 'Z' && st != 'X' && st != '?') {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Runs as a watched thread ends (its Python thread state is gone, the GIL
 * is free): if it is the program's last, end ours first. */
static void
watched_thread_ends(void *value)
{
    (void)value;
    if (!agent_is_home() || program_threads(gettid_now()) > 0) {
        return;
    }
    agent_end_with_host();
}

static void
before_fork(void)
{
    forking_from_initial = gettid_now() == getpid();
}

void
hostwatch_setup(void)
{
    hw.have_key = pthread_key_create(&hw.end_key, watched_thread_ends) == 0;
    pthread_atfork(before_fork, NULL, NULL);
}

bool
hostwatch_arm_child(void)
{
    return !forking_from_initial && hw.have_key && pthread_setspecific(hw.end_key, (void *)1) == 0;
}

void
hostwatch_forget(void)
{
    if (hw.leader_fd >= 0 && hw.leader_pid == getpid()) {
        close(hw.leader_fd);
    }
    hw.leader_fd = -1;
}

bool
hostwatch_program_ended(void)
{
    static double last;
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    double now = (double)t.tv_sec + (double)t.tv_nsec / 1e9;
    if (now - last < HOSTWATCH_PERIOD_S) {
        return false;
    }
    last = now;
    /* While the leader runs, the process ends through it (exit()). */
    return thread_state(0) == 'Z' && program_threads(0) == 0;
}
