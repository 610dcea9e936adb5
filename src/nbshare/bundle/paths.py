"""Names inside a bundle: one set of rules for the zip reader, the extractor and the collector.

A name is a relative POSIX path. Anything that a filesystem on Linux, macOS or Windows could
read as something else (an absolute path, a drive, a step up, a backslash) is refused rather
than repaired: a repaired name is one the sender did not choose, and two repairs can collide.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from ..errors import NbshareError

# Longest name component most filesystems accept (in bytes), and a sane bound for a whole path.
MAX_COMPONENT_BYTES = 255
MAX_PATH_CHARS = 1024

# Files that desktop archivers add without asking; dropping them loses nothing of the analysis.
JUNK_DIRS = frozenset({"__MACOSX"})
JUNK_FILES = frozenset({".DS_Store", "Thumbs.db"})

_DRIVE = re.compile(r"^[A-Za-z]:")
# Right-to-left overrides can make "txt.exe" display as "exe.txt" in a listing.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class BadArchive(NbshareError):
    status = 400
    code = "archive_corrupt"


def unsafe(name: str, why: str) -> BadArchive:
    return BadArchive(f"The file name {name!r} is not allowed: {why}.", code="archive_unsafe_path")


def normalise(name: str) -> str:
    """The clean relative POSIX form of `name` (NFC, no `.` steps), or BadArchive if it is unsafe."""
    if not name:
        raise unsafe(name, "it is empty")
    if len(name) > MAX_PATH_CHARS:
        raise unsafe(name[:60] + "...", f"it is longer than {MAX_PATH_CHARS} characters")
    if name.startswith("/"):
        raise unsafe(name, "it is an absolute path")
    if _DRIVE.match(name):
        raise unsafe(name, "it starts with a drive letter")
    if "\\" in name:
        raise unsafe(name, "it contains a backslash (bundles use / between folders)")
    for char in name:
        if unicodedata.category(char) == "Cc" or char in _BIDI:
            raise unsafe(name, "it contains a control character")
    parts = []
    for part in name.split("/"):
        if part == ".":
            continue
        if part == "":
            raise unsafe(name, "it has an empty folder name (//)")
        if part == "..":
            raise unsafe(name, "it steps out of its folder (..)")
        if len(part.encode()) > MAX_COMPONENT_BYTES:
            raise unsafe(name, f"one part is longer than {MAX_COMPONENT_BYTES} bytes")
        parts.append(part)
    if not parts:
        raise unsafe(name, "it names no file")
    # macOS writes decomposed accents (NFD); everyone else expects composed ones.
    return unicodedata.normalize("NFC", "/".join(parts))


def clash_key(path: str) -> str:
    """Two paths with the same key are one file on a case-insensitive or normalising filesystem."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", path).casefold())


def is_junk(path: str) -> bool:
    parts = path.split("/")
    return parts[-1] in JUNK_FILES or any(part in JUNK_DIRS for part in parts)


def check_unique(paths: Iterable[str]) -> None:
    """Refuse two names for one file, and a name used both as a file and as a folder."""
    files: dict[str, str] = {}
    for path in paths:
        key = clash_key(path)
        if key in files:
            raise BadArchive(
                f"{files[key]!r} and {path!r} would be the same file on many computers "
                "(names differing only in case or accents).",
                code="archive_duplicate",
            )
        files[key] = path
    for key, path in files.items():
        parts = key.split("/")
        for end in range(1, len(parts)):
            prefix = "/".join(parts[:end])
            if prefix in files:
                raise BadArchive(
                    f"{files[prefix]!r} is a file, but {path!r} uses it as a folder.",
                    code="archive_duplicate",
                )
