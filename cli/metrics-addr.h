/* SPDX-License-Identifier: MIT */
/*
 * metrics-addr: the --listen ADDR of `lruleak metrics`, parsed into a
 * socket address, with the rule that keeps the exporter on loopback unless
 * the user typed another address.
 *
 * Accepted forms: "PORT", ":PORT", "HOST:PORT", "[IPV6]:PORT". HOST is a
 * numeric IPv4 address, "localhost" (127.0.0.1) or, in brackets, a numeric
 * IPv6 address. An empty host means 127.0.0.1 (not "every interface", as
 * in Go programs). A host name other than localhost is refused: a
 * non-loopback address is served only when it is spelled out as a number
 * (0.0.0.0, [::], 192.0.2.7), never reached through a name or a default.
 * PORT is 0-65535 (0: the kernel picks one). Pure; never logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define METRICS_DEFAULT_PORT 9464

struct metrics_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    bool loopback; /* 127.0.0.0/8, ::1 or an IPv4-mapped 127.x */
};

/*
 * Parse s. Returns 0 and fills *ret, or -EINVAL with one line in err
 * (always NUL-terminated) saying what is wrong.
 */
int metrics_addr_parse(const char *s, struct metrics_addr *ret, char *err, size_t errlen);

/* "127.0.0.1:9464" or "[::1]:9464" into buf (at least 64 bytes). */
const char *metrics_addr_format(const struct metrics_addr *a, char *buf, size_t size);
