# SPDX-License-Identifier: MIT
"""Victim for tests/output: 25 Repo objects pinned by an unbounded cache,
10 Small objects through a bounded one (maxsize 4).

Usage: leaky_outputs.py TRUTH_FILE
Writes {"Repo.lookup": n, "Small.get": m} to TRUTH_FILE: the objects of
each class still alive after gc.collect() that the program no longer
refers to, i.e. what each cache pins.
"""
import functools
import gc
import json
import sys
import weakref


class Repo:
    @functools.lru_cache(maxsize=None)
    def lookup(self, key):
        return key * 2


class Small:
    @functools.lru_cache(maxsize=4)
    def get(self):
        return 1


refs = []
for i in range(25):
    r = Repo()
    refs.append(weakref.ref(r))
    r.lookup(i)
for i in range(10):
    s = Small()
    refs.append(weakref.ref(s))
    s.get()
r = s = None
gc.collect()
alive = sum(1 for x in refs[:25] if x() is not None)
small = sum(1 for x in refs[25:] if x() is not None)
with open(sys.argv[1], "w") as f:
    json.dump({"Repo.lookup": alive, "Small.get": small}, f)
