/* SPDX-License-Identifier: MIT */
/*
 * utf8: validation of one UTF-8 sequence, shared by the JSON reader (which
 * rejects invalid input) and the JSON writer (which replaces it with
 * U+FFFD). RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF. Pure C, no allocation.
 */
#include "config.h"

#include "utf8.h"

size_t
utf8_sequence_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t k;

    if (c >= 0xC2 && c <= 0xDF) {
        k = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        k = 3;
        if (c == 0xE0) {
            lo = 0xA0; /* overlong */
        } else if (c == 0xED) {
            hi = 0x9F; /* surrogates */
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4;
        if (c == 0xF0) {
            lo = 0x90; /* overlong */
        } else if (c == 0xF4) {
            hi = 0x8F; /* above U+10FFFF */
        }
    } else {
        return 0;
    }
    if (n < k || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
    }
    return k;
}
