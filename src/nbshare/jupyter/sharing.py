"""What the Jupyter extension does for one share, apart from HTTP: the server to use (the
client settings every nbshare client resolves, config.py), the files copied out of Jupyter's
contents manager, and the upload through the CLI's own publish steps (publishing.py), client
and history (so `nbshare list` shows what was shared from JupyterLab, and owner tokens stay
in the history file).

The upload is blocking (httpx): the handlers run `send` in a thread.
"""

from __future__ import annotations

import base64
import posixpath
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import publishing
from ..client import ClientError, NbshareClient
from ..config import ClientSettings, ConfigError, resolve
from ..history import History, HistoryError
from ..publishing import PublishError

TIMEOUT = 300.0
MAX_TOTAL_BYTES = 200 * 1024 * 1024  # as a bundle's limits (bundle/archive.py Limits)
MAX_FILES = 1000
MAX_DEPTH = 32
MAX_FOLDERS = 10_000
MAX_TITLE = 500  # it travels in a query string
# What the browser may see of a share: never the owner token, nor the manage URL carrying it.
PUBLIC_FIELDS = ("id", "url", "download_url", "title", "version", "expires_at", "max_views", "protected")


class ShareError(Exception):
    """A failure for the dialog to show in words, with the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400, code: str | None = None):
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


def client_settings(**given: Any) -> ClientSettings:
    """The user's nbshare settings (NBSHARE_* variables, else their config file, else the
    defaults), resolved as the CLI, the Python API and the magic resolve them."""
    try:
        return resolve(**given)
    except ConfigError as exc:
        raise ShareError(exc.message, 400, exc.code) from None


def server_url() -> str:
    """The nbshare server to share to."""
    return client_settings().server.rstrip("/")


@dataclass
class Options:
    password: str | None = None
    expires: str | None = None
    max_views: int | None = None
    update: bool = False
    title: str | None = None


@dataclass
class Progress:
    """Polled by the dialog: reading (files from Jupyter), uploading (sent of total bytes),
    rendering (all sent, the nbshare server is rendering), done."""

    state: str = "reading"
    sent: int = 0
    total: int = 0

    def advance(self, n: int) -> None:
        self.sent += n
        self.state = "rendering" if self.sent >= self.total else "uploading"

    def as_json(self) -> dict[str, Any]:
        return {"state": self.state, "sent": self.sent, "total": self.total}


def clean_path(path: Any) -> str:
    """A contents-manager path as the dialog sends it, refused when it tries to leave the root
    (the contents manager refuses that too; this makes it a clear 400 first)."""
    if not isinstance(path, str):
        raise ShareError("Each path must be a string: a file or folder relative to Jupyter's root.")
    cleaned = path.strip().strip("/")
    if "\\" in cleaned or "\0" in cleaned or any(part in ("..", ".") for part in cleaned.split("/")):
        raise ShareError(f"{path!r} is not a path inside Jupyter's root folder.")
    return cleaned


@dataclass
class Copied:
    """The shared files: the real paths of a file-backed contents manager (`folder` None), or
    copies out of the contents manager in a private temporary folder, removed afterwards."""

    folder: Path | None
    tops: list[Path]  # what was named: real paths, or inside `folder`
    key: str  # what the history remembers the share by (the CLI's key when paths are local)
    size: int = 0
    files: int = 0
    folders: int = 0

    @property
    def one_notebook(self) -> bool:
        return len(self.tops) == 1 and self.tops[0].is_file() and self.tops[0].suffix.lower() == ".ipynb"


def history_key(paths: list[str], root_dir: str | None) -> str:
    """The CLI keys a share by the files' absolute paths, joined by spaces: the same key here
    lets `nbshare publish --update` and this extension update each other's shares."""
    if root_dir:
        try:
            return " ".join(str((Path(root_dir) / p).resolve()) for p in paths)
        except (OSError, RuntimeError):  # a loop of symbolic links
            raise ShareError(f"{' '.join(paths)}: a symbolic link that leads nowhere.", 400) from None
    return " ".join(f"jupyter:{p}" for p in paths)


def local_paths(contents_manager: Any, paths: list[str]) -> list[Path] | None:
    """The real paths of `paths` when Jupyter serves files from a folder on this machine (its
    usual FileContentsManager), so a bundle is collected by the CLI's own rules; else None."""
    from jupyter_server.services.contents.filemanager import (
        AsyncFileContentsManager,
        FileContentsManager,
    )

    if not isinstance(contents_manager, FileContentsManager | AsyncFileContentsManager):
        return None
    root = Path(contents_manager.root_dir)
    return [root.joinpath(*p.split("/")) if p else root for p in paths]


def check_size(copied: Copied, size: Any) -> None:
    """Refuse a file that would take the share over its limit before it is read into memory."""
    if isinstance(size, int) and copied.size + size > MAX_TOTAL_BYTES:
        raise ShareError(
            f"These files are larger than the {MAX_TOTAL_BYTES // (1024 * 1024)} MB a share can hold.",
            413,
            "too_large",
        )


def local_copy(folder: Path, paths: list[str]) -> tuple[Path, list[Path]]:
    """Where each named path lands under `folder`: relative to their common parent, so a
    bundle keeps the layout the user sees."""
    parent = posixpath.dirname(paths[0]) if len(paths) == 1 else posixpath.commonpath(paths)
    if len(paths) > 1 and parent in paths:  # a folder and something inside it
        parent = posixpath.dirname(parent)
    tops = [folder / posixpath.relpath(p, parent or ".") if p else folder / "root" for p in paths]
    return Path(parent), tops


def write_file(copied: Copied, target: Path, content_b64: str) -> None:
    data = base64.b64decode(content_b64)
    copied.files += 1
    if copied.files > MAX_FILES:
        raise ShareError(f"These are more than the {MAX_FILES} files a share can hold.", 413, "too_large")
    check_size(copied, len(data))  # the size the model gave may be missing or stale
    copied.size += len(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def new_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="nbshare-jupyter-"))


def public(answer: dict[str, Any], *, updated: bool) -> dict[str, Any]:
    shown = {k: answer.get(k) for k in PUBLIC_FIELDS}
    shown["updated"] = updated
    return shown


def send(copied: Copied, options: Options, progress: Progress, server: str) -> dict[str, Any]:
    """Upload the copied files as one share, or as a new version of the earlier one; record it
    in the history. The one place this extension calls nbshare's client (to be re-pointed at
    the shared publish core once it exists)."""
    with tempfile.TemporaryDirectory(prefix="nbshare-zip-") as tmp:
        source = copied.tops[0] if copied.one_notebook else bundle_archive(copied, Path(tmp))
        progress.total, progress.state = source.stat().st_size, "uploading"
        client = NbshareClient(server, timeout=TIMEOUT)
        try:
            return _upload(client, source, copied.key, options, progress.advance)
        finally:
            client.close()


def bundle_archive(copied: Copied, tmp: Path) -> Path:
    from ..bundle.outgoing import plan
    from ..errors import NbshareError

    try:
        outgoing = plan(copied.tops)
        archive = tmp / outgoing.name
        archive.write_bytes(outgoing.archive())
    except NbshareError as exc:  # the CLI's bundle rules and limits, in the CLI's words
        raise ShareError(exc.message, exc.status if exc.status == 413 else 400, exc.code) from None
    return archive


def _upload(
    client: NbshareClient, source: Path, key: str, options: Options, advance: Callable[[int], None]
) -> dict[str, Any]:
    if options.update:
        earlier = publishing.earlier_share(client, key, must=False)
        if earlier is None:
            raise ShareError(
                "There is no earlier share of this in your history (or it is gone): share it anew."
            )
        wanted: dict[str, object] = {
            name: value
            for name, value in (
                ("expires", options.expires),
                ("max_views", options.max_views),
                ("password", options.password),
            )
            if value is not None
        }
        # A history that could not be updated keeps its older facts; the share was updated.
        outcome = publishing.update_share(
            client,
            earlier.id,
            earlier.owner_token,
            source,
            title=options.title,
            changes=wanted,
            key=key,
            manage_url=earlier.manage_url,
            on_progress=advance,
        )
        return public(outcome.answer, updated=True)
    # A new share takes the user's defaults for what the dialog left out, as the CLI does.
    settings = client_settings(expires=options.expires, max_views=options.max_views)
    outcome = publishing.publish_new(
        client,
        source,
        key,
        title=options.title,
        password=options.password,
        expires=settings.expires,
        max_views=settings.max_views,
        on_progress=advance,
    )
    if outcome.history_error is not None:
        # The share exists but only the history could let the user manage it: say so.
        raise ShareError(
            f"Shared at {outcome.answer['url']}, but your nbshare history could not be saved "
            f"({outcome.history_error}), so it cannot be managed from here.",
            500,
            "history",
        )
    return public(outcome.answer, updated=False)


def about(server: str, key: str) -> dict[str, Any]:
    """What the dialog shows before sharing: the server, what it allows, the earlier share."""
    client = NbshareClient(server, timeout=30)
    info: dict[str, Any] = {"server": server, "limits": None, "earlier": None, "error": None}
    settings = client_settings()
    # The user's own defaults for a new share, which the dialog shows and the upload applies.
    info["defaults"] = {
        "expires": settings.expires,
        "max_views": settings.max_views,
        "password": settings.password,
    }
    try:
        info["limits"] = client.limits()
        earlier = publishing.earlier_share(client, key, must=False)
        if earlier is not None:
            info["earlier"] = {
                "id": earlier.id,
                "url": earlier.url,
                "title": earlier.title,
                "created_at": earlier.created_at,
                "version": earlier.version,
            }
    except (ClientError, PublishError) as exc:
        info["error"] = friendly(exc, server).message
    finally:
        client.close()
    return info


def manage_url(share_id: str, server: str) -> str | None:
    """The owner's manage link for a share in the history (it carries the owner token)."""
    try:
        entry = History().find(share_id, server=server)
    except HistoryError:
        return None
    return entry.manage_url if entry else None


def friendly(exc: ClientError | PublishError, server: str) -> ShareError:
    """A client failure as the dialog says it, with the status the extension answers."""
    if isinstance(exc, ClientError):
        if exc.status is not None and exc.code is None:  # an nbshare server's errors carry a code
            return not_nbshare(server, str(exc))
        exc = publishing.from_client_error(exc)
    message = exc.message
    if isinstance(exc, publishing.ServerUnreachable):
        return ShareError(message, 502, "unreachable")
    if isinstance(exc, publishing.UploadTooLarge):
        return ShareError(message, 413, exc.code)
    if isinstance(exc, publishing.HistoryUnreadable):
        return ShareError(message, 500, "history")
    # An nbshare server's errors carry a code: an answer without one came from something else.
    if isinstance(exc, publishing.NotAnNbshareServer) or exc.code == publishing.ServerRefused.code:
        return not_nbshare(server, message)
    if isinstance(exc, publishing.ServerRefused) and exc.status >= 500:
        return ShareError(message, 502, exc.code)
    return ShareError(message, 400, exc.code)


def not_nbshare(server: str, message: str) -> ShareError:
    return ShareError(
        f"{server} does not answer as an nbshare server does: is the server in your nbshare "
        f"settings right (nbshare config show)? ({message})",
        502,
        "not_nbshare",
    )
