# SPDX-License-Identifier: MIT
"""A watchdog's _exit(): faulthandler.dump_traceback_later(exit=True) calls
_exit(1) on its own C thread, which has no Python thread state, in a process
that has created a subinterpreter (PyGILState_Check() is then always true).
Without the agent the process exits with status 1."""
import faulthandler
import functools
import sys
import time

import _testcapi


class A:
    @functools.lru_cache(maxsize=None)
    def f(self):
        return 1


A().f()
_testcapi.run_in_subinterp("pass")
time.sleep(0.2)
faulthandler.dump_traceback_later(0.3, exit=True, file=sys.stdout)
time.sleep(5)
print("not reached")
