"""What this user has published, with owner tokens, in a private file (mode 0600).

Besides what identifies a share, each entry keeps the last state the server reported
(expiry, views, version...), so `nbshare list` has something to show offline."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from platformdirs import user_data_dir


class HistoryError(Exception):
    """The history file exists but cannot be read as a list of shares."""


def default_path() -> Path:
    return Path(user_data_dir("nbshare", appauthor=False)) / "published.json"


@dataclass
class Published:
    id: str
    url: str
    server: str
    manage_url: str
    owner_token: str
    title: str
    filename: str
    path: str  # absolute path of the file that was published, to offer updates later
    created_at: str
    # Cached from the server's last answer:
    version: int | None = None
    expires_at: str | None = None
    max_views: int | None = None
    views: int | None = None
    protected: bool | None = None
    checked_at: str | None = None  # when the cached fields were last fetched

    def remember(self, answer: dict[str, Any], *, now: str | None = None) -> None:
        """Copy the server's view of the share (an owner answer) into the cache."""
        for name in ("title", "filename", "version", "expires_at", "max_views", "views", "protected"):
            if name in answer:
                setattr(self, name, answer[name])
        if now:
            self.checked_at = now


def same_server(a: str, b: str) -> bool:
    """Whether two server URLs name the same server (scheme and host in any case, with or
    without a trailing slash)."""

    def key(url: str) -> tuple[str, str, str]:
        parts = urlsplit(url.strip())
        return parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/")

    return key(a) == key(b)


SECRET_FIELDS = ("owner_token", "manage_url")  # the manage URL carries the token in its fragment


def _entry(item: dict[str, Any]) -> Published:
    values = {}
    for f in fields(Published):
        if f.name in item:
            values[f.name] = item[f.name]
        elif f.default is MISSING:
            values[f.name] = ""
    return Published(**values)


class History:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else default_path()

    def load(self) -> list[Published]:
        try:
            raw = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError, RecursionError) as exc:  # RecursionError: [[[[... nested too deep
            raise HistoryError(f"Cannot read {self.path}: {exc}") from None
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            raise HistoryError(f"Cannot read {self.path}: not a list of shares")
        return [_entry(item) for item in raw]

    def save(self, entries: list[Published]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".published-")
        try:
            os.fchmod(fd, 0o600)  # owner tokens are secrets
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump([asdict(e) for e in entries], f, indent=2)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Held around every read-change-write, so two `nbshare publish` runs at once cannot
        both read the old list and one lose the other's entry (and its owner token)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here; the last writer wins
            yield
            return
        with open(self.path.parent / ".published.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def add(self, entry: Published) -> None:
        with self._locked():
            self.save([*self.load(), entry])

    def find(self, share_id: str, *, server: str | None = None) -> Published | None:
        """The entry for `share_id`; with `server`, only one saved for that server (an owner
        token is sent to no other)."""
        return next(
            (
                e
                for e in self.load()
                if e.id == share_id and (server is None or same_server(e.server, server))
            ),
            None,
        )

    def published_from(self, path: str, server: str) -> list[Published]:
        """Earlier shares of the file at `path` on `server`, the latest first."""
        return [e for e in reversed(self.load()) if e.path == path and same_server(e.server, server)]

    def change(self, share_id: str, edit: Callable[[Published], None]) -> Published | None:
        """Apply `edit` to the entry for `share_id` (read again, so nothing added meanwhile is lost)."""
        with self._locked():
            entries = self.load()
            found = next((e for e in entries if e.id == share_id), None)
            if found is not None:
                edit(found)
                self.save(entries)
        return found

    def change_many(self, edits: dict[str, Callable[[Published], None]]) -> None:
        if not edits:
            return
        with self._locked():
            entries = self.load()
            for entry in entries:
                if entry.id in edits:
                    edits[entry.id](entry)
            self.save(entries)

    def remove(self, share_id: str) -> None:
        self.remove_many({share_id})

    def remove_many(self, share_ids: set[str]) -> None:
        with self._locked():
            self.save([e for e in self.load() if e.id not in share_ids])
