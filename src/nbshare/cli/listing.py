"""list: what this machine published, as each server reports it now (or as last known)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import click

from ..client import ClientError
from ..history import SECRET_FIELDS, History, HistoryError, Published
from ..text import expiry_text, human_time
from .common import client_for, fail, fits, history_not_updated, now

LIST_TIMEOUT = 10.0


@dataclass
class Listed:
    entry: Published
    status: str  # live | gone | unreachable | refused

    def as_json(self) -> dict[str, object]:
        shown = {k: v for k, v in vars(self.entry).items() if k not in SECRET_FIELDS}
        shown["status"] = self.status
        return shown


def _fetch(entries: list[Published]) -> tuple[list[Listed], dict[str, str]]:
    """Each share's state from its server with the saved owner token.

    Returns the listing and, per server that could not be asked, why. A server that does
    not answer is asked once, not once per share."""
    listed: list[Listed] = []
    down: dict[str, str] = {}
    checked_at = now().isoformat()
    for entry in entries:
        if entry.server in down:
            listed.append(Listed(entry, "unreachable"))
            continue
        client = client_for(entry.server, timeout=LIST_TIMEOUT)
        try:
            answer = client.owner_info(entry.id, entry.owner_token)
        except ClientError as exc:
            if exc.status == 404:
                listed.append(Listed(entry, "gone"))
            elif exc.status is None:
                down[entry.server] = str(exc)
                listed.append(Listed(entry, "unreachable"))
            else:
                listed.append(Listed(entry, "refused"))
            continue
        entry.remember(answer, now=checked_at)
        listed.append(Listed(entry, "live"))
    return listed, down


@click.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@click.option("--prune", is_flag=True, help="Forget the shares their server no longer has.")
def list_shares(as_json: bool, prune: bool) -> None:
    """List the notebooks you have published from this machine, with their expiry,
    views and version as their server reports them now.

    \b
    Example:
        nbshare list --prune
    """
    history = History()
    try:
        entries = history.load()
    except HistoryError as exc:
        fail(str(exc))
    listed, down = _fetch(entries)
    live = {item.entry.id: item.entry for item in listed if item.status == "live"}
    gone = {item.entry.id for item in listed if item.status == "gone"}
    try:
        # Save what the servers said, so an offline `list` shows the latest known state.
        history.change_many({sid: _copy_from(entry) for sid, entry in live.items()})
        if prune and gone:
            history.remove_many(gone)
    except (HistoryError, OSError) as exc:
        history_not_updated(exc)
    if prune:
        listed = [item for item in listed if item.status != "gone"]
    if as_json:
        click.echo(json.dumps([item.as_json() for item in listed]))
    elif not listed:
        click.echo("Nothing published yet. Try: nbshare publish NOTEBOOK.ipynb")
    else:
        _print_listing(listed)
    _notes(listed, down, gone, prune)


def _plural(n: int, word: str) -> str:
    return f"{word}{'s' if n != 1 else ''}"


def _notes(listed: list[Listed], down: dict[str, str], gone: set[str], prune: bool) -> None:
    """On stderr: which servers did not answer, which tokens were refused, what is gone."""
    for server, why in down.items():
        count = sum(1 for item in listed if item.entry.server == server)
        click.echo(
            f"Note: {why} Showing the last known state of its {count} {_plural(count, 'share')}.", err=True
        )
    refused = sum(1 for item in listed if item.status == "refused")
    if refused:
        click.echo(
            f"Note: the server refused the saved owner token for {refused} "
            f"{_plural(refused, 'share')}; showing the last known state.",
            err=True,
        )
    if prune and gone:
        click.echo(
            f"Removed {len(gone)} {_plural(len(gone), 'share')} that no longer exist from your history.",
            err=True,
        )
    elif gone:
        n = len(gone)
        click.echo(
            f"Note: {n} {_plural(n, 'share')} no longer exist{'s' if n == 1 else ''} "
            "(expired, used up or deleted); remove them with: nbshare list --prune",
            err=True,
        )


def _copy_from(fresh: Published) -> Callable[[Published], None]:
    def edit(entry: Published) -> None:
        for name in (
            "title",
            "filename",
            "version",
            "expires_at",
            "max_views",
            "views",
            "protected",
            "checked_at",
        ):
            setattr(entry, name, getattr(fresh, name))

    return edit


def _views_text(entry: Published) -> str:
    if entry.views is None:
        return "?"
    return f"{entry.views}/{entry.max_views}" if entry.max_views else str(entry.views)


def _row(item: Listed) -> tuple[str, str, str, str]:
    """(expires, views, version, note) as shown in the listing."""
    e = item.entry
    if item.status == "gone":
        return "gone", "", "", "gone"
    expires = expiry_text(e.expires_at, short=True) if e.expires_at else "never"
    version = str(e.version) if e.version else "?"
    saved = human_time(e.checked_at) if e.checked_at else "at publish"
    note = "" if item.status == "live" else f"saved {saved}"
    return expires, _views_text(e), version, note


def _print_listing(listed: list[Listed]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    stale = any(item.status in ("unreachable", "refused") for item in listed)
    table = Table("Shared", "Title", "File", "Expires", "Views", "Ver")
    if stale:
        table.add_column("Status")
    # Links are for copying: never cut them; the other columns give way.
    table.add_column("Link", no_wrap=True, min_width=max(len(item.entry.url) for item in listed))
    for item in listed:
        e = item.entry
        expires, views, version, note = _row(item)
        cells = [human_time(e.created_at), e.title, e.filename, expires, views, version]
        if stale:
            cells.append(note)
        table.add_row(*cells, e.url)
    if fits(console, table):
        console.print(table)
        return
    # Too narrow for a table that keeps every link whole: one block per share.
    for item in listed:
        e = item.entry
        expires, views, version, note = _row(item)
        console.print(f"{e.title} ({e.filename})", markup=False, highlight=False)
        console.print(f"  {e.url}", markup=False, highlight=False, soft_wrap=True)
        if item.status == "gone":
            details = "gone: expired, used up or deleted"
        else:
            details = (
                f"shared {human_time(e.created_at)} · expires {expires} · views {views} · "
                f"version {version}" + (f" · {note}" if note else "")
            )
        console.print(f"  {details}", markup=False, highlight=False)
