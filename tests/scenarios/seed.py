"""The seed example: a method-level lru_cache that pins every instance.

SlowAdder.calculate is cached on the class, so every SlowAdder ever used
stays alive (with its 10 KB payload) for as long as the class lives.
FixedAdder shows the per-instance fix; Config shows classmethod and
staticmethod caches, which key on the class or on plain values and are fine.
"""
import functools
import sys


class SlowAdder:
    def __init__(self, base):
        self.base = base
        self.payload = bytes(10_000)

    @functools.lru_cache(maxsize=None)
    def calculate(self, x):
        return self.base + x

    @functools.lru_cache(maxsize=16)
    def scaled(self, k):
        return self.base * k


class FixedAdder:
    """The fix: each instance owns its cache, which dies with it."""

    def __init__(self, base):
        self.base = base
        self.calculate = functools.lru_cache(maxsize=128)(self._calculate)

    def _calculate(self, x):
        return self.base + x


class Config:
    @classmethod
    @functools.lru_cache(maxsize=None)
    def load(cls, name):
        return {"name": name}

    @staticmethod
    @functools.lru_cache(maxsize=32)
    def parse(text):
        return int(text)


def main(n):
    total = 0
    for i in range(n):
        adder = SlowAdder(i)
        total += adder.calculate(1) + adder.calculate(2) + adder.scaled(3)
        fixed = FixedAdder(i)
        total += fixed.calculate(1)
        total += Config.parse(str(i % 10)) + len(Config.load("app"))
    print(f"seed: used {n} adders, total {total}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
