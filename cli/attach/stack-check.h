/* SPDX-License-Identifier: MIT */
/*
 * stack-check: may a stopped thread of the target run dlopen now?
 *
 * Running dlopen in a thread is like running it in a signal handler of
 * that thread: if the thread was interrupted inside malloc or free (an
 * arena lock, half-updated lists), inside the dynamic loader or dlopen
 * itself (the loader lock, half-built link maps), or in fork, thread
 * creation or exit, environment changes or exit handlers, the call could
 * deadlock or corrupt what the interrupted code was doing. So every frame
 * of the thread's stack is unwound (libunwind-ptrace) and looked up: a
 * frame anywhere in ld.so, or in an exported function of that list in any
 * object (glibc, a malloc replacement such as jemalloc, libdl, libpthread),
 * makes the thread unsafe for now.
 *
 * Functions are found through each object's .dynsym (exact ranges from
 * st_value and st_size), not libunwind's nearest-symbol names, which
 * misname the internal functions of a stripped libc.
 * Thread context: the tracer thread; the thread examined is ptrace-stopped.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "target.h"

struct stack_check;

/* NULL on OOM. The target must outlive it. */
struct stack_check *stack_check_new(struct target *t);
struct stack_check *stack_check_free(struct stack_check *sc);

/*
 * Unwind tid (stopped) and judge it. Returns 1 (safe), 0 (unsafe: why
 * names the function and the frame), or -errno when not even the first
 * frame could be read (callers treat that as unsafe).
 */
int stack_check_thread(struct stack_check *sc, pid_t tid, char *why, size_t whylen);
