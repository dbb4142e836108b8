/* SPDX-License-Identifier: MIT */
/*
 * recording: the agent's recording (<LRULEAK_RECORD>/<pid>.jsonl, appended
 * to with O_APPEND, one write per line) and the publishing of samples
 * (the latest one, for the server). The process line comes first, whole,
 * whichever thread writes it (sampler, exit hook, destructor); samples and
 * the host's test lines follow. No Python here.
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
#include "recording.h"
#include "attachopt.h"
#include "fdhigh.h"
#include "hostwatch.h"
#include "termsig.h"
#include "jsonv.h"
#include "log.h"
#include "pyapi.h"
#include "sampler.h"

/* Guards the recording (agent.record_fd, agent.recorded_process and the
 * order of lines): the process line comes first, whole, whichever thread
 * writes it; every other line (samples, the host's test lines) after it.
 * Taken before agent.lock, never while waiting for the GIL. */
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;

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
    fd = fdhigh_move(fd);
    if (fd < 0) {
        log_msg("cannot record to %s: %s", path, strerror(errno));
        agent.record_broken = true;
    }
    agent.record_fd = fd;
}

/* Append one line to the recording; record_lock held. */
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
            agent.record_broken = true;
            close(agent.record_fd);
            agent.record_fd = -1;
            return;
        }
        line += n;
        len -= (size_t)n;
    }
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
     * destructor); a thread that comes second waits until it is written. */
    pthread_mutex_lock(&record_lock);
    if (agent.recorded_process) {
        pthread_mutex_unlock(&record_lock);
        return;
    }
    agent.recorded_process = true;
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
        record_locked(w.buf, w.len);
    }
    pthread_mutex_unlock(&record_lock);
    jsonw_done(&w);
}

/* Append one line after the process line (written first if no thread has
 * yet), reopening the recording (appending) after a detach closed it.
 * Returns whether the recording is still open afterwards, i.e. the line is
 * written. */
static bool
record_line(const char *line, size_t len)
{
    bool written;

    agent_record_process("process", NULL);
    pthread_mutex_lock(&record_lock);
    if (agent.record_fd < 0 && !agent.record_broken) {
        open_recording();
    }
    record_locked(line, len);
    written = agent.record_fd >= 0;
    pthread_mutex_unlock(&record_lock);
    return written;
}

void
agent_record(const char *line, size_t len)
{
    /* Samples (sampler thread) and the host's test lines (main thread)
     * never interleave inside a line: both go through record_lock. */
    (void)record_line(line, len);
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
    /* Detached: the recording is closed until an attach (not reopened by
     * the host's lines). */
    if (agent.record_dir[0] != '\0' && !agent_is_detached()) {
        /* The process line comes first, even when the host records before
         * the sampler got going; it names the Python version: a plain C
         * function, safe before pycompat. */
        const char *v = pyapi_version_string();
        pthread_mutex_lock(&agent.lock);
        if (agent.python[0] == '\0' && v != NULL) {
            snprintf(agent.python, sizeof(agent.python), "%.*s", (int)strcspn(v, " "), v);
        }
        pthread_mutex_unlock(&agent.lock);
        /* One write for line and newline: O_APPEND keeps it whole. */
        char *buf = malloc(len + 1);
        if (buf != NULL) {
            memcpy(buf, line, len);
            buf[len] = '\n';
            r = record_line(buf, len + 1) ? 1 : 0;
            free(buf);
        }
    }
out:
    jsonv_free(root);
    return r;
}

void
agent_publish(struct snapshot *snap, uint64_t answers)
{
    struct jsonw w;

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
    if (answers > agent.answered) {
        agent.answered = answers;
    }
    pthread_cond_broadcast(&agent.cond);
    pthread_mutex_unlock(&agent.lock);
    agent_wake_server();
}

void
recording_close(void)
{
    pthread_mutex_lock(&record_lock);
    if (agent.record_fd >= 0) {
        close(agent.record_fd);
        agent.record_fd = -1;
    }
    pthread_mutex_unlock(&record_lock);
}

void
recording_after_fork(void)
{
    pthread_mutex_init(&record_lock, NULL);
    if (agent.record_fd >= 0) {
        close(agent.record_fd);
        agent.record_fd = -1;
    }
    agent.record_broken = false; /* a file of its own (<pid>.jsonl) */
    agent.recorded_process = false;
}
