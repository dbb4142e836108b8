# SPDX-License-Identifier: MIT
"""Victim for `lruleak run`: multiprocessing.Pool workers that leak.

Usage: pool_workers.py START_METHOD TRUTH_FILE
A pool of 2 workers (fork, forkserver or spawn) maps task over 1..12: each
task pins n new Worker objects through Worker.compute and returns the
worker's pid and how many of the Worker objects it ever made are still
alive after gc.collect() - the program refers to none of them, so that is
what the cache pins in that worker. The pool is closed and joined, so
every worker ends the way its start method ends it (os._exit() for fork
and forkserver, interpreter exit for spawn). The parent writes
{"parent": pid, "workers": {pid: pinned}} to TRUTH_FILE.
"""
import functools
import gc
import json
import multiprocessing
import os
import sys
import time
import weakref


class Worker:
    @functools.lru_cache(maxsize=None)
    def compute(self, n):
        return n


REFS = []


def task(n):
    for _ in range(n):
        w = Worker()
        REFS.append(weakref.ref(w))
        w.compute(n)
    w = None
    gc.collect()
    return os.getpid(), sum(1 for r in REFS if r() is not None)


def main():
    method, path = sys.argv[1], sys.argv[2]
    # Let the agent take its first look (and install its fork hooks).
    time.sleep(0.3)
    pool = multiprocessing.get_context(method).Pool(2)
    results = pool.map(task, range(1, 13), chunksize=1)
    pool.close()
    pool.join()
    workers = {}
    for pid, alive in results:
        workers[str(pid)] = max(workers.get(str(pid), 0), alive)
    with open(path, "w") as f:
        json.dump({"parent": os.getpid(), "workers": workers}, f)


if __name__ == "__main__":
    main()
