/* SPDX-License-Identifier: MIT */
/*
 * e2e-internal: what the e2e helper files share among themselves (not for
 * tests).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct e2e_proc;

/* e2e-helpers.c */
int64_t now_ms(void);
int remaining_ms(int64_t deadline);
void sleep_ms(int ms);
/* The last max bytes of s (for messages). */
const char *tail(const char *s, size_t max);

/* e2e-proc.c */
void set_status(struct e2e_proc *p, int wstatus);
/* Forget (e2e_setup) or kill (e2e_teardown) the test's processes. */
void e2e_forget_procs(void);
void e2e_kill_procs(void);
