# SPDX-License-Identifier: MIT
"""Run inside hosts/embed-local.c (libpython loaded RTLD_LOCAL).

Imports the agent as _lruleak, pins some objects through a method cache,
keeps some, and checks the agent's selves and pinned against the truth
measured the destructive way (clear, collect, count dead weak references).
Raises (exit status 1) when they differ.
"""
import functools
import gc
import weakref

import _lruleak


class Item:
    @functools.lru_cache(maxsize=None)
    def value(self, x):
        return x


refs, kept = [], []
for i in range(9):
    item = Item()
    item.value(i)
    refs.append(weakref.ref(item))
    if i % 3 == 0:
        kept.append(item)
item = None
gc.collect()

rows = {c["qualname"]: c for c in _lruleak.snapshot()["caches"]}
row = rows["Item.value"]
Item.value.cache_clear()
gc.collect()
died = sum(1 for r in refs if r() is None)
if (row["selves"], row["pinned"]) != (len(refs), died):
    raise SystemExit("embedded: agent says selves %d pinned %d, truth %d and %d"
                     % (row["selves"], row["pinned"], len(refs), died))
print("embedded: selves %d pinned %d, as the truth" % (row["selves"], row["pinned"]))
