# SPDX-License-Identifier: MIT
"""multiprocessing's fork Pool used as a context manager: leaving the `with`
block calls terminate(), which kills the workers with SIGTERM (default
disposition: no atexit, no os._exit). Each task of the map pins new Worker
objects in Worker.compute and reports how many of its worker's Worker
objects are still alive after gc.collect() (the program keeps none: exactly
what the cache pins). Then every worker takes one last task and is still in
it when terminate() comes: two wait in time.sleep (the GIL released), one
spins in Python (it holds the GIL when the signal arrives).
argv[1]: the truth file, {"workers": {pid: pinned}, "exitcodes": {pid: code}}."""
import functools
import gc
import json
import multiprocessing
import os
import sys
import time
import weakref


class Worker:
    @functools.lru_cache(maxsize=None)
    def compute(self, n):
        return n


REFS = []
BARRIER = None


def task(n):
    for i in range(n):
        w = Worker()
        w.compute(i)
        REFS.append(weakref.ref(w))
    gc.collect()
    return os.getpid(), sum(1 for r in REFS if r() is not None)


def last_task(spin):
    BARRIER.wait()  # one such task per worker
    end = time.time() + 60
    while time.time() < end:
        if not spin:
            time.sleep(60)
    return os.getpid()


if __name__ == "__main__":
    ctx = multiprocessing.get_context("fork")
    BARRIER = ctx.Barrier(4)
    with ctx.Pool(3) as pool:
        results = pool.map(task, range(1, 13), chunksize=1)
        workers = list(pool._pool)
        for spin in (False, False, True):
            pool.apply_async(last_task, (spin,))
        BARRIER.wait()
        time.sleep(0.3)
    for w in workers:
        w.join()
    truth = {}
    for pid, alive in results:
        truth[str(pid)] = max(truth.get(str(pid), 0), alive)
    with open(sys.argv[1], "w") as f:
        json.dump({"workers": truth, "exitcodes": {str(w.pid): w.exitcode for w in workers}}, f)
