# SPDX-License-Identifier: MIT
"""Victim: what keeps an object alive besides a list or a global.

Part.spec (unbounded) holds every Part; which of them are pinned depends on
the rest of the object graph:
- a chain of dropped Parts (each .next is the following one): all pinned;
- dropped Parts referenced by a kept Part's attribute: alive, not pinned;
- dropped Parts referenced only by pinned Parts: pinned;
- Parts in a WeakValueDictionary or a WeakSet only: weak references do not
  keep anything alive, so they are pinned;
- Parts captured by the closure of a kept function, or a local of a
  suspended generator that is kept: alive;
- Parts that only another cache's result holds (Factory.make, keyed by a
  kept Factory, returns a fresh Part): pinned, since only caches hold them;
- Slotted (__slots__, no __dict__) objects linked to each other.
- Parts that are keys of a kept dict, members of a kept set or items of a
  tuple in a module global: alive;
- SubPart instances (a subclass) share Part.spec's row.
compile_handler is a function cache keyed by functions (dynamically made
lambdas); the kept ones are referenced by a list. Part.area is a cache
inside a property (kind "method"); Part.parse is a staticmethod cache keyed
by Parts (it pins them too); Part.variant is a classmethod cache whose
second argument is a Part: its first argument is the class, so it has no
selves and pins nothing by definition. Index.find is a per-instance cache
(on kept Indexes) keyed by Parts: it pins the dropped Parts it holds.
"""
import functools
import weakref

from e2e_truth import Truth


class Part:
    def __init__(self, n):
        self.n = n
        self.next = None

    @functools.lru_cache(maxsize=None)
    def spec(self, rev):
        return "part-%d-r%d" % (self.n, rev)

    @property
    @functools.lru_cache(maxsize=None)
    def area(self):
        return self.n * self.n

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def parse(part):
        return part.n

    @classmethod
    @functools.lru_cache(maxsize=None)
    def variant(cls, part):
        return (cls.__name__, part.n)


class SubPart(Part):
    pass


class Slotted:
    __slots__ = ("n", "peer", "__weakref__")

    def __init__(self, n):
        self.n = n
        self.peer = None

    @functools.lru_cache(maxsize=None)
    def weight(self):
        return self.n * 2


class Factory:
    @functools.lru_cache(maxsize=None)
    def make(self, n):
        return Part(n)


class Index:
    def __init__(self):
        self.find = functools.lru_cache(maxsize=None)(self._find)

    def _find(self, part):
        return part.n


@functools.cache
def compile_handler(fn):
    return fn(1)


def gen_holding(part):
    yield part.n
    yield part.n  # still suspended: `part` is a live local of this frame


WEAK_VALUES = weakref.WeakValueDictionary()
WEAK_SET = weakref.WeakSet()
HELD_IN_TUPLE = ()


def build(truth):
    global HELD_IN_TUPLE
    kept = []
    parts = [truth.track(Part(i)) for i in range(70)]
    for p in parts:
        p.spec(1)
    # 0-9: a dropped chain
    for a, b in zip(parts[0:9], parts[1:10]):
        a.next = b
    # 10-14 kept, each pointing at one of 15-19 (dropped)
    for i in range(10, 15):
        parts[i].next = parts[i + 5]
        kept.append(parts[i])
    # 20-24 only weakly referenced
    for p in parts[20:23]:
        WEAK_VALUES[p.n] = p
    for p in parts[23:25]:
        WEAK_SET.add(p)
    # 25: captured by a kept closure; 26: local of a kept suspended generator
    captured = parts[25]
    kept.append(lambda: captured.n)
    gen = gen_holding(parts[26])
    next(gen)
    kept.append(gen)
    # 27-29: referenced only by pinned parts 30-32
    for i in range(27, 30):
        parts[i + 3].next = parts[i]
    # 40-49: kept directly
    kept.extend(parts[40:50])
    # 50-52 dict keys, 53-54 set members, 55-56 in a global tuple
    kept.append({p: p.n for p in parts[50:53]})
    kept.append(set(parts[53:55]))
    HELD_IN_TUPLE = tuple(parts[55:57])
    # properties, static and class methods on some of them
    for p in parts[0:70:3]:
        p.area
        Part.parse(p)
        Part.variant(p)
    for k in range(2):
        index = Index()
        kept.append(index)
        truth.cache(index.find, "per-instance")
        for i in range(300 + 10 * k, 306 + 10 * k):
            part = truth.track(Part(i))
            index.find(part)
            if i % 3 == 0:
                kept.append(part)
    index = part = None
    for i in range(6):
        sub = truth.track(SubPart(200 + i))
        sub.spec(3)
        sub.area
        if i % 2:
            kept.append(sub)
    sub = None

    factory = Factory()
    kept.append(factory)
    truth.track(factory)
    for n in range(100, 108):
        made = truth.track(factory.make(n))
        made.spec(2)
    made = None

    slots = [truth.track(Slotted(i)) for i in range(12)]
    for a, b in zip(slots, slots[1:] + slots[:1]):
        a.peer = b  # a ring
        a.weight()
    extra = truth.track(Slotted(99))
    extra.weight()
    kept.append(extra)

    for i in range(15):
        fn = truth.track(eval("lambda x: x + %d" % i))
        compile_handler(fn)
        if i % 5 == 0:
            kept.append(fn)
    fn = None

    truth.cache(Part.spec, "method")
    truth.cache(Part.__dict__["area"].fget, "method")
    truth.cache(Part.parse, "staticmethod")
    truth.cache(Part.__dict__["variant"].__func__, "classmethod")
    truth.cache(Slotted.weight, "method")
    truth.cache(Factory.make, "method")
    truth.cache(compile_handler, "function")
    return kept


def main():
    truth = Truth()
    kept = build(truth)
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
