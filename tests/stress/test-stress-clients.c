/* SPDX-License-Identifier: MIT */
/*
 * test-stress-clients: abusive clients must not slow the host down or stop
 * the sampling.
 *
 * scenarios/workload.py times a fixed CPU-bound workload next to a cached
 * heap, three times: without the agent, with it (interval 0.1 s), and with
 * it while abusers hammer its socket. The abusers are forked children of
 * the test, each paced so that its own CPU use stays small next to the
 * workload's (they share the machine):
 *   deaf     pipelines snapshot and hello requests and never reads a reply
 *            (reconnects when the agent drops it);
 *   amplify  four connections that pipeline "latest" requests (16 bytes
 *            asking for a whole sample each) as fast as the socket takes
 *            them and never read;
 *   churn    connects and disconnects in a loop;
 *   garbage  sends lines of binary garbage and reads the error replies;
 *   bigline  sends one 100 MB line per connection;
 *   crowd    opens 200 connections at once, says hello on each, closes them.
 * Checks: the workload's result is the same in every run; its best
 * repeat with the abusers is at most STRESS_SLOWDOWN_MAX times the best
 * without the agent (the best of nine, and a bound, that this noisy VM,
 * shared with other builds, keeps; the medians and every repeat are
 * printed for tests/README.md); the agent kept sampling during the abuse (its
 * sample count grew) but the snapshot requests did not make it sample more
 * than its duty cycle allows: the samples of that stretch (from the
 * agent's recording) took at most STRESS_DUTY_MAX of its wall time; its
 * threads' CPU time (from /proc) stayed under STRESS_AGENT_CPU_MAX; the
 * host's peak memory grew by at most STRESS_RSS_GROWTH_MAX over the run
 * without abusers (the agent holds replies back instead of buffering one
 * per request); and it still answers with the right numbers afterwards.
 * Under AddressSanitizer (a sanitized build) the timing and memory bounds
 * are not checked: the instrumented agent is slower by design and the
 * quarantine keeps freed memory resident; there the test looks for memory
 * errors under abuse.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e-helpers.h"

#define STRESS_INSTANCES "5000"
#define STRESS_REPEATS "9"
/* Generous on purpose: on a 2-core VM the abusive clients of this very test
 * compete with the workload for the CPU (a CI run saw 2.0x with other jobs
 * on the machine, 1.006x alone). The agent's own share is bounded tightly
 * below (STRESS_DUTY_MAX, STRESS_AGENT_CPU_MAX); the figures go to tests/README.md. */
#define STRESS_SLOWDOWN_MAX 3.0
/* The agent aims at 1/20 of wall time; allow for a sample that straddles
 * the stretch's ends. */
#define STRESS_DUTY_MAX 0.15
/* The agent's threads (sampler and server) under abuse, in CPUs: measured
 * well under 0.1 here; a server thread spinning on its clients would be 1. */
#define STRESS_AGENT_CPU_MAX 0.5
/* Peak RSS with the abusers over the peak without: a few MiB here. */
#define STRESS_RSS_GROWTH_MAX (64 << 20)
#define STRESS_AMPLIFIERS 4
#define STRESS_BIGLINE (100u << 20)
#define STRESS_CROWD 200

/* ---- abusers (forked children) ---------------------------------------------------- */

static int
dial(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void
abuse_deaf(const char *path)
{
    static const char reqs[] = "{\"cmd\":\"snapshot\"}\n{\"cmd\":\"hello\"}\n"
                               "{\"cmd\":\"snapshot\",\"full\":false}\n";
    for (;;) {
        int fd = dial(path);
        while (fd >= 0) {
            ssize_t n = send(fd, reqs, sizeof(reqs) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                break; /* dropped by the agent: come back */
            }
            e2e_sleep_ms(n < 0 ? 10 : 1);
        }
        if (fd >= 0) {
            close(fd);
        }
        e2e_sleep_ms(5);
    }
}

static void
abuse_amplify(const char *path)
{
    static char reqs[64 * 18];

    for (size_t i = 0; i < sizeof(reqs); i += 18) {
        memcpy(reqs + i, "{\"cmd\":\"latest\"}\n", 18);
    }
    for (int i = 1; i < STRESS_AMPLIFIERS; i++) {
        if (fork() == 0) {
            break; /* one connection per process, all dying with the test */
        }
    }
    for (;;) {
        int fd = dial(path);
        while (fd >= 0) {
            ssize_t n = send(fd, reqs, sizeof(reqs), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                break;
            }
            if (n < 0) {
                e2e_sleep_ms(5);
            }
        }
        if (fd >= 0) {
            close(fd);
        }
        e2e_sleep_ms(5);
    }
}

static void
abuse_churn(const char *path)
{
    for (unsigned i = 0;; i++) {
        int fd = dial(path);
        if (fd >= 0 && i % 2 == 0) {
            (void)!send(fd, "{\"cmd\":\"hello\"}\n", 16, MSG_NOSIGNAL);
        }
        if (fd >= 0) {
            close(fd);
        }
        e2e_sleep_ms(1);
    }
}

static void
abuse_garbage(const char *path)
{
    unsigned seed = 42;
    char line[512], reply[4096];

    for (;;) {
        int fd = dial(path);
        for (int k = 0; fd >= 0 && k < 1000; k++) {
            size_t len = 1 + rand_r(&seed) % (sizeof(line) - 1);
            for (size_t i = 0; i < len; i++) {
                line[i] = (char)(rand_r(&seed) % 256);
                line[i] = line[i] == '\n' ? 'x' : line[i];
            }
            line[len - 1] = '\n';
            if (send(fd, line, len, MSG_NOSIGNAL) < 0) {
                break;
            }
            /* Read what came back (error replies), without waiting. */
            while (recv(fd, reply, sizeof(reply), MSG_DONTWAIT) > 0) {
            }
            e2e_sleep_ms(1);
        }
        if (fd >= 0) {
            close(fd);
        }
    }
}

static void
abuse_bigline(const char *path)
{
    char *big = malloc(STRESS_BIGLINE);

    if (big == NULL) {
        _exit(1);
    }
    memset(big, 'a', STRESS_BIGLINE);
    big[STRESS_BIGLINE - 1] = '\n';
    for (;;) {
        int fd = dial(path);
        size_t off = 0;
        while (fd >= 0 && off < STRESS_BIGLINE) {
            ssize_t n = send(fd, big + off, STRESS_BIGLINE - off, MSG_NOSIGNAL);
            if (n <= 0) {
                break; /* the agent refused the line and closed */
            }
            off += (size_t)n;
        }
        if (fd >= 0) {
            close(fd);
        }
        e2e_sleep_ms(100);
    }
}

static void
abuse_crowd(const char *path)
{
    int fds[STRESS_CROWD];
    char buf[4096];

    for (;;) {
        for (int i = 0; i < STRESS_CROWD; i++) {
            fds[i] = dial(path);
            if (fds[i] >= 0) {
                (void)!send(fds[i], "{\"cmd\":\"hello\"}\n", 16, MSG_NOSIGNAL | MSG_DONTWAIT);
            }
        }
        e2e_sleep_ms(50);
        for (int i = 0; i < STRESS_CROWD; i++) {
            if (fds[i] >= 0) {
                (void)!recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
                close(fds[i]);
            }
        }
        e2e_sleep_ms(450);
    }
}

struct abuser {
    const char *name;
    void (*fn)(const char *path);
};

static const struct abuser abusers[] = {
    {"deaf", abuse_deaf},       {"amplify", abuse_amplify}, {"churn", abuse_churn},
    {"garbage", abuse_garbage}, {"bigline", abuse_bigline}, {"crowd", abuse_crowd},
};
#define NABUSERS (sizeof(abusers) / sizeof(abusers[0]))

static pid_t
start_abuser(const struct abuser *a, const char *path)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* Die with the test, whatever happens to it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(0);
        }
        signal(SIGPIPE, SIG_IGN);
        a->fn(path);
        _exit(0);
    }
    return pid;
}

/* ---- measuring ---------------------------------------------------------------------- */

struct timing {
    double median;
    double best;
    double repeats[16];
    size_t n;
    int64_t checksum;
};

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static struct timing
parse_timing(const char *line)
{
    const struct jsonv *o = e2e_json(line, strlen(line), "workload.py's timing line");
    const struct jsonv *rep = jsonv_get(o, "repeats");
    struct timing t = {0};
    double sorted[16];

    ck_assert_msg(jsonv_is(rep, JSONV_ARRAY) && rep->u.arr.n > 0 && rep->u.arr.n <= 16,
                  "bad timing line: %s", line);
    for (size_t i = 0; i < rep->u.arr.n; i++) {
        t.repeats[i] = sorted[i] = rep->u.arr.items[i].u.num.d;
    }
    t.n = rep->u.arr.n;
    qsort(sorted, t.n, sizeof(sorted[0]), cmp_double);
    t.median = sorted[t.n / 2];
    t.best = sorted[0];
    t.checksum = e2e_int(o, "checksum", "timing line");
    return t;
}

/* Start workload.py, wait for WARM, and return it. */
static struct e2e_proc *
start_workload(char **env)
{
    char *script = e2e_strdupf("%s/workload.py", e2e_cfg.scenarios);
    char *argv[] = {(char *)e2e_cfg.python, script, STRESS_INSTANCES, STRESS_REPEATS, NULL};
    struct e2e_proc *v = e2e_spawn(argv, env);
    const char *line = e2e_proc_read_line(v, E2E_READY_MS);

    ck_assert_msg(line != NULL && strcmp(line, "WARM") == 0, "workload.py: no WARM (stderr: %s)",
                  e2e_buf_str(&v->err));
    return v;
}

/* Write "run", read the timing line and the READY after it. */
static struct timing
run_workload(struct e2e_proc *v)
{
    e2e_proc_write(v, "run\n");
    const char *line = e2e_proc_read_line(v, 120000);
    ck_assert_msg(line != NULL, "workload.py: no timing line (stderr: %s)", e2e_buf_str(&v->err));
    struct timing t = parse_timing(line);
    line = e2e_proc_read_line(v, E2E_READY_MS);
    ck_assert_msg(line != NULL && strcmp(line, "READY") == 0, "workload.py: no READY (stderr: %s)",
                  e2e_buf_str(&v->err));
    return t;
}

/* CPU seconds (user + system) of pid's threads but the main one: the
 * agent's sampler and server threads (the workload has no others). */
static double
agent_cpu_s(pid_t pid)
{
    char *dir = e2e_strdupf("/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned long long ticks = 0;

    ck_assert_msg(d != NULL, "cannot read %s", dir);
    while ((e = readdir(d)) != NULL) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || tid == pid) {
            continue;
        }
        char *path = e2e_strdupf("%s/%d/stat", dir, (int)tid);
        FILE *f = fopen(path, "re");
        char buf[1024];
        if (f == NULL) {
            continue;
        }
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* Fields after the ")" that ends the name: state is the 3rd field,
         * utime the 14th and stime the 15th. */
        const char *p = strrchr(buf, ')');
        unsigned long long ut = 0, st = 0;
        if (p != NULL &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2) {
            ticks += ut + st;
        }
    }
    closedir(d);
    return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

/* Peak resident memory of pid (VmHWM), in bytes. */
static long long
peak_rss(pid_t pid)
{
    char *path = e2e_strdupf("/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    char line[256];
    long long kib = -1;

    ck_assert_msg(f != NULL, "cannot read %s", path);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmHWM: %lld kB", &kib) == 1) {
            break;
        }
    }
    fclose(f);
    ck_assert_msg(kib >= 0, "no VmHWM in %s", path);
    return kib * 1024;
}

/* Total scan_ms of the samples numbered (after, upto] in pid's recording. */
static double
scan_ms_between(pid_t pid, int64_t after, int64_t upto)
{
    char *path = e2e_strdupf("%s/%d.jsonl", e2e_recdir, (int)pid);
    FILE *f = fopen(path, "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    double total = 0;

    ck_assert_msg(f != NULL, "no recording %s", path);
    while ((n = getline(&line, &cap, f)) > 0) {
        const struct jsonv *o = e2e_json(line, (size_t)n, "a recording line");
        int64_t seq;
        double ms;
        if (jsonv_get_int(o, "seq", &seq) && seq > after && seq <= upto &&
            jsonv_get_double(o, "scan_ms", &ms)) {
            total += ms;
        }
    }
    free(line);
    fclose(f);
    return total;
}

static void
print_timing(const char *what, const struct timing *t, const struct timing *base)
{
    fprintf(stderr, "stress-clients: %-28s median %.3f s (%+.1f%%), best %.3f s (%+.1f%%); repeats",
            what, t->median, 100.0 * (t->median / base->median - 1.0), t->best,
            100.0 * (t->best / base->best - 1.0));
    for (size_t i = 0; i < t->n; i++) {
        fprintf(stderr, " %.3f", t->repeats[i]);
    }
    fputc('\n', stderr);
}

START_TEST(stress_abusive_clients)
{
    pid_t pids[NABUSERS];

    /* 1. Without the agent. */
    struct e2e_proc *v0 = start_workload(e2e_env_cli(NULL));
    struct timing t0 = run_workload(v0);
    e2e_proc_kill(v0);

    /* 2. With the agent, nobody talking to it. */
    struct e2e_proc *v1 = start_workload(e2e_env_agent("0.1", NULL));
    e2e_wait_agent(v1);
    int64_t s1 = e2e_agent_samples(v1->pid);
    double c1 = agent_cpu_s(v1->pid), w1 = e2e_now_s();
    struct timing t1 = run_workload(v1);
    double cpu1 = (agent_cpu_s(v1->pid) - c1) / (e2e_now_s() - w1);
    int64_t s1_end = e2e_agent_samples(v1->pid);
    long long rss1 = peak_rss(v1->pid);
    e2e_proc_kill(v1);

    /* 3. With the agent and the abusers. */
    const char *record[] = {e2e_strdupf("LRULEAK_RECORD=%s", e2e_recdir), NULL};
    struct e2e_proc *v2 = start_workload(e2e_env_agent("0.1", record));
    e2e_wait_agent(v2);
    const char *path = e2e_sock_path(v2->pid);
    for (size_t i = 0; i < NABUSERS; i++) {
        pids[i] = start_abuser(&abusers[i], path);
    }
    e2e_sleep_ms(500); /* let them get going */
    int64_t s2 = e2e_agent_samples(v2->pid);
    double c2 = agent_cpu_s(v2->pid), w0 = e2e_now_s();
    struct timing t2 = run_workload(v2);
    double wall = e2e_now_s() - w0;
    double cpu2 = (agent_cpu_s(v2->pid) - c2) / wall;
    int64_t s2_end = e2e_agent_samples(v2->pid);
    long long rss2 = peak_rss(v2->pid);
    for (size_t i = 0; i < NABUSERS; i++) {
        int st;
        pid_t r = waitpid(pids[i], &st, WNOHANG);
        ck_assert_msg(r == 0, "abuser %s ended by itself (status %d)", abusers[i].name, st);
        kill(pids[i], SIGKILL);
        waitpid(pids[i], &st, 0);
    }

    print_timing("without the agent:", &t0, &t0);
    print_timing("with the agent:", &t1, &t0);
    print_timing("with the agent and abusers:", &t2, &t0);
    double duty = scan_ms_between(v2->pid, s2, s2_end) / 1e3 / wall;
    fprintf(stderr,
            "stress-clients: samples during the workload: %lld alone, %lld with the abusers, "
            "taking %.1f%% of the wall time; the agent's threads used %.1f%% of a CPU alone, "
            "%.1f%% with the abusers\n",
            (long long)(s1_end - s1), (long long)(s2_end - s2), 100.0 * duty, 100.0 * cpu1,
            100.0 * cpu2);
    fprintf(stderr, "stress-clients: peak RSS %.1f MiB alone, %.1f MiB with the abusers\n",
            (double)rss1 / 1048576.0, (double)rss2 / 1048576.0);

    ck_assert_msg(t1.checksum == t0.checksum && t2.checksum == t0.checksum,
                  "the workload's result changed: %lld, %lld, %lld", (long long)t0.checksum,
                  (long long)t1.checksum, (long long)t2.checksum);
    /* The bounds on time and memory hold for the agent as shipped; a
     * sanitized agent (E2E_PRELOAD) runs this test for memory errors. */
    ck_assert_msg(e2e_cfg.preload != NULL || t2.best <= STRESS_SLOWDOWN_MAX * t0.best,
                  "with abusers the workload took %.3f s (best repeat), %.3f s without the agent",
                  t2.best, t0.best);
    ck_assert_msg(s2_end - s2 >= 2, "only %lld samples during the abused workload",
                  (long long)(s2_end - s2));
    ck_assert_msg(duty <= STRESS_DUTY_MAX,
                  "under a flood of snapshot requests the agent sampled %.0f%% of the time",
                  100.0 * duty);
    /* Under AddressSanitizer freed memory also stays resident in its
     * quarantine: peak RSS says nothing there. */
    ck_assert_msg(e2e_cfg.preload != NULL || rss2 - rss1 <= STRESS_RSS_GROWTH_MAX,
                  "the abusers grew the host's peak memory by %.1f MiB",
                  (double)(rss2 - rss1) / 1048576.0);
    ck_assert_msg(cpu2 <= STRESS_AGENT_CPU_MAX,
                  "under abuse the agent's threads used %.0f%% of a CPU", 100.0 * cpu2);

    /* Still serving, with the right numbers. */
    e2e_truth_check(v2, true);
}
END_TEST

static Suite *
stress_clients_suite(void)
{
    Suite *s = suite_create("stress-clients");
    TCase *tc = e2e_tcase("clients");

    tcase_add_test(tc, stress_abusive_clients);
    tcase_set_timeout(tc, 280);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return e2e_main(stress_clients_suite);
}
