# SPDX-License-Identifier: MIT
"""Victim: instances in reference cycles, or inside their own cached results.

- Selfish.get: every instance has self.me = self;
- Caller.run: every instance has self.callback = self.run (a bound method,
  so instance -> method -> instance);
- Builder.build returns self (the instance is its own cached result);
- Builder.pair returns (self, 1) and Builder.listed returns [self] (the
  instance sits inside its cached result).
A cycle is no way in from outside: the dropped ones are pinned, exactly as
the acyclic ones would be. Some of each kind stay referenced from a list.
"""
import functools

from e2e_truth import Truth


class Selfish:
    def __init__(self, n):
        self.n = n
        self.me = self

    @functools.lru_cache(maxsize=None)
    def get(self, k):
        return self.n + k


class Caller:
    def __init__(self, n):
        self.n = n
        self.callback = self.run

    @functools.lru_cache(maxsize=None)
    def run(self, k):
        return self.n * k


class Builder:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def build(self):
        return self

    @functools.lru_cache(maxsize=None)
    def pair(self, k):
        return (self, k)

    @functools.lru_cache(maxsize=None)
    def listed(self):
        return [self]


def build(truth):
    kept = []
    for i in range(30):
        s = truth.track(Selfish(i))
        s.get(1)
        c = truth.track(Caller(i))
        c.callback(2)
        b = truth.track(Builder(i))
        if i % 3 == 0:
            b.build()
        if i % 3 == 1:
            b.pair(1)
        if i % 3 == 2:
            b.listed()
        if i % 4 == 0:
            kept.extend((s, c, b))
    truth.cache(Selfish.get, "method")
    truth.cache(Caller.run, "method")
    truth.cache(Builder.build, "method")
    truth.cache(Builder.pair, "method")
    truth.cache(Builder.listed, "method")
    return kept


def main():
    truth = Truth()
    kept = build(truth)
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
