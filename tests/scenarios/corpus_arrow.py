# SPDX-License-Identifier: MIT
"""Corpus: Arrow (python3-arrow), parsers with their own pattern caches.

arrow.parser.DateTimeParser(locale, cache_size=N) wraps its own bound
method in a per-instance cache, self._generate_pattern_re =
lru_cache(maxsize=N)(self._generate_pattern_re): parser -> __dict__ ->
wrapper -> bound method -> parser. The program (this file, as an app
would) keeps one parser per feed and memoises parsed stamps in a method
cache of its own, Feed.stamp: a feed the program drops stays alive
through Feed.stamp alone, and with it its parser and the compiled
patterns in the parser's cache. arrow.get(text, fmt) (a parser per call,
no per-instance cache) is used too. Some feeds are kept by the program;
some parsers are dropped with no cache of the program's holding them.
"""
import functools

from corpus_truth import CorpusTruth, debian

import arrow  # noqa: E402
from arrow.parser import DateTimeParser  # noqa: E402

FORMATS = ["YYYY-MM-DD HH:mm:ss", "DD/MM/YYYY", "MMMM D, YYYY h:mm A", "X"]
LOCALES = ["en-us", "fr-fr", "de-de"]


class Feed:
    def __init__(self, n):
        self.n = n
        self.parser = DateTimeParser(LOCALES[n % 3], cache_size=16)

    @functools.lru_cache(maxsize=None)
    def stamp(self, text, fmt):
        return self.parser.parse(text, fmt)


def build():
    kept = []
    moment = arrow.get(2023, 5, 17, 9, 30, 15)
    for i in range(45):
        feed = Feed(i)
        day = moment.shift(days=i)
        for fmt in FORMATS[: 1 + i % 4]:
            text = day.format(fmt, locale=LOCALES[i % 3])
            assert feed.stamp(text, fmt).year == day.year
        assert arrow.get(day.format("YYYY-MM-DD"), "YYYY-MM-DD").day == day.day
        if i % 6 == 5:
            # Used once and dropped: only its own cycle holds it.
            DateTimeParser(LOCALES[0], cache_size=4).parse(text, FORMATS[(i % 4)])
        if i % 4 == 0:
            kept.append(feed)
    return kept


def main():
    debian(arrow)
    kept = build()
    truth = CorpusTruth()
    truth.register(["arrow", "__main__"])
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
