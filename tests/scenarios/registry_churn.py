# SPDX-License-Identifier: MIT
"""Victim: wrappers made and freed while the agent samples (tests/registry).

Two threads make objects with per-instance caches and closure caches, call
them and drop most of them, for --seconds; a class made inside a function
gets a cached method on the way (its wrapper is made while the class body
runs). Then the survivors are registered with the truth (e2e_truth.py) and
the victim waits: a `lruleak snapshot --quick` must count exactly them.
"""
import argparse
import functools
import threading
import time

from e2e_truth import Truth


class Key:
    def __init__(self, n):
        self.n = n


class Item:
    def __init__(self, n):
        self.n = n
        self.get = functools.lru_cache(maxsize=8)(self._get)

    def _get(self, key):
        return self.n + key.n


def closure(n):
    @functools.lru_cache(maxsize=None)
    def find(key):
        return key.n * n
    return find


def local_class():
    class Local:
        @functools.lru_cache(maxsize=None)
        def value(self):
            return 1
    return Local


def worker(seconds, kept, lock):
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        item, find = Item(i), closure(i)
        key = Key(i)
        item.get(key)
        find(key)
        if i % 97 == 0:
            with lock:
                kept.append((item, find, key))
        i += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=1.5)
    args = ap.parse_args()
    kept, lock = [], threading.Lock()
    threads = [threading.Thread(target=worker, args=(args.seconds, kept, lock))
               for _ in range(2)]
    for t in threads:
        t.start()
    cls = local_class()
    objs = [cls() for _ in range(5)]
    for o in objs:
        o.value()
    for t in threads:
        t.join()
    truth = Truth()
    truth.cache(cls.value, "method")
    for o in objs[:2]:
        truth.track(o)
    pinned_objs = objs[2:]
    for o in pinned_objs:
        truth.track(o)
    del objs[2:], pinned_objs, o
    for item, find, key in kept:
        truth.cache(item.get, "per-instance")
        truth.cache(find, "function")
        truth.track(key)
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
