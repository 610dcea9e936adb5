"""The recipient's side: fetch a share, check it against the server's checksum, write it out.

`nbshare clone` calls `fetch` and then builds the environment (environment.py) and,
if asked, runs the notebooks (check.py). The archive is unpacked with the same
distrustful reader the server uses, and only into the new folder.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..client import ClientError, NbshareClient
from ..errors import NbshareError
from . import workingcopy
from .archive import Limits, Member, read_zip, safe_extract
from .envfiles import find_env_files

# What a recipient accepts from a server: generous, but still bounded.
CLONE_LIMITS = Limits(max_files=20_000, max_total_bytes=4 * 1024**3, max_file_bytes=2 * 1024**3)


@dataclass(frozen=True)
class Cloned:
    dest: Path
    info: dict[str, Any]
    files: list[str]  # bundle paths written
    notebooks: list[str]
    env_files: list[str]
    replaced: bool = False  # an earlier clone was removed first (--force)


def default_folder(info: dict[str, Any]) -> str:
    """A folder name from the share's file name, else its title, else its id: readable, safe
    on any OS. Each is the server's word, so each is cleaned, the id too."""
    stem = re.sub(r"\.(zip|ipynb)$", "", _text(info.get("filename")), flags=re.IGNORECASE)
    for candidate in (stem, _text(info.get("title")), _text(info.get("id"))):
        name = re.sub(r"[^\w.\- ]+", "-", unicodedata.normalize("NFC", candidate)).strip(" .-")[:80]
        if name:
            return name
    return "nbshare-clone"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def open_share(
    client: NbshareClient, share_id: str, ask_password: Callable[[], str]
) -> tuple[dict[str, Any], str | None]:
    """The share's description, unlocking it first if it has a password. A description of
    another share than the one asked for is refused: the server chose it, not the person."""
    try:
        return _same_share(client.info(share_id), share_id), None
    except ClientError as exc:
        if exc.code != "password_required":
            raise
    grant = client.unlock(share_id, ask_password())
    return _same_share(client.info(share_id, grant=grant), share_id), grant


def _same_share(info: object, share_id: str) -> dict[str, Any]:
    if not isinstance(info, dict) or info.get("id") != share_id:
        got = info.get("id") if isinstance(info, dict) else None
        raise NbshareError(
            f"The server described another share ({str(got)[:80]!r}) than the one asked for "
            f"({share_id}); nothing was written.",
            code="share_mismatch",
        )
    return info


def fetch(
    client: NbshareClient,
    info: dict[str, Any],
    grant: str | None,
    dest: Path,
    *,
    on_progress: Callable[[int], None] | None = None,
    force: bool = False,
) -> Cloned:
    """Download the share into `dest` (new or empty, or with `force` an earlier clone, which is
    replaced), verifying its SHA-256 before anything is written or removed."""
    workingcopy.check_folder(dest, force=force)
    data = client.download(
        info["download_url"], grant=grant, max_bytes=most_bytes(info), on_progress=on_progress
    )
    digest = hashlib.sha256(data).hexdigest()
    if digest != info["sha256"]:
        raise NbshareError(
            f"The download does not match the server's checksum (expected {info['sha256']}, got "
            f"{digest}); nothing was written. Try again.",
            code="checksum_mismatch",
        )
    if info.get("kind") == "bundle":
        members = read_zip(data, CLONE_LIMITS)
    else:
        members = [Member(path=_notebook_name(info["filename"]), data=data)]
    # The marker is nbshare's, written first; a share cannot bring its own.
    members = [m for m in members if m.path.casefold() != workingcopy.MARKER]
    replaced = workingcopy.start(dest, info, force=force)
    safe_extract(members, dest)
    paths = [m.path for m in members]
    return Cloned(
        replaced=replaced,
        dest=dest,
        info=info,
        files=paths,
        notebooks=sorted(p for p in paths if p.lower().endswith(".ipynb")),
        # Found again in what was written, not taken from the server's word: a path from
        # the server would be handed to pip (`-r`, `-e`) and must not point outside `dest`.
        env_files=[e.path for e in find_env_files(paths)],
    )


def most_bytes(info: dict[str, Any]) -> int:
    """The largest download the share's description allows. A notebook is `size` bytes; a
    bundle's zip holds `size` bytes of files, which deflate grows by at most a few bytes per
    16 KB block, plus a local and a central header (~100 bytes and the name, twice) per file."""
    size = int(info.get("size") or 0)
    if info.get("kind") != "bundle":
        return size
    members = [f for f in info.get("files", []) if f.get("role") == "bundle"]
    headers = sum(200 + 2 * len(f["name"].encode()) for f in members)
    if not members:  # a view-limited share's names are content: described without them
        headers = CLONE_LIMITS.max_files * 1024
    return size + size // 1000 + headers + 64 * 1024


def _notebook_name(filename: str) -> str:
    name = filename.replace("\\", "/").split("/")[-1].strip() or "notebook.ipynb"
    return name if name.lower().endswith(".ipynb") else name + ".ipynb"
