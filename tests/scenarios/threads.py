# SPDX-License-Identifier: MIT
"""Victim: threads that call cached methods and cache_clear() while the
agent samples (run it with a short LRULEAK_INTERVAL).

WORKERS threads (argv[2], default 4) run for DURATION seconds (argv[1],
default 2.0): they create Jobs, call Job.cost and Job.label (unbounded) and
price() (maxsize=64), check every result, and now and then clear a cache.
Then they stop, and the caches keep whatever the last round left: the truth
line describes that state. The line printed before READY never depends on
timing, so a run with the agent must print exactly what a run without it
prints.
"""
import functools
import sys
import threading
import time

from e2e_truth import Truth


class Job:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def cost(self, k):
        return self.n * k

    @functools.lru_cache(maxsize=None)
    def label(self):
        return "job-%d" % self.n


@functools.lru_cache(maxsize=64)
def price(job, rate):
    return job.n + rate


def worker(truth, wid, deadline, kept, errors):
    rounds = 0
    while time.monotonic() < deadline:
        for i in range(20):
            job = truth.track(Job(wid * 1000 + i))
            if job.cost(3) != job.n * 3 or job.cost(3) != job.n * 3 \
                    or job.label() != "job-%d" % job.n:
                errors.append((wid, i))
            if price(job, 2) != job.n + 2:
                errors.append((wid, i))
            if i % 10 == 0:
                kept.append(job)
        job = None
        rounds += 1
        if rounds % 7 == 0:
            Job.cost.cache_clear()
        if rounds % 11 == 0:
            price.cache_clear()
        if rounds % 13 == 0:
            Job.label.cache_clear()
            del kept[:]
        time.sleep(0.002)


def main():
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    nworkers = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    truth = Truth()
    truth.cache(Job.cost, "method")
    truth.cache(Job.label, "method")
    truth.cache(price, "function")
    kept, errors = [], []
    deadline = time.monotonic() + duration
    workers = [threading.Thread(target=worker, args=(truth, w, deadline, kept, errors))
               for w in range(nworkers)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    print("threads: %d workers, %d wrong results" % (len(workers), len(errors)), flush=True)
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
