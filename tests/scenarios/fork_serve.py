# SPDX-License-Identifier: MIT
"""Victim: a forked child that stays, so its own agent socket can be asked.

Usage: fork_serve.py N [wait]
The parent pins 2 Parent objects through Parent.keep, waits for the
agent's first look (which installs its fork hooks) - with "wait", it then
prints READY and waits for "fork" on stdin (the test detaches the agent
meanwhile) - and forks one child,
which pins N Child objects through Child.work, counts what the caches pin
and sends it to the parent, then blocks until the parent closes a pipe.
The parent prints "CHILD <json>" - {"pid", "ppid", "Parent.keep",
"Child.work"} - and READY (without "wait"). After "go" on stdin it lets the child end
(os._exit, as the fork idiom does), reaps it and prints its own truth in
the same form. Counts are the tracked objects still alive after
gc.collect() that the program no longer refers to.
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
    def work(self):
        return 2


REFS = {"Parent.keep": [], "Child.work": []}


def make(cls, qualname):
    obj = cls()
    REFS[qualname].append(weakref.ref(obj))
    return obj


def truth():
    gc.collect()
    row = {"pid": os.getpid(), "ppid": os.getppid()}
    for qualname, refs in REFS.items():
        row[qualname] = sum(1 for r in refs if r() is not None)
    return row


def main():
    n = int(sys.argv[1])
    wait = sys.argv[2:] == ["wait"]
    for _ in range(2):
        make(Parent, "Parent.keep").keep()
    time.sleep(0.3)
    if wait:
        print("READY", flush=True)
        if sys.stdin.readline().strip() != "fork":
            sys.exit(2)
    hold_r, hold_w = os.pipe()
    tell_r, tell_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(hold_w)
        os.close(tell_r)
        for _ in range(n):
            make(Child, "Child.work").work()
        os.write(tell_w, (json.dumps(truth()) + "\n").encode())
        os.read(hold_r, 1)  # until the parent closes its end
        os._exit(0)
    os.close(hold_r)
    os.close(tell_w)
    with os.fdopen(tell_r) as f:
        print("CHILD", f.readline().strip(), flush=True)
    if not wait:
        print("READY", flush=True)
    if sys.stdin.readline().strip() != "go":
        sys.exit(2)
    os.close(hold_w)
    _, status = os.waitpid(pid, 0)
    print(json.dumps(truth()), flush=True)
    sys.exit(1 if status else 0)


if __name__ == "__main__":
    main()
