/* SPDX-License-Identifier: MIT */
/*
 * ptrace-inject: see ptrace-inject.h for the sequence. The rules that keep
 * the target alive:
 *   - never PTRACE_O_EXITKILL and no signal of our own: if lruleak dies,
 *     the kernel detaches and the threads run on;
 *   - a thread runs our code only after its stack was judged safe, only
 *     while no other thread is stopped, and only with every register saved;
 *   - signals that arrive for the thread during the call are delivered to
 *     it (its handlers run, as they would anywhere in its own code), stops
 *     are let go, and only the fault at our return address ends the call;
 *   - every thread is detached in a ptrace-stop with its own registers.
 * Thread context: the CLI's main thread (ptrace is per tracer thread).
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ptrace-arch.h"
#include "ptrace-inject.h"
#include "stack-check.h"
#include "util.h"

#define MAX_THREADS 4096
/* One thread's stop after PTRACE_INTERRUPT (a thread in uninterruptible
 * sleep, e.g. on NFS, stops only when it wakes). */
#define STOP_WAIT_S 1.0
/* dlopen plus the agent's start take milliseconds; a call that runs this
 * long is stuck and gets abandoned. */
#define CALL_TIMEOUT_S 30.0
/* Stack the call may use below the interrupted frame. */
#define STACK_ROOM (64 * 1024)

struct thread {
    pid_t tid;
    bool stopped;
    bool gone;
};

struct injector {
    struct target *t;
    struct thread *th;
    size_t n;
    bool job_stop; /* the process was stopped by a signal meanwhile */
    uint64_t dlopen_fn, dlerror_fn;
    const char *dlopen_name;
};

static int
write_mem(void *ctx, uint64_t addr, const void *buf, size_t n)
{
    return target_write(ctx, addr, buf, n);
}

/* ---- stopping and releasing threads --------------------------------------------------- */

static bool
known(const struct injector *in, pid_t tid)
{
    for (size_t i = 0; i < in->n; i++) {
        if (in->th[i].tid == tid) {
            return true;
        }
    }
    return false;
}

/* Seize and interrupt every thread, again until no new one appears (only
 * threads still running can create threads). */
static int
seize_all(struct injector *in, char *err, size_t errlen)
{
    static pid_t tids[MAX_THREADS];

    for (int pass = 0; pass < 20; pass++) {
        int n = procfs_threads(in->t->pid, tids, MAX_THREADS);
        size_t added = 0;

        if (n < 0) {
            snprintf(err, errlen, "pid %d: cannot list its threads: %s", (int)in->t->pid,
                     strerror(-n));
            return n;
        }
        for (int i = 0; i < n && i < MAX_THREADS; i++) {
            if (known(in, tids[i])) {
                continue;
            }
            if (ptrace(PTRACE_SEIZE, tids[i], NULL, NULL) < 0) {
                if (errno == ESRCH) {
                    continue; /* it just ended */
                }
                int r = -errno;
                if (r == -EPERM || r == -EACCES) {
                    target_explain_eperm(in->t, "cannot trace", err, errlen);
                } else {
                    snprintf(err, errlen, "ptrace(PTRACE_SEIZE, %d): %s", (int)tids[i],
                             strerror(-r));
                }
                return r;
            }
            in->th[in->n++] = (struct thread){.tid = tids[i]};
            added++;
            if (ptrace(PTRACE_INTERRUPT, tids[i], NULL, NULL) < 0 && errno != ESRCH) {
                int r = -errno;
                snprintf(err, errlen, "ptrace(PTRACE_INTERRUPT, %d): %s", (int)tids[i],
                         strerror(-r));
                return r;
            }
        }
        if (added == 0) {
            return 0;
        }
    }
    snprintf(err, errlen, "pid %d keeps creating threads; try again", (int)in->t->pid);
    return -EAGAIN;
}

/* Wait until th is in its interrupt stop, delivering any signal that
 * comes first. */
static void
wait_stop(struct injector *in, struct thread *th, double deadline)
{
    while (!th->stopped && !th->gone) {
        int st;
        pid_t w = waitpid(th->tid, &st, __WALL | WNOHANG);

        if (w == 0) {
            if (util_now() > deadline) {
                return;
            }
            util_sleep(0.0005);
            continue;
        }
        if (w < 0 || WIFEXITED(st) || WIFSIGNALED(st)) {
            th->gone = true;
            return;
        }
        int sig = WSTOPSIG(st), event = st >> 16;
        if (event == PTRACE_EVENT_STOP) {
            th->stopped = true;
            if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
                in->job_stop = true; /* a group-stop, not our interrupt */
            }
        } else {
            /* A signal on its way to the thread: let it have it; our
             * interrupt stays pending and stops it afterwards. */
            ptrace(PTRACE_CONT, th->tid, NULL, (void *)(long)sig);
        }
    }
}

/* Let th go in its stop, as it was. */
static void
release(struct thread *th)
{
    if (th->stopped && !th->gone) {
        ptrace(PTRACE_DETACH, th->tid, NULL, NULL);
    }
    th->stopped = false;
    th->gone = true;
}

/* Release every thread but keep (may be NULL); threads that never stopped
 * are waited for a little more, then left to the kernel's detach at our
 * exit (which also drops their pending interrupt). */
static void
release_all(struct injector *in, const struct thread *keep)
{
    for (size_t i = 0; i < in->n; i++) {
        struct thread *th = &in->th[i];
        if (th == keep) {
            continue;
        }
        if (!th->stopped && !th->gone) {
            wait_stop(in, th, util_now() + STOP_WAIT_S);
        }
        release(th);
    }
}

/* ---- choosing a thread ---------------------------------------------------------------- */

/* Room for the call below the thread's stack pointer, in a writable
 * mapping (the main thread's [stack] grows on demand). */
static bool
stack_room(const struct procfs_maps *maps, uint64_t sp, char *why, size_t whylen, pid_t tid)
{
    const struct procfs_map *m = procfs_maps_find(maps, sp - ARCH_RED_ZONE - 1);

    if (m == NULL || m->perms[1] != 'w') {
        snprintf(why, whylen, "thread %d: its stack pointer is not in a writable mapping",
                 (int)tid);
        return false;
    }
    if (strcmp(m->path, "[stack]") != 0 && sp - m->start < STACK_ROOM + ARCH_RED_ZONE + 4096) {
        snprintf(why, whylen, "thread %d has less than %d KiB of stack left (a signal stack?)",
                 (int)tid, STACK_ROOM / 1024);
        return false;
    }
    return true;
}

/* The main thread if it is safe, else the first safe other one. */
static struct thread *
choose(struct injector *in, struct stack_check *sc, char *why, size_t whylen)
{
    struct procfs_maps maps = {0};
    struct thread *chosen = NULL;

    if (procfs_maps(in->t->pid, &maps) < 0) {
        snprintf(why, whylen, "cannot read the memory map");
        return NULL;
    }
    for (int pass = 0; pass < 2 && chosen == NULL; pass++) {
        for (size_t i = 0; i < in->n && chosen == NULL; i++) {
            struct thread *th = &in->th[i];
            struct arch_state *s = NULL;

            if ((pass == 0) != (th->tid == in->t->pid) || !th->stopped || th->gone) {
                continue;
            }
            if (arch_save(th->tid, &s) < 0) {
                continue;
            }
            bool room = stack_room(&maps, arch_stack_pointer(s), why, whylen, th->tid);
            arch_state_free(s);
            if (room && stack_check_thread(sc, th->tid, why, whylen) == 1) {
                chosen = th;
            }
        }
    }
    procfs_maps_done(&maps);
    return chosen;
}

/* ---- calls ---------------------------------------------------------------------------- */

/* Run fn(args) in tid, stopped with saved state s, on the stack below sp. */
static int
call(struct injector *in, pid_t tid, const struct arch_state *s, uint64_t sp, uint64_t fn,
     const uint64_t *args, int nargs, uint64_t *ret, char *err, size_t errlen)
{
    double deadline = util_now() + CALL_TIMEOUT_S;
    bool interrupted = false;
    int r, st;

    r = arch_prepare_call(tid, s, sp, fn, args, nargs, write_mem, in->t);
    if (r < 0 || ptrace(PTRACE_CONT, tid, NULL, NULL) < 0) {
        r = r < 0 ? r : -errno;
        snprintf(err, errlen, "cannot set up the call in thread %d: %s", (int)tid, strerror(-r));
        return r;
    }
    for (;;) {
        pid_t w = waitpid(tid, &st, __WALL | WNOHANG);

        if (w == 0) {
            if (!interrupted && util_now() > deadline) {
                /* Stuck: take the thread back so its registers can be
                 * restored. */
                ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
                interrupted = true;
            }
            util_sleep(0.0002);
            continue;
        }
        if (w < 0 || WIFEXITED(st) || WIFSIGNALED(st)) {
            snprintf(err, errlen, "pid %d ended during the call", (int)in->t->pid);
            return -ESRCH;
        }
        int sig = WSTOPSIG(st), event = st >> 16;
        if (event == PTRACE_EVENT_STOP) {
            if (interrupted) {
                snprintf(err, errlen,
                         "the call in thread %d did not return within %.0f s; it was abandoned "
                         "and the thread restored",
                         (int)tid, CALL_TIMEOUT_S);
                return -ETIMEDOUT;
            }
            ptrace(PTRACE_CONT, tid, NULL, NULL); /* a job-control stop: go on */
            continue;
        }
        if (event == 0 && (sig == SIGSEGV || sig == SIGBUS)) {
            bool returned = false;
            r = arch_call_result(tid, &returned, ret);
            if (r == 0 && returned) {
                return 0;
            }
            snprintf(err, errlen,
                     "the call in thread %d faulted (signal %d); the thread was restored", (int)tid,
                     sig);
            return -EFAULT;
        }
        /* Any other signal is the program's: deliver it. */
        ptrace(PTRACE_CONT, tid, NULL, (void *)(long)sig);
    }
}

/* A NUL-terminated string of the target (dlerror's message). */
static void
read_string(const struct target *t, uint64_t addr, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    while (addr != 0 && len + 64 < size) {
        if (target_read(t, addr + len, buf + len, 64) < 0) {
            break;
        }
        if (memchr(buf + len, '\0', 64) != NULL) {
            return;
        }
        len += 64;
    }
    buf[len] = '\0';
}

/* lruleak_agent_attach in the agent mapped at the agent's file, or -ENOENT. */
static int
attach_address(struct target *t, const struct stat *agent, uint64_t *ret)
{
    struct procfs_maps maps = {0};
    int r = procfs_maps(t->pid, &maps);

    if (r < 0) {
        return r;
    }
    r = -ENOENT;
    for (size_t i = 0; i < maps.n; i++) {
        const struct procfs_map *m = &maps.v[i];
        if (m->offset == 0 && m->inode == (uint64_t)agent->st_ino &&
            makedev(m->dev_major, m->dev_minor) == agent->st_dev) {
            struct elf_file f;
            uint64_t value, size;
            char path[4200];
            snprintf(path, sizeof(path), "/proc/%d/root%s", (int)t->pid, m->path);
            if (elf_open(path, &f) == 0) {
                if (elf_symbol(&f, "lruleak_agent_attach", &value, &size) == 0) {
                    *ret = m->start - f.first_vaddr + value;
                    r = 0;
                }
                elf_close(&f);
            }
            break;
        }
    }
    procfs_maps_done(&maps);
    return r;
}

/* An agent already in the process (detached, preloaded, imported), whatever
 * its file: its entry point, or -ENOENT. */
static int
mapped_agent(struct target *t, const struct stat *agent, uint64_t *ret)
{
    if (attach_address(t, agent, ret) == 0) {
        return 0;
    }
    for (size_t i = 0; i < t->n_obj; i++) {
        const char *base = strrchr(t->obj[i].path, '/') + 1;
        if ((strncmp(base, "liblruleak", 10) == 0 || strncmp(base, "_lruleak", 8) == 0) &&
            target_symbol(t, &t->obj[i], "lruleak_agent_attach", ret) == 0) {
            return 0;
        }
    }
    return -ENOENT;
}

/* dlopen and dlerror of the target: libc (glibc 2.34+), else libdl, else
 * glibc's private __libc_dlopen_mode (same arguments, no dlerror). */
static int
find_dlopen(struct injector *in, char *err, size_t errlen)
{
    struct target_object *libc = target_object_named(in->t, "libc.so");
    struct target_object *libdl = target_object_named(in->t, "libdl");

    if (libc == NULL) {
        libc = target_object_named(in->t, "libc-");
    }
    if (libc != NULL && target_symbol(in->t, libc, "dlopen", &in->dlopen_fn) == 0) {
        target_symbol(in->t, libc, "dlerror", &in->dlerror_fn);
        in->dlopen_name = "dlopen (libc)";
        return 0;
    }
    if (libdl != NULL && target_symbol(in->t, libdl, "dlopen", &in->dlopen_fn) == 0) {
        target_symbol(in->t, libdl, "dlerror", &in->dlerror_fn);
        in->dlopen_name = "dlopen (libdl)";
        return 0;
    }
    if (libc != NULL && target_symbol(in->t, libc, "__libc_dlopen_mode", &in->dlopen_fn) == 0) {
        in->dlopen_name = "__libc_dlopen_mode";
        return 0;
    }
    snprintf(err, errlen, "pid %d: no dlopen found in its C library (lruleak attach needs glibc)",
             (int)in->t->pid);
    return -ENOENT;
}

/* In the chosen thread: dlopen (unless mapped), then the attach entry. */
static int
run_calls(struct injector *in, pid_t tid, const char *agent_path, const char *options,
          const struct stat *agent, struct ptrace_inject_result *res, char *err, size_t errlen)
{
    size_t plen = strlen(agent_path) + 1, olen = strlen(options) + 1;
    struct arch_state *s = NULL;
    uint64_t attach_fn = 0, value = 0;
    int r, r2;

    r = arch_save(tid, &s);
    if (r < 0) {
        snprintf(err, errlen, "cannot read the registers of thread %d: %s", (int)tid, strerror(-r));
        return r;
    }
    res->syscall = arch_syscall(s);
    /* The strings just below the red zone, the call's frame below them. */
    uint64_t strings = (arch_stack_pointer(s) - ARCH_RED_ZONE - plen - olen) & ~15ULL;
    uint64_t sp = (strings - 64) & ~15ULL;
    r = target_write(in->t, strings, agent_path, plen);
    if (r == 0) {
        r = target_write(in->t, strings + plen, options, olen);
    }
    if (r < 0) {
        snprintf(err, errlen, "cannot write to the stack of thread %d: %s", (int)tid, strerror(-r));
        goto out;
    }
    if (mapped_agent(in->t, agent, &attach_fn) < 0) {
        uint64_t args[2] = {strings, RTLD_NOW | RTLD_NODELETE};
        r = call(in, tid, s, sp, in->dlopen_fn, args, 2, &value, err, errlen);
        if (r < 0) {
            goto out;
        }
        res->loaded = true;
        if (value == 0) {
            char msg[512] = "";
            if (in->dlerror_fn != 0 &&
                call(in, tid, s, sp, in->dlerror_fn, NULL, 0, &value, err, errlen) == 0) {
                read_string(in->t, value, msg, sizeof(msg));
            }
            snprintf(err, errlen, "%s of %s failed in pid %d: %s", in->dlopen_name, agent_path,
                     (int)in->t->pid, msg[0] != '\0' ? msg : "(no reason given)");
            r = -ENOEXEC;
            goto out;
        }
        r = attach_address(in->t, agent, &attach_fn);
        if (r < 0) {
            snprintf(err, errlen,
                     "the agent was loaded into pid %d but its entry point is not "
                     "where expected",
                     (int)in->t->pid);
            goto out;
        }
    }
    uint64_t args[1] = {strings + plen};
    r = call(in, tid, s, sp, attach_fn, args, 1, &value, err, errlen);
    if (r == 0) {
        res->attach_result = (int)(int32_t)value;
    }
out:
    /* Whatever happened, the thread gets its registers back before it
     * runs again (unless the process is gone). */
    r2 = r != -ESRCH ? arch_restore(tid, s) : 0;
    if (r == 0 && r2 < 0) {
        snprintf(err, errlen, "cannot restore the registers of thread %d: %s", (int)tid,
                 strerror(-r2));
        r = r2;
    }
    arch_state_free(s);
    return r;
}

/* ---- the whole sequence ------------------------------------------------------------- */

int
ptrace_inject(struct target *t, const char *agent_path, const char *options,
              struct ptrace_inject_result *ret, char *err, size_t errlen)
{
    struct injector in = {.t = t};
    struct ptrace_inject_result res = {.syscall = -1};
    struct stack_check *sc = NULL;
    struct thread *chosen = NULL;
    sigset_t hold, old;
    struct stat agent;
    char why[256] = "";
    int r;

    if (stat(agent_path, &agent) < 0) {
        r = -errno;
        snprintf(err, errlen, "%s: %s", agent_path, strerror(errno));
        return r;
    }
    r = find_dlopen(&in, err, errlen);
    if (r < 0) {
        return r;
    }
    in.th = calloc(MAX_THREADS, sizeof(*in.th));
    sc = stack_check_new(t);
    if (in.th == NULL || sc == NULL) {
        snprintf(err, errlen, "out of memory");
        r = -ENOMEM;
        goto out;
    }
    /* From the first stop to the last detach, lruleak must not die of a
     * signal the user sends it: held back until then. */
    sigemptyset(&hold);
    sigaddset(&hold, SIGINT);
    sigaddset(&hold, SIGTERM);
    sigaddset(&hold, SIGHUP);
    sigaddset(&hold, SIGQUIT);
    sigaddset(&hold, SIGTSTP);
    sigaddset(&hold, SIGPIPE);
    sigprocmask(SIG_BLOCK, &hold, &old);

    double give_up = util_now() + PTRACE_INJECT_TRY_S;
    for (;;) {
        res.rounds++;
        in.n = 0;
        in.job_stop = false;
        r = seize_all(&in, err, errlen);
        for (size_t i = 0; r == 0 && i < in.n; i++) {
            wait_stop(&in, &in.th[i], util_now() + STOP_WAIT_S);
        }
        if (r == 0 && in.job_stop) {
            snprintf(err, errlen,
                     "pid %d was stopped by a signal while attaching; resume it "
                     "(kill -CONT %d) and try again",
                     (int)t->pid, (int)t->pid);
            r = -EBUSY;
        }
        if (r == 0) {
            chosen = choose(&in, sc, why, sizeof(why));
        }
        if (r < 0 || chosen != NULL) {
            break;
        }
        release_all(&in, NULL);
        if (util_now() > give_up) {
            snprintf(err, errlen,
                     "no safe moment to load the agent into pid %d in %.0f s (%d tries; last: "
                     "%s); try again",
                     (int)t->pid, PTRACE_INJECT_TRY_S, res.rounds, why);
            r = -EAGAIN;
            break;
        }
        util_sleep(res.rounds < 10 ? 0.005 * res.rounds : 0.05);
    }
    if (chosen != NULL) {
        /* The others run on before our code does (see the header). */
        release_all(&in, chosen);
        res.tid = chosen->tid;
        r = run_calls(&in, chosen->tid, agent_path, options, &agent, &res, err, errlen);
        release(chosen);
    } else {
        release_all(&in, NULL);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (r == 0) {
        *ret = res;
    }
out:
    stack_check_free(sc);
    free(in.th);
    return r;
}
