# SPDX-License-Identifier: MIT
"""Victim for `lruleak run`: children forked while the parent's agent is
still getting ready, which leak and os._exit() at once.

Usage: fork_while_starting.py TRUTH_FILE N
The parent imports functools only now (on most versions Python's start-up
does not; the agent's threads start with it) and at once forks N children,
as a fresh forkserver does for its pool: each child inherits an agent that
has not looked at the heap yet. Child i pins i + 1 Child objects through
Child.work, writes its truth and ends with os._exit(0) a moment later,
before its own agent could get ready: the final sample is prepared in
os._exit(). Truth lines, one per child, appended with a single write (no
json: it imports functools): {"pid", "ppid", "Child.work": n}, n the Child
objects still alive after gc.collect() that the program no longer refers
to: what the cache pins.
"""
import gc
import os
import sys
import weakref


def child(cls, path, i):
    refs = []
    for _ in range(i + 1):
        c = cls()
        refs.append(weakref.ref(c))
        c.work(i)
    c = None
    gc.collect()
    alive = sum(1 for r in refs if r() is not None)
    row = '{"pid": %d, "ppid": %d, "Child.work": %d}\n' % (os.getpid(), os.getppid(), alive)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(fd, row.encode())
    os.close(fd)
    os._exit(0)


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    import functools

    class Child:
        @functools.lru_cache(maxsize=None)
        def work(self, i):
            return i

    pids = []
    for i in range(n):
        pid = os.fork()
        if pid == 0:
            child(Child, path, i)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
