# SPDX-License-Identifier: MIT
"""Refills after cache_clear(): addresses are reused, identities are not.

Each test_refill[n] clears Fresh.get in its setup - the objects the
previous test left pinned die there - then pins `size` new Fresh objects
of the same size, which CPython's allocator tends to place at the very
addresses just freed. Every parameter leaves `size` new objects pinned:
an attribution by id() alone would see the old ids again and count none.
"""
import functools

import pytest


class Fresh:
    @functools.lru_cache(maxsize=None)
    def get(self):
        return 1


@pytest.fixture
def cleared():
    Fresh.get.cache_clear()
    yield


@pytest.mark.parametrize("n", [1, 2, 3])
def test_refill(n, cleared, truth):
    for _ in range(16):
        truth.track(Fresh(), Fresh.get).get()
