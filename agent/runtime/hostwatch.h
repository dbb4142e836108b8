/* SPDX-License-Identifier: MIT */
/*
 * hostwatch: the agent's threads never keep a process alive.
 *
 * A process ends when its last thread does. When a thread other than the
 * initial one forks, the child's only thread is an ordinary thread: when
 * its function returns, it ends with pthread_exit, and without our threads
 * the process would exit (status 0) right there. With them it would live
 * on forever with a zombie leader (tests/scenarios/fork_thread_returns.py).
 * So:
 *   - such a child's thread carries a thread-specific value whose
 *     destructor runs as the thread ends: when no other thread of the
 *     program is left, it asks our threads to take the final sample and
 *     end, and joins them; the process then exits as it would have;
 *   - the sampler also looks, at most every HOSTWATCH_PERIOD_S, whether
 *     the leader is a zombie and no thread of the program is left (any
 *     other way of ending the initial thread with pthread_exit, or a
 *     thread of the program that the destructor still saw, on its way
 *     out); once the sampler has ended without a detach (a child with
 *     nothing prepared to sample), the server looks instead.
 * The agent's own threads note their kernel thread ids (agent_note_thread)
 * so that they are not counted as the program's.
 */
#pragma once

#include <stdbool.h>

#define HOSTWATCH_PERIOD_S 0.1

/* Once, from agent_configure(): the key and the fork handler. */
void hostwatch_setup(void);
/* In an os.fork() child that the agent follows, on its only thread (with
 * the GIL): watch this thread's end if it is not the process's initial
 * thread in the parent (returns whether it did). */
bool hostwatch_arm_child(void);
/* Has every thread of the program ended (only the agent's are left)?
 * The sampler thread, or the server once the sampler has ended: never both
 * at once. Rate-limited, cheap when the answer is no. */
bool hostwatch_program_ended(void);
/* A detach (no thread of ours runs): close the descriptor the periodic
 * look keeps. */
void hostwatch_forget(void);
