/* SPDX-License-Identifier: MIT */
/*
 * ptrace-arch: everything of the ptrace injector that depends on the CPU,
 * implemented once per architecture in ptrace-<cpu_family>.c (x86_64 today;
 * an aarch64 file would implement the same functions with NT_PRSTATUS,
 * x30 as the return address and NT_ARM_SYSTEM_CALL for the restart).
 *
 * The contract the injector relies on:
 *   - arch_save() captures every register the interrupted code can see,
 *     vector and floating-point state included, and the kernel's view of
 *     an interrupted system call (on x86-64: orig_rax and the -ERESTART*
 *     value in rax), so that arch_restore() puts the thread back exactly:
 *     when it is resumed, the kernel's own restart logic continues the
 *     system call it was blocked in, as after any other stop;
 *   - arch_prepare_call() makes the thread call fn(args) on its own stack
 *     below a given address, with no system call restart pending, and
 *     return to ARCH_RETURN_ADDR, an address that faults: the thread then
 *     stops with SIGSEGV (or SIGBUS) and arch_call_result() tells that stop
 *     apart from a real crash.
 * Thread context: the tracer thread; the tracee is in a ptrace-stop.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bytes below the stack pointer that the ABI lets leaf code use. */
#define ARCH_RED_ZONE 128
/* Where an injected call returns to: unmapped, so the return faults. */
#define ARCH_RETURN_ADDR 0

struct arch_state;

/* Save tid's registers. Returns 0 or -errno; free with arch_state_free. */
int arch_save(pid_t tid, struct arch_state **ret);
struct arch_state *arch_state_free(struct arch_state *s);
/* Put them back. Returns 0 or -errno. */
int arch_restore(pid_t tid, const struct arch_state *s);

uint64_t arch_stack_pointer(const struct arch_state *s);
uint64_t arch_pc(const struct arch_state *s);
/* The system call the thread was stopped in (its number), or -1. */
long arch_syscall(const struct arch_state *s);

/* Writes n bytes into the tracee's memory at addr; 0 or -errno. */
typedef int (*arch_write_fn)(void *ctx, uint64_t addr, const void *buf, size_t n);

/*
 * Set up tid (stopped, with saved state s) to call fn(args[0..nargs)) with
 * its stack just below sp (16-byte aligned, room below it is the caller's
 * business). At most 6 arguments. Returns 0 or -errno.
 */
int arch_prepare_call(pid_t tid, const struct arch_state *s, uint64_t sp, uint64_t fn,
                      const uint64_t *args, int nargs, arch_write_fn write, void *ctx);

/*
 * After tid stopped with a fault during a call: whether it is the return
 * to ARCH_RETURN_ADDR, and the function's return value. Returns 0 or
 * -errno.
 */
int arch_call_result(pid_t tid, bool *ret_returned, uint64_t *ret_value);
