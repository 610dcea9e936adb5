"""How a version's bytes and metadata are stored, in the clear or sealed.

A protected share's version row holds neutral placeholders; the real title, file name,
table of contents and so on sit in a sealed `meta.json` blob next to the sealed
original and page. Everything here is synchronous and pure apart from the blob store.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, replace

from .security import crypto
from .store import BlobStore, VersionRow

SEALED_SUFFIX = ".sealed"
PLACEHOLDER = {
    "title": "Protected notebook",
    "filename": "notebook.ipynb",
    "sha256": "",
    "nbformat": "",
    "kernel_name": "",
    "language": "",
    "cell_count": 0,
    "toc": [],
}


@dataclass(frozen=True)
class VersionMeta:
    """What a reader may learn about a version once they can read it."""

    title: str
    filename: str
    size: int
    sha256: str
    nbformat: str
    kernel_name: str
    language: str
    cell_count: int
    toc: list

    @classmethod
    def of(cls, version: VersionRow) -> VersionMeta:
        return cls(**{name: getattr(version, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class BlobKeys:
    original_key: str
    page_key: str
    meta_key: str | None


def blob_keys(share_id: str, number: int, *, sealed: bool) -> BlobKeys:
    # Sealed blobs get a fresh random tag in their names, so resealing under a new key
    # (a password change) writes new blobs beside the old ones instead of over them: the
    # rows switch to the new blobs in one commit, and a crash before it loses nothing.
    prefix = f"shares/{share_id}/v{number}"
    suffix = f".{secrets.token_hex(4)}{SEALED_SUFFIX}" if sealed else ""
    return BlobKeys(
        original_key=f"{prefix}/original.ipynb{suffix}",
        page_key=f"{prefix}/page.html{suffix}",
        meta_key=f"{prefix}/meta.json{suffix}" if sealed else None,
    )


def write_version(blobs: BlobStore, version: VersionRow, original: bytes, html: bytes,
                  data_key: bytes | None) -> VersionRow:
    """Store a version's blobs (sealed when `data_key` is given); returns the row to insert."""
    meta = VersionMeta.of(version)
    keys = blob_keys(version.share_id, version.number, sealed=data_key is not None)
    placed = replace(version, original_key=keys.original_key, page_key=keys.page_key, meta_key=keys.meta_key)
    if data_key is None:
        blobs.put(keys.original_key, original)
        blobs.put(keys.page_key, html)
        return placed
    assert keys.meta_key is not None
    blobs.put(keys.original_key, crypto.seal(data_key, original, keys.original_key))
    blobs.put(keys.page_key, crypto.seal(data_key, html, keys.page_key))
    blobs.put(keys.meta_key, crypto.seal(data_key, json.dumps(asdict(meta)).encode(), keys.meta_key))
    return replace(placed, **PLACEHOLDER)  # type: ignore[arg-type]


def read_blob(blobs: BlobStore, key: str, data_key: bytes | None) -> bytes:
    data = blobs.get(key)
    return crypto.open_sealed(data_key, data, key) if key.endswith(SEALED_SUFFIX) and data_key else data


def read_meta(blobs: BlobStore, version: VersionRow, data_key: bytes | None) -> VersionMeta:
    if version.meta_key is None:
        return VersionMeta.of(version)
    if data_key is None:
        raise PermissionError("a sealed version needs its key")
    fields = json.loads(read_blob(blobs, version.meta_key, data_key))
    return VersionMeta(**{**fields, "size": version.size})


def reseal_version(blobs: BlobStore, version: VersionRow, old_key: bytes | None,
                   new_key: bytes | None) -> tuple[dict, list[str]]:
    """Write a version's blobs again under `new_key` (None: in the clear).

    Returns the row changes and the old blob keys, which the caller deletes only after
    the rows pointing at the new blobs are committed."""
    meta = read_meta(blobs, version, old_key)
    original = read_blob(blobs, version.original_key, old_key)
    html = read_blob(blobs, version.page_key, old_key)
    plain = replace(version, **{k: v for k, v in asdict(meta).items() if k != "size"})
    written = write_version(blobs, plain, original, html, new_key)
    changes = {k: getattr(written, k) for k in (*PLACEHOLDER, "original_key", "page_key", "meta_key")}
    old = [k for k in (version.original_key, version.page_key, version.meta_key) if k]
    new = {written.original_key, written.page_key, written.meta_key}
    return changes, [k for k in old if k not in new]
