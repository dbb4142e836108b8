# SPDX-License-Identifier: MIT
"""Victim: instances whose only way in from outside is a class-level cache,
inside cycles through what they store on themselves (issue 13).

- Resolver (the shape jsonschema's RefResolver has): two class-level
  caches key every instance, and each instance owns a per-instance cache
  around its own bound method, in its __dict__:
  instance -> __dict__ -> _lru_cache_wrapper -> bound method -> instance.
  Its cached results (20 KB each) go with the instance: declared with
  Truth.held, so retained_bytes must count them.
- Slotted: the same per-instance wrapper, in a slot.
- Partial: functools.partial(Partial.compute, self) stored on the instance.
- Closure: a closure over self, and a per-instance cache around another
  closure over self (a "function" row of its own).
- Multi: three class-level caches and a per-instance one key one instance.
- Point, a NamedTuple (a tuple: never a self), is the cached result of one
  cache and the first argument of another: no selves, not self_only.
Negative cases, never pinned: some of each are kept in a list, and some
are reached from outside only through what sits in the cycle (a kept
reference to the per-instance wrapper, to the partial, to the closure).
"""
import functools
import sys
import typing

from e2e_truth import Truth

RESULT = 20_000


class Resolver:
    def __init__(self, n):
        self.n = n
        self._remote_cache = functools.lru_cache(1024)(self.resolve_from_url)

    def resolve_from_url(self, url):
        return bytes(RESULT) + url.encode()

    @functools.lru_cache()
    def subschemas(self):
        return [self.n]

    @functools.lru_cache()
    def find_in_subschemas(self, url):
        return self._remote_cache(url)[:4]


class Slotted:
    __slots__ = ("n", "_lookup", "__weakref__")

    def __init__(self, n):
        self.n = n
        self._lookup = functools.lru_cache(16)(self._find)

    def _find(self, k):
        return [self.n, k]

    @functools.lru_cache(maxsize=None)
    def tag(self):
        return self._lookup(1)[0]


class Partial:
    def __init__(self, n):
        self.n = n
        self.callback = functools.partial(Partial.compute, self)
        self.bound = functools.partial(self.area, 2)

    def compute(self, k):
        return self.n * k

    def area(self, k):
        return self.n + k

    @functools.lru_cache(maxsize=None)
    def label(self, k):
        return "p%d-%d" % (self.n, k)


class Closure:
    def __init__(self, n):
        self.n = n
        self.getter = lambda: self.n
        self.memo = functools.lru_cache(maxsize=None)(lambda k: [self.n] * k)

    @functools.lru_cache(maxsize=None)
    def value(self):
        return self.getter()


class Multi:
    def __init__(self, n):
        self.n = n
        self._own = functools.lru_cache(maxsize=None)(self._compute)

    def _compute(self, k):
        return bytearray(k)

    @functools.lru_cache(maxsize=None)
    def a(self):
        return self.n

    @functools.lru_cache(maxsize=64)
    def b(self, k):
        return self.n + k

    @functools.lru_cache(maxsize=None)
    def c(self, k):
        return (k, self._own(k))


class Point(typing.NamedTuple):
    x: int
    y: int

    @classmethod
    @functools.lru_cache(maxsize=None)
    def make(cls, x):
        return cls(x, -x)

    @functools.lru_cache(maxsize=None)
    def norm(self):
        return abs(self.x) + abs(self.y)


def build(truth):
    kept = []       # the program's own references: never pinned
    for i in range(60):
        r = truth.track(Resolver(i))
        r.subschemas()
        r.find_in_subschemas("https://example.com/%d" % i)
        truth.held(r, sys.getsizeof(r._remote_cache("https://example.com/%d" % i)))
        truth.cache(r._remote_cache, "per-instance")

        s = truth.track(Slotted(i))
        s.tag()
        truth.cache(s._lookup, "per-instance")

        p = truth.track(Partial(i))
        p.label(1)
        p.callback(2)

        c = truth.track(Closure(i))
        c.value()
        c.memo(3)
        truth.cache(c.memo, "function")

        m = truth.track(Multi(i))
        m.a()
        if i % 2 == 0:
            m.b(1)
        if i % 3 == 0:
            m.c(100)

        Point.make(i).norm()

        if i % 5 == 0:
            kept.extend((r, s, p, c, m))
        elif i % 5 == 1:
            # Held from outside only through a member of the cycle.
            kept.extend((r._remote_cache, s._lookup, p.callback, c.getter, m._own))
        elif i % 5 == 2:
            kept.extend((p.bound, c.memo))
    for wrapper in (Resolver.subschemas, Resolver.find_in_subschemas, Slotted.tag,
                    Partial.label, Closure.value, Multi.a, Multi.b, Multi.c, Point.norm):
        truth.cache(wrapper, "method")
    truth.cache(vars(Point)["make"].__func__, "classmethod")
    return kept


def main():
    truth = Truth()
    kept = build(truth)
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
