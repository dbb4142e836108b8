# SPDX-License-Identifier: MIT
"""Victim: many cache rows, so that one sample is a long reply (about a
megabyte with the default CLASSES=3000, argv[1]): a client can be killed
in the middle of reading it.

Each generated class GenN has its own cached method GenN.cost (one wrapper
and one row each); one instance of every class goes through it, and every
third instance stays referenced. Ground truth as usual (e2e_truth.py).
"""
import functools
import sys

from e2e_truth import Truth


def make_class(i):
    def __init__(self, n):
        self.n = n

    def cost(self, k):
        return self.n * k + i

    cost.__qualname__ = "Gen%d.cost" % i
    return type("Gen%d" % i, (), {"__init__": __init__,
                                  "cost": functools.lru_cache(maxsize=None)(cost)})


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    truth = Truth()
    classes = [make_class(i) for i in range(count)]
    kept = []
    for i, cls in enumerate(classes):
        truth.cache(cls.cost, "method")
        obj = truth.track(cls(i))
        obj.cost(2)
        if i % 3 == 0:
            kept.append(obj)
    obj = None
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
