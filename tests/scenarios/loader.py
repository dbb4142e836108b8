# SPDX-License-Identifier: MIT
"""Victim: the main thread held inside the dynamic loader's dl_iterate_phdr().

libc's dl_iterate_phdr() holds the loader's lock while it calls back; the
callback here (Python, through ctypes) prints IN and then waits for a line
on stdin, so the main thread sits inside the loader for as long as the test
wants - exactly where `lruleak attach` must not run dlopen. After the line
it returns, prints OUT, and the program waits for "go" and prints its truth
(e2e_truth) as usual.
"""
import ctypes
import functools
import sys

from e2e_truth import Truth


class Entry:
    def __init__(self, n):
        self.n = n
        self.payload = bytes(700)

    @functools.lru_cache(maxsize=None)
    def key(self):
        return "e%d" % self.n


CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
held = []


def inside_loader(info, size, data):
    if not held:
        held.append(True)
        print("IN", flush=True)
        sys.stdin.readline()
    return 1  # stop the iteration


def main():
    truth = Truth()
    entries = [truth.track(Entry(i)) for i in range(25)]
    for e in entries:
        e.key()
    kept = entries[:3]
    entries = e = None
    truth.cache(Entry.key, "method")
    print("READY", flush=True)
    ctypes.CDLL(None).dl_iterate_phdr(CALLBACK(inside_loader), None)
    print("OUT", flush=True)
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
