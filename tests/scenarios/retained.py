# SPDX-License-Identifier: MIT
"""Victim: retained_bytes. Every Blob holds a 100 KB bytes payload.

The pinned Blobs must retain at least the sum of their payload sizes
(pinned_bytes in the truth line) and not absurdly more.
"""
import functools

from e2e_truth import Truth


class Blob:
    def __init__(self, n):
        self.n = n
        self.payload = bytes(100_000)

    @functools.lru_cache(maxsize=None)
    def digest(self, algo):
        return (algo, self.n)


def build(truth):
    kept = []
    for i in range(40):
        blob = truth.track(Blob(i))
        blob.digest("md5")
        blob.digest("sha1")
        if i % 4 == 1:
            kept.append(blob)
    truth.cache(Blob.digest, "method")
    return kept


def main():
    truth = Truth()
    kept = build(truth)
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
