/* SPDX-License-Identifier: MIT */
/*
 * util: small helpers shared by the CLI modules (number parsing, human
 * units, clocks). Pure functions; never log.
 */
#pragma once

#include <stdio.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Parse a decimal pid (1..INT_MAX). Returns 0 and sets *ret_pid, or -EINVAL. */
int util_parse_pid(const char *s, pid_t *ret_pid);

/* Parse a positive number of seconds ("0.5", "2"); at least min. Returns 0
 * and sets *ret, or -EINVAL (not a number) / -ERANGE (out of range). */
int util_parse_seconds(const char *s, double min, double *ret);

/* "512 B", "10.0 KiB", "2.1 MiB"... into buf (always NUL-terminated). */
void util_format_bytes(int64_t bytes, char *buf, size_t size);

/* "0.42 s", "4.2 s", "12 s", "3 min 05 s", "2 h 07 min" into buf. */
void util_format_duration(double seconds, char *buf, size_t size);

/* Seconds on the monotonic clock. */
double util_now(void);

/* Sleep s seconds (a signal may end it early). */
void util_sleep(double s);

/* The last path component of path (a pointer into path). */
const char *util_basename(const char *path);

/* Write s to f with control characters escaped (\n, \t, \xHH), so that one
 * value stays on one line of a table. */
void util_put_printable(FILE *f, const char *s);
