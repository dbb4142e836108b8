# SPDX-License-Identifier: MIT
"""Victim: caches that do not sit in an ordinary class body.

- render: a module-level @functools.cache function keyed by Request objects
  (kind "function");
- make_pipeline.<locals>.stage: a cached function reachable only through a
  closure cell of the returned lambda (kind "function");
- Dyn.compute: a cache in a class made with type() (kind "method");
- patched_lookup: a cache assigned to a class after its creation
  (kind "method").
Some objects of each kind are kept; the rest are pinned.
"""
import functools

from e2e_truth import Truth


class Request:
    def __init__(self, path):
        self.path = path


@functools.cache
def render(request):
    return "<%s>" % request.path


def make_pipeline():
    @functools.lru_cache(maxsize=None)
    def stage(obj, step):
        return (obj.path, step)

    return lambda obj: stage(obj, 1), stage


def dyn_compute(self, x):
    return self.v + x


dyn_compute.__qualname__ = "Dyn.compute"
Dyn = type("Dyn", (), {"compute": functools.lru_cache(maxsize=None)(dyn_compute),
                       "__init__": lambda self, v: setattr(self, "v", v)})


class Patched:
    def __init__(self, v):
        self.v = v


def patched_lookup(self, k):
    return self.v * k


Patched.lookup = functools.lru_cache(maxsize=None)(patched_lookup)


def build(truth):
    kept = []
    pipeline, stage = make_pipeline()
    for i in range(40):
        req = truth.track(Request("/r/%d" % i))
        render(req)
        pipeline(req)
        d = truth.track(Dyn(i))
        d.compute(1)
        p = truth.track(Patched(i))
        p.lookup(2)
        p.lookup(3)
        if i % 3 == 0:
            kept.append(req)
        if i % 4 == 0:
            kept.append(d)
        if i % 5 == 0:
            kept.append(p)
    truth.cache(render, "function")
    truth.cache(stage, "function")
    truth.cache(Dyn.compute, "method")
    truth.cache(Patched.lookup, "method")
    return kept, pipeline


def main():
    truth = Truth()
    kept, pipeline = build(truth)
    truth.ready_and_wait()
    truth.finish(kept, pipeline)


if __name__ == "__main__":
    main()
