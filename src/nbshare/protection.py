"""How a version's bytes and metadata are stored, in the clear or sealed.

A protected share's version row holds neutral placeholders; the real title, file name,
table of contents, manifest and so on sit in a sealed `meta.json` blob next to the
sealed original and page. Everything here is synchronous and pure apart from the blob
store.

Besides its original and page, a version has files (bundle files, embedded downloads,
images taken out of pages) and, for bundles, more pages. Its manifest lists them; each
file's blob is named by its content (`files/{address}`), so the same bytes twice are
stored once. In the clear the address is the SHA-256; sealed, it is an HMAC under the
share's key, so blob names and URLs do not reveal which known file a share holds.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

from . import urls
from .manifest import FileEntry, Json, Manifest, TocJson
from .render.assets import rewrite_page
from .security import crypto
from .store import BlobStore, VersionRow
from .store.keys import VersionKeys, version_folder_of

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
    "manifest": {},
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
    toc: TocJson
    manifest: Manifest = field(default_factory=Manifest)

    @classmethod
    def of(cls, version: VersionRow) -> VersionMeta:
        return cls.from_json({name: getattr(version, name) for name in cls.__dataclass_fields__})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VersionMeta:
        return cls(**{**data, "manifest": Manifest.from_json(data.get("manifest") or {})})

    def to_json(self) -> Json:
        """The fields in the order sealed `meta.json` blobs hold them."""
        return {
            **{name: getattr(self, name) for name in self.__dataclass_fields__},
            "manifest": self.manifest.to_json(),
        }

    @property
    def files(self) -> tuple[FileEntry, ...]:
        return self.manifest.files


@dataclass
class VersionContent:
    """A version's bytes before they are stored. `files`: sha256 -> bytes for every file
    the manifest lists; `pages`: page name (as the manifest says) -> HTML."""

    original: bytes
    html: bytes
    files: dict[str, bytes] = field(default_factory=dict)
    pages: dict[str, bytes] = field(default_factory=dict)


def file_address(sha256: str, data_key: bytes | None) -> str:
    if data_key is None:
        return sha256
    return hmac.new(data_key, f"file:{sha256}".encode(), hashlib.sha256).hexdigest()[:40]


@dataclass(frozen=True)
class BlobKeys:
    original_key: str
    page_key: str
    meta_key: str | None


def blob_keys(share_id: str, number: int, *, sealed: bool) -> BlobKeys:
    # Every upload's blobs get a fresh random tag in their names, so no two writes share a
    # blob: two updates racing for the same version number, a retry after a crash, or a
    # reseal under a new key (a password change) write beside each other instead of over
    # each other, and the one that loses deletes only what it wrote. The rows switch to the
    # new blobs in one commit, and a crash before it loses nothing. (Clear blobs stored
    # before this have no tag; their rows name them exactly, so they read as before.)
    at = VersionKeys(share_id, number)
    tag = f".{secrets.token_hex(8)}" + (SEALED_SUFFIX if sealed else "")
    return BlobKeys(
        original_key=at.original(tag), page_key=at.page(tag), meta_key=at.meta(tag) if sealed else None
    )


def upload_tag(version: VersionRow) -> str:
    """The random part every blob of a version's upload ends with, read from its page key
    ("" for clear versions stored before uploads had one)."""
    return version.page_key.removeprefix(VersionKeys(version.share_id, version.number).page(""))


def write_version(
    blobs: BlobStore, version: VersionRow, content: VersionContent, data_key: bytes | None
) -> tuple[VersionRow, VersionMeta]:
    """Store a version's blobs (sealed when `data_key` is given); returns the row to insert
    and what readers may learn (its manifest now says where each file and page is). If it
    fails, the blobs it wrote are deleted again; nothing else is touched."""
    written: list[str] = []
    try:
        return _write_version(blobs, version, content, data_key, written)
    except BaseException:
        for key in written:
            blobs.delete(key)
        raise


def _write_version(
    blobs: BlobStore, version: VersionRow, content: VersionContent, data_key: bytes | None, written: list[str]
) -> tuple[VersionRow, VersionMeta]:
    keys = blob_keys(version.share_id, version.number, sealed=data_key is not None)
    tag = upload_tag(replace(version, page_key=keys.page_key))
    at = VersionKeys(version.share_id, version.number)
    puts: dict[str, bytes] = {keys.original_key: content.original, keys.page_key: pack_page(content.html)}
    manifest = Manifest.from_json(version.manifest)
    files: list[FileEntry] = []
    for entry in manifest.files:
        address = file_address(entry.sha256, data_key)
        files.append(replace(entry, address=address, key=at.file(address, tag)))
    for key, sha256 in {f.key: f.sha256 for f in files}.items():  # the same bytes once
        puts[key] = content.files[sha256]
    notebooks = [replace(n, page_key=at.extra_page(n.page, tag)) for n in manifest.notebooks]
    readme = manifest.readme
    if readme is not None:
        readme = replace(readme, page_key=at.extra_page(readme.page, tag))
    manifest = replace(manifest, files=tuple(files), notebooks=tuple(notebooks), readme=readme)
    for page in manifest.pages:
        puts[page.page_key] = pack_page(content.pages[page.page])
    placed = replace(
        version,
        original_key=keys.original_key,
        page_key=keys.page_key,
        meta_key=keys.meta_key,
        manifest=manifest.to_json(),
    )
    meta = VersionMeta.of(placed)
    if data_key is not None:
        assert keys.meta_key is not None
        puts[keys.meta_key] = json.dumps(meta.to_json()).encode()
    _put_all(blobs, puts, data_key, written)
    return (placed, meta) if data_key is None else (replace(placed, **PLACEHOLDER), meta)  # type: ignore[arg-type]


PUT_THREADS = 8


def _put_all(blobs: BlobStore, puts: Mapping[str, bytes], data_key: bytes | None, written: list[str]) -> None:
    """Store every blob of a version at once: a file store waits for the disk (fsync) once
    per blob, and an object store for a round trip, so one after another an upload with
    many images mostly waited. Every key is listed in `written` before its put starts: a
    put cut short may have left its blob. All puts have ended when this returns or raises."""

    def put(key: str, data: bytes) -> None:
        blobs.put(key, crypto.seal(data_key, data, key) if data_key is not None else data)

    written.extend(puts)
    if len(puts) <= 2:  # a notebook without files: not worth the threads
        for key, data in puts.items():
            put(key, data)
        return
    with ThreadPoolExecutor(min(PUT_THREADS, len(puts)), thread_name_prefix="blob-put") as pool:
        futures = [pool.submit(put, key, data) for key, data in puts.items()]
        for future in futures:
            future.result()  # the first error, once the `with` has waited for the rest


def version_blob_keys(version: VersionRow, meta: VersionMeta) -> list[str]:
    """Every blob a version uses."""
    keys = [version.original_key, version.page_key, version.meta_key]
    keys += [f.key for f in meta.files]
    keys += [page.page_key for page in meta.manifest.pages]
    return sorted({k for k in keys if k})


class References:
    """Which blob keys the given version rows use, to sweep the rest. A clear version's
    row names each of its blobs; a sealed one names its files only inside its sealed
    metadata, so its blobs are known by its folder and its upload's random tag."""

    def __init__(self, versions: Iterable[VersionRow]):
        self.exact: set[str] = set()
        self.tags: dict[str, set[str]] = {}  # "shares/ID/vN/" -> tags of its rows' uploads
        for version in versions:
            self.exact.update(version_blob_keys(version, VersionMeta.of(version)))
            if tag := upload_tag(version):
                folder = f"{VersionKeys(version.share_id, version.number).folder}/"
                self.tags.setdefault(folder, set()).add(tag)

    def __contains__(self, key: str) -> bool:
        if key in self.exact:
            return True
        return any(key.endswith(tag) for tag in self.tags.get(version_folder_of(key), ()))


def read_blob(blobs: BlobStore, key: str, data_key: bytes | None) -> bytes:
    data = blobs.get(key)
    return crypto.open_sealed(data_key, data, key) if key.endswith(SEALED_SUFFIX) and data_key else data


def read_meta(blobs: BlobStore, version: VersionRow, data_key: bytes | None) -> VersionMeta:
    if version.meta_key is None:
        return VersionMeta.of(version)
    if data_key is None:
        raise PermissionError("a sealed version needs its key")
    fields = json.loads(read_blob(blobs, version.meta_key, data_key))
    return VersionMeta.from_json({**fields, "size": version.size})


def read_content(
    blobs: BlobStore, version: VersionRow, meta: VersionMeta, data_key: bytes | None
) -> VersionContent:
    content = VersionContent(
        original=read_blob(blobs, version.original_key, data_key),
        html=unpack_page(read_blob(blobs, version.page_key, data_key)),
    )
    for entry in meta.files:
        if entry.sha256 not in content.files:
            content.files[entry.sha256] = read_blob(blobs, entry.key, data_key)
    for page in meta.manifest.pages:
        content.pages[page.page] = unpack_page(read_blob(blobs, page.page_key, data_key))
    return content


GZIP_MAGIC = b"\x1f\x8b"  # no HTML page starts with these bytes


def pack_page(html: bytes) -> bytes:
    """Pages are stored gzip-compressed, once, at upload: readers whose browsers accept gzip
    (all of them) get the stored bytes, with no compression per request."""
    return gzip.compress(html, compresslevel=6, mtime=0)


def is_packed(stored: bytes) -> bool:
    """Whether a stored page is compressed; pages stored before compression are plain HTML."""
    return stored[:2] == GZIP_MAGIC


def unpack_page(stored: bytes) -> bytes:
    """The HTML of a stored page."""
    return gzip.decompress(stored) if is_packed(stored) else stored


def inline_files(html: bytes, base: str, meta: VersionMeta, files: dict[str, bytes]) -> bytes:
    """A page whose images and downloads pointed at the version's file URLs, with those
    files put back inline as data: URIs.

    A sealed page is read inside the sandboxed frame, whose requests carry no grant
    cookie, so it must not depend on separate file URLs: this runs when a public share
    gets a password."""

    def data_uri(url: str, kind: str) -> str | None:
        path = unquote(urlsplit(url).path)
        # Whatever path the service had when the page was rendered (urls.page_base): only
        # this version's own files are ever put in, so any prefix in front is harmless.
        path = path[max(path.find(f"{base}/"), 0) :]
        embedded, bundle_files = urls.embedded_files(base), urls.bundle_files(base)
        entry = None
        if path.startswith(embedded):
            entry = meta.manifest.file(path.removeprefix(embedded).split("/")[0])
        elif path.startswith(bundle_files) and kind == "image":
            entry = meta.manifest.bundle_file(path.removeprefix(bundle_files))
        if entry is None:
            return None
        encoded = base64.b64encode(files[entry.sha256]).decode("ascii")
        return f"data:{entry.media_type};base64,{encoded}"

    text, _ = rewrite_page(html.decode("utf-8"), resolve=data_uri)
    return text.encode("utf-8")


def reseal_version(
    blobs: BlobStore, version: VersionRow, old_key: bytes | None, new_key: bytes | None
) -> tuple[Json, list[str]]:
    """Write a version's blobs again under `new_key` (None: in the clear).

    Returns the row changes and the old blob keys, which the caller deletes only after
    the rows pointing at the new blobs are committed."""
    meta = read_meta(blobs, version, old_key)
    content = read_content(blobs, version, meta, old_key)
    if new_key is not None and old_key is None:
        base = urls.version_path(version.share_id, version.number)
        content.html = inline_files(content.html, base, meta, content.files)
        content.pages = {
            name: inline_files(html, base, meta, content.files) for name, html in content.pages.items()
        }
    plain = replace(version, **{k: v for k, v in meta.to_json().items() if k != "size"})
    written, written_meta = write_version(blobs, plain, content, new_key)
    changes = {k: getattr(written, k) for k in (*PLACEHOLDER, "original_key", "page_key", "meta_key")}
    new = set(version_blob_keys(written, written_meta))
    return changes, [k for k in version_blob_keys(version, meta) if k not in new]
