"""Publishing and updating, without a terminal: the one code path that `nbshare publish`,
`nbshare update`, the Python API (api.py), the magic and the Jupyter extension share.

What needs a person (showing a bundle, asking whether to update, reading a password) stays
with the caller; here are the steps between: which files go up and how, which earlier
share a publish may update, the upload, and the history entry. Failures are typed
exceptions (all NbshareErrors) whose messages are what the CLI prints after "Error: "."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .client import ClientError, NbshareClient
from .errors import NbshareError
from .history import History, HistoryError, Published

if TYPE_CHECKING:
    from .bundle.outgoing import Outgoing

Answer = dict[str, Any]
Progress = Callable[[int], None] | None


class PublishError(NbshareError):
    """Publishing, updating or deleting a share failed; the message says why."""

    code = "publish_failed"


class ServerUnreachable(PublishError):
    """The server did not answer: not running, wrong address, or no network."""

    code = "unreachable"


class NotAnNbshareServer(PublishError):
    """Something answered at the server's address, but not as an nbshare server does."""

    code = "not_nbshare"


class ServerRefused(PublishError):
    """The server answered with an error; `status` is its HTTP status, `code` its error code."""

    code = "refused"


class UploadTooLarge(ServerRefused):
    """Over the server's upload or bundle limits (HTTP 413)."""

    code = "too_large"


class ShareNotFound(ServerRefused):
    """The server has no such share (deleted, expired, or never there; HTTP 404)."""

    code = "not_found"


class NoSuchPath(PublishError):
    """A file or folder to publish is not there."""

    code = "no_such_path"


class NoEarlierShare(PublishError):
    """An update was asked for, but the history has no share of these files to update."""

    code = "no_earlier_share"


class HistoryUnreadable(PublishError):
    """The history file (your shares and their owner tokens) cannot be read."""

    code = "history_unreadable"


def from_client_error(exc: ClientError) -> PublishError:
    """The typed exception for a client failure, with the very same message."""
    message = str(exc)
    if exc.code == "not_nbshare":
        return NotAnNbshareServer(message, status=exc.status)
    if exc.code == "no_such_path":
        return NoSuchPath(message)
    if exc.status is None:
        return ServerUnreachable(message, code=exc.code or ServerUnreachable.code)
    kind = {413: UploadTooLarge, 404: ShareNotFound}.get(exc.status, ServerRefused)
    return kind(message, code=exc.code or kind.code, status=exc.status)


@dataclass
class Outcome:
    """What a publish or an update did. `history_error` is set when the share exists on the
    server but the history could not record it (the caller warns: keep the manage link)."""

    answer: Answer
    manage_url: str | None
    updated: bool
    history_error: Exception | None = None


def now() -> str:
    return datetime.now(UTC).isoformat()


def source_key(paths: Sequence[Path]) -> str:
    """What the history remembers the published files by, to offer an update later."""
    return " ".join(str(Path(p).resolve()) for p in paths)


def sent_as_one_notebook(paths: Sequence[Path], infer_env: bool = False) -> bool:
    """Whether `paths` go up as one notebook (the server says if it is not one); a folder, a
    .zip, several paths or an environment to infer make a bundle."""
    if not paths:
        raise NoSuchPath("Nothing to publish: give a notebook, files or a folder.")
    for given in paths:
        if not Path(given).exists():
            raise NoSuchPath(f"No such file or folder: {given}")
    first = Path(paths[0])
    return len(paths) == 1 and first.is_file() and first.suffix.lower() != ".zip" and not infer_env


def plan_bundle(paths: Sequence[Path], *, excludes: Sequence[str] = (), infer_env: bool = False) -> Outgoing:
    """What a bundle of `paths` sends (raises NbshareError with a readable message)."""
    from .bundle.outgoing import plan

    return plan([Path(p) for p in paths], excludes=tuple(excludes), infer_env=infer_env)


def write_bundle(outgoing: Outgoing, folder: Path) -> Path:
    """The bundle's .zip, written into `folder` (a temporary one, which the caller removes)."""
    archive = folder / outgoing.name
    archive.write_bytes(outgoing.archive())
    return archive


def earlier_share(client: NbshareClient, key: str, *, must: bool) -> Published | None:
    """The latest share of the files `key` names on this server that is still there.

    With `must`, finding none is a NoEarlierShare (and an unreadable history an error);
    without, an unreadable history means no earlier share (saving will warn)."""
    try:
        candidates = History().published_from(key, client.server)
    except HistoryError as exc:
        if must:
            raise HistoryUnreadable(str(exc)) from None
        return None
    for entry in candidates:
        try:
            client.owner_info(entry.id, entry.owner_token)
        except ClientError as exc:
            if exc.status in (404, 403):  # gone, or not ours any more: not an update target
                continue
            raise from_client_error(exc) from None
        return entry
    if must:
        raise NoEarlierShare(
            f"No earlier share of {key} on {client.server} in your history (or it is gone); "
            "publish it without --update."
        )
    return None


def publish_new(
    client: NbshareClient,
    upload: Path,
    key: str,
    *,
    title: str | None = None,
    password: str | None = None,
    expires: str | None = None,
    max_views: int | None = None,
    visible_to: str | None = None,
    on_progress: Progress = None,
) -> Outcome:
    """Upload `upload` (a notebook or a bundle's .zip) as a new share and record it."""
    try:
        answer = client.publish(
            upload,
            title=title,
            password=password,
            expires=expires,
            max_views=max_views,
            visible_to=visible_to,
            on_progress=on_progress,
        )
    except ClientError as exc:
        raise from_client_error(exc) from None
    outcome = Outcome(answer, answer["manage_url"], updated=False)
    try:
        entry = Published(
            id=answer["id"],
            url=answer["url"],
            server=client.server,
            manage_url=answer["manage_url"],
            owner_token=answer["owner_token"],
            title=answer["title"],
            filename=answer["filename"],
            path=key,
            created_at=answer["created_at"],
        )
        entry.remember(answer, now=now())
        History().add(entry)
    except (HistoryError, OSError) as exc:
        outcome.history_error = exc  # the share exists: the caller still shows its links
    return outcome


def update_share(
    client: NbshareClient,
    share_id: str,
    token: str,
    upload: Path,
    *,
    title: str | None = None,
    changes: dict[str, object] | None = None,
    key: str | None = None,
    manage_url: str | None = None,
    on_progress: Progress = None,
) -> Outcome:
    """A new version of the share from `upload`: settings first (so new content is never
    out under the old password), then the content; the history follows."""
    try:
        if changes:
            client.configure(share_id, token, **changes)
        answer = client.update(share_id, token, upload, title=title, on_progress=on_progress)
    except ClientError as exc:
        raise from_client_error(exc) from None
    outcome = Outcome(answer, manage_url, updated=True)

    def edit(entry: Published) -> None:
        entry.remember(answer, now=now())
        entry.path = key or str(upload.resolve())  # the file(s) that now back this share

    try:
        History().change(share_id, edit)
    except (HistoryError, OSError) as exc:
        outcome.history_error = exc
    return outcome


class NotInHistory(PublishError):
    """The share is not in this machine's history, so there is no owner token to act with."""

    code = "not_in_history"


class NotebookUnknown(PublishError):
    """No path was given, and the notebook the kernel belongs to cannot be found."""

    code = "notebook_unknown"
