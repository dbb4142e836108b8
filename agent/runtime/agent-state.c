/* SPDX-License-Identifier: MIT */
/*
 * agent-state: the agent's one state object (agent.h) and the plumbing the
 * other files share: clocks, spawning and joining the agent's threads,
 * the configuration, the server's wake-up pipe. The transitions (start,
 * attach, detach, fork, exit) are lifecycle.c; the recording and the
 * publishing of samples recording.c. No Python here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "attachopt.h"
#include "fdhigh.h"
#include "hostwatch.h"
#include "recording.h"
#include "termsig.h"
#include "jsonv.h"
#include "log.h"
#include "pyapi.h"
#include "sampler.h"

struct agent agent = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
    .scan_lock = PTHREAD_MUTEX_INITIALIZER,
    .wake_fd = -1,
    .record_fd = -1,
};

static bool configured;

bool
agent_is_home(void)
{
    return agent.pid == getpid();
}

double
agent_boottime(void)
{
    struct timespec t;
    clock_gettime(CLOCK_BOOTTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

double
agent_uptime(void)
{
    return agent_boottime() - agent.start_boot;
}

/* Process start from /proc/self/stat field 22 (clock ticks since boot). */
void
agent_read_start_time(void)
{
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    double now = agent_boottime();

    if (fd >= 0) {
        close(fd);
    }
    agent.start_boot = now;
    if (n > 0) {
        buf[n] = '\0';
        char *p = strrchr(buf, ')'); /* comm may contain spaces */
        unsigned long long ticks = 0;
        /* after ") ": state(3) ... starttime is field 22, i.e. the 20th after state */
        if (p != NULL && sscanf(p + 2,
                                "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
                                "%*d %*d %*d %*d %llu",
                                &ticks) == 1) {
            agent.start_boot = (double)ticks / (double)sysconf(_SC_CLK_TCK);
        }
    }
    agent.start_wall = (double)time(NULL) - (now - agent.start_boot);
}

int
agent_spawn(void *(*fn)(void *), pthread_t *ret_tid)
{
    pthread_attr_t attr;
    sigset_t all, old;
    int r;

    /* The agent's threads take no signals: the host's handlers, sigwait()
     * loops and Python's own signal handling stay exactly as they were. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    r = -pthread_create(ret_tid, &attr, fn, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return r;
}

void
agent_note_thread(pid_t *slot)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);

    pthread_mutex_lock(&agent.lock);
    *slot = tid;
    pthread_mutex_unlock(&agent.lock);
}

void
agent_join_threads(void)
{
    if (agent.sampler_alive) {
        pthread_join(agent.sampler_tid, NULL);
        agent.sampler_alive = false;
    }
    if (agent.server_alive) {
        pthread_join(agent.server_tid, NULL);
        agent.server_alive = false;
    }
    agent_wait_threads_reaped();
}

void
agent_wait_threads_reaped(void)
{
    pid_t tids[2];
    char path[64];

    pthread_mutex_lock(&agent.lock);
    tids[0] = agent.sampler_os_tid;
    tids[1] = agent.server_os_tid;
    pthread_mutex_unlock(&agent.lock);
    for (int i = 0; i < 2; i++) {
        if (tids[i] <= 0 || tids[i] == (pid_t)syscall(SYS_gettid)) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tids[i]);
        /* A joined thread is reaped within microseconds; 100 ms at most. */
        for (int tries = 0; tries < 2000 && access(path, F_OK) == 0; tries++) {
            struct timespec t = {0, 50000};
            nanosleep(&t, NULL);
        }
    }
}

/* ---- configuration ------------------------------------------------------------ */

static double
env_double(const char *name, double dflt, double min)
{
    const char *v = secure_getenv(name);
    char *end;
    double d;

    if (v == NULL || v[0] == '\0') {
        return dflt;
    }
    d = strtod(v, &end);
    if (end == v || *end != '\0' || !(d >= min) || d > 86400.0) {
        log_msg("ignoring %s=%s (expected a number >= %g)", name, v, min);
        return dflt;
    }
    return d;
}

static void
after_fork_child(void)
{
    /* Only flips state: the child has none of our threads, and Python may
     * be mid-fork. A child of os.fork() is re-armed later, from Python's
     * after_in_child hook (lifecycle.c); one of a raw fork() stays
     * dormant (its pid is not agent.pid). */
    agent.server_running = false;
}

void
agent_configure(void)
{
    const char *v;

    if (configured) {
        return;
    }
    configured = true;
    log_open(secure_getenv("LRULEAK_LOG"));
    agent.interval = env_double("LRULEAK_INTERVAL", 1.0, 0.001);
    agent.max_nodes = (size_t)env_double("LRULEAK_MAX_NODES", 2e6, 1000);
    agent.trace_alloc = (int)env_double("LRULEAK_TRACE_ALLOC", 0, 0);
    if (agent.trace_alloc > ATTACHOPT_TRACE_ALLOC_MAX) {
        agent.trace_alloc = ATTACHOPT_TRACE_ALLOC_MAX;
    }
    v = secure_getenv("LRULEAK_RECORD");
    if (v != NULL && v[0] != '\0') {
        snprintf(agent.record_dir, sizeof(agent.record_dir), "%s", v);
    }
    agent_read_start_time();
    v = secure_getenv("LRULEAK_FOLLOW_FORKS");
    agent.follow_forks = v == NULL || strcmp(v, "0") != 0;
    pthread_atfork(NULL, NULL, after_fork_child);
    hostwatch_setup();
    agent.python_process = true;
}

void
agent_set_state(enum agent_state state, const char *reason)
{
    pthread_mutex_lock(&agent.lock);
    agent.state = state;
    if (reason != NULL) {
        snprintf(agent.reason, sizeof(agent.reason), "%s", reason);
    }
    pthread_cond_broadcast(&agent.cond);
    pthread_mutex_unlock(&agent.lock);
}

/* The eventfd is written by several threads and closed by the server's
 * detach: under agent.lock, so nobody writes into a closed (and maybe
 * reused) descriptor. */
void
agent_wake_server(void)
{
    uint64_t one = 1;

    pthread_mutex_lock(&agent.lock);
    if (agent.wake_fd >= 0) {
        (void)!write(agent.wake_fd, &one, sizeof(one));
    }
    pthread_mutex_unlock(&agent.lock);
}

void
agent_open_wake(int fd)
{
    pthread_mutex_lock(&agent.lock);
    agent.wake_fd = fd;
    pthread_mutex_unlock(&agent.lock);
}

void
agent_close_wake(void)
{
    pthread_mutex_lock(&agent.lock);
    if (agent.wake_fd >= 0) {
        close(agent.wake_fd);
    }
    agent.wake_fd = -1;
    pthread_mutex_unlock(&agent.lock);
}
