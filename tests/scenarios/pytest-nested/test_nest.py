# SPDX-License-Identifier: MIT
"""A suite whose second test runs another pytest session in its own process
(as pytester's in-process runs do), with lruleak's plugin in both: each
test's new pinned objects, per cache, must be what it made (tests/registry:
test_nested_pytest_session). Outer.val pins 5, then 7 + 2 around the inner
session, then 1; the inner session's Inner.val pins 3, which the outer test
that ran it made too."""
import functools

import pytest


class Outer:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def val(self):
        return self.n


INNER = '''
import functools


class Inner:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def val(self):
        return self.n


def test_inner_pins_three():
    for i in range(3):
        Inner(i).val()
'''


def test_outer_pins_five():
    for i in range(5):
        Outer(i).val()


def test_outer_runs_a_session(tmp_path):
    for i in range(7):
        Outer(100 + i).val()
    (tmp_path / "test_inner.py").write_text(INNER)
    assert pytest.main(["-q", "-p", "no:cacheprovider", str(tmp_path / "test_inner.py")]) == 0
    for i in range(2):
        Outer(200 + i).val()


def test_outer_pins_one():
    Outer(300).val()
