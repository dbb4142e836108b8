/* SPDX-License-Identifier: MIT */
/* utf8: see utf8.c. */
#pragma once

#include <stddef.h>

/*
 * Length (2-4) of the valid multi-byte UTF-8 sequence at s[0..n), where
 * s[0] >= 0x80; 0 when the bytes there are not one (truncated, overlong,
 * surrogate, above U+10FFFF, a stray continuation byte).
 */
size_t utf8_sequence_len(const unsigned char *s, size_t n);
