# SPDX-License-Identifier: MIT
"""Victim: caches that grow, shrink, are cleared and evict, one step at a
time, for the test that a sample which reuses the last complete one's
counts (agent/scan/scan-steady.c) reports what a complete sample does
(tests/registry).

Item.calc is an unbounded method cache, Item.near a bounded one (maxsize
40), Item.tag a bounded one (maxsize 64) that no class or module names
(a closure holds it, as typing's _tp_cache does: an "inner" wrapper, whose
entries the agent walks). Commands on stdin; after each, the victim sleeps
0.3 s (the agent, when it samples every 50 ms, sees the change meanwhile)
and prints its truth as one JSON line (Truth.compute_live: the objects it
still references are `kept`; every other tracked object alive is pinned):
  grow    30 new Items, each called in both caches; every third kept
  leak    30 new Items through the unbounded cache only, none kept (only
          that cache grows: a sample reads just the new entries)
  drop    the program lets go of half the Items it keeps (they become pinned)
  revive  it takes back every Item still alive (gc.get_objects()): none pinned
  hits    calls already cached only (nothing changes)
  evict   20 new Items through the bounded cache only (it evicts the oldest)
  few     5 new Items through both bounded caches (near and tag), none kept
          (after one grow: no eviction, the caches only grow)
  hold    30 new Items through the unbounded cache only, all kept apart
          (`hold N`: N of them)
  let     the program lets go of those (each becomes pinned, in one row)
  swap    let, and `leak` in the same step (`swap N`: N new Items)
  clear   Item.calc.cache_clear()
  rename  Item.calc.__qualname__ becomes Item.calc_renamed, or back
  remake  the module's `remade` cache is dropped and a new one made (most
          likely at the freed wrapper's address) around the other one of two
          functions of the same name, defined at different lines, called
          with up to five kept Items
  quit    exits 0
"""
import functools
import gc
import json
import sys
import time

from e2e_truth import Truth


def closure_cache(maxsize):
    """A cache only a closure holds (typing's _tp_cache does the same)."""
    def decorate(func):
        cached = functools.lru_cache(maxsize=maxsize)(func)

        def call(*args):
            return cached(*args)
        return call
    return decorate


class Item:
    def __init__(self, n):
        self.n = n
        self.payload = bytearray(64)

    @functools.lru_cache(maxsize=None)
    def calc(self, k):
        return self.n + k

    @functools.lru_cache(maxsize=40)
    def near(self, k):
        return self.n - k

    @closure_cache(64)
    def tag(self, k):
        return (self.n, k)


remade = None


def remade_first(item):
    return item.n


def remade_second(item):
    return -item.n


remade_first.__qualname__ = remade_second.__qualname__ = "remade"


def main():
    global remade
    truth = Truth()
    truth.cache(Item.calc, "method")
    truth.cache(Item.near, "method")
    truth.cache(Item.tag.__closure__[0].cell_contents, "function")
    kept = []
    held = []
    made = 0
    print("READY", flush=True)
    for line in sys.stdin:
        cmd, _, count = line.strip().partition(" ")
        count = int(count or 30)
        if cmd == "grow":
            for _ in range(30):
                item = truth.track(Item(made))
                item.calc(1)
                item.near(1)
                item.tag(1)
                if made % 3 == 0:
                    kept.append(item)
                made += 1
            item = None
        elif cmd == "leak":
            for _ in range(30):
                truth.track(Item(made)).calc(3)
                made += 1
        elif cmd == "drop":
            del kept[::2]
        elif cmd == "revive":
            kept = [o for o in gc.get_objects() if type(o) is Item]
        elif cmd == "hits":
            for item in kept:
                item.calc(1)
            item = None
        elif cmd == "evict":
            for _ in range(20):
                truth.track(Item(made)).near(2)
                made += 1
        elif cmd == "few":
            for _ in range(5):
                item = truth.track(Item(made))
                item.near(5)
                item.tag(5)
                made += 1
            item = None
        elif cmd == "hold":
            for _ in range(count):
                held.append(truth.track(Item(made)))
                held[-1].calc(4)
                made += 1
        elif cmd == "let":
            held = []
        elif cmd == "swap":
            held = []
            for _ in range(count):
                truth.track(Item(made)).calc(3)
                made += 1
        elif cmd == "clear":
            Item.calc.cache_clear()
        elif cmd == "rename":
            renamed = Item.calc.__qualname__ == "Item.calc"
            Item.calc.__qualname__ = "Item.calc_renamed" if renamed else "Item.calc"
        elif cmd == "remake":
            func = remade_second if remade is not None and remade.__wrapped__ is remade_first \
                else remade_first
            remade = None
            remade = functools.lru_cache(maxsize=None)(func)
            truth.cache(remade, "function")
            for item in kept[:5]:
                remade(item)
        elif cmd == "quit":
            return
        else:
            raise SystemExit("unknown command %r" % cmd)
        time.sleep(0.3)
        print(json.dumps(truth.compute_live(*kept, *held), sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
