/* SPDX-License-Identifier: MIT */
/*
 * attachopt: the options `lruleak attach` hands to an agent it loads into a
 * running process, shared by the CLI (which writes them) and the agent
 * (which reads them in lruleak_agent_attach or _lruleak.start).
 *
 * A running process cannot be given environment variables, so what
 * LRULEAK_INTERVAL, LRULEAK_DIR, LRULEAK_LOG and LRULEAK_RECORD say for a
 * preloaded agent travels as one text of "key=value" lines:
 *
 *   interval=0.5\n dir=/run/user/1000/lruleak\n log=/tmp/a.log\n
 *
 * The text crosses a process boundary, so the parser is strict about
 * bounds (ATTACHOPT_MAX bytes, values that fit their fields, numbers in
 * range) and ignores unknown keys, so that a newer CLI can talk to an older
 * agent. Never logs. Thread context: none.
 */
#pragma once

#include <stddef.h>

#include "sockpath.h"

/* Longest options text, NUL included. */
#define ATTACHOPT_MAX 2048
#define ATTACHOPT_PATH_MAX 512
/* Most tracemalloc frames an attach may ask for. */
#define ATTACHOPT_TRACE_ALLOC_MAX 100

struct attachopt {
    double interval;                 /* seconds between samples; 0: not given */
    char dir[SOCKPATH_MAX];          /* socket directory; "": not given */
    char log[ATTACHOPT_PATH_MAX];    /* agent log file; "": not given */
    char record[ATTACHOPT_PATH_MAX]; /* recording directory; "": not given */
    int trace_alloc;                 /* tracemalloc frames to start with; 0: not given */
};

/*
 * Write o as options text into buf. Returns 0, -EINVAL when a value holds
 * a newline or the interval is out of range, -ENAMETOOLONG when it does not
 * fit size (or ATTACHOPT_MAX).
 */
int attachopt_format(const struct attachopt *o, char *buf, size_t size);

/*
 * Parse options text (NULL or "" gives all defaults). Returns 0 and fills
 * *ret, or -EINVAL with a one-line reason in why (always NUL-terminated):
 * text longer than ATTACHOPT_MAX, a line without '=', an interval that is
 * not a number from 0.001 to 86400, a value too long for its field, a
 * relative path.
 */
int attachopt_parse(const char *text, struct attachopt *ret, char *why, size_t whylen);
