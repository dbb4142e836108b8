# SPDX-License-Identifier: MIT
# CPython's test_multiprocessing_fork, for an interpreter that ships
# test._test_multiprocessing but not the module itself (pyenv's 3.11.7 and
# 3.12.1: CPython's Makefile did not install the test_multiprocessing_*
# packages). The same three lines as CPython 3.8-3.11's
# Lib/test/test_multiprocessing_fork.py; run by tests/cpython/run-regrtest.py
# through regrtest's --testdir.
import sys
import unittest

import test._test_multiprocessing
from test import support

if support.PGO:
    raise unittest.SkipTest("test is not helpful for PGO")
if sys.platform == "win32":
    raise unittest.SkipTest("fork is not available on Windows")
if sys.platform == "darwin":
    raise unittest.SkipTest("test may crash on macOS (bpo-33725)")

test._test_multiprocessing.install_tests_in_module_dict(globals(), "fork")

if __name__ == "__main__":
    unittest.main()
