/* SPDX-License-Identifier: MIT */
/*
 * e2e-json: JSON documents and recordings, and the checks against a victim's ground truth for the
 * e2e tests (see e2e-helpers.h for the contract; e2e-helpers.c for the fixture).
 */
#include "config.h"

#include "e2e-helpers.h"
#include "e2e-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- JSON --------------------------------------------------------------------- */

const struct jsonv *
e2e_json(const char *text, size_t len, const char *what)
{
    const struct jsonv *root = NULL;
    char err[256] = "";
    int r = jsonv_parse(text, len, &root, err, sizeof(err));
    ck_assert_msg(r == 0, "%s is not valid JSON (%s): %.500s", what, err, text);
    return root;
}

size_t
e2e_json_lines(const char *text, const struct jsonv ***ret, const char *what)
{
    size_t n = 0, cap = 16;
    const struct jsonv **v = malloc(cap * sizeof(*v));
    ck_assert_msg(v != NULL, "out of memory");
    while (*text != '\0') {
        const char *nl = strchr(text, '\n');
        size_t len = nl != NULL ? (size_t)(nl - text) : strlen(text);
        ck_assert_msg(nl != NULL, "%s: line %zu is incomplete (no newline)", what, n + 1);
        if (n == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof(*v));
            ck_assert_msg(v != NULL, "out of memory");
        }
        const char *name = e2e_strdupf("%s line %zu", what, n + 1);
        v[n++] = e2e_json(text, len, name);
        text += len + 1;
    }
    *ret = v;
    return n;
}

struct e2e_rec_proc
e2e_rec_proc(const struct jsonv **lines, size_t n, int64_t pid)
{
    struct e2e_rec_proc r = {0};
    for (size_t i = 0; i < n; i++) {
        const char *type = jsonv_get_str(lines[i], "type");
        int64_t p = -1;
        bool final = false;
        if (type == NULL || !jsonv_get_int(lines[i], "pid", &p) || p != pid) {
            continue;
        }
        if (strcmp(type, "process") == 0) {
            r.process = lines[i];
        } else if (strcmp(type, "sample") == 0) {
            r.samples++;
            r.last_sample = lines[i];
            if (jsonv_get_bool(lines[i], "final", &final) && final) {
                r.finals++;
            }
        }
    }
    return r;
}

int64_t
e2e_int(const struct jsonv *o, const char *key, const char *what)
{
    int64_t v = 0;
    ck_assert_msg(jsonv_get_int(o, key, &v), "%s: no integer member \"%s\"", what, key);
    return v;
}

const char *
e2e_str(const struct jsonv *o, const char *key, const char *what)
{
    const char *s = jsonv_get_str(o, key);
    ck_assert_msg(s != NULL, "%s: no string member \"%s\"", what, key);
    return s;
}

bool
e2e_bool(const struct jsonv *o, const char *key, const char *what)
{
    bool b = false;
    ck_assert_msg(jsonv_get_bool(o, key, &b), "%s: no boolean member \"%s\"", what, key);
    return b;
}

const struct jsonv *
e2e_caches_of(const struct jsonv *doc, pid_t pid, const char *what)
{
    const struct jsonv *procs_v = jsonv_get(doc, "processes");
    if (jsonv_is(procs_v, JSONV_ARRAY)) {
        for (size_t i = 0; i < procs_v->u.arr.n; i++) {
            const struct jsonv *p = &procs_v->u.arr.items[i];
            int64_t ppid;
            if (jsonv_get_int(p, "pid", &ppid) && ppid == pid) {
                const struct jsonv *c = jsonv_get(p, "caches");
                ck_assert_msg(jsonv_is(c, JSONV_ARRAY), "%s: process %d has no caches array", what,
                              (int)pid);
                return c;
            }
        }
        ck_abort_msg("%s: no process with pid %d", what, (int)pid);
    }
    const struct jsonv *sample = jsonv_get(doc, "sample");
    if (sample == NULL) {
        sample = doc;
    }
    const struct jsonv *c = jsonv_get(sample, "caches");
    ck_assert_msg(jsonv_is(c, JSONV_ARRAY), "%s: neither processes[] nor a sample's caches[]",
                  what);
    return c;
}

const struct jsonv *
e2e_find_row(const struct jsonv *caches, const char *module, const char *qualname, const char *what)
{
    const struct jsonv *found = NULL;
    for (size_t i = 0; i < caches->u.arr.n; i++) {
        const struct jsonv *row = &caches->u.arr.items[i];
        const char *m = jsonv_get_str(row, "module");
        const char *q = jsonv_get_str(row, "qualname");
        bool present = true;
        jsonv_get_bool(row, "present", &present);
        if (!present || m == NULL || q == NULL || strcmp(m, module) != 0 ||
            strcmp(q, qualname) != 0) {
            continue;
        }
        ck_assert_msg(found == NULL, "%s: two rows for %s.%s (kinds %s and %s)", what, module,
                      qualname, jsonv_get_str(found, "kind"), jsonv_get_str(row, "kind"));
        found = row;
    }
    return found;
}

/* ---- ground truth ------------------------------------------------------------- */

static const char *
expected_verdict(int64_t pinned, bool bounded)
{
    if (pinned == 0) {
        return "ok";
    }
    return bounded ? "bounded" : "leak";
}

/* Problems are collected, not asserted one by one, so that one failure
 * message shows every wrong number of a sample. */
static void __attribute__((format(printf, 2, 3))) problem(struct e2e_buf *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0) {
        e2e_buf_append(b, "\n  ", 3);
        e2e_buf_append(b, line, strlen(line));
    }
}

static void
compare_str(struct e2e_buf *b, const char *q, const struct jsonv *row, const struct jsonv *t,
            const char *key)
{
    const char *got = jsonv_get_str(row, key), *want = e2e_str(t, key, "truth");
    if (got == NULL || strcmp(got, want) != 0) {
        problem(b, "%s: %s is \"%s\", expected \"%s\"", q, key, got ? got : "(missing)", want);
    }
}

static void
check_row(struct e2e_buf *b, const struct jsonv *row, const char *q, const struct jsonv *t)
{
    static const char *const fields[] = {"entries", "hits",   "misses",
                                         "selves",  "pinned", "wrappers"};
    int64_t got, want;

    compare_str(b, q, row, t, "kind");
    compare_str(b, q, row, t, "file");
    int64_t first = e2e_int(t, "line", "truth"), def = e2e_int(t, "def_line", "truth");
    if (!jsonv_get_int(row, "line", &got) || got < first || got > def) {
        problem(b, "%s: line %lld, expected the first decorator's (%lld) or the def's (%lld)", q,
                (long long)got, (long long)first, (long long)def);
    }

    const struct jsonv *tmax = jsonv_get(t, "maxsize");
    const struct jsonv *rmax = jsonv_get(row, "maxsize");
    bool bounded = !jsonv_is(tmax, JSONV_NULL);
    if (bounded &&
        !(jsonv_is(rmax, JSONV_NUMBER) && rmax->u.num.is_int && rmax->u.num.i == tmax->u.num.i)) {
        problem(b, "%s: maxsize should be %lld", q, (long long)tmax->u.num.i);
    } else if (!bounded && !jsonv_is(rmax, JSONV_NULL)) {
        problem(b, "%s: maxsize should be null (unbounded)", q);
    }
    static const char *const flags[] = {"typed", "self_only"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        bool flag = false, want_flag = e2e_bool(t, flags[i], "truth");
        if (!jsonv_get_bool(row, flags[i], &flag) || flag != want_flag) {
            problem(b, "%s: %s should be %s", q, flags[i], want_flag ? "true" : "false");
        }
    }

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        want = e2e_int(t, fields[i], "truth");
        if (!jsonv_get_int(row, fields[i], &got)) {
            problem(b, "%s: no integer %s", q, fields[i]);
        } else if (got != want) {
            problem(b, "%s: %s is %lld, the program's truth is %lld", q, fields[i], (long long)got,
                    (long long)want);
        }
    }

    int64_t pinned = e2e_int(t, "pinned", "truth");
    if (bounded && jsonv_get_int(row, "selves", &got) && got > tmax->u.num.i) {
        problem(b, "%s: %lld selves, more than maxsize %lld", q, (long long)got,
                (long long)tmax->u.num.i);
    }
    const char *verdict = jsonv_get_str(row, "verdict");
    const char *want_verdict = expected_verdict(pinned, bounded);
    if (verdict == NULL || strcmp(verdict, want_verdict) != 0) {
        problem(b, "%s: verdict \"%s\", expected \"%s\" (truth: pinned %lld, %s)", q,
                verdict ? verdict : "(missing)", want_verdict, (long long)pinned,
                bounded ? "bounded" : "unbounded");
    }

    int64_t retained = 0;
    int64_t payload = e2e_int(t, "pinned_bytes", "truth");
    if (!jsonv_get_int(row, "retained_bytes", &retained)) {
        problem(b, "%s: no integer retained_bytes", q);
    } else if (pinned == 0 && retained != 0) {
        problem(b, "%s: retained_bytes %lld with nothing pinned", q, (long long)retained);
    } else if (pinned > 0 && payload > 0 &&
               (retained < payload || retained > payload + payload / 2)) {
        problem(b,
                "%s: retained_bytes %lld outside [%lld, %lld] (the pinned objects' payloads "
                "total %lld bytes)",
                q, (long long)retained, (long long)payload, (long long)(payload + payload / 2),
                (long long)payload);
    } else if (pinned > 0 && retained <= 0) {
        problem(b, "%s: retained_bytes %lld with %lld objects pinned", q, (long long)retained,
                (long long)pinned);
    }
}

void
e2e_check_truth(const struct jsonv *caches, const struct jsonv *truth, const char *what)
{
    struct e2e_buf b = {0};

    for (size_t i = 0; i < truth->u.obj.n; i++) {
        const char *qualname = truth->u.obj.members[i].key;
        const struct jsonv *t = &truth->u.obj.members[i].value;
        const char *module = e2e_str(t, "module", "truth");
        const struct jsonv *row = e2e_find_row(caches, module, qualname, what);
        int64_t entries = e2e_int(t, "entries", "truth");

        if (entries == 0) {
            if (row != NULL) {
                problem(&b, "%s.%s is listed but its cache is empty", module, qualname);
            }
        } else if (row == NULL) {
            problem(&b, "no row for %s.%s (the program has %lld entries in it)", module, qualname,
                    (long long)entries);
        } else {
            check_row(&b, row, qualname, t);
        }
    }
    ck_assert_msg(b.len == 0, "%s differs from the program's truth:%s", what, e2e_buf_str(&b));
}

void
e2e_assert_unchanged(const struct e2e_proc *v, const struct e2e_proc *base, bool first_line,
                     const char *what)
{
    const char *out = e2e_buf_str(&v->out), *bout = e2e_buf_str(&base->out);
    size_t n = strlen(out), bn = strlen(bout);

    if (first_line) {
        n = strchr(out, '\n') != NULL ? (size_t)(strchr(out, '\n') - out) : n;
        bn = strchr(bout, '\n') != NULL ? (size_t)(strchr(bout, '\n') - bout) : bn;
    }
    ck_assert_msg(n == bn && memcmp(out, bout, n) == 0,
                  "%s: the host's stdout changed:\n%s\nwithout the agent:\n%s", what, out, bout);
    ck_assert_msg(strcmp(e2e_buf_str(&v->err), e2e_buf_str(&base->err)) == 0,
                  "%s: the host's stderr changed:\n%s\nwithout the agent:\n%s", what,
                  e2e_buf_str(&v->err), e2e_buf_str(&base->err));
    ck_assert_msg(v->status == base->status, "%s: exit status %d, %d without the agent", what,
                  v->status, base->status);
}

const struct jsonv *
e2e_truth_scenario(const char *script, char *const args[])
{
    char **env = e2e_env_agent("0.05", NULL);
    struct e2e_proc *v = e2e_victim_v(env, script, args);
    e2e_wait_agent(v);
    return e2e_truth_check(v, true);
}

const struct jsonv *
e2e_truth_check(struct e2e_proc *v, bool full)
{
    const char *script = strrchr(v->name, '/') != NULL ? strrchr(v->name, '/') + 1 : v->name;
    char *pid = e2e_strdupf("%d", (int)v->pid);
    char **env = e2e_env_cli(NULL);
    const struct jsonv *caches[3];
    const char *what[3];
    size_t n = 0;

    const struct jsonv *sample = e2e_agent_snapshot(v->pid, full);
    caches[n] = e2e_caches_of(sample, v->pid, "agent snapshot");
    what[n++] =
        e2e_strdupf("%s via the agent socket (%s snapshot)", script, full ? "full" : "plain");

    struct e2e_proc *cli = full ? e2e_cli(env, "snapshot", pid, "--full", "--format", "json", NULL)
                                : e2e_cli(env, "snapshot", pid, "--format", "json", NULL);
    ck_assert_msg(cli->status == 0, "lruleak snapshot %s exited %d: %s", pid, cli->status,
                  e2e_buf_str(&cli->err));
    const struct jsonv *doc =
        e2e_json(e2e_buf_str(&cli->out), cli->out.len, "lruleak snapshot --format json");
    caches[n] = e2e_caches_of(doc, v->pid, "lruleak snapshot");
    what[n++] = e2e_strdupf("%s via lruleak snapshot%s", script, full ? " --full" : "");

    if (full) {
        /* Wrappers found by a full discovery are remembered: a plain sample
         * taken afterwards must see the same. */
        caches[n] = e2e_caches_of(e2e_agent_snapshot(v->pid, false), v->pid, "agent snapshot");
        what[n++] =
            e2e_strdupf("%s via the agent socket (plain snapshot after a full one)", script);
    }

    const struct jsonv *truth = e2e_victim_truth(v);
    for (size_t i = 0; i < n; i++) {
        e2e_check_truth(caches[i], truth, what[i]);
    }
    return truth;
}
