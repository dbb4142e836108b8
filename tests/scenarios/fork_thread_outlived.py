# SPDX-License-Identifier: MIT
"""A thread forks right as the program starts caching (the agent has had no
time to get ready), and in the child that thread starts another one and
returns before it (3.14's test_threading test_3_join_in_forked_from_thread,
which hung once in 600 runs under load). Without the agent the child exits
when its last thread ends (status 0). argv[1]: "early" forks at once,
"late" after 0.3 s; argv[2]: a file the child writes its pid to."""
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
if sys.argv[1] != "early":
    time.sleep(0.3)  # the agent samples: its threads run


def late():
    time.sleep(0.2)  # outlives the forking thread


def worker():
    pid = os.fork()
    if pid == 0:
        with open(sys.argv[2], "w") as f:
            f.write(str(os.getpid()))
        threading.Thread(target=late).start()
        return  # the child's forking thread ends first, `late` last
    _, status = os.waitpid(pid, 0)
    print("child status", status)


w = threading.Thread(target=worker)
w.start()
w.join()
