# SPDX-License-Identifier: MIT
"""Ground truth for the fixture suite, independent of lruleak.

Every test registers the objects it creates and hands to a cache with
truth.track(obj, wrapper) (wrapper: the lru_cache wrapper, e.g.
Leaky.compute); an object already tracked by an earlier test (a singleton)
is not counted again. The autouse fixture `truth` is set
up first, so it is torn down last, after every other fixture of the test
(cache_clear() in teardown included): then it collects garbage and counts,
per cache, the tracked objects still alive. Nothing but the caches refers
to them any more, so that is the number of objects the test left pinned.
One JSON line per test goes to $SUITE_TRUTH:
{"nodeid": ..., "pid": ..., "pinned": {"Leaky.compute": 3, ...},
 "where": {"Leaky.compute": [file, line], ...}} - line being the cached
function's co_firstlineno (its first decorator), where lruleak locates it.
"""
import gc
import json
import os
import weakref

import pytest

_SEEN = weakref.WeakSet()


class Truth:
    def __init__(self):
        self.refs = {}
        self.where = {}

    def track(self, obj, wrapper):
        qualname = wrapper.__qualname__
        code = wrapper.__wrapped__.__code__
        self.where[qualname] = [code.co_filename, code.co_firstlineno]
        refs = self.refs.setdefault(qualname, [])
        if obj not in _SEEN:
            _SEEN.add(obj)
            refs.append(weakref.ref(obj))
        return obj


@pytest.fixture(autouse=True)
def truth(request):
    t = Truth()
    yield t
    gc.collect()
    pinned = {q: sum(1 for r in refs if r() is not None) for q, refs in t.refs.items()}
    path = os.environ.get("SUITE_TRUTH")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"nodeid": request.node.nodeid, "pid": os.getpid(),
                                "pinned": pinned, "where": t.where}) + "\n")
