"""Readable, unique anchors for headings, and the table of contents they make.

Every heading in a markdown cell's rendered HTML, whether it came from `#` syntax or
from raw `<h2>` tags, gets an id derived from its text (Unicode kept, so `## Résumé`
becomes `#résumé`, and a second `## Results` becomes `#results-1`) plus a visible
permalink. The same pass records the table of contents, so the two cannot disagree.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import asdict, dataclass

HEADING_RE = re.compile(r"<h([1-6])\b([^>]*)>(.*?)</h\1\s*>", re.IGNORECASE | re.DOTALL)
ID_ATTR_RE = re.compile(r"""\s(?:id|name)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)
TAG_RE = re.compile(r"<[^>]*>")
ANCHOR_LINK_RE = re.compile(r'<a class="anchor-link"[^>]*>.*?</a>', re.DOTALL)


@dataclass(frozen=True)
class TocEntry:
    level: int
    text: str
    anchor: str

    def as_dict(self) -> dict:
        return asdict(self)


def slugify(text: str) -> str:
    """Lower-case words joined by '-', keeping letters of every script."""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    kept = [c if (c.isalnum() or c in "-_") else " " for c in text]
    return "-".join("".join(kept).split())


def plain_text(fragment: str) -> str:
    fragment = ANCHOR_LINK_RE.sub("", fragment)
    return " ".join(html.unescape(TAG_RE.sub("", fragment)).split())


class HeadingIndex:
    """Assigns anchors in document order and collects the table of contents."""

    def __init__(self, reserved: set[str] | None = None):
        self._used: set[str] = set(reserved or ())
        self.entries: list[TocEntry] = []

    def anchor_for(self, text: str) -> str:
        base = slugify(text) or "section"
        anchor, n = base, 0
        while anchor in self._used:
            n += 1
            anchor = f"{base}-{n}"
        self._used.add(anchor)
        return anchor

    def annotate(self, cell_html: str) -> str:
        """Give every heading in a markdown cell's HTML an anchor and a permalink."""
        return HEADING_RE.sub(self._replace, cell_html)

    def _replace(self, match: re.Match) -> str:
        level, attrs, inner = int(match.group(1)), match.group(2), match.group(3)
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


def nest(entries: list[TocEntry]) -> list[dict]:
    """Flat entries -> a tree of {"entry", "children"} following heading levels."""
    root: list[dict] = []
    stack: list[tuple[int, list[dict]]] = [(0, root)]
    for entry in entries:
        while len(stack) > 1 and stack[-1][0] >= entry.level:
            stack.pop()
        node = {"entry": entry, "children": []}
        stack[-1][1].append(node)
        stack.append((entry.level, node["children"]))
    return root
