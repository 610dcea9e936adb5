"""Readable, unique anchors for headings, and the table of contents they make.

Every heading in a markdown cell's rendered HTML, whether it came from `#` syntax or
from raw `<h2>` tags, gets an id derived from its text (Unicode kept, so `## Résumé`
becomes `#résumé`, and a second `## Results` becomes `#results-1`) plus a visible
permalink. The same pass records the table of contents, so the two cannot disagree.
"""

from __future__ import annotations

import bisect
import html
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, TypedDict

HEADING_OPEN_RE = re.compile(r"<h([1-6])\b([^>]*)>", re.IGNORECASE)
HEADING_CLOSE_RE = re.compile(r"</h([1-6])\s*>", re.IGNORECASE)
ID_ATTR_RE = re.compile(r"""\s(?:id|name)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)
TAG_RE = re.compile(r"<[^>]*>")
ANCHOR_LINK_RE = re.compile(r'<a class="anchor-link"[^>]*>.*?</a>', re.DOTALL)
# id= (or name=) written by the notebook's author or outputs on anything but a heading:
# a heading anchor must not take one of them (pandas-bokeh's docs put <p id="lineplot">
# above "## Lineplot"). Headings' own ids are replaced, so they are not collected.
# A tag stops at the next "<" (a "<" inside an attribute value is rare), so each
# character is scanned once: linear on megabytes of output HTML with scripts full of "<".
# Possessive (*+): where no ">" follows, giving characters back cannot help, and trying
# every split of a long run between the two groups made a 2.9 MB plotly output take 3 s.
START_TAG_RE = re.compile(r"<([a-z][^\s<>/]*+)([^<>]*+)>", re.IGNORECASE)
ID_VALUE_RE = re.compile(r"""\s(?:id|name)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""", re.IGNORECASE)
HEADING_TAG_RE = re.compile(r"h[1-6]", re.IGNORECASE)


@dataclass(frozen=True)
class TocEntry:
    level: int
    text: str
    anchor: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class TocNode(TypedDict):
    """One entry of the table of contents as the share page nests it."""

    entry: TocEntry
    children: list[TocNode]


def slugify(text: str) -> str:
    """Lower-case words joined by '-', keeping letters of every script."""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    kept = [c if (c.isalnum() or c in "-_") else " " for c in text]
    return "-".join("".join(kept).split())


def explicit_ids(html_text: str) -> set[str]:
    """Ids already present in notebook-supplied HTML (markdown, raw cells, outputs)."""
    found = set()
    for tag in START_TAG_RE.finditer(html_text):
        if HEADING_TAG_RE.fullmatch(tag.group(1)) or "=" not in tag.group(2):
            continue
        for value in ID_VALUE_RE.finditer(tag.group(2)):
            found.add(next(g for g in value.groups() if g is not None))
    return found


def plain_text(fragment: str) -> str:
    fragment = ANCHOR_LINK_RE.sub("", fragment)
    return " ".join(html.unescape(TAG_RE.sub("", fragment)).split())


class HeadingIndex:
    """Assigns anchors in document order and collects the table of contents."""

    def __init__(self, reserved: set[str] | None = None):
        self._used: set[str] = set(reserved or ())
        # The last suffix given to each base: the next free one is never below it (ids
        # are only ever added), so 10,000 identical headings cost n, not n² probes.
        self._last_suffix: dict[str, int] = {}
        self.entries: list[TocEntry] = []

    def anchor_for(self, text: str) -> str:
        base = slugify(text) or "section"
        anchor, n = base, self._last_suffix.get(base, 0)
        if n:
            anchor = f"{base}-{n}"
        while anchor in self._used:
            n += 1
            anchor = f"{base}-{n}"
        self._last_suffix[base] = n
        self._used.add(anchor)
        return anchor

    def annotate(self, cell_html: str) -> str:
        """Give every heading in a markdown cell's HTML an anchor and a permalink.

        Opening and closing heading tags are found in one pass and paired with a
        bisect, so a cell full of unclosed `<h1>` costs n log n, not the n² of a
        lazy `<h1>.*?</h1>` regex."""
        closes: dict[str, list[int]] = {}
        for tag in HEADING_CLOSE_RE.finditer(cell_html):
            closes.setdefault(tag.group(1), []).append(tag.start())
        out, position = [], 0
        for tag in HEADING_OPEN_RE.finditer(cell_html):
            if tag.start() < position:
                continue  # inside a heading already handled
            ends = closes.get(tag.group(1), [])
            i = bisect.bisect_left(ends, tag.end())
            if i == len(ends):
                continue
            close = HEADING_CLOSE_RE.match(cell_html, ends[i])
            assert close is not None
            out.append(cell_html[position : tag.start()])
            out.append(self._heading(int(tag.group(1)), tag.group(2), cell_html[tag.end() : ends[i]]))
            position = close.end()
        out.append(cell_html[position:])
        return "".join(out)

    def _heading(self, level: int, attrs: str, inner: str) -> str:
        inner = ANCHOR_LINK_RE.sub("", inner)
        text = plain_text(inner)
        anchor = self.anchor_for(text)
        self.entries.append(TocEntry(level, text, anchor))
        attrs = ID_ATTR_RE.sub("", attrs)
        quoted = html.escape(anchor, quote=True)
        label = html.escape(f"Link to section: {text}", quote=True)
        return (
            f'<h{level} id="{quoted}"{attrs}>{inner}'
            f'<a class="anchor-link" href="#{quoted}" aria-label="{label}">¶</a></h{level}>'
        )


def nest(entries: list[TocEntry]) -> list[TocNode]:
    """Flat entries -> a tree of {"entry", "children"} following heading levels."""
    root: list[TocNode] = []
    stack: list[tuple[int, list[TocNode]]] = [(0, root)]
    for entry in entries:
        while len(stack) > 1 and stack[-1][0] >= entry.level:
            stack.pop()
        children: list[TocNode] = []
        stack[-1][1].append({"entry": entry, "children": children})
        stack.append((entry.level, children))
    return root
