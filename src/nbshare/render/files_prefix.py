"""nbconvert's `strip_files_prefix` filter in linear time.

The HTML templates pass every markdown cell's HTML through it. It strips the `files/`
prefix Jupyter's classic server gave to local files, in `src=`/`href=` attributes and in
markdown links left as text. nbconvert finds the latter with the lazy regex
`(!?)\\[(.*?)\\]\\(/?files/(.*?)\\)`, which from every `[` scans to the end of its line when
no `](files/` follows: quadratic, so 60 KB of `[` or of `[a](` keeps a render busy for
minutes. This version gives the same output for every input (a test compares the two)
with one forward scan per line.
"""

from __future__ import annotations

import re

from nbconvert.filters.strings import files_url_pattern

_TARGET_RE = re.compile(r"\]\(/?files/")


def _strip_line(line: str) -> str:
    """The markdown-link half of the filter on one line (`.` in nbconvert's regex stops
    at a newline, so no match spans lines).

    A `[` matches when some `](files/` (or `](/files/`) follows it with a `)` after that:
    the caption ends at the first such target, the location at the first `)` after it.
    When the first target after a `[` has no `)` after it, neither has any later target,
    so no later `[` on the line can match either, and the line is done."""
    out: list[str] = []
    position = 0
    while True:
        opening = line.find("[", position)
        if opening < 0:
            break
        target = _TARGET_RE.search(line, opening + 1)
        closing = line.find(")", target.end()) if target else -1
        if target is None or closing < 0:
            break
        start = opening - 1 if opening > position and line[opening - 1] == "!" else opening
        out.append(line[position:start])
        bang = line[start:opening]
        out.append(f"{bang}[{line[opening + 1 : target.start()]}]({line[target.end() : closing]})")
        position = closing + 1
    out.append(line[position:])
    return "".join(out)


def strip_files_prefix(text: str) -> str:
    """Remove the `files/` prefix from local URLs, as nbconvert's filter of that name."""
    text = files_url_pattern.sub(r"\1=\2", text)
    if "files/" not in text:
        return text
    return "\n".join(_strip_line(line) for line in text.split("\n"))
