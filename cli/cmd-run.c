/* SPDX-License-Identifier: MIT */
/*
 * cmd-run: `lruleak run [--interval S] [--output FILE] [--pytest] [--trace-alloc[=N]]
 *           [--html OUT] [CI options] -- CMD [ARGS...]`.
 *
 * Runs CMD with the agent preloaded (appended to any LD_PRELOAD) and every
 * agent recording into a private spool directory (LRULEAK_RECORD, mkdtemp,
 * mode 0700). Every Python process CMD starts, through exec or subprocess,
 * inherits that environment and writes <spool>/<pid>.jsonl. Every 100 ms,
 * and once more after CMD exits, the new complete lines of every spool file
 * are appended to FILE and fed into a report model; partial lines wait for
 * the next round (agents write whole lines with O_APPEND, we track one
 * offset per file). When CMD exits we remove the spool, print the text
 * report on stderr and exit with CMD's status (128+N for signal N, 127 when
 * it cannot be executed), or CLI_EXIT_GATE when CMD succeeded but the
 * gate failed (ci.c: --fail-on, --max-pinned; --junit, --sarif and --html
 * are written either way). --trace-alloc[=N] sets LRULEAK_TRACE_ALLOC=N in
 * the environment every process inherits (the agent starts tracemalloc).
 * When CMD is pytest (or with --pytest), the plugin
 * next to the agent is enabled through PYTHONPATH and PYTEST_PLUGINS, and
 * nothing else about CMD's environment changes; a plain `python3 app.py`
 * sees no such variable. Processes still running after CMD exits get up
 * to STRAGGLER_WAIT_S to write their final sample (a forkserver ends just
 * after its parent); daemons that stay are recorded up to that point.
 *
 * While CMD runs the terminal's SIGINT/SIGQUIT go to CMD, which decides;
 * we ignore them so the report still gets printed. SIGTERM/SIGHUP sent to
 * us are forwarded to CMD.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "preload.h"
#include "report.h"
#include "util.h"

extern char **environ;

/* How often the spool is merged into FILE while CMD runs. */
#define HARVEST_PERIOD_NS (100 * 1000 * 1000)
/* After CMD exits, how long recorded processes that are still running
 * (a forkserver, pool workers being torn down) get to write their final
 * sample. */
#define STRAGGLER_WAIT_S 5.0
#define STRAGGLER_PERIOD_NS (20 * 1000 * 1000)

struct spool_file {
    char *name;         /* <pid>.jsonl */
    off_t offset;       /* bytes consumed: always just after a '\n' */
    ino_t ino;          /* the file those bytes came from */
    unsigned long line; /* lines consumed */
    bool warned;        /* a corrupt line was reported already */
};

struct run {
    char spool[PATH_MAX];
    bool spool_made;
    struct spool_file *files;
    size_t nfiles;
    size_t files_cap;
    char *buf;
    size_t buf_cap;
    FILE *out;
    char out_path[PATH_MAX];
    bool out_existed; /* --output named an existing file */
    bool write_failed;
    struct report *rep;
};

static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t pending_signal;

static void
forward_signal(int sig)
{
    /* Only async-signal-safe calls here. */
    if (child_pid > 0) {
        kill((pid_t)child_pid, sig);
    } else {
        pending_signal = sig;
    }
}

/* ---- merging the spool ------------------------------------------------------ */

static struct spool_file *
spool_file(struct run *run, const char *name)
{
    struct spool_file *sf;

    /* Linear: a run starts a handful of Python processes, rarely hundreds. */
    for (size_t i = 0; i < run->nfiles; i++) {
        if (strcmp(run->files[i].name, name) == 0) {
            return &run->files[i];
        }
    }
    if (run->nfiles == run->files_cap) {
        size_t cap = run->files_cap ? run->files_cap * 2 : 8;
        struct spool_file *v = realloc(run->files, cap * sizeof(*v));

        if (v == NULL) {
            return NULL;
        }
        run->files = v;
        run->files_cap = cap;
    }
    sf = &run->files[run->nfiles];
    *sf = (struct spool_file){.name = strdup(name)};
    if (sf->name == NULL) {
        return NULL;
    }
    run->nfiles++;
    return sf;
}

static void
write_line(struct run *run, const char *line, size_t len)
{
    if (run->write_failed) {
        return;
    }
    if (fwrite(line, 1, len, run->out) != len) {
        fprintf(stderr, "lruleak: writing %s: %s\n", run->out_path, strerror(errno));
        run->write_failed = true;
    }
}

/* Consume the complete lines of buf[0..n); returns the bytes consumed. */
static size_t
consume(struct run *run, struct spool_file *sf, const char *buf, size_t n)
{
    size_t done = 0;
    char err[256];

    for (;;) {
        const char *nl = memchr(buf + done, '\n', n - done);
        size_t len;

        if (nl == NULL) {
            break;
        }
        len = (size_t)(nl - (buf + done)) + 1;
        sf->line++;
        if (report_feed_line(run->rep, buf + done, len, err, sizeof(err)) < 0) {
            /* Keep FILE loadable: a line we cannot read is not copied. */
            if (!sf->warned) {
                fprintf(stderr, "lruleak: warning: skipping %s:%lu from the agent: %s\n", sf->name,
                        sf->line, err);
                sf->warned = true;
            }
        } else {
            write_line(run, buf + done, len);
        }
        done += len;
    }
    return done;
}

static void
harvest_file(struct run *run, int dfd, const char *name)
{
    struct spool_file *sf;
    struct stat st;
    size_t want, got = 0;
    int fd;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
        return;
    }
    sf = spool_file(run, name);
    if (sf == NULL) {
        fprintf(stderr, "lruleak: out of memory\n");
        return;
    }
    if (sf->offset > 0 && (st.st_ino != sf->ino || st.st_size < sf->offset)) {
        /* Replaced or truncated (an exec'ed agent starting over): the
         * lines we already merged stay merged; read the new file whole. */
        sf->offset = 0;
    }
    sf->ino = st.st_ino;
    if (st.st_size <= sf->offset) {
        return;
    }
    want = (size_t)(st.st_size - sf->offset);
    if (want > run->buf_cap) {
        char *b = realloc(run->buf, want);

        if (b == NULL) {
            fprintf(stderr, "lruleak: out of memory\n");
            return;
        }
        run->buf = b;
        run->buf_cap = want;
    }
    fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return;
    }
    while (got < want) {
        ssize_t n = pread(fd, run->buf + got, want - got, sf->offset + (off_t)got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    sf->offset += (off_t)consume(run, sf, run->buf, got);
}

static void
harvest(struct run *run)
{
    struct dirent *de;
    DIR *d = opendir(run->spool);

    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);

        if (de->d_name[0] == '.' || len < 7 || strcmp(de->d_name + len - 6, ".jsonl") != 0) {
            continue;
        }
        harvest_file(run, dirfd(d), de->d_name);
    }
    closedir(d);
    if (!run->write_failed && fflush(run->out) != 0) {
        fprintf(stderr, "lruleak: writing %s: %s\n", run->out_path, strerror(errno));
        run->write_failed = true;
    }
}

static void
remove_spool(struct run *run)
{
    struct dirent *de;
    DIR *d;

    if (!run->spool_made) {
        return;
    }
    d = opendir(run->spool);
    if (d != NULL) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                (void)unlinkat(dirfd(d), de->d_name, 0);
            }
        }
        closedir(d);
    }
    if (rmdir(run->spool) < 0) {
        fprintf(stderr, "lruleak: warning: cannot remove %s: %s\n", run->spool, strerror(errno));
    }
    run->spool_made = false;
}

/* Whether pid is a process that can still write to the spool: it exists
 * and is not a zombie. */
static bool
still_running(int64_t pid)
{
    char path[64], buf[256];
    FILE *f;
    char *p;
    bool running = false;

    snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
    f = fopen(path, "re");
    if (f == NULL) {
        return false;
    }
    if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL) {
        running = p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
    }
    fclose(f);
    return running;
}

/*
 * CMD has exited; processes it started may not have: a forkserver or a
 * pool's workers end a moment after their parent. Keep harvesting until
 * every recorded process has its final sample or is gone, at most
 * STRAGGLER_WAIT_S (a daemon that stays keeps what it recorded so far).
 */
static void
wait_stragglers(struct run *run)
{
    const struct timespec period = {.tv_nsec = STRAGGLER_PERIOD_NS};
    double deadline = util_now() + STRAGGLER_WAIT_S;

    for (;;) {
        bool waiting = false;

        harvest(run);
        for (size_t i = 0; i < run->nfiles && !waiting; i++) {
            int64_t pid = strtoll(run->files[i].name, NULL, 10);
            const struct report_process *p = report_find_process(run->rep, pid);

            waiting = p != NULL && !p->final && p->refused == NULL && still_running(pid);
        }
        if (!waiting || util_now() >= deadline) {
            return;
        }
        nanosleep(&period, NULL);
    }
}

/* ---- setup ----------------------------------------------------------------- */

static int
make_spool(struct run *run)
{
    const char *tmp = getenv("TMPDIR");

    if (tmp == NULL || tmp[0] != '/') {
        tmp = "/tmp";
    }
    if ((size_t)snprintf(run->spool, sizeof(run->spool), "%s/lruleak-run-XXXXXX", tmp) >=
        sizeof(run->spool)) {
        fprintf(stderr, "lruleak: TMPDIR is too long\n");
        return -ENAMETOOLONG;
    }
    /* mkdtemp creates it with mode 0700: the recordings stay private. */
    if (mkdtemp(run->spool) == NULL) {
        int r = -errno;

        fprintf(stderr, "lruleak: cannot create a spool directory in %s: %s\n", tmp,
                strerror(errno));
        return r;
    }
    run->spool_made = true;
    return 0;
}

/*
 * Open FILE before CMD starts, so a bad --output fails without running
 * anything. --output is created without truncation (truncated once CMD
 * has started); the default name needs CMD's pid, so a temporary name in
 * the current directory is renamed once the pid is known.
 */
static int
open_output(struct run *run)
{
    int fd, r;

    if (arg_output != NULL) {
        struct stat st;

        snprintf(run->out_path, sizeof(run->out_path), "%s", arg_output);
        run->out_existed = stat(arg_output, &st) == 0;
        fd = open(arg_output, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    } else {
        snprintf(run->out_path, sizeof(run->out_path), "lruleak-run-XXXXXX.jsonl");
        fd = mkostemps(run->out_path, 6, O_CLOEXEC);
    }
    if (fd < 0) {
        r = -errno;
        if (arg_output != NULL) {
            fprintf(stderr, "lruleak: %s: %s\n", arg_output, strerror(errno));
        } else {
            fprintf(stderr,
                    "lruleak: cannot create a recording in the current directory: %s "
                    "(use --output FILE)\n",
                    strerror(errno));
        }
        return r;
    }
    run->out = fdopen(fd, "w");
    if (run->out == NULL) {
        r = -errno;
        close(fd);
        fprintf(stderr, "lruleak: %s: %s\n", run->out_path, strerror(-r));
        return r;
    }
    return 0;
}

static void
finish_output(struct run *run, pid_t pid)
{
    if (arg_output != NULL) {
        if (ftruncate(fileno(run->out), 0) < 0) {
            fprintf(stderr, "lruleak: %s: %s\n", run->out_path, strerror(errno));
            run->write_failed = true;
        }
        return;
    }
    {
        char final[64];

        snprintf(final, sizeof(final), "lruleak-%d.jsonl", (int)pid);
        if (rename(run->out_path, final) < 0) {
            fprintf(stderr, "lruleak: warning: cannot rename %s to %s: %s\n", run->out_path, final,
                    strerror(errno));
            return;
        }
        snprintf(run->out_path, sizeof(run->out_path), "%s", final);
    }
}

/* ---- the verb ---------------------------------------------------------------- */

static int
spawn_child(char **cmd, char **env, pid_t *ret_pid)
{
    posix_spawnattr_t attr;
    sigset_t def, mask;
    pid_t pid;
    int r;

    r = posix_spawnattr_init(&attr);
    if (r != 0) {
        return -r;
    }
    /* Ignored signals stay ignored across exec: give CMD the defaults back
     * for those we ignore or catch, and our original signal mask. */
    sigemptyset(&def);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGQUIT);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGHUP);
    sigprocmask(SIG_SETMASK, NULL, &mask);
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setsigmask(&attr, &mask);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    r = posix_spawnp(&pid, cmd[0], NULL, &attr, cmd, env);
    posix_spawnattr_destroy(&attr);
    if (r != 0) {
        return -r;
    }
    *ret_pid = pid;
    return 0;
}

static int
wait_child(struct run *run, pid_t pid, int *ret_status)
{
    const struct timespec period = {.tv_nsec = HARVEST_PERIOD_NS};

    for (;;) {
        pid_t w = waitpid(pid, ret_status, WNOHANG);

        if (w == pid) {
            return 0;
        }
        if (w < 0 && errno != EINTR) {
            int r = -errno;

            fprintf(stderr, "lruleak: waitpid: %s\n", strerror(errno));
            return r;
        }
        harvest(run);
        /* An interrupted sleep is fine: we just look a little earlier. */
        nanosleep(&period, NULL);
    }
}

int
cmd_run(int argc, char **argv)
{
    struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward_signal};
    struct sigaction old_int, old_quit, old_term, old_hup;
    struct report_text_opts opts = {.verbose = arg_verbose};
    struct run run = {0};
    char agent[PATH_MAX], tried[2048], plugin_dir[PATH_MAX];
    char **env = NULL;
    bool signals_set = false, ran = false;
    pid_t pid = 0;
    int status = 0, r, ret = CLI_EXIT_FAILURE;

    (void)argc;
    r = preload_find_agent(agent, sizeof(agent), tried, sizeof(tried));
    if (r == -EINVAL) {
        fprintf(stderr, "lruleak: %s; set LRULEAK_AGENT\n", tried);
        goto out;
    }
    if (r < 0) {
        fprintf(stderr, "lruleak: agent library not found (tried %s); set LRULEAK_AGENT\n", tried);
        goto out;
    }
    run.rep = report_new(arg_html != NULL ? 0 : REPORT_NO_SERIES);
    if (run.rep == NULL) {
        fprintf(stderr, "lruleak: out of memory\n");
        goto out;
    }
    r = make_spool(&run);
    if (r < 0) {
        goto out;
    }
    r = open_output(&run);
    if (r < 0) {
        goto out;
    }
    if (arg_trace_alloc > 0) {
        /* Read by the agent's configuration; inherited by every process. */
        char frames[16];

        snprintf(frames, sizeof(frames), "%d", arg_trace_alloc);
        if (setenv("LRULEAK_TRACE_ALLOC", frames, 1) < 0) {
            fprintf(stderr, "lruleak: out of memory\n");
            goto out;
        }
    }
    r = preload_child_env(environ, agent, run.spool, arg_interval_str, &env);
    if (r < 0) {
        fprintf(stderr, "lruleak: out of memory\n");
        goto out;
    }
    if (arg_pytest || preload_is_pytest(argv + 1)) {
        r = preload_pytest_plugin_dir(agent, plugin_dir, sizeof(plugin_dir));
        if (r < 0 && arg_pytest) {
            fprintf(stderr, "lruleak: --pytest: no pytest plugin in %s\n", plugin_dir);
            goto out;
        }
        if (r < 0) {
            fprintf(stderr,
                    "lruleak: warning: no pytest plugin in %s: tests are not "
                    "attributed\n",
                    plugin_dir);
        } else {
            char **base = env;

            env = NULL;
            r = preload_pytest_env(base, plugin_dir, &env);
            if (r < 0) {
                fprintf(stderr, "lruleak: out of memory\n");
                goto out;
            }
        }
    }

    pending_signal = 0;
    child_pid = 0;
    sigemptyset(&fwd.sa_mask);
    sigemptyset(&ign.sa_mask);
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    sigaction(SIGTERM, &fwd, &old_term);
    sigaction(SIGHUP, &fwd, &old_hup);
    signals_set = true;

    r = spawn_child(argv + 1, env, &pid);
    if (r < 0) {
        fprintf(stderr, "lruleak: cannot execute %s: %s\n", argv[1], strerror(-r));
        ret = CLI_EXIT_NOEXEC;
        if (arg_output == NULL || !run.out_existed) {
            (void)unlink(run.out_path);
        }
        goto out;
    }
    ran = true;
    child_pid = pid;
    if (pending_signal != 0) {
        kill(pid, pending_signal);
    }
    finish_output(&run, pid);

    r = wait_child(&run, pid, &status);
    child_pid = 0;
    /* CMD's own agent wrote its final sample before CMD exited; the
     * processes it started may still be ending. */
    wait_stragglers(&run);
    if (r < 0) {
        goto out;
    }
    if (WIFEXITED(status)) {
        ret = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        ret = 128 + WTERMSIG(status);
    }
out:
    if (signals_set) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
    }
    remove_spool(&run);
    if (run.out != NULL && fclose(run.out) != 0 && !run.write_failed) {
        fprintf(stderr, "lruleak: writing %s: %s\n", run.out_path, strerror(errno));
        run.write_failed = true;
    }
    if (ran) {
        fprintf(stderr, "lruleak: recording written to %s\n", run.out_path);
        if (cli_attribute(run.rep) < 0) {
            ret = ret == 0 ? CLI_EXIT_FAILURE : ret;
        } else if (run.rep->nprocs == 0) {
            fprintf(stderr,
                    "lruleak: no Python process recorded anything (is %s a Python "
                    "program, or does it clear LD_PRELOAD?)\n",
                    argv[1]);
        } else {
            fputc('\n', stderr);
            if (report_write_text(run.rep, stderr, &opts) < 0) {
                fprintf(stderr, "lruleak: writing the report failed\n");
            }
        }
        r = cli_ci_outputs(run.rep);
        if (ret == 0) {
            ret = r;
        }
        if (run.write_failed && ret == 0) {
            ret = CLI_EXIT_FAILURE;
        }
    }
    for (size_t i = 0; i < run.nfiles; i++) {
        free(run.files[i].name);
    }
    free(run.files);
    free(run.buf);
    preload_env_free(env);
    report_free(run.rep);
    return ret;
}
