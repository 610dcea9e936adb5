"""The owner's commands on one share: set, versions and delete, and how a command finds
the share, its server and its owner token."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import click

from ..client import DEFAULT_SERVER, ClientError, NbshareClient, server_of, share_id_from
from ..config import DEFAULT
from ..history import History, HistoryError, Published, same_server
from ..text import expiry_text, human_size, human_time
from .common import (
    VISIBLE_TO_OPTION,
    Answer,
    client_for,
    client_settings,
    fail,
    fits,
    history_not_updated,
    now,
    options,
)
from .secrets import password_options, read_owner_token, read_password

owner_options = options(
    click.option(
        "--server",
        default=None,
        metavar="URL",
        help="Server URL, when URL_OR_ID is a bare id not in your history (a share URL names its "
        "own server, which is the one used) [default: NBSHARE_SERVER, else the config file's].",
    ),
    click.option(
        "--token-stdin",
        is_flag=True,
        help="Read the owner token from standard input (for shares published elsewhere).",
    ),
)


@dataclass
class Target:
    share_id: str
    server: str
    token: str
    entry: Published | None
    history: History
    client: NbshareClient

    @property
    def name(self) -> str:
        return repr(self.entry.title) if self.entry else self.share_id

    def remember(self, answer: Answer) -> None:
        if self.entry is None:
            return
        try:
            self.history.change(self.share_id, lambda e: e.remember(answer, now=now().isoformat()))
        except (HistoryError, OSError) as exc:
            history_not_updated(exc)


def target(url_or_id: str, server: str | None, token_stdin: bool) -> Target:
    """Which share, on which server, with which owner token (history, or stdin).

    The server is the one a share URL names; for a bare id, the one the history saved it
    with, else --server. A token from the history goes only to the server it came from."""
    try:
        share_id = share_id_from(url_or_id)
    except ClientError as exc:
        fail(str(exc))
    given = server_of(url_or_id) if "/" in url_or_id else None
    history = History()
    try:
        entry = history.find(share_id, server=given)
        elsewhere = history.find(share_id) if given and entry is None and not token_stdin else None
    except HistoryError as exc:
        if not token_stdin:
            fail(str(exc))
        entry = elsewhere = None
    if elsewhere is not None:
        fail(
            f"Your history has the owner token of {share_id} for {elsewhere.server}, not for "
            f"{given}; it is only ever sent to its own server. Use that server's link, or pass "
            "the token with --token-stdin."
        )
    token = read_owner_token() if token_stdin else (entry.owner_token if entry else "")
    if not token:
        fail("No owner token for this share in your history; pass it with --token-stdin.")
    if given is None:
        # Named by --server, NBSHARE_SERVER or the config file (not the built-in default).
        resolved = client_settings(server=server)
        named = resolved.server if resolved.sources["server"] != DEFAULT else None
        if token_stdin and named:
            given = named  # a token from stdin goes where the person says
        else:
            given = entry.server if entry else named or DEFAULT_SERVER
    if entry is not None and not same_server(entry.server, given):
        entry = None  # that history entry is another server's share
    return Target(share_id, given, token, entry, history, client_for(given))


def changes(
    *,
    expires: str | None = None,
    max_views: int | None = None,
    password: str | None = None,
    versions_public: bool | None = None,
    discoverable: bool | None = None,
    visible_to: str | None = None,
) -> dict[str, object]:
    """The PATCH fields for the options given (None: not given; removals are added by the caller)."""
    given = {
        "expires": expires,
        "max_views": max_views,
        "password": password,
        "versions_public": versions_public,
        "discoverable": discoverable,
        "visible_to": visible_to,
    }
    return {name: value for name, value in given.items() if value is not None}


@click.command(name="set")
@click.argument("url_or_id")
@click.option(
    "--expires",
    default=None,
    metavar="WHEN",
    help="New lifetime from now (1h, 7d, 4w), a date (2026-12-31), or 'never'.",
)
@click.option(
    "--max-views",
    default=None,
    type=int,
    metavar="N",
    help="Delete the share after N more views of the notebook.",
)
@click.option("--no-max-views", is_flag=True, help="Remove the view limit.")
@password_options
@click.option("--no-password", is_flag=True, help="Remove the password: anyone with the link can read it.")
@click.option(
    "--public-versions/--private-versions",
    "versions_public",
    default=None,
    help="Whether visitors may open earlier versions (/n/ID/v/N).",
)
@click.option(
    "--discoverable/--not-discoverable",
    "discoverable",
    default=None,
    help="Whether search engines may index the share's pages (off by default: X-Robots-Tag noindex).",
)
@VISIBLE_TO_OPTION
@owner_options
@click.option("--json", "as_json", is_flag=True, help="Print the share's settings as JSON.")
def set_(
    url_or_id: str,
    expires: str | None,
    max_views: int | None,
    no_max_views: bool,
    ask_password: bool,
    password_stdin: bool,
    no_password: bool,
    versions_public: bool | None,
    discoverable: bool | None,
    visible_to: str | None,
    server: str | None,
    token_stdin: bool,
    as_json: bool,
) -> None:
    """Change a share's expiry, view limit, password, version visibility, indexing, or who
    may read it (on a JupyterHub).

    Options left out stay as they are. A new password or its removal ends every reader's
    access grant; readers must enter the (new) password again.

    \b
    Example:
        nbshare set https://nb.example.org/n/3kT9x0AbCdEfGhIjKlMnOpQr --expires 7d --max-views 10
    """
    if max_views is not None and no_max_views:
        fail("Choose one of --max-views and --no-max-views.")
    if sum((ask_password, password_stdin, no_password)) > 1:
        fail("Choose one of --password, --password-stdin and --no-password.")
    if password_stdin and token_stdin:
        fail("Only one secret can come from standard input: choose --password-stdin or --token-stdin.")
    wanted = changes(
        expires=expires,
        max_views=max_views,
        versions_public=versions_public,
        discoverable=discoverable,
        visible_to=visible_to,
    )
    if no_max_views:
        wanted["max_views"] = None
    if no_password:
        wanted["password"] = None
    if not (wanted or ask_password or password_stdin):
        fail(
            "Nothing to change: give --expires, --max-views, --no-max-views, --password, "
            "--no-password, --public-versions/--private-versions, --discoverable/--not-discoverable"
            " or --visible-to."
        )
    share = target(url_or_id, server, token_stdin)
    password = read_password(ask_password, password_stdin, env_without_ask=False)
    if password is not None:
        wanted["password"] = password
    try:
        answer = share.client.configure(share.share_id, share.token, **wanted)
    except ClientError as exc:
        fail(str(exc))
    share.remember(answer)
    if as_json:
        keys = (
            *("id", "url", "version", "protected", "expires_at"),
            *("max_views", "views", "versions_public", "discoverable", "visible_to"),
        )
        click.echo(json.dumps({k: answer.get(k) for k in keys}))
        return
    _print_settings(answer)


def _print_settings(answer: Answer) -> None:
    views = (
        f"{answer['views']} of {answer['max_views']}"
        if answer.get("max_views")
        else (f"{answer['views']} (no limit)")
    )
    click.echo(f"Updated the settings of {answer['title']!r}: {answer['url']}")
    click.echo(f"  Password:         {'yes' if answer['protected'] else 'no'}")
    expiry = expiry_text(answer["expires_at"]) if answer["expires_at"] else "never"
    click.echo(f"  Expires:          {expiry}")
    click.echo(f"  Views:            {views}")
    click.echo(f"  Earlier versions: {'anyone with the link' if answer['versions_public'] else 'only you'}")
    indexing = "may index it" if answer.get("discoverable") else "asked not to index it"
    click.echo(f"  Search engines:   {indexing}")
    if answer.get("visible_to", "anyone") != "anyone":
        click.echo(f"  Who may read it:  {answer['visible_to']} (signed in to the JupyterHub)")


@click.command()
@click.argument("url_or_id")
@owner_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
def versions(url_or_id: str, server: str | None, token_stdin: bool, as_json: bool) -> None:
    """List the versions of a share you published (each `nbshare update` adds one).

    \b
    Example:
        nbshare versions https://nb.example.org/n/3kT9x0AbCdEfGhIjKlMnOpQr
    """
    share = target(url_or_id, server, token_stdin)
    try:
        found = share.client.versions(share.share_id, share.token)
    except ClientError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(found))
        return
    _print_versions(found)


def _print_versions(found: list[Answer]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table("Version", "Created", "Title", "File", "Size")
    table.add_column("Link", no_wrap=True, min_width=max(len(v["url"]) for v in found))
    rows = []
    for v in found:
        number = f"{v['version']} (current)" if v["current"] else str(v["version"])
        rows.append(
            (
                number,
                human_time(v["created_at"]),
                v["title"],
                v["filename"],
                human_size(v["size"], largest="MB"),
                v["url"],
            )
        )
        table.add_row(*rows[-1])
    if fits(console, table):
        console.print(table)
        return
    for number, created, title, filename, size, url in rows:
        console.print(
            f"Version {number} · {created} · {title} ({filename}) · {size}", markup=False, highlight=False
        )
        console.print(f"  {url}", markup=False, highlight=False, soft_wrap=True)


@click.command()
@click.argument("url_or_id")
@owner_options
@click.option(
    "--version",
    "version",
    type=int,
    default=None,
    metavar="N",
    help="Delete only this earlier version, not the share.",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(url_or_id: str, server: str | None, token_stdin: bool, version: int | None, yes: bool) -> None:
    """Delete a share you published: the server removes it and everything stored for it.

    \b
    Example:
        nbshare delete https://nb.example.org/n/3kT9x0AbCdEfGhIjKlMnOpQr
    """
    share = target(url_or_id, server, token_stdin)
    what = f"version {version} of {share.name}" if version is not None else f"{share.name} for everyone"
    if not yes and sys.stdin.isatty():
        click.confirm(f"Delete {what}?", abort=True, err=True)
    try:
        if version is not None:
            share.client.delete_version(share.share_id, share.token, version)
        else:
            share.client.delete(share.share_id, share.token)
    except ClientError as exc:
        fail(str(exc))
    if version is not None:
        click.echo(f"Deleted version {version} of {share.share_id}.")
        return
    if share.entry:
        try:
            share.history.remove(share.share_id)
        except (HistoryError, OSError) as exc:
            history_not_updated(exc)
    click.echo(f"Deleted {share.share_id}.")
