# SPDX-License-Identifier: MIT
"""Corpus: Rich (python3-rich), consoles, tables and progress bars.

ProgressBar._get_pulse_segments is a method decorated with
lru_cache(maxsize=16): a bar rendered while pulsing (total unknown) is a
key of it, so up to 16 dropped bars stay alive. Palette.match (the
palettes are module globals), Color's methods (a NamedTuple: a value type,
never a self) and Segment._split_cells (a classmethod) key nothing the
program drops. Style._add and Style.get_html_style key Style objects,
whose __slots__ take no weak reference: no weak-reference truth can be
had for them, so they are left out of the comparison (and out of the
clearing, which cannot free anything the compared rows hold).
"""
import io

from corpus_truth import CorpusTruth, debian

import rich  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.progress_bar import ProgressBar  # noqa: E402
from rich.table import Table  # noqa: E402

NO_WEAKREF = ("Style._add", "Style.get_html_style")


def build():
    kept = []
    console = Console(file=io.StringIO(), force_terminal=True, color_system="256", width=60,
                      record=True)
    for i in range(30):
        bar = ProgressBar(total=None, pulse=True, animation_time=i * 0.1, width=20)
        console.print(bar)
        table = Table(title="run %d" % i)
        table.add_column("name", style="bold magenta")
        table.add_column("value", justify="right", style="#%02x%02x%02x" % (i * 8, 99, 200 - i))
        table.add_row("item %d" % i, "[green]%d[/]" % (i * i))
        console.print(table)
        if i % 4 == 0:
            kept.append(bar)
    assert console.export_html()
    return kept


def main():
    debian(rich)
    kept = build()
    truth = CorpusTruth()
    truth.register(["rich"], skip=NO_WEAKREF)
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
