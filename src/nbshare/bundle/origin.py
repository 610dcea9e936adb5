"""Where an installed distribution came from: a package index, or somewhere an index cannot
give it again (PEP 610's direct_url.json, which pip and uv write for every install that did
not come from an index).

`--infer-env` pins only what came from an index, and refers to what came from a public
https URL by that URL; `nbshare clone` uses the same answer for the recipient's own nbshare.
A local path is never written into what is shared: it means nothing on another computer and
can say more about the sender than they meant to.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

Kind = Literal["index", "editable", "folder", "file", "url", "vcs", "unknown"]

_DESCRIBED: dict[Kind, str] = {
    "index": "a package index",
    "editable": "a local folder (editable)",
    "folder": "a local folder",
    "file": "a local file",
    "url": "a URL",
    "vcs": "a version-control URL",
    "unknown": "a direct URL nbshare cannot read",
}


@dataclass(frozen=True)
class Origin:
    kind: Kind
    # "name @ URL": a requirement that installs the same thing from elsewhere than an index,
    # when one can be written without a local path or credentials; else None.
    reference: str | None = None
    path: str | None = None  # for "file", "folder" and "editable": where it is on this computer

    @property
    def from_index(self) -> bool:
        return self.kind == "index"

    @property
    def described(self) -> str:
        return _DESCRIBED[self.kind]


def origin_of(distribution: metadata.Distribution) -> Origin:
    """Read `distribution`'s direct_url.json; no such file means it came from an index."""
    try:
        text = distribution.read_text("direct_url.json")
    except OSError:
        text = None
    if text is None:
        return Origin("index")
    return origin_from_direct_url(distribution.metadata["Name"] or "", text)


def origin_from_direct_url(name: str, text: str) -> Origin:
    try:
        data = json.loads(text)
        url = data["url"]
    except (ValueError, TypeError, KeyError):
        return Origin("unknown")
    if not isinstance(data, dict) or not isinstance(url, str):
        return Origin("unknown")
    parts = urlsplit(url)
    local = parts.scheme == "file"
    path = parts.path if local else None
    if isinstance(data.get("dir_info"), dict):
        editable = data["dir_info"].get("editable") is True
        return Origin("editable" if editable else "folder", path=path)
    if isinstance(data.get("vcs_info"), dict):
        info = data["vcs_info"]
        vcs, commit = info.get("vcs"), info.get("commit_id")
        if local or not _public_https(url) or not isinstance(vcs, str) or not isinstance(commit, str):
            return Origin("vcs")
        return Origin("vcs", reference=f"{name} @ {vcs}+{url}@{commit}{_subdirectory(data)}")
    if local:
        return Origin("file", path=path)
    if not _public_https(url):
        return Origin("url")
    return Origin("url", reference=f"{name} @ {url}{_hash_fragment(data)}")


def _public_https(url: str) -> bool:
    """https with no user name or password in it: what anyone can install from, and safe to share."""
    parts = urlsplit(url)
    return parts.scheme == "https" and "@" not in parts.netloc and bool(parts.hostname)


def _subdirectory(data: dict) -> str:
    sub = data.get("subdirectory")
    return f"#subdirectory={sub}" if isinstance(sub, str) and sub else ""


def _hash_fragment(data: dict) -> str:
    info = data.get("archive_info")
    hashes = info.get("hashes") if isinstance(info, dict) else None
    if isinstance(hashes, dict) and isinstance(hashes.get("sha256"), str):
        return f"#sha256={hashes['sha256']}"
    legacy = info.get("hash") if isinstance(info, dict) else None  # "sha256=..." (PEP 610's first form)
    if isinstance(legacy, str) and legacy.startswith("sha256="):
        return f"#{legacy}"
    return ""


def editable_provider(module: str) -> str | None:
    """The distribution installed in development mode whose folder holds the top-level
    `module`, for the editable installs `packages_distributions()` cannot see (PEP 660: a .pth
    file or an import hook records no package names, as hatchling's and setuptools' do)."""
    try:
        spec = importlib.util.find_spec(module)  # finds it without running it
    except (ImportError, ValueError):
        return None
    where = spec and (spec.origin or next(iter(spec.submodule_search_locations or ()), None))
    if not where or where in ("built-in", "frozen"):
        return None
    found = Path(where).resolve()
    for distribution in metadata.distributions():
        origin = origin_of(distribution)
        if origin.kind != "editable" or not origin.path:
            continue
        if found.is_relative_to(Path(unquote(origin.path)).resolve()):
            return distribution.metadata["Name"]
    return None
