"""Where the bytes live: one small interface, several backends.

Nothing outside `store/` knows whether a blob sits in a local folder, in memory or in
an object store. Keys are '/'-separated paths of safe characters chosen by the
service, never by users.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..errors import OutOfSpace

if TYPE_CHECKING:  # obstore is imported only by the deployments that use it
    from obstore.store import ObjectStore

# A full disk, or the user's quota used up.
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})

# A name no blob can have (keys never start with '.'); the readiness check asks for it.
READY_KEY = ".nbshare-ready"
_KEY_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$")


def check_key(key: str) -> str:
    if not _KEY_RE.match(key) or ".." in key:
        raise ValueError(f"unsafe blob key: {key!r}")
    return key


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`; when this returns, the bytes survive a crash."""

    def get(self, key: str) -> bytes:
        """The bytes under `key`; KeyError if there are none."""

    def delete(self, key: str) -> None:
        """Remove one blob; no error if it is already gone."""

    def delete_prefix(self, prefix: str) -> int:
        """Remove every blob whose key starts with `prefix/`; returns how many."""

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under `prefix` (all keys when empty), in no particular order."""

    def modified(self, prefix: str = "") -> Iterator[tuple[str, datetime]]:
        """Every key under `prefix` with when it was last written (aware, UTC), in no
        particular order: how old a blob is, to tell a crashed upload's leftovers from an
        upload still in progress."""

    def sweep_unfinished(self, before: datetime) -> int:
        """Remove what writes cut short (a crash in the middle of `put`) left behind, if it
        was last touched before `before`; returns how many. Never removes a key."""

    def check(self) -> None:
        """One cheap round trip to where the blobs live (the readiness check); raises if
        it fails. Reads nothing and writes nothing."""


def _raise_if_out_of_space(exc: BaseException) -> None:
    if isinstance(exc, OSError) and exc.errno in NO_SPACE:
        raise OutOfSpace() from exc


def _temp_file_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in `path`'s folder, made if needed. A full disk (blocks or
    inodes: a new folder needs both) is OutOfSpace. Deleting a folder's last blob (and the
    sweep) removes the emptied folder, so it may vanish between mkdir and mkstemp: then it
    is made again."""
    for attempt in range(3):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except FileNotFoundError:
            if attempt == 2:
                raise
        except OSError as exc:
            _raise_if_out_of_space(exc)
            raise
    raise AssertionError("unreachable")


class FileBlobStore:
    """Blobs as files under a root folder, written crash-safely.

    Each put writes a temporary file in the target folder, fsyncs it, renames it into
    place and fsyncs the folder, so a blob is either whole or absent after a crash.
    """

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        fd, tmp = _temp_file_beside(path)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            _fsync_dir(path.parent)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            _raise_if_out_of_space(exc)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        with contextlib.suppress(FileNotFoundError):
            _fsync_dir(path.parent)
        self._remove_empty(path.parent)  # no empty folders left behind (a put makes them again)

    def delete_prefix(self, prefix: str) -> int:
        # Idempotent: several requests may delete the same share at once (a burn, expiry
        # seen by two readers, the purge), so what another one removed first is no error.
        folder = self._path(prefix)
        count = 0
        for parent, _dirs, files in os.walk(folder, topdown=False):  # walk skips what vanishes
            for name in files:
                try:
                    os.unlink(os.path.join(parent, name))
                    count += 1
                except FileNotFoundError:
                    pass
            with contextlib.suppress(FileNotFoundError):
                os.rmdir(parent)
        with contextlib.suppress(FileNotFoundError):
            _fsync_dir(folder.parent)
        return count

    def keys(self, prefix: str = "") -> Iterator[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                yield path.relative_to(self.root).as_posix()

    def modified(self, prefix: str = "") -> Iterator[tuple[str, datetime]]:
        for key in self.keys(prefix):
            try:
                mtime = self._path(key).stat().st_mtime
            except FileNotFoundError:  # deleted since it was listed
                continue
            yield key, datetime.fromtimestamp(mtime, UTC)

    def sweep_unfinished(self, before: datetime) -> int:
        """The temporary files of puts that never reached their rename, the folders that
        only they kept, and empty folders: a put (of several at once, protection.py) that
        made its folder but was killed before its temporary file existed leaves one."""
        removed = self._sweep_temporary_files(before)
        for parent, dirs, files in os.walk(self.root, topdown=False):
            folder = Path(parent)
            if folder == self.root or dirs or files:
                continue
            try:
                if datetime.fromtimestamp(folder.stat().st_mtime, UTC) >= before:
                    continue  # perhaps a put about to make its temporary file
                folder.rmdir()  # a put that makes it again meanwhile retries (_temp_file_beside)
            except OSError:  # not empty any more, or gone
                continue
            removed += 1
            self._remove_empty(folder.parent)
        return removed

    def _sweep_temporary_files(self, before: datetime) -> int:
        removed, emptied = 0, set()
        for path in self.root.rglob(".tmp-*"):
            try:
                if datetime.fromtimestamp(path.stat().st_mtime, UTC) >= before:
                    continue  # perhaps a put in progress
                path.unlink()
            except FileNotFoundError:  # finished (renamed) or removed meanwhile
                continue
            removed += 1
            emptied.add(path.parent)
        for folder in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
            self._remove_empty(folder)
        return removed

    def check(self) -> None:
        """The root folder is still there, a folder, and can be listed."""
        with os.scandir(self.root) as entries:
            next(entries, None)

    def _remove_empty(self, folder: Path) -> None:
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:  # not empty (or gone): leave it and its parents
                return
            folder = folder.parent


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ObjectBlobStore:
    """Blobs in any obstore store: MemoryStore (tests), LocalStore, S3Store and friends."""

    def __init__(self, store: ObjectStore):
        self.store = store

    @classmethod
    def from_url(cls, url: str) -> ObjectBlobStore:
        """s3://bucket/prefix, gs://..., az://..., file:///path or memory:///. Credentials and
        endpoints come from the environment the way each cloud's own tools read them."""
        from obstore.store import from_url

        try:
            return cls(from_url(url))
        except Exception as exc:  # obstore says what is wrong (first line; then a debug dump)
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"NBSHARE_BLOB_URL {url!r}: {reason}") from None

    @classmethod
    def memory(cls) -> ObjectBlobStore:
        from obstore.store import MemoryStore

        return cls(MemoryStore())

    def put(self, key: str, data: bytes) -> None:
        import obstore

        obstore.put(self.store, check_key(key), data)

    def get(self, key: str) -> bytes:
        import obstore

        try:
            return bytes(obstore.get(self.store, check_key(key)).bytes())
        except FileNotFoundError:
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        import obstore

        try:
            obstore.delete(self.store, check_key(key))
        except FileNotFoundError:  # LocalStore says so; S3 and memory stores do not
            pass

    def delete_prefix(self, prefix: str) -> int:
        import obstore

        keys = list(self.keys(check_key(prefix)))
        if keys:
            obstore.delete(self.store, keys)
        return len(keys)

    def keys(self, prefix: str = "") -> Iterator[str]:
        for key, _ in self.modified(prefix):
            yield key

    def modified(self, prefix: str = "") -> Iterator[tuple[str, datetime]]:
        import obstore

        # obstore lists by path segment, so "a/b" never matches "a/bc/...".
        for batch in obstore.list(self.store, prefix=prefix or None):
            for meta in batch:
                yield meta["path"], meta["last_modified"].astimezone(UTC)

    def check(self) -> None:
        """A HEAD of a key no blob has (check_key's rules forbid a leading '.'): 'not
        found' proves the store answers and these credentials are accepted."""
        import obstore

        try:
            obstore.head(self.store, READY_KEY)
        except FileNotFoundError:
            pass

    def sweep_unfinished(self, before: datetime) -> int:
        """Nothing to do: an object store makes an object appear whole or not at all (an
        S3 multipart upload cut short is the bucket's lifecycle rules' to expire)."""
        return 0
