# SPDX-License-Identifier: MIT
"""Victim for `lruleak run`: a storm of short os.fork() children.

Usage: fork_storm.py TRUTH_FILE N
Forks N children as fast as it can, all alive at once; each pins one new
Storm object through Storm.hit, appends its truth line {"pid", "ppid",
"Storm.hit": n} (n: its Storm objects still alive after gc.collect(),
which the program no longer refers to) and ends at once with os._exit(0).
The parent reaps them all (exit status 1 if one failed) and appends
{"pid", "ppid", "parent": true, "Storm.hit": 0}.
"""
import functools
import gc
import json
import os
import sys
import time
import weakref


class Storm:
    @functools.lru_cache(maxsize=None)
    def hit(self):
        return 1


def write_truth(path, row):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(fd, (json.dumps(row) + "\n").encode())
    os.close(fd)


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    # Let the agent take its first look (and install its fork hooks).
    time.sleep(0.3)
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            s = Storm()
            ref = weakref.ref(s)
            s.hit()
            s = None
            gc.collect()
            write_truth(path, {"pid": os.getpid(), "ppid": os.getppid(),
                               "Storm.hit": int(ref() is not None)})
            os._exit(0)
        pids.append(pid)
    failed = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        failed += status != 0
    write_truth(path, {"pid": os.getpid(), "ppid": os.getppid(), "parent": True, "Storm.hit": 0})
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
