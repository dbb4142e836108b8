/* SPDX-License-Identifier: MIT */
/*
 * agent: the agent's one state object and its life cycle.
 *
 * Threads: the sampler thread (sampler.c) is the only one that takes the
 * GIL on its own; the server thread (server.c) never touches Python; the
 * host's main thread enters through the atexit hook and the _lruleak module
 * (pymodule.c). Shared fields are guarded by agent.lock, which is never held
 * while waiting for the GIL. agent.scan_lock serialises samples; its order
 * is always scan_lock first, GIL second.
 *
 * Life cycle: started by the constructor (preloaded) or by an attach
 * (lruleak_agent_attach, _lruleak.start), a running agent can be detached
 * by a client ({"cmd":"detach"}): the sampler deletes its thread state and
 * ends, the server closes the socket and ends, and the state becomes
 * AGENT_DETACHED until the next attach starts both again. The library is
 * never unloaded (-z nodelete): hooks the interpreter holds (atexit, audit,
 * fork) stay registered and do nothing while detached.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "snapshot.h"
#include "sockpath.h"

enum agent_state {
    AGENT_WAITING, /* Python not initialised or functools not imported yet */
    AGENT_SAMPLING,
    AGENT_REFUSED,  /* unsupported interpreter: see reason */
    AGENT_STOPPED,  /* the interpreter is exiting; the final sample stays */
    AGENT_DETACHED, /* detached by a client: no thread, no socket */
};

struct agent {
    /* set once before the threads start */
    pid_t pid;
    double interval; /* seconds */
    size_t max_nodes;
    int trace_alloc;     /* tracemalloc frames to start (LRULEAK_TRACE_ALLOC); 0: off */
    bool autostart;      /* preloaded before Python initialised */
    bool python_process; /* CPython symbols were found (agent_configure ran) */
    bool attached;       /* started by an attach: serve the socket at once */
    bool follow_forks;   /* LRULEAK_FOLLOW_FORKS is not "0": re-arm in os.fork() children */
    bool forked;         /* this process is an os.fork() child the agent re-armed in */
    bool main_only;      /* forked from a thread that was not the initial one: our
                          * threads never make thread states here (sampler.c) */
    char record_dir[512];
    char sock_dir[SOCKPATH_MAX]; /* from the attach options; "": environment */
    char sock_path[SOCKPATH_MAX];
    double start_boot; /* process start, CLOCK_BOOTTIME seconds */
    double start_wall; /* process start, Unix time */

    /* guarded by lock */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    _Atomic enum agent_state state; /* also read without agent.lock (atomic) */
    char reason[256];
    char python[32];
    char *argv_json; /* JSON array of /proc/self/cmdline */
    char *latest;    /* JSON text of the last sample, NUL-terminated */
    size_t latest_len;
    uint64_t seq;      /* samples published */
    uint64_t requests; /* snapshot requests received (numbered from 1) */
    uint64_t answered; /* requests 1..answered have a sample that began after them */
    bool want_sample;  /* a client asked for a fresh sample */
    bool want_full;
    bool stopping; /* atexit: the sampler must leave Python for good */
    bool parked;   /* the sampler has left Python for good */
    bool server_running;
    atomic_bool pausing;                 /* os.fork() in progress (3.12+): our threads leave */
    bool detaching;                      /* a client asked to detach: the sampler leaves */
    bool sampler_gone;                   /* the sampler thread has left Python and ends */
    bool sampler_wants_gil;              /* the sampler waits for or holds the GIL */
    bool term_asked;                     /* SIGTERM: take the final sample now (termsig.h) */
    bool host_gone;                      /* every thread of the program has ended (hostwatch.h) */
    pid_t sampler_os_tid, server_os_tid; /* kernel ids of our threads (last started) */
    pthread_t sampler_tid, server_tid;
    bool sampler_alive, server_alive; /* created and not joined yet */
    int wake_fd;                      /* eventfd: a sample was published (written under lock) */

    /* one sample at a time */
    pthread_mutex_t scan_lock;
    struct scan *scan;

    /* the recording: guarded by agent-state.c's record_lock */
    int record_fd;
    bool record_broken;    /* a write failed: recording stopped for good */
    bool recorded_process; /* the recording has its first line */
};

extern struct agent agent;

/* Create one of the agent's threads: joinable, all signals blocked, small
 * stack. Returns 0 or -errno. */
int agent_spawn(void *(*fn)(void *), pthread_t *ret_tid);
/* An agent thread notes its kernel thread id in *slot (agent.sampler_os_tid
 * or agent.server_os_tid) as it starts. */
void agent_note_thread(pid_t *slot);
/* Join the sampler and server threads if they run (they are on their way
 * out). Not on one of them. */
void agent_join_threads(void);
/* The program's last thread is ending (hostwatch.c): the sampler leaves
 * without a final sample, then the server closes the socket, whichever way
 * the sampler had ended before; both are joined. On that last thread. */
void agent_end_with_host(void);
/* After joining our threads: wait (briefly, bounded) until the kernel has
 * reaped them, i.e. no longer counts them in /proc/self/stat. */
void agent_wait_threads_reaped(void);
/* libc's _exit(status), resolved by the constructor (exit_group if it
 * could not be found). Never returns. */
__attribute__((noreturn)) void agent_real_exit(int status);
/*
 * Read the configuration from the environment (LRULEAK_INTERVAL, _LOG,
 * _RECORD, ...) and the process start time; once. The constructor calls
 * it in a Python process, an attach in any other case. No Python call.
 */
void agent_configure(void);
/*
 * Start the sampler thread unless it runs (thread-safe, any thread, GIL or
 * not). After a detach it joins the old threads and starts new ones.
 * Returns 0, -EBUSY while a detach is still in progress, -ESHUTDOWN once
 * the interpreter is exiting, -ECHILD in a forked child, or -errno.
 */
int agent_start(void);
/*
 * The attach entry point (lruleak_agent_attach, _lruleak.start(options)):
 * configure if needed, apply the options text (attachopt.h), serve the
 * socket as soon as the sampler starts, start. Returns as agent_start,
 * -EALREADY when the agent runs already (its socket is wherever it was
 * started with), or -EINVAL for bad options (logged).
 */
int agent_attach(const char *options);
/*
 * A client asked to detach (dispatch, on the server thread): mark the agent
 * detaching and make the sampler leave Python. Returns 0 (under way, also
 * when it already was), or -ESHUTDOWN when the interpreter is exiting.
 */
int agent_request_detach(void);
enum agent_detach {
    AGENT_DETACH_NONE,
    AGENT_DETACH_ASKED, /* the sampler is to leave Python */
    AGENT_DETACH_READY, /* it has: the server may take everything down */
};
/* Detached, or a detach is under way (read under agent.lock). Any thread. */
bool agent_is_detached(void);
/* Where a detach stands (read under agent.lock). Any thread. */
enum agent_detach agent_detach_state(void);
/*
 * Called by the server thread once the sampler has left Python after a
 * detach request and the socket is closed: close the recording and mark
 * the agent DETACHED (a later attach may start it again).
 */
void agent_detached(void);
/* Are we still the process the agent was started in? (false after fork) */
bool agent_is_home(void);
/* CLOCK_BOOTTIME in seconds. */
double agent_boottime(void);
/* Set start_boot/start_wall from /proc/self/stat (this process's start). */
void agent_read_start_time(void);
/*
 * In an os.fork() child (lifecycle.c), with the GIL: make the state
 * copied from the parent this process's own - new pid and start time,
 * fresh locks (a parent thread may have held one at fork), no threads, no
 * socket, no sample, the parent's recording fd and wake eventfd closed (not
 * the parent's files). The caller then starts the agent again.
 */
void agent_reset_after_fork(void);
/* Seconds since the process started. */
double agent_uptime(void);
/*
 * Publish a finished sample: keep its JSON as the latest, append it to the
 * recording, wake the server. `answers` is agent.requests as it was when
 * the sample began: the snapshot requests it answers (a sample that was
 * already running when a request came in would show the program as it was
 * before the request). Called with scan_lock held, GIL not needed.
 */
void agent_publish(struct snapshot *snap, uint64_t answers);
/* Wake the server thread's poll (a sample was published, the sampler left):
 * any thread, agent.lock not held. */
void agent_wake_server(void);
/* Set / close the server's eventfd (server thread). */
void agent_open_wake(int fd);
void agent_close_wake(void);
/* Set state (and reason, may be NULL) under the lock and wake waiters. */
void agent_set_state(enum agent_state state, const char *reason);
/*
 * Write the recording's first line: {"type": type, pid, ppid, python, argv,
 * start, lruleak_version[, reason]}, opening the recording on first use.
 * Once per process: later calls return when it has been written.
 */
void agent_record_process(const char *type, const char *reason);
/* Append one line (must end in '\n') to the recording, if recording,
 * after the process line (written first if no thread has yet). */
void agent_record(const char *line, size_t len);
/*
 * Append a line from the host (the pytest plugin through _lruleak.record):
 * one JSON object of at most AGENT_CLIENT_LINE_MAX bytes, without a
 * newline, whose "type" is "test" or "session" and whose "pid" is ours.
 * Returns 1 when written, 0 when the agent is not recording (or detached:
 * the recording stays closed), or -EINVAL /
 * -E2BIG with the reason in why.
 */
#define AGENT_CLIENT_LINE_MAX (1 << 20)
int agent_record_client_line(const char *line, size_t len, char *why, size_t whylen);
