"""Alt text and keyboard focus, added where the page is made instead of after it.

nbconvert's HTMLExporter parses every finished page with BeautifulSoup to do two things
(nbconvert 7.x, `HTMLExporter.from_notebook_node`): give each `<img>` without an `alt`
attribute the text NO_ALT, and set `tabindex="0"` on every `div.jp-Cell-inputWrapper`
and `div.jp-OutputArea-output`, so keyboard users can reach and scroll each input and
output. That pass is about half of nbconvert's render time. nbshare's template does the
same in two cheap filters:

- `focusable` on the template's own wrappers: the start tags a block begins with;
- `accessible` on the only HTML the template does not write itself (markdown, HTML
  outputs, raw cells), tokenised with html.parser, the tokenizer BeautifulSoup used, so
  the same tags change. Fragments with neither `<img` nor those class names (nearly
  all) are not parsed.

nbconvert's templates do not autoescape, so both take and give plain strings.

tests/test_render_equivalence.py renders with and without nbconvert's pass and compares.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

NO_ALT = "No description has been provided for this image"
FOCUSABLE_CLASSES = frozenset({"jp-Cell-inputWrapper", "jp-OutputArea-output"})

# The run of <div ...> start tags a fragment begins with (whitespace between them).
_LEADING_DIV = re.compile(r"\s*<div\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.IGNORECASE)
_CLASS_ATTR = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_TABINDEX_ATTR = re.compile(r"""\stabindex\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)
# html.parser lower-cases ASCII tag names only. (A case-insensitive alternation scans
# 100 times slower: 0.3 s on a 2.9 MB output.)
_IMG = re.compile(r"<[iI][mM][gG]")


def focusable(html: str) -> str:
    """`html` with tabindex="0" on each of its leading <div>s that nbconvert makes
    focusable (an input wrapper or an output)."""
    out: list[str] = []
    pos = 0
    while match := _LEADING_DIV.match(html, pos):
        attrs = match.group(1)
        found = _CLASS_ATTR.search(attrs)
        classes = next((g for g in found.groups() if g is not None), "") if found else ""
        if FOCUSABLE_CLASSES.intersection(classes.split()):
            attrs = _TABINDEX_ATTR.sub("", attrs)
            out.append(html[pos : match.start(1)] + attrs + ' tabindex="0">')
        else:
            out.append(match.group(0))
        pos = match.end()
    if not out:
        return html
    return "".join(out) + html[pos:]


class _Marker(HTMLParser):
    """Where, in the fed text, nbconvert's pass would change a start tag."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.line_starts = [0]
        self.line_starts.extend(m.end() for m in re.finditer("\n", text))
        self.edits: list[tuple[int, int, str]] = []  # (start, end, replacement)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, attrs, closed=True)

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        if tag == "img" and not any(name == "alt" for name, _ in attrs):
            name, value = "alt", NO_ALT
        elif tag == "div" and FOCUSABLE_CLASSES.intersection(_classes(attrs)):
            name, value = "tabindex", "0"
        else:
            return
        raw = self.get_starttag_text() or ""
        line, col = self.getpos()
        start = self.line_starts[line - 1] + col
        if any(key == name for key, _ in attrs):  # a tabindex of its own: rewrite the tag
            attrs = [(key, value if key == name else v) for key, v in attrs]
            text = "".join(f" {key}" if v is None else f' {key}="{escape(v)}"' for key, v in attrs)
            self.edits.append((start, start + len(raw), f"<{tag}{text}{' />' if closed else '>'}"))
            return
        at = start + len(raw) - (2 if closed and raw.endswith("/>") else 1)
        self.edits.append((at, at, f' {name}="{value}"'))


def _classes(attrs: list[tuple[str, str | None]]) -> list[str]:
    return next(((value or "").split() for name, value in attrs if name == "class"), [])


def accessible(html: str) -> str:
    """HTML the template does not write itself (markdown, HTML outputs, raw cells), with
    what nbconvert's pass would add: alt=NO_ALT on each <img> without alt, tabindex="0"
    on each div of an output or input wrapper class (a page of nbconvert's shown inside
    an output)."""
    if not (_IMG.search(html) or any(name in html for name in FOCUSABLE_CLASSES)):
        return html
    marker = _Marker(html)
    marker.feed(html)
    marker.close()
    if not marker.edits:
        return html
    out, last = [], 0
    for start, end, text in marker.edits:
        out.append(html[last:start])
        out.append(text)
        last = end
    out.append(html[last:])
    return "".join(out)
