# SPDX-License-Identifier: MIT
"""Victim: the main thread blocked in one long system call.

Usage: blocked.py MODE SECONDS, where MODE is
  sleep      time.sleep(SECONDS)
  nanosleep  libc nanosleep(SECONDS) through ctypes: no Python retry on EINTR
  select     libc select() with no fds and a SECONDS timeout, through ctypes
  poll       libc poll() on a pipe nobody writes, SECONDS timeout, ctypes
  accept     libc accept() on a listening socket, through ctypes; it prints
             "PORT <n>" first and waits for one connection (the test
             connects after the attach)
It builds a few cached objects, prints READY, makes the call and prints one
JSON line {"mode", "ret", "errno", "elapsed"}: the C library's own return
value and errno, so an interrupted call that was not resumed shows. Then it
waits for "go" and prints its truth (e2e_truth).
"""
import ctypes
import functools
import json
import socket
import sys
import time

from e2e_truth import Truth


class Item:
    def __init__(self, n):
        self.n = n
        self.payload = bytes(1000)

    @functools.lru_cache(maxsize=None)
    def value(self):
        return self.n * 2


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class Pollfd(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short)]


def main():
    mode, seconds = sys.argv[1], float(sys.argv[2])
    libc = ctypes.CDLL(None, use_errno=True)
    truth = Truth()
    items = [truth.track(Item(i)) for i in range(40)]
    for item in items:
        item.value()
    kept = items[::4]
    items = item = None
    truth.cache(Item.value, "method")
    listener = None
    if mode == "accept":
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        print("PORT %d" % listener.getsockname()[1], flush=True)
    print("READY", flush=True)
    start = time.monotonic()
    if mode == "sleep":
        time.sleep(seconds)
        ret = 0
    elif mode == "nanosleep":
        ts = Timespec(int(seconds), int((seconds % 1) * 1e9))
        ret = libc.nanosleep(ctypes.byref(ts), None)
    elif mode == "select":
        tv = Timeval(int(seconds), int((seconds % 1) * 1e6))
        ret = libc.select(0, None, None, None, ctypes.byref(tv))
    elif mode == "poll":
        import os
        r, w = os.pipe()
        fds = Pollfd(r, 1, 0)  # POLLIN
        ret = libc.poll(ctypes.byref(fds), 1, int(seconds * 1000))
    elif mode == "accept":
        ret = libc.accept(listener.fileno(), None, None)
    else:
        raise SystemExit("unknown mode %s" % mode)
    errno = ctypes.get_errno() if ret < 0 else 0
    elapsed = time.monotonic() - start
    print(json.dumps({"mode": mode, "ret": ret, "errno": errno, "elapsed": elapsed}), flush=True)
    line = sys.stdin.readline()
    if line.strip() != "go":
        sys.exit(2)
    truth.finish(kept)


if __name__ == "__main__":
    main()
