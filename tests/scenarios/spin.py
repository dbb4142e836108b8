# SPDX-License-Identifier: MIT
"""Victim: a CPU-bound main thread in pure Python.

It builds cached objects, prints READY and then computes in a tight Python
loop (no cached calls, no system calls but a zero-timeout select() on stdin
every 2000 rounds) until stdin says "go". Then it prints one JSON line
{"rounds", "max_gap_ms", "signals"} - the longest time between two
consecutive checks of the clock, i.e. the longest the loop stood still -
and its truth. With the argument "signals", a SIGALRM arrives every 2 ms
meanwhile (a Python handler counts them), also while an attach makes the
thread run code of ours.
"""
import functools
import json
import select
import signal
import sys
import time

from e2e_truth import Truth


class Shape:
    def __init__(self, n):
        self.n = n
        self.payload = bytes(800)

    @functools.lru_cache(maxsize=None)
    def area(self, scale):
        return self.n * scale


def main():
    truth = Truth()
    shapes = [truth.track(Shape(i)) for i in range(60)]
    for s in shapes:
        s.area(2)
    kept = shapes[:5]
    shapes = s = None
    truth.cache(Shape.area, "method")
    signals = [0]
    if sys.argv[1:] == ["signals"]:
        signal.signal(signal.SIGALRM, lambda sig, frame: signals.__setitem__(0, signals[0] + 1))
        signal.setitimer(signal.ITIMER_REAL, 0.002, 0.002)
    print("READY", flush=True)
    rounds, acc, max_gap = 0, 0, 0.0
    last = time.monotonic()
    while True:
        for i in range(2000):
            acc = (acc * 31 + i) % 1000003
        rounds += 1
        now = time.monotonic()
        max_gap = max(max_gap, now - last)
        last = now
        if select.select([sys.stdin], [], [], 0)[0]:
            break
    signal.setitimer(signal.ITIMER_REAL, 0)
    if sys.stdin.readline().strip() != "go":
        sys.exit(2)
    print(json.dumps({"rounds": rounds, "max_gap_ms": max_gap * 1000.0, "signals": signals[0]}),
          flush=True)
    truth.finish(kept)


if __name__ == "__main__":
    main()
