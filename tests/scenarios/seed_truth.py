# SPDX-License-Identifier: MIT
"""Victim: the bundled seed example (tests/scenarios/seed.py) under ground truth.

Drives seed's own classes: SlowAdder.calculate (method, unbounded: leaks),
SlowAdder.scaled (method, maxsize=16), FixedAdder (per-instance caches),
Config.load (classmethod) and Config.parse (staticmethod). Some adders stay
referenced from a list; NeverCalled has a cache with no entries, which the
agent must not list. Usage: seed_truth.py [N]
"""
import functools
import sys

from e2e_truth import Truth  # noqa: E402  (first: it completes 3.8's functools)
import seed  # noqa: E402  (next to this file)


class NeverCalled:
    @functools.lru_cache(maxsize=None)
    def idle(self, x):
        return x


def build(truth, n):
    kept = []
    fixed = []
    for i in range(n):
        adder = truth.track(seed.SlowAdder(i))
        adder.calculate(1)
        adder.calculate(2)
        adder.scaled(3)
        if i % 4 == 0:
            kept.append(adder)
        if i % 5 == 0:
            f = seed.FixedAdder(i)
            f.calculate(1)
            f.calculate(2)
            f.calculate(1)
            fixed.append(f)
            truth.cache(f.calculate, "per-instance")
        seed.Config.parse(str(i % 10))
        seed.Config.load("app")
    truth.cache(seed.SlowAdder.calculate, "method")
    truth.cache(seed.SlowAdder.scaled, "method")
    truth.cache(seed.Config.__dict__["load"].__func__, "classmethod")
    truth.cache(seed.Config.parse, "staticmethod")
    truth.cache(NeverCalled.idle, "method")
    return kept, fixed


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    truth = Truth()
    kept, fixed = build(truth, n)
    truth.ready_and_wait()
    truth.finish(kept, fixed)


if __name__ == "__main__":
    main()
