/* SPDX-License-Identifier: MIT */
/*
 * gil: the handoff that keeps an agent thread out of a GIL convoy (gil.h).
 *
 * State, under agent.lock: which process has an agent thread waiting for
 * the GIL and which has a handoff queued. Both are kept as a pid, so a
 * forked child (which inherits the memory but neither the thread nor,
 * necessarily, the queue) sees neither.
 */
#include "config.h"

#include <stdbool.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "gil.h"
#include "pycompat.h"

/* The longest the main thread waits with the GIL released for our thread
 * to take it: the switch interval's worth, so a handoff that goes to
 * another thread costs the program no more than one ordinary switch. */
#define GIL_HANDOFF_MS 5

static struct {
    pid_t waiting_in; /* an agent thread waits for the GIL in this process */
    pid_t queued_in;  /* a handoff call is queued in this process */
} gs;

/* The process's first thread: where CPython runs pending calls (the
 * thread that initialised it, in every program we know of). */
static bool
on_main_thread(void)
{
    return syscall(SYS_gettid) == getpid();
}

/* On the main thread, from the eval loop, with the GIL. Returns 0 always:
 * -1 would raise into the program. */
static int
handoff(void *arg)
{
    pid_t me = getpid();
    struct timespec deadline;

    (void)arg;
    pthread_mutex_lock(&agent.lock);
    if (gs.queued_in == me) {
        gs.queued_in = 0;
    }
    bool give = gs.waiting_in == me && !agent.stopping;
    pthread_mutex_unlock(&agent.lock);
    if (!give) {
        return 0;
    }
    void *ts = py.PyEval_SaveThread();
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += GIL_HANDOFF_MS * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&agent.lock);
    while (gs.waiting_in == me &&
           pthread_cond_timedwait(&agent.cond, &agent.lock, &deadline) == 0) {
    }
    pthread_mutex_unlock(&agent.lock);
    py.PyEval_RestoreThread(ts);
    return 0;
}

/* Before an agent thread waits: say so, and queue a handoff unless one is
 * queued or the interpreter is on its way out. */
static void
wait_begins(void)
{
    pid_t me = getpid();

    pthread_mutex_lock(&agent.lock);
    gs.waiting_in = me;
    if (pycompat_pending_calls_safe() && gs.queued_in != me && !agent.stopping &&
        !pycompat_finalizing()) {
        /* Under agent.lock: the atexit hook sets agent.stopping under it
         * before finalisation goes on, so the queue is alive here. */
        if (py.Py_AddPendingCall(handoff, NULL) == 0) {
            gs.queued_in = me;
        }
    }
    pthread_mutex_unlock(&agent.lock);
}

static void
wait_ends(void)
{
    pthread_mutex_lock(&agent.lock);
    gs.waiting_in = 0;
    pthread_cond_broadcast(&agent.cond);
    pthread_mutex_unlock(&agent.lock);
}

int
gil_ensure(void)
{
    int state;

    if (on_main_thread()) {
        /* A sample the program asked for (_lruleak): the thread that
         * would run the handoff is this one. */
        return py.PyGILState_Ensure();
    }
    wait_begins();
    state = py.PyGILState_Ensure();
    wait_ends();
    return state;
}

void
gil_release(int state)
{
    py.PyGILState_Release(state);
}
