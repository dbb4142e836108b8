# SPDX-License-Identifier: MIT
"""The fixture suite: what each test does to lru caches.

- test_leak[n]: n * 2 + 1 new Leaky instances go through the method cache
  Leaky.compute and stay pinned: the leak, blamed on every parameter;
- test_singleton_*: the process-wide Settings object (made by the
  functools.cache factory settings()) goes through Settings.value once:
  filled by the first test that touches it, a warm-up, never blamed;
- test_clears_in_teardown: Registry.lookup is filled, and cleared by the
  fixture's teardown: nothing is left pinned at the test's end;
- test_allow_listed: Pool.checkout pins objects, allow-listed by marker;
- test_config_allow_listed: Audit.record pins objects, allow-listed in
  pytest.ini (lruleak_ignore);
- test_plain: touches no cache.
"""
import functools

import pytest


class Leaky:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def compute(self, x):
        return self.n * x


class Settings:
    @functools.lru_cache(maxsize=None)
    def value(self, key):
        return key.upper()


@functools.cache
def settings():
    return Settings()


class Registry:
    @functools.lru_cache(maxsize=None)
    def lookup(self, key):
        return key


class Pool:
    @functools.lru_cache(maxsize=None)
    def checkout(self, name):
        return name


class Audit:
    @functools.lru_cache(maxsize=None)
    def record(self, event):
        return event


@pytest.mark.parametrize("n", [1, 2, 3])
def test_leak(n, truth):
    for i in range(n * 2 + 1):
        assert truth.track(Leaky(i), Leaky.compute).compute(2) == i * 2


def test_singleton_first(truth):
    assert truth.track(settings(), Settings.value).value("a") == "A"


def test_singleton_again(truth):
    assert truth.track(settings(), Settings.value).value("a") == "A"


@pytest.fixture
def registry():
    yield Registry
    Registry.lookup.cache_clear()


def test_clears_in_teardown(registry, truth):
    for i in range(4):
        assert truth.track(registry(), Registry.lookup).lookup(i) == i


@pytest.mark.lruleak_ignore("Pool.checkout")
def test_allow_listed(truth):
    for _ in range(6):
        truth.track(Pool(), Pool.checkout).checkout("db")


def test_config_allow_listed(truth):
    for _ in range(2):
        truth.track(Audit(), Audit.record).record("login")


def test_plain():
    assert sum(range(10)) == 45
