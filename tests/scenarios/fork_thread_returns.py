# SPDX-License-Identifier: MIT
"""A thread forks and, in the child, simply returns (CPython's test_threading
ThreadJoinOnShutdown.test_3_join_in_forked_from_thread). Without the agent
the child's only thread ends with pthread_exit and the child exits at once
(status 0). argv[1]: a file the child writes its pid to."""
import functools
import os
import sys
import threading
import time


class A:
    @functools.lru_cache(maxsize=None)
    def f(self):
        return 1


keep = [A() for _ in range(50)]
for a in keep:
    a.f()
time.sleep(0.3)  # the agent samples: its threads run


def worker():
    pid = os.fork()
    if pid == 0:
        with open(sys.argv[1], "w") as f:
            f.write(str(os.getpid()))
        for a in keep:  # some work in the child, then the thread returns
            a.f()
        time.sleep(0.3)
        return
    _, status = os.waitpid(pid, 0)
    print("child status", status)


w = threading.Thread(target=worker)
w.start()
w.join()
