/* SPDX-License-Identifier: MIT */
/*
 * log: the agent's own log. Silent unless LRULEAK_LOG names a file; never
 * writes to the host's stdout or stderr. log_open() is called by the
 * constructor or an attach before the agent's threads start, and only the
 * first successful open counts; log_msg() is thread-safe (one write(2) per
 * line, O_APPEND).
 */
#pragma once

void log_open(const char *path);
/* printf-style; the line gets a "lruleak[pid]: " prefix and a newline. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
