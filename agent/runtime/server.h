/* SPDX-License-Identifier: MIT */
/*
 * server: the agent's Unix socket, on its own thread, with no Python
 * knowledge (the anet model). Creates <dir>/<pid>.sock in a private
 * directory (sockpath), serves only peers with our uid or root
 * (SO_PEERCRED), reads bounded request lines, hands them to dispatch and
 * writes replies without ever blocking: a slow or stuck client only loses
 * its own connection.
 */
#pragma once

/* Create the socket and start the server thread once. Returns 0 or -errno
 * (logged; the agent keeps sampling without a socket). */
int server_start(void);
/* Start the server thread again after it left for os.fork() (agent.pausing),
 * with the same socket and clients. Returns 0 or -errno. */
int server_resume(void);
/* In an os.fork() child, before server_start(): close the parent's listening
 * socket and client connections (this process's copies; the parent's
 * socket file stays), so that a new socket for our pid can be made. */
void server_forget_parent(void);
