# SPDX-License-Identifier: MIT
"""Victim for `lruleak run`: os.fork() children that leak, then os._exit().

Usage: fork_children.py TRUTH_FILE N
The parent pins 3 Parent objects through Parent.keep, then forks N
children one after another; child i pins i + 1 Child objects through
Child.work (and holds copies of the parent's 3), writes its truth and ends
with os._exit(0), which skips atexit. The parent then writes its own
truth and exits normally. Truth lines (one per process, appended with a
single write): {"pid", "ppid", "forked", "Child.work": n, "Parent.keep": n},
where n counts the tracked objects still alive after gc.collect() that the
program itself no longer refers to: exactly what the caches pin.
"""
import functools
import gc
import json
import os
import sys
import time
import weakref


class Parent:
    @functools.lru_cache(maxsize=None)
    def keep(self):
        return 1


class Child:
    @functools.lru_cache(maxsize=None)
    def work(self, i):
        return i


REFS = {"Parent.keep": [], "Child.work": []}


def make(cls, qualname):
    obj = cls()
    REFS[qualname].append(weakref.ref(obj))
    return obj


def write_truth(path, forked):
    gc.collect()
    row = {"pid": os.getpid(), "ppid": os.getppid(), "forked": forked}
    for qualname, refs in REFS.items():
        row[qualname] = sum(1 for r in refs if r() is not None)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(fd, (json.dumps(row) + "\n").encode())
    os.close(fd)


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    for _ in range(3):
        make(Parent, "Parent.keep").keep()
    # The agent's first look at a new interpreter installs its fork hooks;
    # a fork in a program's first milliseconds stays unfollowed (README.md, Limits).
    time.sleep(0.3)
    for i in range(n):
        pid = os.fork()
        if pid == 0:
            for _ in range(i + 1):
                make(Child, "Child.work").work(i)
            write_truth(path, True)
            os._exit(0)
        os.waitpid(pid, 0)
    write_truth(path, False)


if __name__ == "__main__":
    main()
