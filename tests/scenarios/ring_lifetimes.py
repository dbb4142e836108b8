# SPDX-License-Identifier: MIT
"""Objects die when the program drops its last reference. A heap of cached
instances keeps the agent's samples busy while a ring of plain objects is
turned over; right after each drop a weak reference must be dead.
argv[1]: seconds to run. Prints "drops N survived M"."""
import collections
import functools
import sys
import time
import weakref


class Leaky:
    @functools.lru_cache(maxsize=None)
    def f(self):
        return 1


keep = [Leaky() for _ in range(30000)]
for o in keep:
    o.f()


class Obj:
    pass


ring = collections.deque(Obj() for _ in range(2000))
bad = drops = 0
end = time.time() + float(sys.argv[1])
while time.time() < end:
    for _ in range(1000):
        old = ring.popleft()
        r = weakref.ref(old)
        del old
        if r() is not None:
            bad += 1
        drops += 1
        ring.append(Obj())
print("drops", drops, "survived", bad)
