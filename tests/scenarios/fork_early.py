# SPDX-License-Identifier: MIT
"""os.fork() at once: before functools is imported ("bare"), or right after
the first cache call ("functools"). On 3.12+ CPython warns on stderr when
the process has other threads at fork time; the agent's must not count."""
import os
import sys

if sys.argv[1] == "functools":
    import functools

    class A:
        @functools.lru_cache(maxsize=None)
        def f(self):
            return 1

    A().f()
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
