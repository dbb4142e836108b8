# SPDX-License-Identifier: MIT
"""What the program sees of threads while the agent samples every few ms:
faulthandler's dump of all threads, sys._current_frames() and
threading.enumerate() must list the program's one thread only.
Prints "dumps N extra M"."""
import faulthandler
import functools
import sys
import tempfile
import threading
import time


class A:
    @functools.lru_cache(maxsize=None)
    def f(self):
        return 1


keep = [A() for _ in range(2000)]
for a in keep:
    a.f()
extra = 0
n = int(sys.argv[1])
with tempfile.TemporaryFile() as f:
    for i in range(n):
        f.seek(0)
        f.truncate()
        faulthandler.dump_traceback(f, all_threads=True)
        f.seek(0)
        text = f.read().decode()
        threads = text.count("Thread 0x") + text.count("Current thread 0x")
        if threads != 1 or len(sys._current_frames()) != 1 or len(threading.enumerate()) != 1:
            extra += 1
        time.sleep(0.002)
print("dumps", n, "extra", extra)
