# SPDX-License-Identifier: MIT
"""An asyncio program ends: it must exit at once (3.12: a double dealloc of
a future iterator from the _asyncio free list made the GC loop at exit)."""
import asyncio
import functools


class A:
    @functools.lru_cache(maxsize=None)
    def f(self):
        return 1


keep = [A() for _ in range(10)]
for a in keep:
    a.f()


async def main():
    for _ in range(20):
        await asyncio.sleep(0.01)
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(1)
        await fut


asyncio.run(main())
print("done")
