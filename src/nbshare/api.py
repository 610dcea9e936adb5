"""The Python API: `nbshare.publish`, `update`, `delete`, `shares` and `Share`.

The same settings (config.resolve), client, history and publish steps (publishing.py) as
the CLI: a notebook published from Python shows in `nbshare list`, and `nbshare update`
works on it. Nothing here asks a question: publishing files published before (same paths,
same server) updates that share unless `new=True`, and a password is used only when given.
Failures raise the typed exceptions of nbshare.publishing (and config.ConfigError), all
NbshareErrors whose messages are what the CLI prints."""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import publishing
from .client import ClientError, NbshareClient, server_of, share_id_from
from .config import resolve
from .history import History, HistoryError, Published, same_server

PathLike = str | Path
UNSAVED = "nbshare publishes the notebook as last saved: save it first, unsaved changes are not included."


@dataclass(frozen=True)
class Share:
    """A share you published. `str(share)` is its link; `manage_url` holds the owner token
    (keep it private), so it is left out of the repr."""

    url: str
    id: str
    version: int | None
    server: str
    title: str
    filename: str
    path: str  # the files it was published from, as the history keeps them
    created_at: str = ""
    expires_at: str | None = None
    max_views: int | None = None
    protected: bool | None = None
    manage_url: str = field(default="", repr=False)
    updated: bool = False  # whether the call that returned it updated an earlier share

    def __str__(self) -> str:
        return self.url

    @classmethod
    def from_entry(cls, entry: Published) -> Share:
        return cls(
            url=entry.url,
            id=entry.id,
            version=entry.version,
            server=entry.server,
            title=entry.title,
            filename=entry.filename,
            path=entry.path,
            created_at=entry.created_at,
            expires_at=entry.expires_at,
            max_views=entry.max_views,
            protected=entry.protected,
            manage_url=entry.manage_url,
        )

    @classmethod
    def from_answer(
        cls, answer: dict[str, Any], *, server: str, manage_url: str, path: str, updated: bool = False
    ) -> Share:
        return cls(
            url=answer["url"],
            id=answer["id"],
            version=answer.get("version"),
            server=server,
            title=answer.get("title", ""),
            filename=answer.get("filename", ""),
            path=path,
            created_at=answer.get("created_at", ""),
            expires_at=answer.get("expires_at"),
            max_views=answer.get("max_views"),
            protected=answer.get("protected"),
            manage_url=manage_url,
            updated=updated,
        )


def publish(
    path: PathLike | Sequence[PathLike] | None = None,
    *,
    server: str | None = None,
    title: str | None = None,
    password: str | None = None,
    expires: str | None = None,
    max_views: int | None = None,
    new: bool = False,
    visible_to: str | None = None,
) -> Share:
    """Publish a notebook, a folder (a bundle) or a list of files, and return the share.

    Without `path`, inside a running kernel, the kernel's own notebook as last saved (a
    warning says so). `server`, `expires` and `max_views` default to your settings (flag >
    NBSHARE_* variable > config file > default). If these files were published to this
    server before and that share is still there, it is updated (same link, next version;
    only the options given here change its settings); `new=True` always makes a new share.
    `visible_to`, on an nbshare running in a JupyterHub with Hub login: 'anyone' (the
    default), 'hub' (the Hub's users) or names such as 'bob,group:physics'."""
    return publish_paths(
        _paths(path),
        server=server,
        title=title,
        password=password,
        expires=expires,
        max_views=max_views,
        mode="new" if new else "auto",
        visible_to=visible_to,
    )


def publish_paths(
    paths: list[Path],
    *,
    server: str | None = None,
    title: str | None = None,
    password: str | None = None,
    expires: str | None = None,
    max_views: int | None = None,
    mode: str = "auto",
    visible_to: str | None = None,
) -> Share:
    """publish(), for callers that found the paths themselves (the magic, the Jupyter
    extension). `mode`: "auto" updates an earlier share of these paths if there is one,
    "update" must update one (NoEarlierShare if none), "new" always makes a new share."""
    settings = resolve(server=server, expires=expires, max_views=max_views)
    key = publishing.source_key(paths)
    with _client(settings.server) as client, _upload(paths) as upload:
        earlier = None if mode == "new" else publishing.earlier_share(client, key, must=mode == "update")
        if earlier is not None:
            given = {
                "expires": expires,
                "max_views": max_views,
                "password": password,
                "visible_to": visible_to,
            }
            outcome = publishing.update_share(
                client,
                earlier.id,
                earlier.owner_token,
                upload,
                title=title,
                changes={name: value for name, value in given.items() if value is not None},
                key=key,
                manage_url=earlier.manage_url,
            )
        else:
            outcome = publishing.publish_new(
                client,
                upload,
                key,
                title=title,
                password=password,
                expires=settings.expires,
                max_views=settings.max_views,
                visible_to=visible_to,
            )
        return _result(outcome, client.server, key)


def update(
    share: Share | str, path: PathLike | Sequence[PathLike] | None = None, *, title: str | None = None
) -> Share:
    """A new version of `share` (a Share, its link or its id): same link, next version.

    `path` defaults to the files the share was last published from."""
    entry = _owned(share)
    paths = _paths(path) if path is not None else _recorded(entry)
    key = publishing.source_key(paths)
    with _client(entry.server) as client, _upload(paths) as upload:
        outcome = publishing.update_share(
            client, entry.id, entry.owner_token, upload, title=title, key=key, manage_url=entry.manage_url
        )
        return _result(outcome, client.server, key)


def delete(share: Share | str) -> None:
    """Delete `share` (a Share, its link or its id) for everyone, and forget it."""
    entry = _owned(share)
    with _client(entry.server) as client:
        try:
            client.delete(entry.id, entry.owner_token)
        except ClientError as exc:
            if exc.status == 404:
                _forget(entry.id)  # already gone: nothing left to remember it for
            raise publishing.from_client_error(exc) from None
    _forget(entry.id)


def shares() -> list[Share]:
    """The shares published from this machine (by the CLI, the API, the magic or the Jupyter
    extension), oldest first, as last known (`nbshare list` asks the servers)."""
    try:
        return [Share.from_entry(entry) for entry in History().load()]
    except HistoryError as exc:
        raise publishing.HistoryUnreadable(str(exc)) from None


def _paths(path: PathLike | Sequence[PathLike] | None) -> list[Path]:
    if path is None:
        from .kernel import current_notebook

        notebook = current_notebook()
        warnings.warn(UNSAVED, stacklevel=3)
        return [notebook]
    if isinstance(path, str | Path):
        return [Path(path)]
    return [Path(p) for p in path]


def _recorded(entry: Published) -> list[Path]:
    """The files the history says back `entry` (paths joined by spaces, as the CLI saves them)."""
    whole = Path(entry.path)
    if whole.exists():
        return [whole]
    parts = [Path(p) for p in entry.path.split(" ") if p]
    if parts and all(p.exists() for p in parts):
        return parts
    raise publishing.NoSuchPath(f"No such file or folder: {entry.path}; give the path to publish from.")


@contextlib.contextmanager
def _client(server: str) -> Iterator[NbshareClient]:
    client = NbshareClient(server)
    try:
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def _upload(paths: list[Path]) -> Iterator[Path]:
    """The file to send: the notebook itself, or the bundle's .zip in a temporary folder."""
    if publishing.sent_as_one_notebook(paths):
        yield paths[0]
        return
    outgoing = publishing.plan_bundle(paths)
    with tempfile.TemporaryDirectory(prefix="nbshare-") as folder:
        yield publishing.write_bundle(outgoing, Path(folder))


def _result(outcome: publishing.Outcome, server: str, key: str) -> Share:
    if outcome.history_error is not None:
        what = "keep the manage link" if not outcome.updated else "the share was updated"
        warnings.warn(f"Your history was not updated ({outcome.history_error}); {what}.", stacklevel=3)
    return Share.from_answer(
        outcome.answer, server=server, manage_url=outcome.manage_url or "", path=key, updated=outcome.updated
    )


def _owned(share: Share | str) -> Published:
    """The history's entry (with the owner token) for `share`, on the server it names."""
    server: str | None
    if isinstance(share, Share):
        share_id, server = share.id, share.server
    else:
        try:
            share_id = share_id_from(share)
        except ClientError as exc:
            raise publishing.PublishError(str(exc)) from None
        server = server_of(share) if "/" in share else None
    try:
        entry = History().find(share_id, server=server)
    except HistoryError as exc:
        raise publishing.HistoryUnreadable(str(exc)) from None
    if entry is None or (server is not None and not same_server(entry.server, server)):
        raise publishing.NotInHistory(
            f"No owner token for {share_id} in your history ({History().path}): only shares "
            "published from this machine can be updated or deleted here."
        )
    return entry


def _forget(share_id: str) -> None:
    try:
        History().remove(share_id)
    except (HistoryError, OSError) as exc:
        warnings.warn(f"Your history was not updated ({exc}).", stacklevel=3)
