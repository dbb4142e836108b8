/* SPDX-License-Identifier: MIT */
/*
 * fdhigh: the agent's descriptors live high, out of the program's way.
 *
 * Programs reason about descriptor numbers: CPython's own tests check that
 * a number they closed is free in a child, servers hand out the lowest free
 * numbers in order. A socket or eventfd of ours on the lowest free number
 * would be seen (CPython 3.14's test_os.test_pipe_spawnl saw one). So every
 * descriptor the agent keeps is moved to the upper quarter of the soft
 * RLIMIT_NOFILE (from 768 of 1024), close-on-exec.
 */
#pragma once

/* Move fd to a high number (close-on-exec) and return the new one; fd
 * itself is closed. Returns fd unchanged when it is < 0, or when no high
 * number can be had (then at least above 2). */
int fdhigh_move(int fd);
