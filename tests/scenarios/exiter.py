# SPDX-License-Identifier: MIT
"""Victim: a short-lived process that ends while the agent is sampling.

Usage: exiter.py MODE DELAY_MS
Builds a few thousand cached entries (so a sample takes some milliseconds),
spins for DELAY_MS, then ends in one of these ways (MODE):
  return     falls off the end of the script (status 0)
  exit       sys.exit(3)
  raise      an uncaught exception (status 1, a traceback on stderr)
  _exit      os._exit(4): no atexit handlers, no interpreter finalisation
  threads    returns while 4 daemon threads still call cached methods
  sigterm    kills itself with SIGTERM (status 128+15)
It prints one line, "exiter MODE" plus a checksum, before it ends; a run
with the agent must print exactly what a run without it prints.
"""
import functools
import os
import signal
import sys
import threading
import time


class Item:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def value(self, k):
        return self.n * k


@functools.lru_cache(maxsize=256)
def square(item):
    return item.n * item.n


def churn(items, stop):
    i = 0
    while not stop.is_set():
        item = Item(i)
        item.value(1)
        square(items[i % len(items)])
        i += 1


def main():
    mode, delay = sys.argv[1], float(sys.argv[2]) / 1000.0
    items = [Item(i) for i in range(3000)]
    checksum = sum(item.value(2) for item in items) + sum(square(i) for i in items[:200])
    if mode == "threads":
        stop = threading.Event()
        for _ in range(4):
            threading.Thread(target=churn, args=(items, stop), daemon=True).start()
    end = time.monotonic() + delay
    while time.monotonic() < end:
        pass
    print("exiter %s %d" % (mode, checksum), flush=True)
    if mode == "exit":
        sys.exit(3)
    if mode == "raise":
        raise RuntimeError("exiter: the uncaught exception")
    if mode == "_exit":
        os._exit(4)
    if mode == "sigterm":
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)


if __name__ == "__main__":
    main()
