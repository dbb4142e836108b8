# SPDX-License-Identifier: MIT
"""Victim: keys whose first argument is not plainly key[0] of a positional call.

- Account.balance is called as Account.balance(self=acct, day=n) (self by
  keyword: the key starts with lru_cache's keyword marker) and as
  acct.balance(day=n);
- Account.rate is typed=True (the key ends with the argument types, classes
  that must not count as selves), called with 1 and 1.0;
- Same.tag: all Same objects are equal and hash alike, but selves are
  counted by identity (keys differ in their second argument);
- marker: a function cache whose first arguments are Ellipsis and
  NotImplemented (not in agent/README.md's list of excluded types, so selves, but
  immortal singletons: never pinned);
- subscribe: a function cache keyed by bound methods of kept Listeners; the
  bound method objects themselves are referenced by nothing but the cache,
  so they are pinned although their Listeners live.
"""
import functools

from e2e_truth import Truth


class Account:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def balance(self, day):
        return self.n * day

    @functools.lru_cache(maxsize=None, typed=True)
    def rate(self, x):
        return self.n + x


class Same:
    def __eq__(self, other):
        return isinstance(other, Same)

    def __hash__(self):
        return 7

    @functools.lru_cache(maxsize=None)
    def tag(self, n):
        return n


@functools.lru_cache(maxsize=None)
def marker(m, n):
    return n


class Listener:
    def on_event(self, event):
        return event


@functools.lru_cache(maxsize=None)
def subscribe(callback):
    return callback("subscribed")


def build(truth):
    kept = []
    for i in range(30):
        acct = truth.track(Account(i))
        Account.balance(self=acct, day=i)
        if i % 2:
            acct.balance(day=i + 1)
        acct.rate(1)
        acct.rate(1.0)
        if i % 6 == 0:
            kept.append(acct)
    for i in range(12):
        same = truth.track(Same())
        same.tag(i)
        if i % 3 == 0:
            kept.append(same)
    truth.cache(Same.tag, "method")
    for n in range(3):
        marker(truth.track_static(...), n)
        marker(truth.track_static(NotImplemented), n)
    truth.cache(marker, "function")
    listeners = [Listener() for _ in range(5)]
    kept.extend(listeners)
    for listener in listeners:
        subscribe(truth.track(listener.on_event))
    truth.cache(subscribe, "function")
    truth.cache(Account.balance, "method")
    truth.cache(Account.rate, "method")
    return kept


def main():
    truth = Truth()
    kept = build(truth)
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
