# SPDX-License-Identifier: MIT
"""Victim: a fixed CPU-bound workload, timed, next to a cached heap.

Usage: workload.py [INSTANCES] [REPEATS]
Builds INSTANCES Parts (default 5000) held by two cached methods, so that
every sample of the agent has real work to do, and prints WARM, then waits
for "run" on stdin, runs REPEATS (default 7) repeats of a pure-Python
workload (dict and string work plus cached calls, the same every time) and
prints one JSON line: {"repeats": [wall seconds of each], "checksum": N}.
The checksum never depends on timing, so runs with and without the agent
must print the same. Then the usual ground truth: READY, "go", the truth
line (see e2e_truth.py).
"""
import functools
import json
import sys
import time

from e2e_truth import Truth


class Part:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def weight(self):
        return self.n * 3

    @functools.lru_cache(maxsize=None)
    def label(self, prefix):
        return "%s-%d" % (prefix, self.n)


@functools.lru_cache(maxsize=1024)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def workload():
    total = 0
    table = {}
    for i in range(2000000):
        key = "k%d" % (i % 5000)
        table[key] = table.get(key, 0) + i
        total += fib(i % 300) % 1000
    for v in table.values():
        total ^= v
    return total


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    truth = Truth()
    truth.cache(Part.weight, "method")
    truth.cache(Part.label, "method")
    truth.cache(fib, "function")
    kept = []
    for i in range(count):
        part = truth.track(Part(i))
        part.weight()
        part.label("p")
        if i % 4 == 0:
            kept.append(part)
    part = None
    print("WARM", flush=True)
    if sys.stdin.readline().strip() != "run":
        sys.exit(2)
    times, checksum = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        checksum = (checksum * 31 + workload()) % (1 << 61)
        times.append(round(time.perf_counter() - t0, 6))
    print(json.dumps({"repeats": times, "checksum": checksum}), flush=True)
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
