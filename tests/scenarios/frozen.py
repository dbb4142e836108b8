# SPDX-License-Identifier: MIT
"""Victim: gc.freeze() after the caches are built (pre-fork server style).

Frozen objects move to the permanent generation, where gc.get_objects() does
not look; the agent must still find the wrappers and count what they pin:
a method cache (Session.token) and a module function cache (lookup_session);
with the argument "heap" also per-instance caches (Handler.handle, in frozen
instance dicts) and a cache reachable only through a frozen closure
(make_router.<locals>.route), which only a heap walk can find.
Half of the Sessions are in a self-cycle. The truth is computed after
gc.unfreeze(), so the collector may reclaim the dead cycles.
"""
import functools
import gc
import sys

from e2e_truth import Truth


class Session:
    def __init__(self, n):
        self.n = n
        if n % 2:
            self.me = self

    @functools.lru_cache(maxsize=None)
    def token(self, scope):
        return "%d:%s" % (self.n, scope)


@functools.lru_cache(maxsize=None)
def lookup_session(session):
    return session.n


class Handler:
    def __init__(self, n):
        self.n = n
        self.handle = functools.lru_cache(maxsize=None)(self._handle)

    def _handle(self, verb):
        return "%d %s" % (self.n, verb)


def make_router():
    @functools.lru_cache(maxsize=None)
    def route(session):
        return session.n

    return lambda session: route(session), route


def build(truth, heap):
    kept = []
    router, route = make_router()
    kept.append(router)
    for i in range(50):
        s = truth.track(Session(i))
        s.token("read")
        lookup_session(s)
        if heap:
            router(s)
        if i % 5 == 0:
            kept.append(s)
        if heap and i % 10 == 0:
            h = Handler(i)
            h.handle("GET")
            kept.append(h)
            truth.cache(h.handle, "per-instance")
    truth.cache(Session.token, "method")
    truth.cache(lookup_session, "function")
    if heap:
        truth.cache(route, "function")
    return kept


def main():
    truth = Truth()
    kept = build(truth, sys.argv[1:] == ["heap"])
    gc.collect()
    gc.freeze()
    truth.ready_and_wait()
    gc.unfreeze()
    truth.finish(kept)


if __name__ == "__main__":
    main()
