# SPDX-License-Identifier: MIT
"""Victim for `lruleak run`: a Python process that runs a Python child.

Usage: family.py PIDS_FILE
The parent pins some Widgets in Widget.draw, runs `sys.executable family.py
--child` (which does the same and prints its pid), waits for it, and writes
{"parent": pid, "child": child_pid} to PIDS_FILE. Both exit 0.
"""
import functools
import json
import os
import subprocess
import sys


class Widget:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def draw(self, scale):
        return self.n * scale


PINNED = [Widget(i).draw(2) for i in range(10)]


def main():
    if sys.argv[1:] == ["--child"]:
        print(os.getpid(), flush=True)
        return
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child"],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    with open(sys.argv[1], "w") as f:
        json.dump({"parent": os.getpid(), "child": int(out.strip())}, f)


if __name__ == "__main__":
    main()
