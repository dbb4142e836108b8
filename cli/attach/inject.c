/* SPDX-License-Identifier: MIT */
/*
 * inject: attaching the agent to a running process (inject_attach) picks
 * the route: on CPython 3.14+ the target runs a small script of ours
 * through PEP 768 that imports the agent as the extension module _lruleak
 * and calls _lruleak.start(options); the script lives in a private
 * directory (owned by the target's user), reports its outcome in a file
 * next to it and is removed afterwards. Otherwise, or when that route is
 * closed, the ptrace injector runs in a child process.
 * Never logs. Thread context: none.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inject.h"
#include "ptrace-inject.h"
#include "remote-exec.h"
#include "target.h"
#include "util.h"

/* ---- attaching to a running process ------------------------------------------------- */

/* Can uid (with gid and groups) read path: search permission on every
 * directory above it, read permission on the file? The kernel's DAC rule,
 * for a process that is not ours. */
static bool
may_access(const struct stat *st, const struct procfs_status *who, mode_t bits)
{
    uid_t uid = who->uid[3]; /* the filesystem uid decides */
    gid_t gid = who->gid[3];

    if (uid == 0) {
        return true;
    }
    if (st->st_uid == uid) {
        return (st->st_mode & (bits << 6)) == bits << 6;
    }
    bool group = st->st_gid == gid;
    for (size_t i = 0; i < who->ngroups && !group; i++) {
        group = st->st_gid == who->groups[i];
    }
    if (group) {
        return (st->st_mode & (bits << 3)) == bits << 3;
    }
    return (st->st_mode & bits) == bits;
}

static int
check_readable_by(const char *path, const struct procfs_status *who, char *err, size_t errlen)
{
    char prefix[PATH_MAX];
    struct stat st;

    for (const char *p = strchr(path + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
        size_t n = (size_t)(p - path);
        if (n >= sizeof(prefix)) {
            return -ENAMETOOLONG;
        }
        memcpy(prefix, path, n);
        prefix[n] = '\0';
        if (stat(prefix, &st) == 0 && !may_access(&st, who, 01)) {
            snprintf(err, errlen,
                     "the agent %s is not reachable by uid %u (directory %s): install lruleak "
                     "where that user can read it, or set LRULEAK_AGENT to such a copy",
                     path, (unsigned)who->uid[3], prefix);
            return -EACCES;
        }
    }
    if (stat(path, &st) == 0 && !may_access(&st, who, 04)) {
        snprintf(err, errlen,
                 "the agent %s is not readable by uid %u: install lruleak where that user can "
                 "read it, or set LRULEAK_AGENT to such a copy",
                 path, (unsigned)who->uid[3]);
        return -EACCES;
    }
    return 0;
}

/* text as a Python string literal: printable ASCII as is, the rest as
 * \xNN (the script's source is bytes we control entirely). */
static void
py_literal(FILE *f, const char *text)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') {
            fputc(*p, f);
        } else {
            fprintf(f, "\\x%02x", *p);
        }
    }
    fputc('"', f);
}

struct script {
    char dir[64];
    char path[128];
    char result[128];
};

static void
script_remove(struct script *s)
{
    char tmp[160];

    if (s->dir[0] == '\0') {
        return;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", s->result);
    unlink(tmp);
    unlink(s->result);
    unlink(s->path);
    rmdir(s->dir);
    s->dir[0] = '\0';
}

/* The script the interpreter runs: import the agent as _lruleak, start it,
 * leave the outcome in <dir>/result. It defines nothing in the program. */
static int
script_write(struct script *s, const struct target *t, const char *agent, const char *options,
             char *err, size_t errlen)
{
    int fd;
    FILE *f;

    snprintf(s->dir, sizeof(s->dir), "/tmp/lruleak-attach-%d-XXXXXX", (int)t->pid);
    if (mkdtemp(s->dir) == NULL) {
        snprintf(err, errlen, "mkdtemp %s: %s", s->dir, strerror(errno));
        s->dir[0] = '\0';
        return -errno;
    }
    snprintf(s->path, sizeof(s->path), "%s/attach.py", s->dir);
    snprintf(s->result, sizeof(s->result), "%s/result", s->dir);
    fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        snprintf(err, errlen, "cannot write %s: %s", s->path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -EIO;
    }
    fputs("# lruleak attach: load the lruleak agent into this process (runs once).\n"
          "def _lruleak_attach():\n"
          "    import os\n"
          "    try:\n"
          "        from importlib.machinery import ExtensionFileLoader, ModuleSpec\n"
          "        path = ",
          f);
    py_literal(f, agent);
    fputs("\n"
          "        loader = ExtensionFileLoader(\"_lruleak\", path)\n"
          "        mod = loader.create_module(ModuleSpec(\"_lruleak\", loader, origin=path))\n"
          "        loader.exec_module(mod)\n"
          "        mod.start(",
          f);
    py_literal(f, options);
    fputs(")\n"
          "        outcome = \"ok\"\n"
          "    except Exception as e:\n"
          "        outcome = \"%s: %s\" % (type(e).__name__, e)\n"
          "    try:\n"
          "        result = ",
          f);
    py_literal(f, s->result);
    fputs("\n"
          "        with open(result + \".tmp\", \"w\") as f:\n"
          "            f.write(outcome)\n"
          "        os.rename(result + \".tmp\", result)\n"
          "    except Exception:\n"
          "        pass\n"
          "_lruleak_attach()\n",
          f);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", s->path, strerror(errno));
        return -EIO;
    }
    /* The target reads the script and writes its result as its own user. */
    if (t->status.uid[1] != geteuid() && (chown(s->dir, t->status.uid[1], t->status.gid[1]) < 0 ||
                                          chown(s->path, t->status.uid[1], t->status.gid[1]) < 0)) {
        snprintf(err, errlen, "cannot hand %s to uid %u: %s", s->dir, (unsigned)t->status.uid[1],
                 strerror(errno));
        return -EPERM;
    }
    return 0;
}

/* The script's outcome once it wrote one: 1 and the text, 0 not yet. */
static int
script_outcome(const struct script *s, char *buf, size_t size)
{
    int fd = open(s->result, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        return 0;
    }
    n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return 1;
}

/*
 * The 3.14+ route. Returns 0 (the agent started), 1 (route closed: why in
 * note; the caller uses ptrace), 2 (the request was taken back unanswered:
 * the same, see remote_exec_cancel), or -errno with err. The script stays
 * in *sp for the caller to remove: after a 2 it may still run.
 */
static int
attach_remote_exec(struct target *t, const char *agent, const char *options,
                   struct inject_result *res, struct script *sp, char *err, size_t errlen)
{
    struct script s = {.dir = ""};
    struct remote_exec re;
    char outcome[600], why[400];
    int r;

    r = script_write(&s, t, agent, options, err, errlen);
    if (r < 0) {
        goto out;
    }
    r = remote_exec_send(t, s.path, &re, why, sizeof(why));
    if (r == -EPERM || r == -EACCES) {
        snprintf(err, errlen, "%s", why);
        goto out;
    }
    if (r < 0) {
        snprintf(res->note, sizeof(res->note), "%s", why);
        r = 1;
        goto out;
    }
    /* Picked up (the flag is cleared when the main thread takes it), then
     * the outcome written; either within the bounded wait. */
    double deadline = util_now() + INJECT_REMOTE_EXEC_WAIT_S;
    bool taken = false;
    for (;;) {
        if (script_outcome(&s, outcome, sizeof(outcome))) {
            break;
        }
        if (!taken) {
            int32_t pending = 1;
            taken = target_read(t, re.pending, &pending, sizeof(pending)) == 0 && pending != 1;
        }
        if (util_now() > deadline) {
            if (!taken && remote_exec_cancel(t, &re) == 1) {
                /* Copied in the very instant before? Then it runs now. */
                util_sleep(0.5);
                if (script_outcome(&s, outcome, sizeof(outcome))) {
                    break;
                }
                snprintf(res->note, sizeof(res->note),
                         "the main thread of pid %d ran no Python code for %.0f s (blocked in a "
                         "system call?), so sys.remote_exec could not deliver",
                         (int)t->pid, INJECT_REMOTE_EXEC_WAIT_S);
                r = 2;
                goto out;
            }
            if (util_now() > deadline + 10.0) {
                snprintf(err, errlen,
                         "pid %d took the attach script but did not finish it in "
                         "%.0f s",
                         (int)t->pid, INJECT_REMOTE_EXEC_WAIT_S + 10.0);
                r = -ETIMEDOUT;
                goto out;
            }
        }
        if (kill(t->pid, 0) < 0 && errno == ESRCH) {
            snprintf(err, errlen, "pid %d ended while attaching", (int)t->pid);
            r = -ESRCH;
            goto out;
        }
        util_sleep(0.01);
    }
    if (strcmp(outcome, "ok") != 0) {
        const char *e = strstr(outcome, "[errno ");
        r = e != NULL ? -atoi(e + 7) : -EIO;
        if (r == 0) {
            r = -EIO;
        }
        snprintf(err, errlen, "the attach script failed in pid %d: %s", (int)t->pid, outcome);
        goto out;
    }
    res->route = INJECT_REMOTE_EXEC;
    snprintf(res->how, sizeof(res->how),
             "with sys.remote_exec (PEP 768): the main thread imported the agent");
    r = 0;
out:
    *sp = s;
    return r;
}

/* What the ptrace child reports to its parent. */
struct ptrace_report {
    int r;
    struct ptrace_inject_result res;
    char err[600];
};

/* ptrace in a child process: when it exits, the kernel releases any thread
 * it still traces, whatever happened. */
static int
attach_ptrace(struct target *t, const char *agent, const char *options, struct inject_result *res,
              char *err, size_t errlen)
{
    struct ptrace_report rep = {.r = -EIO};
    int fds[2], status;
    pid_t child;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -errno;
    }
    fflush(NULL);
    child = fork();
    if (child < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -EAGAIN;
    }
    if (child == 0) {
        close(fds[0]);
        rep.r = ptrace_inject(t, agent, options, &rep.res, rep.err, sizeof(rep.err));
        (void)!write(fds[1], &rep, sizeof(rep));
        _exit(0);
    }
    close(fds[1]);
    ssize_t n;
    do {
        n = read(fds[0], &rep, sizeof(rep));
    } while (n < 0 && errno == EINTR);
    close(fds[0]);
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (n != (ssize_t)sizeof(rep)) {
        snprintf(err, errlen, "the ptrace helper process failed (status %d)", status);
        return -EIO;
    }
    if (rep.r < 0) {
        snprintf(err, errlen, "%s", rep.err);
        return rep.r;
    }
    if (rep.res.attach_result < 0) {
        snprintf(err, errlen, "the agent did not start in pid %d: %s", (int)t->pid,
                 strerror(-rep.res.attach_result));
        return rep.res.attach_result;
    }
    res->route = INJECT_PTRACE;
    snprintf(res->how, sizeof(res->how), "with ptrace: %s in thread %d%s%s%s",
             rep.res.loaded ? "dlopen and start" : "start (agent already loaded)", (int)rep.res.tid,
             rep.res.tid == t->pid ? " (main)" : "",
             rep.res.syscall >= 0 ? ", which resumed its system call" : "",
             rep.res.rounds > 1 ? " after waiting for a safe moment" : "");
    return 0;
}

int
inject_attach(pid_t pid, const char *agent_path, const char *options, struct inject_result *ret,
              char *err, size_t errlen)
{
    struct inject_result res;
    struct script script = {.dir = ""};
    struct target t;
    int r;

    memset(&res, 0, sizeof(res));
    r = target_open(pid, &t, err, errlen);
    if (r < 0) {
        goto out;
    }
    target_version_string(&t, res.version, sizeof(res.version));
    r = check_readable_by(agent_path, &t.status, err, errlen);
    if (r < 0) {
        goto out;
    }
    r = 1;
    if (t.version >= 0x030e0000) {
        r = attach_remote_exec(&t, agent_path, options, &res, &script, err, errlen);
    }
    if (r == 1 || r == 2) {
        bool taken_back = r == 2;
        r = attach_ptrace(&t, agent_path, options, &res, err, errlen);
        char outcome[600];
        double until = util_now() + 1.0;
        bool ran = false;
        while (r == -EALREADY && taken_back && !ran && util_now() < until) {
            ran = script_outcome(&script, outcome, sizeof(outcome)) && strcmp(outcome, "ok") == 0;
            util_sleep(0.01);
        }
        if (ran) {
            /* The script taken back had been picked up after all (its path
             * copied in the very instant) and started the agent first; an
             * agent that ran before (preloaded, its socket elsewhere) left
             * no outcome and stays -EALREADY. */
            res.route = INJECT_REMOTE_EXEC;
            res.note[0] = '\0';
            snprintf(res.how, sizeof(res.how),
                     "with sys.remote_exec (PEP 768), picked up as it was taken back");
            r = 0;
        }
    }
    if (r == 0) {
        *ret = res;
    }
out:
    script_remove(&script);
    target_close(&t);
    return r;
}
