/* SPDX-License-Identifier: MIT */
/*
 * metrics-addr: parse the exporter's --listen ADDR (see metrics-addr.h for
 * the forms and the loopback rule). Numeric addresses only (inet_pton):
 * nothing here resolves names, so what is bound is what was typed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics-addr.h"
#include "util.h"

static int
parse_port(const char *s, unsigned *ret)
{
    unsigned long v;
    char *end;

    if (s[0] < '0' || s[0] > '9' || strlen(s) > 5) {
        return -EINVAL;
    }
    v = strtoul(s, &end, 10);
    if (*end != '\0' || v > 65535) {
        return -EINVAL;
    }
    *ret = (unsigned)v;
    return 0;
}

int
metrics_addr_parse(const char *s, struct metrics_addr *ret, char *err, size_t errlen)
{
    struct metrics_addr a = {0};
    char host[64], shown[128];
    const char *port_s;
    unsigned port;
    size_t hn;

    err[0] = '\0';
    if (s == NULL || s[0] == '\0') {
        snprintf(err, errlen, "--listen wants [HOST]:PORT, e.g. 127.0.0.1:%d",
                 METRICS_DEFAULT_PORT);
        return -EINVAL;
    }
    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close[1] != ':') {
            snprintf(err, errlen, "--listen: '%s' is not [IPV6]:PORT",
                     util_printable(s, shown, sizeof(shown)));
            return -EINVAL;
        }
        hn = (size_t)(close - s - 1);
        if (hn >= sizeof(host)) {
            goto bad_host;
        }
        memcpy(host, s + 1, hn);
        host[hn] = '\0';
        port_s = close + 2;
        if (parse_port(port_s, &port) < 0) {
            goto bad_port;
        }
        {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;

            if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
                goto bad_host;
            }
            sin6->sin6_family = AF_INET6;
            sin6->sin6_port = htons((uint16_t)port);
            a.len = sizeof(*sin6);
            a.loopback =
                IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
                (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && sin6->sin6_addr.s6_addr[12] == 127);
        }
        goto done;
    }
    port_s = strrchr(s, ':');
    if (port_s == NULL) {
        /* "9464": a port alone. */
        port_s = s;
        hn = 0;
    } else {
        hn = (size_t)(port_s - s);
        port_s++;
    }
    if (parse_port(port_s, &port) < 0) {
        goto bad_port;
    }
    if (hn >= sizeof(host)) {
        goto bad_host;
    }
    memcpy(host, s, hn);
    host[hn] = '\0';
    if (hn == 0 || strcmp(host, "localhost") == 0) {
        strcpy(host, "127.0.0.1");
    }
    {
        struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

        if (strchr(host, ':') != NULL) {
            snprintf(err, errlen, "--listen: write an IPv6 address in brackets: [%s]:PORT",
                     util_printable(host, shown, sizeof(shown)));
            return -EINVAL;
        }
        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
            goto bad_host;
        }
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        a.len = sizeof(*sin);
        a.loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    }
done:
    *ret = a;
    return 0;
bad_port:
    snprintf(err, errlen, "--listen: '%s' has no port from 0 to 65535 (e.g. 127.0.0.1:%d)",
             util_printable(s, shown, sizeof(shown)), METRICS_DEFAULT_PORT);
    return -EINVAL;
bad_host:
    snprintf(err, errlen,
             "--listen: '%s' is not a numeric address (give 127.0.0.1, localhost, [::1], or "
             "the address to serve on, e.g. 0.0.0.0 for every interface; names are not "
             "resolved)",
             util_printable(s, shown, sizeof(shown)));
    return -EINVAL;
}

const char *
metrics_addr_format(const struct metrics_addr *a, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;

        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        snprintf(buf, size, "[%s]:%u", host, (unsigned)ntohs(sin6->sin6_port));
    } else {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;

        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        snprintf(buf, size, "%s:%u", host, (unsigned)ntohs(sin->sin_port));
    }
    return buf;
}
