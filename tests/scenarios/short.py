# SPDX-License-Identifier: MIT
"""Victim for `lruleak run`: a short script (well under 100 ms) that exits.

Usage: short.py MODE EXIT_STATUS TRUTH_FILE [--verify]
  MODE leak:   60 Tasks go through Task.plan (unbounded); 15 stay referenced
               from the module global KEPT, the rest are pinned;
  MODE noleak: every Task stays referenced, nothing is pinned.
Before exiting with EXIT_STATUS, the script writes its truth to TRUTH_FILE:
{"pid": ..., "Task.plan": {"module", "kind", "maxsize", "entries", "selves",
"pinned"}}. It cannot clear its caches to count deaths (the agent takes its
final sample after the script ends), so pinned is counted from what it did:
the Tasks that are still alive after gc.collect() although the program
holds none of them. --verify additionally runs the destructive count of
e2e_truth (clear, collect, count deaths) and exits 1 on any difference;
the test runs it that way without the agent first.
State lives in module globals, which outlive the agent's atexit sample.
"""
import functools
import gc
import json
import os
import sys
import weakref

KEPT = []
REFS = []


class Task:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def plan(self, step):
        return self.n + step


def build(mode):
    for i in range(60):
        task = Task(i)
        REFS.append(weakref.ref(task))
        task.plan(1)
        task.plan(2)
        if mode == "noleak" or i % 4 == 0:
            KEPT.append(task)


def counted_truth():
    gc.collect()
    info = Task.plan.cache_info()
    alive = [r() for r in REFS if r() is not None]
    held = {id(t) for t in KEPT}
    unheld = sum(1 for t in alive if id(t) not in held)
    selves = len(alive)  # every Task was called; all alive ones are keys
    del alive
    return {"module": Task.plan.__module__, "kind": "method",
            "maxsize": info.maxsize,
            "entries": info.currsize, "selves": selves, "pinned": unheld}


def verify(row):
    from e2e_truth import Truth
    truth = Truth()
    for r in REFS:
        if r() is not None:
            truth.track(r())
    truth.cache(Task.plan, "method")
    full = truth.compute()["Task.plan"]
    for k in ("entries", "selves", "pinned"):
        if full[k] != row[k]:
            print("short.py: counted %s=%d, destructive %d" % (k, row[k], full[k]),
                  file=sys.stderr)
            sys.exit(1)


def main():
    mode, status, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    build(mode)
    row = counted_truth()
    with open(path, "w") as f:
        json.dump({"pid": os.getpid(), "Task.plan": row}, f)
    if "--verify" in sys.argv[4:]:
        verify(row)
    sys.exit(status)


if __name__ == "__main__":
    main()
