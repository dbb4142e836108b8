# SPDX-License-Identifier: MIT
"""Victim: gc.freeze() after the caches are built (pre-fork server style).

Frozen objects move to the permanent generation, where gc.get_objects() does
not look; the agent must still find the wrappers and count what they pin.
Half of the Sessions are in a self-cycle. The truth is computed after
gc.unfreeze(), so the collector may reclaim the dead cycles.
"""
import functools
import gc

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


def build(truth):
    kept = []
    for i in range(50):
        s = truth.track(Session(i))
        s.token("read")
        lookup_session(s)
        if i % 5 == 0:
            kept.append(s)
    truth.cache(Session.token, "method")
    truth.cache(lookup_session, "function")
    return kept


def main():
    truth = Truth()
    kept = build(truth)
    gc.collect()
    gc.freeze()
    truth.ready_and_wait()
    gc.unfreeze()
    truth.finish(kept)


if __name__ == "__main__":
    main()
