# SPDX-License-Identifier: MIT
"""Victim of stress-inert: the fork shapes of issue 10, short enough to run
hundreds of times.

Fills a method cache, sleeps while the agent samples (the caller sets a
10 ms interval), then forks twice: from the main thread (the child leaks
into the cache and leaves with os._exit), and from a second thread (in the
child that thread simply returns, so the child's last Python thread ends
with pthread_exit and the process must exit at once). Run with
`-W error::DeprecationWarning`: on CPython 3.12+ a fork while the agent's
threads are visible raises instead of warning. Its output is deterministic;
under the agent it must be exactly what it is without.
"""
import functools
import os
import sys
import threading
import time


class Item:
    @functools.lru_cache(maxsize=None)
    def value(self, x):
        return x * 2


def code(status):
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)


def from_thread():
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        print("thread's child exited", code(status), flush=True)
    else:
        print("thread's child", flush=True)
    # in the child, this thread (its only one) returns here


def main():
    items = [Item() for _ in range(100)]
    for i, item in enumerate(items):
        item.value(i)
    time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 0.15)
    pid = os.fork()
    if pid == 0:
        print("child", Item().value(21), flush=True)
        os._exit(3)
    _, status = os.waitpid(pid, 0)
    print("child exited", code(status), flush=True)
    t = threading.Thread(target=from_thread)
    t.start()
    t.join()
    print("done", len(items), flush=True)


if __name__ == "__main__":
    main()
