/* SPDX-License-Identifier: MIT */
/*
 * follow-fork: re-arming the agent in a child of os.fork() (see
 * follow-fork.c).
 */
#pragma once

/* The after_in_child hook's work: on the child's only thread, with the
 * GIL. Leaves the child dormant when the parent was not sampling, when
 * LRULEAK_FOLLOW_FORKS=0, or when something fails (logged). */
void follow_fork_child(void);
