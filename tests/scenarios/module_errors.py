# SPDX-License-Identifier: MIT
"""Victim: the _lruleak module's errors are Python exceptions, not crashes.

Usage: module_errors.py AGENT_DIR
In a forked child, _lruleak.snapshot() must raise RuntimeError (the agent
does not follow forks yet); snapshot() with two arguments must raise too.
Exits 0 when both raised as expected, non-zero otherwise.
"""
import functools
import os
import sys

sys.path.insert(0, sys.argv[1])
import _lruleak  # noqa: E402


@functools.lru_cache(maxsize=None)
def cached(x):
    return x


cached(1)
try:
    _lruleak.snapshot(True, True)
except RuntimeError as e:
    print("two arguments:", e, flush=True)
else:
    sys.exit(4)
pid = os.fork()
if pid == 0:
    try:
        _lruleak.snapshot()
    except RuntimeError as e:
        print("in a forked child:", e, flush=True)
        os._exit(0)
    os._exit(3)
_, status = os.waitpid(pid, 0)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 5)
