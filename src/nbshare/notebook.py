"""Turn uploaded bytes into a validated notebook, or a message saying what is wrong.

Everything here is a pure function of the bytes: no I/O, so it runs in the render
workers and in tests alike.

nbformat is imported where it is used: it brings jsonschema, whose format checkers can take
seconds to import, and the service's own process (which unpickles NotebookInfo from the
workers) never validates a notebook. A JupyterHub gives a managed service 10 s to answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import BadNotebook

if TYPE_CHECKING:
    import nbformat
    from nbformat.validator import ValidationError

# nbformat can upgrade anything from v1 on; v4 is what nbconvert renders.
CURRENT_MAJOR = 4


@dataclass(frozen=True)
class NotebookInfo:
    """What the service records about a notebook, besides its bytes."""

    nbformat: str
    title: str  # from the notebook's metadata; "" when it has none
    kernel_name: str
    language: str
    cell_count: int


def decode(data: bytes) -> str:
    if not data.strip():
        raise BadNotebook("The file is empty. Upload a Jupyter notebook (.ipynb).", code="empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":
            # A multi-byte character cut off by the end of the file: the upload was cut short.
            msg = "The file ends in the middle of a character; was the upload truncated?"
            raise BadNotebook(msg, code="truncated") from None
        raise BadNotebook(
            f"The file is not UTF-8 text (invalid byte at position {exc.start}); "
            "a Jupyter notebook is UTF-8 encoded JSON.",
            code="not_utf8",
        ) from None


def load_json(text: str, max_depth: int) -> Any:
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        if exc.msg.startswith("Unterminated string"):
            # json reports where the string starts; it is unterminated because the text
            # ended inside it, which is what a truncated file looks like.
            msg = f"The file ends inside a string that starts at {where}; was the upload truncated?"
            raise BadNotebook(msg, code="truncated") from None
        if exc.pos >= len(text.rstrip()):
            msg = f"The file ends in the middle of the JSON ({where}); was the upload truncated?"
            raise BadNotebook(msg, code="truncated") from None
        raise BadNotebook(
            f"The file is not valid JSON: {exc.msg} at {where}. A notebook is a JSON document.",
            code="not_json",
        ) from None
    except ValueError:
        # Python refuses to read integers of more than 4300 digits (a guard against
        # slow conversions); json.loads raises a plain ValueError for them.
        raise BadNotebook(
            "The file contains a number with thousands of digits, which no real notebook needs.",
            code="invalid_notebook",
        ) from None
    if json_depth(value) > max_depth:
        raise _too_deep(max_depth)
    if SURROGATE_ESCAPE.search(text) and not _is_unicode(value):
        raise BadNotebook(
            "The notebook contains an unpaired surrogate escape (such as \\ud800) in a string: "
            "that is not valid Unicode text, and a notebook must be UTF-8.",
            code="not_utf8",
        )
    return value


def _too_deep(max_depth: int) -> BadNotebook:
    return BadNotebook(
        f"The JSON is nested more than {max_depth} levels deep, which no real notebook needs.",
        code="too_deep",
    )


# JSON may spell a lone UTF-16 surrogate ("\ud800"); Python decodes it to a string that
# cannot be encoded as UTF-8, so the rendered page (and the database) could not hold it.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _is_unicode(value: Any) -> bool:
    """True if every string (and key) in `value` is valid Unicode text, without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def json_depth(value: Any) -> int:
    """Nesting depth of arrays and objects, computed without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Any
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _describe(error: ValidationError) -> str:
    path = list(error.absolute_path)
    where = ""
    if len(path) >= 2 and path[0] in ("cells", "worksheets"):
        where = f"cell {path[1] + 1}" if path[0] == "cells" else "worksheet"
        rest = [p for p in path[2:] if not isinstance(p, int)]
        if "outputs" in path:
            where += ", an output"
        elif rest:
            where += f", field '{rest[-1]}'"
        where += ": "
    elif path:
        where = f"'{'/'.join(map(str, path))}': "
    message = error.message
    if len(message) > 200:  # jsonschema quotes whole cells; keep the message readable
        kind = "is not valid under any of the given schemas"
        message = "is not a valid cell or output" if kind in message else message[:200] + "..."
    return where + message


def to_current(raw: dict) -> nbformat.NotebookNode:
    """Validate `raw` (any nbformat version) and return it upgraded to v4."""
    import nbformat

    if not isinstance(raw, dict) or ("cells" not in raw and "worksheets" not in raw):
        raise BadNotebook(
            "This is JSON but not a Jupyter notebook: it has no 'cells' (or 'worksheets').",
            code="not_a_notebook",
        )
    if "nbformat" not in raw:
        raise BadNotebook(
            "This looks like a notebook but has no 'nbformat' version field.", code="unsupported_version"
        )
    try:
        major, minor = nbformat.reader.get_version(raw)
    except Exception:
        major, minor = None, None
    # bool is an int in Python: `"nbformat": true` must not pass as version 1.
    if not isinstance(major, int) or isinstance(major, bool) or not 1 <= major <= CURRENT_MAJOR:
        raise BadNotebook(
            f"Unsupported notebook format version {major!r}; nbformat versions 1 to 4 are accepted.",
            code="unsupported_version",
        )
    errors = _errors(raw, major, minor)
    if errors:
        raise _invalid(errors)
    try:
        # to_notebook_json joins multi-line sources the way nbformat.reads does.
        node = nbformat.versions[major].to_notebook_json(raw, minor=minor)
        current = nbformat.convert(node, CURRENT_MAJOR) if major < CURRENT_MAJOR else node
    except Exception as exc:  # nbformat's upgraders raise bare KeyErrors on odd input
        raise BadNotebook(
            f"This notebook (format v{major}) could not be upgraded for rendering: {exc!r}",
            code="invalid_notebook",
        ) from None
    if major < CURRENT_MAJOR:
        errors = _errors(current, CURRENT_MAJOR, current.get("nbformat_minor"))
        if errors:
            raise _invalid(errors)
        for cell in current.cells:
            # The upgrade invents random cell ids; positional permalinks are stable
            # across re-uploads of the same old notebook, random ones are not.
            cell.pop("id", None)
    return current


# Altair 6 names its Vega-Lite mime type `application/vnd.vegalite.v6.json` (no `+`) and
# the spec is an object, where nbformat's schema wants text for such a name. Jupyter saves
# and opens these notebooks (warning in its log), and the renderer reads the spec.
_SPEC_MIME = re.compile(r"application/vnd\.vega(lite)?\.v\d+\.json")


def _tolerated(error: ValidationError) -> bool:
    path = list(getattr(error, "absolute_path", []))
    if getattr(error, "validator", None) == "required" and "'id' is a required" in str(error.message):
        # A v4.5+ cell without its id: tools that write the format loosely do this, and
        # Jupyter opens such notebooks (nbformat warns, then normalises). Cells without an
        # id get positional permalinks, as in notebooks older than 4.5.
        return True
    return (
        len(path) >= 2
        and path[-2] == "data"
        and isinstance(path[-1], str)
        and _SPEC_MIME.fullmatch(path[-1]) is not None
        and isinstance(getattr(error, "instance", None), dict)
    )


def _errors(node: Any, major: int, minor: Any) -> list[ValidationError]:
    from nbformat.validator import ValidationError, iter_validate

    if major < 3:  # nbformat ships no schema for v1/v2; the upgrade checks structure
        return []
    try:
        minor = minor if isinstance(minor, int) else None
        return [e for e in iter_validate(node, version=major, version_minor=minor) if not _tolerated(e)]
    except Exception as exc:  # a schema the validator itself chokes on
        return [ValidationError(str(exc))]


def _invalid(errors: list[ValidationError]) -> BadNotebook:
    shown = "; ".join(_describe(e) for e in errors[:3])
    more = f" (and {len(errors) - 3} more problems)" if len(errors) > 3 else ""
    return BadNotebook(f"The notebook is not valid: {shown}{more}.", code="invalid_notebook")


def _version_text(raw: Any) -> str:
    if not isinstance(raw, dict):
        return "?"
    return f"{raw.get('nbformat', '?')}.{raw.get('nbformat_minor', 0)}"


def info(node: nbformat.NotebookNode, version: str) -> NotebookInfo:
    meta = node.get("metadata", {})
    kernelspec = meta.get("kernelspec") or {}
    language = (meta.get("language_info") or {}).get("name") or kernelspec.get("language") or ""
    title = meta.get("title") if isinstance(meta.get("title"), str) else ""
    return NotebookInfo(
        nbformat=version,
        title=title.strip()[:300],
        kernel_name=str(kernelspec.get("display_name") or kernelspec.get("name") or "")[:200],
        language=str(language)[:100],
        cell_count=len(node.get("cells", [])),
    )


def parse(data: bytes, *, max_depth: int = 64) -> tuple[nbformat.NotebookNode, NotebookInfo]:
    """Bytes in, (v4 notebook, info) out; raises BadNotebook with a readable message."""
    raw = load_json(decode(data), max_depth)
    version = _version_text(raw)
    node = to_current(raw)
    return node, info(node, version)
