/* SPDX-License-Identifier: MIT */
/*
 * agent-state: the agent's one state object (agent.h) and the operations on
 * it shared by the sampler, the server and the _lruleak module: starting
 * the sampler thread, publishing and recording samples. No Python here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "jsonv.h"
#include "log.h"
#include "pyapi.h"
#include "sampler.h"

struct agent agent = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
    .scan_lock = PTHREAD_MUTEX_INITIALIZER,
    .record_lock = PTHREAD_MUTEX_INITIALIZER,
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
        if (p != NULL && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
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

static void
do_start(void)
{
    start_result = agent_spawn(sampler_main, &agent.sampler_tid);
    if (start_result < 0) {
        log_msg("cannot start the sampler thread: %s", strerror(-start_result));
        return;
    }
    agent.sampler_alive = true;
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
agent_reset_after_fork(void)
{
    /* Only this thread exists now; a parent thread may have held any of
     * these at fork() time (os.fork()'s before hook makes that unlikely,
     * a raw fork() elsewhere does not). */
    pthread_mutex_init(&agent.lock, NULL);
    pthread_cond_init(&agent.cond, NULL);
    pthread_mutex_init(&agent.scan_lock, NULL);
    pthread_mutex_init(&agent.record_lock, NULL);
    agent.pid = getpid();
    agent.forked = true;
    agent_read_start_time();
    /* The parent's threads, socket, samples and files are not ours. */
    agent.sampler_alive = false;
    agent.server_alive = false;
    agent.server_running = false;
    agent.sock_path[0] = '\0';
    agent.parked = false;
    agent.stopping = false;
    agent.pausing = false;
    agent.want_sample = false;
    agent.want_full = false;
    agent.sampling_now = false;
    free(agent.latest);
    agent.latest = NULL;
    agent.latest_len = 0;
    agent.seq = 0;
    if (agent.wake_fd >= 0) {
        close(agent.wake_fd);
        agent.wake_fd = -1;
    }
    if (agent.record_fd >= 0) {
        close(agent.record_fd);
        agent.record_fd = -1;
    }
    agent.recorded_process = false;
}

static void
open_recording(void)
{
    char path[600];
    int fd;

    if (agent.record_dir[0] == '\0') {
        return;
    }
    snprintf(path, sizeof(path), "%s/%d.jsonl", agent.record_dir, (int)agent.pid);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd >= 0 && fd <= 2) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        close(fd);
        fd = high;
    }
    if (fd < 0) {
        log_msg("cannot record to %s: %s", path, strerror(errno));
    }
    agent.record_fd = fd;
}

static char *
read_argv_json(void)
{
    char buf[16384];
    struct jsonw w;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

    if (fd >= 0) {
        close(fd);
    }
    jsonw_init(&w);
    jsonw_arr_begin(&w);
    for (ssize_t i = 0; i < n;) {
        size_t len = strnlen(buf + i, (size_t)(n - i));
        jsonw_strn(&w, buf + i, len);
        i += (ssize_t)len + 1;
    }
    jsonw_arr_end(&w);
    if (w.err < 0) {
        jsonw_done(&w);
        return NULL;
    }
    return w.buf;
}


void
agent_record_process(const char *type, const char *reason)
{
    struct jsonw w;

    /* Written once, whichever thread gets here first (sampler, exit hook,
     * destructor). */
    pthread_mutex_lock(&agent.lock);
    bool first = !agent.recorded_process;
    agent.recorded_process = true;
    pthread_mutex_unlock(&agent.lock);
    if (!first) {
        return;
    }
    if (agent.record_fd < 0) {
        open_recording();
    }
    if (agent.argv_json == NULL) {
        char *argv = read_argv_json();
        pthread_mutex_lock(&agent.lock);
        agent.argv_json = argv;
        pthread_mutex_unlock(&agent.lock);
    }
    jsonw_init(&w);
    jsonw_obj_begin(&w);
    jsonw_kstr(&w, "type", type);
    jsonw_kint(&w, "pid", agent.pid);
    jsonw_kint(&w, "ppid", getppid());
    jsonw_kstr(&w, "python", agent.python[0] != '\0' ? agent.python : NULL);
    jsonw_key(&w, "argv");
    if (agent.argv_json != NULL) {
        jsonw_raw(&w, agent.argv_json, strlen(agent.argv_json));
    } else {
        jsonw_null(&w);
    }
    jsonw_kdouble(&w, "start", agent.start_wall, 3);
    jsonw_kstr(&w, "lruleak_version", LRULEAK_VERSION);
    if (agent.forked) {
        jsonw_kbool(&w, "forked", true); /* an os.fork() child, not an exec */
    }
    if (reason != NULL) {
        jsonw_kstr(&w, "reason", reason);
    }
    jsonw_obj_end(&w);
    jsonw_bytes(&w, "\n", 1);
    if (w.err == 0 && w.buf != NULL) {
        agent_record(w.buf, w.len);
    }
    jsonw_done(&w);
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

/* record_lock held. */
static void
record_locked(const char *line, size_t len)
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
agent_record(const char *line, size_t len)
{
    /* Samples (sampler thread) and the host's test lines (main thread)
     * must not interleave inside a line. */
    pthread_mutex_lock(&agent.record_lock);
    record_locked(line, len);
    pthread_mutex_unlock(&agent.record_lock);
}

int
agent_record_client_line(const char *line, size_t len, char *why, size_t whylen)
{
    const struct jsonv *root = NULL;
    const char *type;
    int64_t pid = 0;
    int r = -EINVAL;

    if (len > AGENT_CLIENT_LINE_MAX) {
        snprintf(why, whylen, "line longer than %d bytes", AGENT_CLIENT_LINE_MAX);
        return -E2BIG;
    }
    if (memchr(line, '\n', len) != NULL || memchr(line, '\0', len) != NULL) {
        snprintf(why, whylen, "a record is one line");
        return -EINVAL;
    }
    if (jsonv_parse(line, len, &root, NULL, 0) < 0 || !jsonv_is(root, JSONV_OBJECT)) {
        snprintf(why, whylen, "not a JSON object");
        goto out;
    }
    type = jsonv_get_str(root, "type");
    if (type == NULL || (strcmp(type, "test") != 0 && strcmp(type, "session") != 0)) {
        snprintf(why, whylen, "\"type\" must be \"test\" or \"session\"");
        goto out;
    }
    if (!jsonv_get_int(root, "pid", &pid) || pid != agent.pid) {
        snprintf(why, whylen, "\"pid\" must be this process (%d)", (int)agent.pid);
        goto out;
    }
    r = 0;
    if (agent.record_dir[0] != '\0') {
        /* The process line comes first, even when the host records before
         * the sampler got going (a no-op once written); the version
         * string is a plain C function, safe before pycompat. */
        const char *v = pyapi_version_string();
        pthread_mutex_lock(&agent.lock);
        if (agent.python[0] == '\0' && v != NULL) {
            snprintf(agent.python, sizeof(agent.python), "%.*s", (int)strcspn(v, " "), v);
        }
        pthread_mutex_unlock(&agent.lock);
        agent_record_process("process", NULL);
    }
    pthread_mutex_lock(&agent.record_lock);
    if (agent.record_fd >= 0) {
        /* One write for line and newline: O_APPEND keeps it whole. */
        char *buf = malloc(len + 1);
        if (buf != NULL) {
            memcpy(buf, line, len);
            buf[len] = '\n';
            record_locked(buf, len + 1);
            free(buf);
            r = 1;
        }
    }
    pthread_mutex_unlock(&agent.record_lock);
out:
    jsonv_free(root);
    return r;
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
