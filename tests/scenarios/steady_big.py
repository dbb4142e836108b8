# SPDX-License-Identifier: MIT
"""Victim: a cache big enough that a steady sample's reference checks take
more than one slice (agent/scan/scan-precheck.c), for tests/registry.

Item.calc (unbounded) holds 300,000 Items, every third kept by the program.
Commands on stdin:
  hold    cache hits on the kept Items for 1 s (the agent samples meanwhile;
          nothing changes), then the truth as one JSON line
          (Truth.compute_live)
  quit    exits 0
"""
import functools
import json
import sys
import time

from e2e_truth import Truth

COUNT = 300_000


class Item:
    __slots__ = ("n", "__weakref__")

    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def calc(self, k):
        return self.n + k


def main():
    truth = Truth()
    truth.cache(Item.calc, "method")
    kept = []
    for n in range(COUNT):
        item = truth.track(Item(n))
        item.calc(1)
        if n % 3 == 0:
            kept.append(item)
    item = None
    print("READY", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "hold":
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                for obj in kept[:1000]:
                    obj.calc(1)
                obj = None
                time.sleep(0.01)
            print(json.dumps(truth.compute_live(*kept), sort_keys=True), flush=True)
        elif cmd == "quit":
            return
        else:
            raise SystemExit("unknown command %r" % cmd)


if __name__ == "__main__":
    main()
