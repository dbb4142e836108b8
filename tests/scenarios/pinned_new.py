# SPDX-License-Identifier: MIT
"""Victim: _lruleak.pinned_new() against _lruleak.pinned(False).

Usage: pinned_new.py AGENT_DIR (run with the agent preloaded, sampling
every few milliseconds: its own samples, complete or not, come between the
steps too). Item.calc is an unbounded method cache, Item.near a bounded one
(maxsize 16); the steps grow them, let selves go (released selves), evict,
clear, revive and leave them alone, in a fixed pseudo-random order. After
each step the objects pinned_new() returned so far (all of them, when it
says all; else the earlier ones plus the new ones, which it says are new)
must be, row by row and by identity, what pinned(False) returns. Prints one
JSON line: the checks made, how many answered with only the new objects,
how many of those held some, how many answered with all after the first,
and the mismatches; exits 0.
"""
import functools
import gc
import json
import random
import sys
import weakref

sys.path.insert(0, sys.argv[1])
import _lruleak  # noqa: E402


class Item:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def calc(self, k):
        return self.n + k

    @functools.lru_cache(maxsize=16)
    def near(self, k):
        return self.n - k


def key_of(row):
    return (row["module"], row["qualname"], row["file"], row["line"], row["kind"])


def ids_of(rows):
    """Per row, the pinned objects' ids (the objects are dropped at once)."""
    return {key_of(r): {id(o) for o in r["objects"]} for r in rows}


def main():
    rng = random.Random(7)
    kept, held = [], []
    made = 0
    got = {}  # row -> {id: weak reference}: what pinned_new() handed over
    stats = {"checks": 0, "delta": 0, "delta_new": 0, "all_again": 0, "mismatches": []}
    steps = ["grow", "hits", "hold", "let", "hits", "grow", "drop", "evict", "hits", "hold",
             "let", "revive", "grow", "clear", "hold", "let", "hits"]
    steps += [rng.choice(["grow", "hits", "hold", "let", "drop", "evict", "hits", "grow"])
              for _ in range(60)]
    every, rows = _lruleak.pinned_new(True)
    for step in steps:
        if step == "grow":
            for _ in range(12):
                item = Item(made)
                item.calc(1)
                if made % 3 == 0:
                    kept.append(item)
                made += 1
            item = None
        elif step == "hits":
            for item in kept[:5]:
                item.calc(1)
            item = None
        elif step == "hold":
            for _ in range(6):
                held.append(Item(made))
                held[-1].calc(2)
                made += 1
        elif step == "let":
            held = []
        elif step == "drop":
            del kept[::2]
        elif step == "evict":
            for _ in range(4):
                Item(made).near(1)
                made += 1
        elif step == "revive":
            kept = [o for o in gc.get_objects() if type(o) is Item]
        elif step == "clear":
            Item.calc.cache_clear()
        every, rows = _lruleak.pinned_new()
        stats["checks"] += 1
        if every:
            stats["all_again"] += 1
            got = {}
        else:
            stats["delta"] += 1
            stats["delta_new"] += any(r["objects"] for r in rows)
        for r in rows:
            refs = got.setdefault(key_of(r), {})
            for o in r["objects"]:
                if not every and id(o) in refs and refs[id(o)]() is o:
                    stats["mismatches"].append("%s: %r handed over twice" % (step, o))
                refs[id(o)] = weakref.ref(o)
        o = r = rows = None
        want = ids_of(_lruleak.pinned(False))
        have = {k: {i for i, ref in v.items() if ref() is not None} for k, v in got.items()}
        for k in set(want) | set(have):
            if want.get(k, set()) != have.get(k, set()):
                stats["mismatches"].append("after %s (%s): %s has %d, pinned() %d" % (
                    step, "all" if every else "new", k[1], len(have.get(k, ())),
                    len(want.get(k, ()))))
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
