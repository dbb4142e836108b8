# SPDX-License-Identifier: MIT
"""Corpus: Pygments (python3-pygments), HTML highlighting.

HtmlFormatter._translate_parts is a method decorated with
functools.lru_cache(maxsize=100): every distinct token text a formatter
escapes becomes a key holding that formatter. A program that highlights
with a fresh formatter per call, highlight(code, lexer, HtmlFormatter()),
leaves its formatters (and their style tables) to that cache until 100
newer entries push them out. Some formatters are kept by the program.
"""
from corpus_truth import CorpusTruth, debian

import pygments  # noqa: E402

from pygments import highlight  # noqa: E402
from pygments.formatters import HtmlFormatter  # noqa: E402
from pygments.lexers import PythonLexer  # noqa: E402

SOURCES = [
    "def f%d(x):\n    return x * %d\n" % (i, i) for i in range(6)
] + ["import os\nprint(os.getcwd())\n", "class K:\n    pass\n"]


def build():
    kept = []
    lexer = PythonLexer()
    for i in range(24):
        formatter = HtmlFormatter(linenos=(i % 2 == 0), cssclass="hl%d" % (i % 3))
        html = highlight(SOURCES[i % len(SOURCES)], lexer, formatter)
        assert "<pre" in html
        if i % 5 == 0:
            kept.append(formatter)
    return kept


def main():
    debian(pygments)
    kept = build()
    truth = CorpusTruth()
    truth.register(["pygments"])
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
