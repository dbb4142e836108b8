/* SPDX-License-Identifier: MIT */
/*
 * termsig: see termsig.h. The handler uses only async-signal-safe calls
 * (write, poll, sigaction, raise) and reads a few words of the agent's
 * state and CPython's thread-state pointers (pycompat_thread_holds_gil).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agent.h"
#include "fdhigh.h"
#include "log.h"
#include "pycompat.h"
#include "termsig.h"

static int ask_fd = -1;  /* handler -> server */
static int done_fd = -1; /* sampler -> handler */
static volatile sig_atomic_t installed;
/* This thread is taking the final sample (exit hooks): a SIGTERM that
 * interrupts it waits for the end of it (termsig_final_ends). */
static __thread volatile sig_atomic_t in_final;
static volatile sig_atomic_t pending;

static double
now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double kill_after; /* server thread: when a held SIGTERM kills anyway */

static int
high_eventfd(void)
{
    return fdhigh_move(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
}

static void
die_as_asked(int sig)
{
    struct sigaction dfl;

    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    /* Blocked while this handler runs: delivered, with the default action,
     * as it returns. */
    raise(sig);
}

static void
on_sigterm(int sig)
{
    int saved = errno;

    if (agent.pid == getpid() && in_final) {
        pending = 1; /* termsig_final_ends() dies of it */
        errno = saved;
        return;
    }
    if (agent.pid == getpid() && ask_fd >= 0 && done_fd >= 0 &&
        atomic_load(&agent.state) == AGENT_SAMPLING && !agent.stopping && !agent.main_only) {
        uint64_t one = 1;
        struct pollfd p = {.fd = done_fd, .events = POLLIN};
        bool holds = pycompat_thread_holds_gil();

        if (holds) {
            /* The sampler cannot have the GIL while we wait here: let the
             * program go on to its next bytecode, where the sampler's GIL
             * handoff stops it; the sampler then samples and kills the
             * process (the server thread does if it cannot, after
             * TERMSIG_WAIT_MS). */
            pending = 1;
        }
        if (write(ask_fd, &one, sizeof(one)) == (ssize_t)sizeof(one)) {
            if (holds) {
                errno = saved;
                return;
            }
            while (poll(&p, 1, TERMSIG_WAIT_MS) < 0 && errno == EINTR) {
            }
        }
    }
    die_as_asked(sig);
    errno = saved;
}

static void
open_fds(void)
{
    if (ask_fd < 0) {
        ask_fd = high_eventfd();
    }
    if (done_fd < 0) {
        done_fd = high_eventfd();
    }
}

void
termsig_install(void)
{
    struct sigaction old, sa;

    open_fds();
    if (installed || ask_fd < 0 || done_fd < 0) {
        return;
    }
    if (sigaction(SIGTERM, NULL, &old) < 0 || (old.sa_flags & SA_SIGINFO) ||
        old.sa_handler != SIG_DFL) {
        return; /* the program's (or ignored): not ours to touch */
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigterm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGTERM, &sa, NULL) == 0) {
        installed = 1;
        log_msg("SIGTERM (default disposition) leaves a final sample");
    }
}

void
termsig_uninstall(void)
{
    struct sigaction cur, dfl;

    if (installed && sigaction(SIGTERM, NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
        cur.sa_handler == on_sigterm) {
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(SIGTERM, &dfl, NULL);
    }
    installed = 0;
    if (ask_fd >= 0) {
        close(ask_fd);
        ask_fd = -1;
    }
    if (done_fd >= 0) {
        close(done_fd);
        done_fd = -1;
    }
}

void
termsig_after_fork(void)
{
    /* The parent's eventfds are shared with it: not ours to write. */
    if (ask_fd >= 0) {
        close(ask_fd);
        ask_fd = -1;
    }
    if (done_fd >= 0) {
        close(done_fd);
        done_fd = -1;
    }
    if (installed) {
        open_fds();
    }
}

int
termsig_fd(void)
{
    return ask_fd;
}

void
termsig_kill(void)
{
    struct sigaction dfl;

    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGTERM, &dfl, NULL);
    /* Our threads block every signal: a thread of the program takes it. */
    kill(getpid(), SIGTERM);
}

int
termsig_poll_ms(void)
{
    if (!pending || kill_after == 0) {
        return -1;
    }
    double left = kill_after - now_s();
    if (left <= 0) {
        log_msg("SIGTERM: no final sample in time; the process dies of it now");
        termsig_kill();
        return 1000;
    }
    return (int)(left * 1000.0) + 1;
}

void
termsig_readable(void)
{
    uint64_t v;

    if (read(ask_fd, &v, sizeof(v)) == (ssize_t)sizeof(v)) {
        if (pending) {
            kill_after = now_s() + TERMSIG_WAIT_MS / 1000.0;
        }
        pthread_mutex_lock(&agent.lock);
        agent.term_asked = true;
        pthread_cond_broadcast(&agent.cond);
        pthread_mutex_unlock(&agent.lock);
    }
}

void
termsig_final_begins(void)
{
    in_final = 1;
}

void
termsig_final_ends(void)
{
    in_final = 0;
    if (pending) {
        die_as_asked(SIGTERM);
    }
}

void
termsig_done(void)
{
    uint64_t one = 1;

    if (pending) {
        termsig_kill(); /* the program's thread is not waiting: it goes on */
        return;
    }
    if (done_fd >= 0) {
        (void)!write(done_fd, &one, sizeof(one));
    }
}
