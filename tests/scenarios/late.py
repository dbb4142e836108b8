# SPDX-License-Identifier: MIT
"""Victim: caches created well after the agent's first sample.

Waits 0.5 s (ten sampling intervals at LRULEAK_INTERVAL=0.05) before it
builds anything, then makes per-instance caches (Widget: the per-instance
fix, one wrapper in each instance dict) and a cached function reachable only
through a closure cell (make_cache.<locals>.lookup), pinning some Keys.
Neither lives in a class dict or a module global, so a sample finds them
only through a heap walk. `lruleak snapshot PID` right after READY should
still report them.
"""
import functools
import time

from e2e_truth import Truth


class Key:
    def __init__(self, n):
        self.n = n


class Widget:
    def __init__(self, n):
        self.n = n
        self.render = functools.lru_cache(maxsize=32)(self._render)

    def _render(self, scale):
        return self.n * scale


def make_cache():
    @functools.lru_cache(maxsize=None)
    def lookup(key):
        return key.n

    return lambda key: lookup(key), lookup


def build(truth):
    kept = []
    use, lookup = make_cache()
    kept.append(use)
    for i in range(20):
        w = Widget(i)
        w.render(1)
        w.render(2)
        kept.append(w)
        truth.cache(w.render, "per-instance")
        key = truth.track(Key(i))
        use(key)
        if i % 4 == 0:
            kept.append(key)
    truth.cache(lookup, "function")
    return kept


def main():
    time.sleep(0.5)
    truth = Truth()
    kept = build(truth)
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
