# SPDX-License-Identifier: MIT
"""Victim: a program that forks while the agent samples it.

Fills a method cache (so the agent is sampling, not waiting), waits a few
sampling intervals, then forks 20 children one after another and runs a
fork-context multiprocessing pool. Its whole output is deterministic, so a
run under the agent must print exactly what a run without it prints: on
CPython 3.12+ that includes no "This process is multi-threaded, use of
fork() may lead to deadlocks" DeprecationWarning caused by the agent's own
threads.
"""
import functools
import multiprocessing
import os
import time


class Item:
    @functools.lru_cache(maxsize=None)
    def value(self, x):
        return x * 2


def square(n):
    return n * n


def main():
    items = [Item() for _ in range(200)]
    for i, item in enumerate(items):
        item.value(i)
    time.sleep(0.4)
    for i in range(20):
        pid = os.fork()
        if pid == 0:
            print("child", i, Item().value(i), flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        print("pool", sum(pool.map(square, range(20))), flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
