/* SPDX-License-Identifier: MIT */
/*
 * agent-state: the agent's one state object (agent.h) and the operations on
 * it shared by the sampler, the server and the _lruleak module: starting
 * the sampler thread, publishing and recording samples. No Python here.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "sampler.h"

struct agent agent = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
    .scan_lock = PTHREAD_MUTEX_INITIALIZER,
    .wake_fd = -1,
    .record_fd = -1,
};

static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static int start_result;

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

static void *
start_thread(void *arg)
{
    return sampler_main(arg);
}

static void
do_start(void)
{
    pthread_t tid;
    pthread_attr_t attr;
    sigset_t all, old;

    /* The agent's threads take no signals: the host's handlers, sigwait()
     * loops and Python's own signal handling stay exactly as they were. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    start_result = -pthread_create(&tid, &attr, start_thread, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (start_result < 0) {
        log_msg("cannot start the sampler thread: %s", strerror(-start_result));
    }
}

int
agent_start(void)
{
    if (!agent_is_home()) {
        return -ECHILD;
    }
    pthread_once(&start_once, do_start);
    return start_result;
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

void
agent_record(const char *line, size_t len)
{
    while (agent.record_fd >= 0 && len > 0) {
        ssize_t n = write(agent.record_fd, line, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            log_msg("recording stopped: %s", strerror(errno));
            close(agent.record_fd);
            agent.record_fd = -1;
            return;
        }
        line += n;
        len -= (size_t)n;
    }
}

void
agent_publish(struct snapshot *snap)
{
    struct jsonw w;
    uint64_t one = 1;

    jsonw_init(&w);
    pthread_mutex_lock(&agent.lock);
    snap->seq = agent.seq + 1;
    pthread_mutex_unlock(&agent.lock);
    snapshot_write_json(snap, &w);
    jsonw_bytes(&w, "\n", 1);
    if (w.err < 0 || w.buf == NULL) {
        log_msg("cannot encode sample: %s", strerror(-w.err));
        jsonw_done(&w);
        return;
    }
    agent_record(w.buf, w.len);
    pthread_mutex_lock(&agent.lock);
    free(agent.latest);
    agent.latest = w.buf; /* take the buffer */
    agent.latest_len = w.len;
    agent.seq = snap->seq;
    pthread_cond_broadcast(&agent.cond);
    pthread_mutex_unlock(&agent.lock);
    if (agent.wake_fd >= 0) {
        (void)!write(agent.wake_fd, &one, sizeof(one));
    }
}
