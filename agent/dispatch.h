/* SPDX-License-Identifier: MIT */
/*
 * dispatch: turn one request line into one reply. Runs on the server
 * thread; never touches Python: a snapshot request only asks the sampler
 * thread for a sample (agent.want_sample) and tells the server which sample
 * number to wait for.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"

/*
 * Handle line[0..len) (no '\n'). Returns 0 with the complete reply line
 * appended to out, or 1 when the reply is "the first sample that began
 * after the request", i.e. whose begin number is > *ret_after (the server
 * sends it with dispatch_write_sample once dispatch_seq() > *ret_after, or
 * dispatch_write_timeout).
 */
int dispatch_request(const char *line, size_t len, struct jsonw *out, uint64_t *ret_after);
/* Append {"ok":true,"sample":<latest>}\n, or an error if there is none. */
void dispatch_write_sample(struct jsonw *out);
void dispatch_write_timeout(struct jsonw *out);
/* The begin number of the latest published sample (see agent_sample_begin). */
uint64_t dispatch_seq(void);
