# SPDX-License-Identifier: MIT
"""Victim of the metrics tests (tests/e2e/metrics): a service that leaks.

Leaky.compute is an unbounded method cache: every Leaky it is called with
stays alive after the program drops it. With --odd, a second class whose
cached method's qualname holds a double quote, a backslash and a newline
(set through __qualname__) leaks the same way.

Ground truth, without trusting the agent: the program keeps only weak
references to the objects it made; after gc.collect() the ones still alive
are those the caches keep alive (nothing else refers to them). cache_info()
gives entries, hits and misses.

Protocol on stdin/stdout, one JSON line per answer:
  start        -> {"ready": true, "pid": ..., "truth": {...}}
  "truth"      -> {"truth": {...}}
  "grow N"     -> N more leaked objects, then {"truth": {...}}
  "clear"      -> every cache cleared, then {"truth": {...}, "alive_after_clear": K}
                  (K must be 0: the caches were the only owners)
  EOF or "exit" -> exit 0
truth: {"<cache label>": {"pinned", "entries", "hits", "misses"}}, where the
label is module.qualname as lruleak_cache_pinned_objects names it.
"""
import argparse
import functools
import gc
import json
import sys
import weakref

ODD_QUALNAME = 'Odd "quoted" \\ back\nslash.compute'


class Leaky:
    def __init__(self, n):
        self.n = n
        self.payload = bytearray(1000)

    @functools.lru_cache(maxsize=None)
    def compute(self, x):
        return self.n * x


class Odd:
    def __init__(self, n):
        self.n = n

    def compute(self, x):
        return self.n + x

    compute.__qualname__ = ODD_QUALNAME
    compute = functools.lru_cache(maxsize=None)(compute)


Odd.__qualname__ = ODD_QUALNAME.rsplit(".", 1)[0]

CACHES = {"__main__.Leaky.compute": Leaky.compute}
REFS = {"__main__.Leaky.compute": []}


def grow(cls, label, count):
    refs = REFS[label]
    for _ in range(count):
        obj = cls(len(refs))
        obj.compute(1)
        obj.compute(2)
        obj.compute(1)  # a hit
        refs.append(weakref.ref(obj))
    obj = None


def truth():
    gc.collect()
    out = {}
    for label, wrapper in CACHES.items():
        info = wrapper.cache_info()
        out[label] = {
            "pinned": sum(1 for r in REFS[label] if r() is not None),
            "entries": info.currsize,
            "hits": info.hits,
            "misses": info.misses,
        }
    return out


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--odd", type=int, default=0)
    args = ap.parse_args()
    if args.odd:
        label = "__main__." + ODD_QUALNAME
        CACHES[label] = Odd.compute
        REFS[label] = []
        grow(Odd, label, args.odd)
    grow(Leaky, "__main__.Leaky.compute", args.count)
    say({"ready": True, "pid": __import__("os").getpid(), "truth": truth()})
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "exit":
            break
        if cmd[0] == "grow":
            grow(Leaky, "__main__.Leaky.compute", int(cmd[1]))
            say({"truth": truth()})
        elif cmd[0] == "clear":
            for wrapper in CACHES.values():
                wrapper.cache_clear()
            t = truth()
            say({"truth": t, "alive_after_clear": sum(v["pinned"] for v in t.values())})
        else:
            say({"truth": truth()})


if __name__ == "__main__":
    main()
