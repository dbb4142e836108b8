# SPDX-License-Identifier: MIT
"""Victim for `lruleak run`: a script that is over in a few milliseconds.

Usage: tiny.py [--verify]
Imports nothing that start-up has not loaded already, calls Note.text once
on each of N Notes, keeps every third in the module global KEPT and prints
{"pid": P, "Note.text": {"entries", "selves", "pinned"}} on stdout, which is
a pipe: print() only fills the buffer, flushed at exit, so the script never
waits on a system call (and never releases the GIL). The numbers are
counted from what it did (one entry per Note; the dropped Notes
have no other reference), so that the script stays as short as possible;
--verify (used without the agent) checks them the destructive way: clear
the cache, collect, and count the Notes that died.
"""
import functools
import os
import sys

N = 12
KEPT = []


class Note:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def text(self):
        return self.n


def verify(pinned):
    import gc
    gc.collect()
    before = sum(1 for o in gc.get_objects() if type(o) is Note)
    Note.text.cache_clear()
    gc.collect()
    after = sum(1 for o in gc.get_objects() if type(o) is Note)
    if before - after != pinned or Note.text.cache_info().currsize != 0:
        print("tiny.py: counted %d pinned, %d died" % (pinned, before - after), file=sys.stderr)
        sys.exit(1)


def main():
    for i in range(N):
        note = Note(i)
        note.text()
        if i % 3 == 0:
            KEPT.append(note)
    note = None
    pinned = N - len(KEPT)
    print('{"pid": %d, "Note.text": {"module": "%s", "kind": "method", "entries": %d, '
          '"selves": %d, "pinned": %d}}' % (os.getpid(), __name__, N, N, pinned))
    if "--verify" in sys.argv[1:]:
        verify(pinned)


if __name__ == "__main__":
    main()
