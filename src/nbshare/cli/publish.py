"""publish and update: send a notebook or a bundle, print the link, remember the share."""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from .. import publishing
from ..errors import NbshareError
from ..history import Published
from ..text import expiry_text, human_size, human_time
from .common import (
    SERVER_OPTION,
    VISIBLE_TO_OPTION,
    Answer,
    client_for,
    client_settings,
    fail,
    history_not_updated,
)
from .owner import changes, owner_options, target
from .secrets import password_options, read_password

if TYPE_CHECKING:
    from ..bundle.infer import NotPinned
    from ..bundle.outgoing import Outgoing
    from ..client import NbshareClient

PROGRESS_THRESHOLD = 1024 * 1024
T = TypeVar("T")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@SERVER_OPTION
@click.option("--title", default=None, help="Title shown on the page (default: from the notebook).")
@password_options
@click.option(
    "--no-password",
    is_flag=True,
    help="Do not ask for a password, even when the config file's `password` says to.",
)
@click.option(
    "--expires",
    default=None,
    metavar="WHEN",
    help="Delete the share after a time (1h, 7d, 4w), on a date (2026-12-31), or 'never' "
    "[default: NBSHARE_EXPIRES, else the config file's, else the server's].",
)
@click.option(
    "--max-views",
    default=None,
    type=int,
    metavar="N",
    help="Delete the share after N views of the notebook "
    "[default: NBSHARE_MAX_VIEWS, else the config file's].",
)
@VISIBLE_TO_OPTION
@click.option(
    "--update",
    "choose_update",
    is_flag=True,
    help="Replace your earlier share of this file (same link, new version) without asking.",
)
@click.option(
    "--new",
    "choose_new",
    is_flag=True,
    help="Publish a new share even if this file was published before, without asking.",
)
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="PATTERN",
    help="Leave out files matching PATTERN (.gitignore syntax) from a bundle; repeatable.",
)
@click.option(
    "--infer-env",
    is_flag=True,
    help="When the files declare no environment, add requirements.txt and runtime.txt "
    "inferred from the notebooks' imports and the versions installed here.",
)
@click.option("--yes", "-y", is_flag=True, help="Upload a bundle without showing it and asking first.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with url, id and manage_url.")
def publish(
    paths: tuple[Path, ...],
    server: str | None,
    title: str | None,
    ask_password: bool,
    password_stdin: bool,
    no_password: bool,
    expires: str | None,
    max_views: int | None,
    visible_to: str | None,
    choose_update: bool,
    choose_new: bool,
    excludes: tuple[str, ...],
    infer_env: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Upload a notebook, or a whole analysis, and print its share link.

    PATHS is one notebook, or several notebooks and files, a folder, or a .zip: those
    become a bundle, with each notebook on its own page, the files downloadable, and
    `nbshare clone` rebuilding a working copy with its environment. A folder is walked
    without .git, virtual environments, caches, checkpoints and what .gitignore excludes.

    What you published before (same paths, same server) can be updated in place instead:
    you are asked on a terminal; --update and --new choose without asking. The password
    comes from --password (asked, hidden), --password-stdin, or NBSHARE_PASSWORD, and is
    never sent in a URL. The server, --expires, --max-views and whether to ask for a
    password default to your settings (`nbshare config show`); they apply to new shares.

    \b
    Example:
        nbshare publish analysis.ipynb --title "Q3 churn analysis" --expires 7d
        nbshare publish churn/ --exclude "*.parquet" --infer-env
    """
    if choose_update and choose_new:
        fail("Choose one of --update and --new.")
    if ask_password and password_stdin:
        fail("Choose one of --password and --password-stdin.")
    if no_password and (ask_password or password_stdin):
        fail("Choose one of --password, --password-stdin and --no-password.")
    resolved = client_settings(server=server, expires=expires, max_views=max_views)
    if resolved.password and not (no_password or password_stdin):
        ask_password = True  # the config file asks for one by default
    single = _sent_as_one_notebook(paths, infer_env)
    if single and excludes:
        fail("--exclude applies to folders and bundles, not to a single notebook.")
    with contextlib.ExitStack() as stack:
        notebook = paths[0] if single else _bundle_to_send(paths, excludes, infer_env, yes, stack)
        _publish(
            notebook,
            paths,
            server=resolved.server,
            title=title,
            ask_password=ask_password,
            password_stdin=password_stdin,
            expires=resolved.expires,
            max_views=resolved.max_views,
            visible_to=visible_to,
            changed={"expires": expires, "max_views": max_views, "visible_to": visible_to},
            choose_update=choose_update,
            choose_new=choose_new,
            as_json=as_json,
        )


def _sent_as_one_notebook(paths: tuple[Path, ...], infer_env: bool) -> bool:
    """Whether PATHS go up as one notebook (a folder, a .zip, several paths or an environment
    to infer make a bundle). Missing paths are refused."""
    try:
        return publishing.sent_as_one_notebook(paths, infer_env)
    except NbshareError as exc:
        fail(exc.message)


def _bundle_to_send(
    paths: tuple[Path, ...],
    excludes: tuple[str, ...],
    infer_env: bool,
    yes: bool,
    stack: contextlib.ExitStack,
) -> Path:
    """Show what will go up, ask, and write the bundle's .zip to a temporary folder."""
    try:
        outgoing = publishing.plan_bundle(paths, excludes=excludes, infer_env=infer_env)
        _show_outgoing(outgoing, infer_env)
        if not outgoing.env and not infer_env and not yes and sys.stdin.isatty() and outgoing.notebooks:
            # Without an environment the recipient's `nbshare clone` can build none: offer one.
            if click.confirm(
                "Add a requirements.txt and runtime.txt inferred from the notebooks' imports "
                "(as --infer-env does)?",
                default=True,
                err=True,
            ):
                outgoing = publishing.plan_bundle(paths, excludes=excludes, infer_env=True)
                _show_outgoing(outgoing, True)
    except NbshareError as exc:
        fail(exc.message)
    if not yes:
        if not sys.stdin.isatty():
            fail("Standard input is not a terminal to ask on: add --yes to upload these files.")
        if not click.confirm("Upload these files?", default=True, err=True):
            fail("Nothing was uploaded.")
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nbshare-")))
    try:
        return publishing.write_bundle(outgoing, folder)
    except NbshareError as exc:
        fail(exc.message)


def _show_outgoing(outgoing: Outgoing, infer_env: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True, highlight=False)
    console.print(f"{outgoing.name}: {len(outgoing.files)} files, {human_size(outgoing.total, largest='MB')}")
    table = Table(box=None, pad_edge=False)
    table.add_column("File", overflow="fold")
    table.add_column("Size", justify="right")
    for f in outgoing.files:
        note = " (added: inferred environment)" if f.path in outgoing.added else ""
        table.add_row(f"{f.path}{note}", human_size(f.size, largest="MB"))
    console.print(table)
    inferred = outgoing.inferred
    if inferred is not None:
        if inferred.requirements:
            pins = ", ".join(r.line for r in inferred.requirements)
            console.print(f"Inferred from imports: {pins}; Python {inferred.python_version}.")
        elif inferred.not_pinned:
            console.print(f"Nothing to pin; Python {inferred.python_version}.")
        else:
            console.print(f"No third-party imports found; Python {inferred.python_version}.")
        for item in inferred.not_pinned:
            console.print(f"Not pinned: {item.why}, which no package index has; {_not_pinned_hint(item)}")
        if inferred.unresolved:
            console.print(
                "Not installed here, so not pinned (add them to requirements.txt by hand): "
                + ", ".join(inferred.unresolved)
            )
    elif outgoing.env:
        console.print("Environment: " + ", ".join(e.path for e in outgoing.env))
        if infer_env:
            console.print("The files declare an environment already; --infer-env left it as it is.")
    else:
        console.print(
            "No environment file (requirements.txt, environment.yml, ...): "
            "--infer-env would add one from the notebooks' imports."
        )


def _not_pinned_hint(item: NotPinned) -> str:
    if item.distribution.lower() == "nbshare":
        return "`nbshare clone` installs the recipient's own nbshare instead."
    return "left out of requirements.txt (add where to get it by hand)."


def _publish(
    notebook: Path,
    paths: tuple[Path, ...],
    *,
    server: str,
    title: str | None,
    ask_password: bool,
    password_stdin: bool,
    expires: str | None,
    max_views: int | None,
    visible_to: str | None,
    changed: dict[str, object],
    choose_update: bool,
    choose_new: bool,
    as_json: bool,
) -> None:
    """`expires` and `max_views` are the settings for a new share; `changed` holds only the
    flags given, which an update applies (the defaults are for new shares)."""
    client = client_for(server)
    key = publishing.source_key(paths)
    try:
        earlier = None if choose_new else publishing.earlier_share(client, key, must=choose_update)
    except NbshareError as exc:
        fail(exc.message)
    update = choose_update
    if earlier is not None and not update:
        update = _offer_update(earlier, paths[0].name if len(paths) == 1 else notebook.name)
    if update:
        assert earlier is not None
        # A new password only when asked for: NBSHARE_PASSWORD protects new shares.
        password = read_password(ask_password, password_stdin, env_without_ask=False)
        wanted = changes(**changed, password=password)  # type: ignore[arg-type]
        outcome = _update(client, earlier.id, earlier.owner_token, notebook, title, wanted, key)
        _print_published(outcome.answer, earlier.manage_url, as_json, updated=True)
        return
    password = read_password(ask_password, password_stdin, env_without_ask=True)
    try:
        outcome = _with_progress(
            notebook,
            lambda progress: publishing.publish_new(
                client,
                notebook,
                key,
                title=title,
                password=password,
                expires=expires,
                max_views=max_views,
                visible_to=visible_to,
                on_progress=progress,
            ),
        )
    except NbshareError as exc:
        fail(exc.message)
    if outcome.history_error is not None:
        # The share exists: still print its links (the manage link is the only way to delete it).
        click.echo(
            f"Warning: not saved to your history ({outcome.history_error}); keep the manage link.", err=True
        )
    _print_published(outcome.answer, outcome.manage_url, as_json, updated=False)


def _offer_update(earlier: Published, shown: str) -> bool:
    """Asked on a terminal whether to update the earlier share; without one, a note and no."""
    when = human_time(earlier.created_at)
    if sys.stdin.isatty():
        return click.confirm(
            f"You published {shown} on {when}: {earlier.url}\nUpdate that share (same link, new version)?",
            default=False,
            err=True,
        )
    click.echo(
        f"Note: you published {shown} before ({when}): {earlier.url}; publishing a new "
        "share. Use --update to replace that one instead, or --new to skip this check.",
        err=True,
    )
    return False


def _update(
    client: NbshareClient,
    share_id: str,
    token: str,
    notebook: Path,
    title: str | None,
    wanted: dict[str, object],
    source: str | None = None,
) -> publishing.Outcome:
    try:
        outcome = _with_progress(
            notebook,
            lambda progress: publishing.update_share(
                client,
                share_id,
                token,
                notebook,
                title=title,
                changes=wanted,
                key=source,
                on_progress=progress,
            ),
        )
    except NbshareError as exc:
        fail(exc.message)
    if outcome.history_error is not None:
        history_not_updated(outcome.history_error)
    return outcome


def _print_published(answer: Answer, manage_url: str | None, as_json: bool, *, updated: bool) -> None:
    if as_json:
        keys = (
            "id",
            "url",
            "download_url",
            "title",
            "created_at",
            "updated_at",
            "version",
            "expires_at",
            "max_views",
            "protected",
        )
        shown = {k: answer.get(k) for k in keys}
        if manage_url:
            shown["manage_url"] = manage_url
        shown["updated"] = updated
        click.echo(json.dumps(shown))
        return
    click.echo(answer["url"])
    if updated:
        click.echo(f"Updated {answer['title']!r}: version {answer['version']}, same link.", err=True)
    facts = _facts(answer)
    if facts:
        click.echo(facts, err=True)
    if manage_url and not updated:
        # Last, on stderr: `URL=$(nbshare publish ...)` gets the link alone.
        click.echo(f"Manage (keep private): {manage_url}", err=True)


def _facts(info: Answer) -> str:
    """One line on what makes a share private or ephemeral; empty for a plain share."""
    parts = []
    if info.get("protected"):
        parts.append("Protected by a password.")
    if info.get("expires_at"):
        parts.append(f"Expires {expiry_text(info['expires_at'])}.")
    if info.get("max_views"):
        n = info["max_views"]
        parts.append(f"Deleted after {n} view{'s' if n != 1 else ''} of the notebook.")
    return " ".join(parts)


def _with_progress(notebook: Path, send: Callable[[Callable[[int], None] | None], T]) -> T:
    size = notebook.stat().st_size
    if size < PROGRESS_THRESHOLD or not sys.stderr.isatty():
        return send(None)
    from .progress import upload_progress

    with upload_progress(notebook.name, size) as advance:
        return send(advance)


@click.command()
@click.argument("url_or_id")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--title", default=None, help="Title shown on the page (default: from the notebook).")
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="PATTERN",
    help="Leave out files matching PATTERN (.gitignore syntax) from a bundle; repeatable.",
)
@click.option(
    "--infer-env",
    is_flag=True,
    help="When the files declare no environment, add one inferred from the imports.",
)
@click.option("--yes", "-y", is_flag=True, help="Upload a bundle without showing it and asking first.")
@owner_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with url, id and version.")
def update(
    url_or_id: str,
    paths: tuple[Path, ...],
    title: str | None,
    excludes: tuple[str, ...],
    infer_env: bool,
    yes: bool,
    server: str | None,
    token_stdin: bool,
    as_json: bool,
) -> None:
    """Replace a share's content with PATHS: same link, next version.

    PATHS is a notebook, or files, a folder or a .zip as for `publish` (a bundle). Prints
    the link; earlier versions stay available to you (see `nbshare versions`).

    \b
    Example:
        nbshare update https://nb.example.org/n/3kT9x0AbCdEfGhIjKlMnOpQr analysis.ipynb
    """
    single = _sent_as_one_notebook(paths, infer_env)
    share = target(url_or_id, server, token_stdin)
    with contextlib.ExitStack() as stack:
        notebook = paths[0] if single else _bundle_to_send(paths, excludes, infer_env, yes, stack)
        source = publishing.source_key(paths)
        outcome = _update(share.client, share.share_id, share.token, notebook, title, {}, source)
    _print_published(outcome.answer, None, as_json, updated=True)
