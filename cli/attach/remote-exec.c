/* SPDX-License-Identifier: MIT */
/*
 * remote-exec: PEP 768 (see remote-exec.h). The offsets below are the
 * positions of fields inside _Py_DebugOffsets as laid out by CPython 3.14
 * (Include/internal/pycore_debug_offsets.h; checked with gdb's ptype/o on
 * Debian's python3.14-dbg 3.14.10). The table says itself which version
 * wrote it, so a 3.15 process is never read with 3.14's layout. The values
 * read from the table are offsets into the target's structures; they are
 * bounds-checked before use.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "remote-exec.h"

/* _Py_DebugOffsets, CPython 3.14 */
#define DO_SIZE 760
#define DO_VERSION 8
#define DO_FREE_THREADED 16
#define DO_RUNTIME_INTERPRETERS_HEAD 40
#define DO_INTERP_THREADS_MAIN 80
#define DO_EVAL_BREAKER 712
#define DO_REMOTE_DEBUGGER_SUPPORT 720
#define DO_REMOTE_DEBUGGING_ENABLED 728
#define DO_DEBUGGER_PENDING_CALL 736
#define DO_DEBUGGER_SCRIPT_PATH 744
#define DO_DEBUGGER_SCRIPT_PATH_SIZE 752

/* Include/internal/pycore_ceval.h: the bit that makes the eval loop call
 * _Py_HandlePending, which runs the pending script. */
#define EVAL_PLEASE_STOP_BIT (1u << 5)

/* No structure field lies this far in. */
#define MAX_FIELD_OFFSET (1u << 20)

static uint64_t
field(const unsigned char *table, size_t off)
{
    uint64_t v;
    memcpy(&v, table + off, sizeof(v));
    return v;
}

int
remote_exec_send(struct target *t, const char *script_path, struct remote_exec *ret, char *err,
                 size_t errlen)
{
    unsigned char table[DO_SIZE];
    uint64_t interp = 0, tstate = 0, eval_breaker = 0;
    int32_t enabled = 0, one = 1;
    int r;

    if (t->runtime == 0 || (t->version >> 16) != 0x030e) {
        snprintf(err, errlen, "pid %d is not CPython 3.14", (int)t->pid);
        return -ENOTSUP;
    }
    r = target_read(t, t->runtime, table, sizeof(table));
    if (r < 0) {
        goto io;
    }
    uint64_t version = field(table, DO_VERSION);
    if (memcmp(table, "xdebugpy", 8) != 0 || (version >> 16) != 0x030e ||
        (version & 0xf0) != 0xf0) {
        snprintf(err, errlen, "pid %d: no CPython 3.14 final release's debug offsets", (int)t->pid);
        return -ENOTSUP;
    }
    if (field(table, DO_FREE_THREADED) != 0) {
        snprintf(err, errlen, "pid %d runs a free-threaded build", (int)t->pid);
        return -ENOTSUP;
    }
    uint64_t head = field(table, DO_RUNTIME_INTERPRETERS_HEAD);
    uint64_t threads_main = field(table, DO_INTERP_THREADS_MAIN);
    uint64_t breaker = field(table, DO_EVAL_BREAKER);
    uint64_t support = field(table, DO_REMOTE_DEBUGGER_SUPPORT);
    uint64_t enabled_off = field(table, DO_REMOTE_DEBUGGING_ENABLED);
    uint64_t pending_off = field(table, DO_DEBUGGER_PENDING_CALL);
    uint64_t path_off = field(table, DO_DEBUGGER_SCRIPT_PATH);
    uint64_t path_size = field(table, DO_DEBUGGER_SCRIPT_PATH_SIZE);
    if (head > MAX_FIELD_OFFSET || threads_main > MAX_FIELD_OFFSET || breaker > MAX_FIELD_OFFSET ||
        support > MAX_FIELD_OFFSET || enabled_off > MAX_FIELD_OFFSET ||
        pending_off > MAX_FIELD_OFFSET || path_off > MAX_FIELD_OFFSET || path_size > 65536 ||
        path_size == 0) {
        snprintf(err, errlen, "pid %d: its debug offsets are out of range", (int)t->pid);
        return -ENOTSUP;
    }
    if (strlen(script_path) >= path_size) {
        snprintf(err, errlen, "script path %s is longer than the %u bytes CPython takes",
                 script_path, (unsigned)path_size - 1);
        return -ENAMETOOLONG;
    }
    r = target_read(t, t->runtime + head, &interp, sizeof(interp));
    if (r == 0 && interp == 0) {
        snprintf(err, errlen, "pid %d has no running interpreter", (int)t->pid);
        return -ESRCH;
    }
    if (r == 0) {
        r = target_read(t, interp + enabled_off, &enabled, sizeof(enabled));
    }
    if (r < 0) {
        goto io;
    }
    if (enabled != 1) {
        snprintf(err, errlen,
                 "remote debugging is disabled in pid %d (PYTHON_DISABLE_REMOTE_DEBUG, "
                 "-X disable_remote_debug or a build without it)",
                 (int)t->pid);
        return -ENOTCONN;
    }
    r = target_read(t, interp + threads_main, &tstate, sizeof(tstate));
    if (r == 0 && tstate == 0) {
        snprintf(err, errlen, "pid %d has no main thread state", (int)t->pid);
        return -ESRCH;
    }
    /* The path first, then the flag that says it is there, then the bit
     * that makes the main thread look (the order CPython's sender uses). */
    if (r == 0) {
        r = target_write(t, tstate + support + path_off, script_path, strlen(script_path) + 1);
    }
    if (r == 0) {
        r = target_write(t, tstate + support + pending_off, &one, sizeof(one));
    }
    if (r == 0) {
        r = target_read(t, tstate + breaker, &eval_breaker, sizeof(eval_breaker));
    }
    if (r == 0) {
        eval_breaker |= EVAL_PLEASE_STOP_BIT;
        r = target_write(t, tstate + breaker, &eval_breaker, sizeof(eval_breaker));
    }
    if (r < 0) {
        goto io;
    }
    ret->pending = tstate + support + pending_off;
    ret->path = tstate + support + path_off;
    return 0;
io:
    if (r == -EPERM || r == -EACCES) {
        target_explain_eperm(t, "cannot write into", err, errlen);
    } else {
        snprintf(err, errlen, "pid %d: reading or writing its memory failed: %s", (int)t->pid,
                 strerror(-r));
    }
    return r;
}

int
remote_exec_cancel(struct target *t, const struct remote_exec *re)
{
    int32_t pending = 0, zero = 0;
    char empty = '\0';
    int r = target_write(t, re->path, &empty, 1);

    if (r == 0) {
        r = target_read(t, re->pending, &pending, sizeof(pending));
    }
    if (r < 0) {
        return r;
    }
    if (pending != 1) {
        return 0;
    }
    /* The eval-breaker bit may stay set: the main thread then finds no
     * pending call and goes on. */
    r = target_write(t, re->pending, &zero, sizeof(zero));
    return r < 0 ? r : 1;
}
