/* SPDX-License-Identifier: MIT */
/*
 * dispatch: turn one request line into one reply. Runs on the server
 * thread; never touches Python: a snapshot request only asks the sampler
 * thread for a sample (agent.want_sample) and tells the server which request
 * number the sample it waits for must answer.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"

/*
 * Handle line[0..len) (no '\n'). Returns 0 with the complete reply line
 * appended to out, 1 when the reply is "the first sample that began after
 * request number *ret_after" (the server sends it with
 * dispatch_write_sample once dispatch_answered() >= *ret_after, or
 * dispatch_write_timeout), or 2 for an accepted detach (the server replies
 * with dispatch_write_detached once the agent is out).
 */
int dispatch_request(const char *line, size_t len, struct jsonw *out, uint64_t *ret_after);
/* Append {"ok":true,"sample":<latest>}\n, or an error if there is none. */
void dispatch_write_sample(struct jsonw *out);
void dispatch_write_timeout(struct jsonw *out);
/* Append {"ok":true,"state":"detached"}\n. */
void dispatch_write_detached(struct jsonw *out);
/* Requests 1..dispatch_answered() have their sample (agent.answered). */
uint64_t dispatch_answered(void);
