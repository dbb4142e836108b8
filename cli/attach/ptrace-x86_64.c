/* SPDX-License-Identifier: MIT */
/*
 * ptrace-x86_64: the x86-64 side of the ptrace injector (see ptrace-arch.h).
 *
 * Registers: PTRACE_GETREGS/SETREGS for the general ones (orig_rax and
 * rax included: they carry an interrupted system call), and the whole
 * XSAVE area (NT_X86_XSTATE: x87, SSE, AVX, AVX-512...) for the rest, with
 * NT_PRFPREG as the fallback on kernels without it.
 *
 * System call restart: a thread interrupted in a blocking call stops with
 * orig_rax = the call's number and rax = -ERESTARTSYS, -ERESTARTNOINTR,
 * -ERESTARTNOHAND or -ERESTART_RESTARTBLOCK, rip just after the syscall
 * instruction. For our call, orig_rax = -1 keeps the kernel from rewinding
 * rip into our function; restoring the saved registers before the final
 * resume lets the kernel do exactly what it does after any stop: rewind
 * and repeat the call (accept, read, select with its updated timeout...) or
 * go through restart_syscall for nanosleep/poll (ERESTART_RESTARTBLOCK,
 * whose remaining time lives in the thread's restart_block, which our call
 * does not touch). Calls the kernel ends with EINTR on any stop
 * (epoll_wait, ...) return EINTR, as they would after SIGSTOP/SIGCONT.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#include "ptrace-arch.h"

#define XSTATE_MAX 16384
#define EFLAGS_TF (1UL << 8)
#define EFLAGS_DF (1UL << 10)

struct arch_state {
    struct user_regs_struct regs;
    int fp_type; /* NT_X86_XSTATE or NT_PRFPREG */
    size_t fp_len;
    unsigned char fp[XSTATE_MAX];
};

int
arch_save(pid_t tid, struct arch_state **ret)
{
    struct arch_state *s = calloc(1, sizeof(*s));
    struct iovec iov;

    if (s == NULL) {
        return -ENOMEM;
    }
    if (ptrace(PTRACE_GETREGS, tid, NULL, &s->regs) < 0) {
        int r = -errno;
        free(s);
        return r;
    }
    iov = (struct iovec){.iov_base = s->fp, .iov_len = sizeof(s->fp)};
    s->fp_type = NT_X86_XSTATE;
    if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov) < 0) {
        iov = (struct iovec){.iov_base = s->fp, .iov_len = sizeof(struct user_fpregs_struct)};
        s->fp_type = NT_PRFPREG;
        if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRFPREG, &iov) < 0) {
            int r = -errno;
            free(s);
            return r;
        }
    }
    s->fp_len = iov.iov_len;
    *ret = s;
    return 0;
}

struct arch_state *
arch_state_free(struct arch_state *s)
{
    free(s);
    return NULL;
}

int
arch_restore(pid_t tid, const struct arch_state *s)
{
    struct iovec iov = {.iov_base = (void *)s->fp, .iov_len = s->fp_len};

    if (ptrace(PTRACE_SETREGSET, tid, (void *)(long)s->fp_type, &iov) < 0) {
        return -errno;
    }
    if (ptrace(PTRACE_SETREGS, tid, NULL, &s->regs) < 0) {
        return -errno;
    }
    return 0;
}

uint64_t
arch_stack_pointer(const struct arch_state *s)
{
    return s->regs.rsp;
}

uint64_t
arch_pc(const struct arch_state *s)
{
    return s->regs.rip;
}

long
arch_syscall(const struct arch_state *s)
{
    return (long)s->regs.orig_rax;
}

int
arch_prepare_call(pid_t tid, const struct arch_state *s, uint64_t sp, uint64_t fn,
                  const uint64_t *args, int nargs, arch_write_fn write, void *ctx)
{
    struct user_regs_struct regs = s->regs;
    uint64_t ret_addr = ARCH_RETURN_ADDR;
    unsigned long long *argregs[6] = {&regs.rdi, &regs.rsi, &regs.rdx,
                                      &regs.rcx, &regs.r8,  &regs.r9};
    int r;

    if (nargs > 6 || (sp & 15) != 0) {
        return -EINVAL;
    }
    for (int i = 0; i < nargs; i++) {
        *argregs[i] = args[i];
    }
    /* The call pushed the return address: at entry rsp + 8 is 16-aligned. */
    sp -= 8;
    r = write(ctx, sp, &ret_addr, sizeof(ret_addr));
    if (r < 0) {
        return r;
    }
    regs.rsp = sp;
    regs.rip = fn;
    regs.rax = 0;                            /* no vector registers for a variadic callee */
    regs.orig_rax = -1ULL;                   /* no system call restart into our function */
    regs.eflags &= ~(EFLAGS_DF | EFLAGS_TF); /* the ABI wants DF clear at calls */
    if (ptrace(PTRACE_SETREGS, tid, NULL, &regs) < 0) {
        return -errno;
    }
    return 0;
}

int
arch_call_result(pid_t tid, bool *ret_returned, uint64_t *ret_value)
{
    struct user_regs_struct regs;

    if (ptrace(PTRACE_GETREGS, tid, NULL, &regs) < 0) {
        return -errno;
    }
    *ret_returned = regs.rip == ARCH_RETURN_ADDR;
    *ret_value = regs.rax;
    return 0;
}
