# SPDX-License-Identifier: MIT
"""Victim: reads the lru wrapper type's tp_new and tp_dealloc slots, for the
test that the agent gives them back on detach (tests/registry).

Started without the agent. Commands on stdin, one answer line each:
  slots  -> {"new": N, "dealloc": N}: the slot values (ctypes reads the type
            object; the layout is checked first: tp_basicsize at its offset
            must be the type's __basicsize__)
  churn  -> "ok N": makes and drops 2,000 wrappers (module-level, per-instance
            and closure caches, called once each) and checks through weak
            references that every one of them was freed (N of them)
  quit   -> exits 0
"""
import ctypes
import functools
import gc
import json
import sys
import weakref

TP_BASICSIZE, TP_DEALLOC, TP_NEW = 32, 48, 312
WRAPPER = type(functools.lru_cache(maxsize=None)(lambda: None))


def slot(offset):
    return ctypes.c_void_p.from_address(id(WRAPPER) + offset).value or 0


def slots():
    if ctypes.c_ssize_t.from_address(id(WRAPPER) + TP_BASICSIZE).value != WRAPPER.__basicsize__:
        raise SystemExit("PyTypeObject layout not as this test expects")
    return {"new": slot(TP_NEW), "dealloc": slot(TP_DEALLOC)}


class Item:
    def __init__(self, n):
        self.n = n
        self.get = functools.lru_cache(maxsize=4)(self._get)

    def _get(self, k):
        return self.n + k


def closure(n):
    @functools.lru_cache(maxsize=None)
    def f(k):
        return n * k
    return f


def churn():
    refs = []
    for i in range(2000):
        if i % 3 == 0:
            w = Item(i).get
        elif i % 3 == 1:
            w = closure(i)
        else:
            w = functools.lru_cache(maxsize=None)(lambda k, i=i: k + i)
        w(1)
        if sys.version_info >= (3, 9):  # 3.8's wrappers take no weak reference
            refs.append(weakref.ref(w))
        w = None
    gc.collect()
    alive = sum(1 for r in refs if r() is not None)
    if alive:
        raise SystemExit("%d wrappers outlived their last reference" % alive)
    return "ok %d" % len(refs)


def main():
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "slots":
            print(json.dumps(slots()), flush=True)
        elif cmd == "churn":
            print(churn(), flush=True)
        elif cmd == "quit":
            return
        else:
            raise SystemExit("unknown command %r" % cmd)


if __name__ == "__main__":
    print("READY", flush=True)
    main()
