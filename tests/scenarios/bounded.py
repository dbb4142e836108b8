# SPDX-License-Identifier: MIT
"""Victim: a bounded cache (maxsize=16) next to an unbounded one.

100 Items call both Item.small (lru_cache(maxsize=16): only the last 16
selves survive, verdict "bounded") and Item.big (lru_cache(maxsize=None):
every dropped Item is pinned, verdict "leak"). Every seventh Item is kept.
"""
import functools

from e2e_truth import Truth


class Item:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=16)
    def small(self, k):
        return self.n * k

    @functools.lru_cache(maxsize=None)
    def big(self, k):
        return self.n + k


def build(truth):
    kept = []
    for i in range(100):
        item = truth.track(Item(i))
        item.small(1)
        item.small(2)
        item.big(1)
        if i % 7 == 3:
            kept.append(item)
    truth.cache(Item.small, "method")
    truth.cache(Item.big, "method")
    return kept


def main():
    truth = Truth()
    kept = build(truth)
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
