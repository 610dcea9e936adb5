"""Inputs that once cost time out of proportion to their size (issue 10, items 4 and 19).

Each row times the old code path and the new one on the same input, in this process,
by CPU time (so a busy machine changes both sides alike):
- heading anchors: the old HeadingIndex.anchor_for (probing -1, -2, ... from scratch)
  against the current one;
- strip_files_prefix: nbconvert's regex filter against nbshare's linear one;
- markdown cell: mistune with nbconvert's math plugin, unbounded, against the same call
  under nbshare's per-cell CPU budget (the cell is then shown as its source).

    .venv/bin/python bench/slow_inputs_bench.py          # the sizes of the issue
    .venv/bin/python bench/slow_inputs_bench.py --quick  # a tenth of them
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.filters.strings import strip_files_prefix as nbconvert_strip
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nbshare.render.budget import markdown_seconds, within_budget
from nbshare.render.files_prefix import strip_files_prefix
from nbshare.render.headings import HeadingIndex, slugify


def old_anchors(texts: list[str]) -> None:
    used: set[str] = set()
    for text in texts:
        base = slugify(text) or "section"
        anchor, n = base, 0
        while anchor in used:
            n += 1
            anchor = f"{base}-{n}"
        used.add(anchor)


def new_anchors(texts: list[str]) -> None:
    index = HeadingIndex()
    for text in texts:
        index.anchor_for(text)


def markdown(source: str) -> str:
    renderer = IPythonRenderer(escape=False, attachments={}, embed_images=False, exclude_anchor_links=True)
    return MarkdownWithMath(renderer=renderer).render(source)


def cpu_seconds(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes (a smoke run)")
    scale = 0.1 if parser.parse_args().quick else 1.0
    n = lambda count: max(1, int(count * scale))  # noqa: E731
    headings = ["Same"] * n(10_000)
    links, brackets = "[a](" * n(20_000), "[" * n(60_000)
    math = "\\begin{a}" * n(20_000)
    rows = [
        (
            f"{len(headings):,} identical headings",
            lambda: old_anchors(headings),
            lambda: new_anchors(headings),
        ),
        (f"{n(20_000):,} `[a](` links", lambda: nbconvert_strip(links), lambda: strip_files_prefix(links)),
        (f"{len(brackets):,} `[`", lambda: nbconvert_strip(brackets), lambda: strip_files_prefix(brackets)),
        (
            f"markdown cell of {len(math) // 1000} KB of `\\begin{{a}}`",
            lambda: markdown(math),
            lambda: within_budget(markdown_seconds(len(math)), lambda: markdown(math)),
        ),
    ]
    table = Table(title="Slow inputs: CPU seconds, old code path against new")
    for column in ("input", "before", "after", "ratio"):
        table.add_column(column, justify="left" if column == "input" else "right")
    for name, before, after in rows:
        old, new = cpu_seconds(before), cpu_seconds(after)
        table.add_row(escape(name), f"{old:.2f}", f"{new:.3f}", f"{old / max(new, 1e-4):,.0f}x")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
