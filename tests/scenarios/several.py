# SPDX-License-Identifier: MIT
"""Victim: one instance held by several caches at once.

Doc.title and Doc.words are two cached methods, and summarize() is a module
level cached function; a Doc may be in one, two or all three. An object
pinned at all counts as pinned for every cache that holds it, so the three
rows overlap.
"""
import functools

from e2e_truth import Truth


class Doc:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def title(self):
        return "doc %d" % self.n

    @functools.lru_cache(maxsize=None)
    def words(self, limit):
        return min(self.n, limit)


@functools.lru_cache(maxsize=None)
def summarize(doc, width):
    return doc.title()[:width]


def build(truth):
    kept = []
    for i in range(90):
        doc = truth.track(Doc(i))
        doc.title()
        if i % 2 == 0:
            doc.words(10)
        if i % 3 == 0:
            summarize(doc, 4)
        if i % 5 == 0:
            kept.append(doc)
    truth.cache(Doc.title, "method")
    truth.cache(Doc.words, "method")
    truth.cache(summarize, "function")
    return kept


def main():
    truth = Truth()
    kept = build(truth)
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
