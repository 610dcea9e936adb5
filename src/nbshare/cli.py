"""The `nbshare` command (also `jupyter nbshare`): flags in, client calls, friendly output.

Secrets (passwords, owner tokens) never appear in argv: they come from a hidden prompt,
standard input, the NBSHARE_PASSWORD variable or the private history file."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import NoReturn

import click

from . import __version__
from .client import DEFAULT_SERVER, ClientError, NbshareClient, server_of, share_id_from
from .errors import NbshareError
from .history import SECRET_FIELDS, History, Published, same_server

SERVER_OPTION = click.option(
    "--server",
    envvar="NBSHARE_SERVER",
    default=DEFAULT_SERVER,
    show_default=True,
    help="nbshare server URL (or set NBSHARE_SERVER).",
)
PROGRESS_THRESHOLD = 1024 * 1024
PASSWORD_ENV = "NBSHARE_PASSWORD"  # noqa: S105 (a variable name)
LIST_TIMEOUT = 10.0


def fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _now() -> datetime:
    return datetime.now(UTC)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nbshare")
def main() -> None:
    """Share Jupyter notebooks by link.

    \b
    Example:
        nbshare publish analysis.ipynb
    """


@main.command()
@click.option("--host", default=None, help="Interface to listen on [default: 127.0.0.1].")
@click.option("--port", default=None, type=int, help="Port to listen on [default: 8000].")
@click.option("--data-dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the database and blobs.")
@click.option("--public-url", default=None, help="Base URL used in every link the service returns.")
def serve(host: str | None, port: int | None, data_dir: Path | None, public_url: str | None) -> None:
    """Run the nbshare web service (SQLite and a local folder by default).

    Every setting can also come from an NBSHARE_* environment variable; see docs/settings.md.

    \b
    Example:
        nbshare serve --port 8000 --data-dir ./data --public-url https://nb.example.org
    """
    from .settings import Settings

    try:  # before the heavy imports below, so a bad setting is refused at once
        settings = Settings.from_env(host=host, port=port, data_dir=data_dir, public_url=public_url)
    except ValueError as exc:
        fail(str(exc))
    import uvicorn

    from .app import create_app
    from .logs import configure_logging

    log_config = configure_logging()
    try:
        app = create_app(settings)
    except ValueError as exc:  # a blob store URL obstore cannot use, say
        fail(str(exc))
    # (Without any user:password@ part a URL might carry.)
    blobs = re.sub(r"//[^/@]*@", "//", settings.blob_url) if settings.blob_url else settings.blob_dir
    where = f"{settings.public_url} (data in {settings.data_dir}, blobs in {blobs})"
    click.echo(f"nbshare {__version__} serving at {where}", err=True)
    # uvicorn believes X-Forwarded-For from 127.0.0.1 by default; that would let anyone on a
    # loopback-bound server pick their own address (and escape the guessing throttle).
    # Proxy headers are read only from the proxies the operator names.
    trusted = settings.trusted_proxies
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=log_config,
                proxy_headers=bool(trusted), forwarded_allow_ips=trusted or "")


# --- passwords ------------------------------------------------------------------------


def _password_options(command: Callable) -> Callable:
    command = click.option(
        "--password-stdin", is_flag=True,
        help="Read the password from the first line of standard input.",
    )(command)
    return click.option(
        "--password", "ask_password", is_flag=True,
        help=f"Protect the share with a password, asked for without echo (or taken from {PASSWORD_ENV}).",
    )(command)


def _read_password(ask: bool, from_stdin: bool, *, env_without_ask: bool) -> str | None:
    """The password the flags and environment ask for, or None.

    `--password-stdin` reads one line; `--password` takes NBSHARE_PASSWORD when set,
    else asks (hidden, twice) on a terminal, else reads one line of standard input.
    With `env_without_ask`, NBSHARE_PASSWORD applies even without `--password`."""
    if ask and from_stdin:
        fail("Choose one of --password and --password-stdin.")
    if from_stdin:
        if sys.stdin.isatty():
            return _ask_password()
        line = sys.stdin.readline().rstrip("\r\n")
        return _checked(line, "No password on standard input (--password-stdin).")
    from_env = os.environ.get(PASSWORD_ENV, "")
    if from_env and (ask or env_without_ask):
        return _checked(from_env, f"{PASSWORD_ENV} holds only spaces.")
    if not ask:
        return None
    if sys.stdin.isatty():
        return _ask_password()
    return _checked(
        sys.stdin.readline().rstrip("\r\n"),
        f"--password found no terminal to ask on and nothing on standard input; "
        f"use --password-stdin or set {PASSWORD_ENV}.",
    )


def _ask_password() -> str:
    while True:
        # Hidden, asked twice; click asks again after an empty answer or a mismatch.
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        if password.strip():
            return password
        click.echo("The password cannot be only spaces.", err=True)


def _checked(password: str, empty_message: str) -> str:
    if not password.strip():
        fail(empty_message)
    return password


# --- publish and update -----------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@SERVER_OPTION
@click.option("--title", default=None, help="Title shown on the page (default: from the notebook).")
@_password_options
@click.option("--expires", default=None, metavar="WHEN",
              help="Delete the share after a time (1h, 7d, 4w), on a date (2026-12-31), or 'never'.")
@click.option("--max-views", default=None, type=int, metavar="N",
              help="Delete the share after N views of the notebook.")
@click.option("--update", "choose_update", is_flag=True,
              help="Replace your earlier share of this file (same link, new version) without asking.")
@click.option("--new", "choose_new", is_flag=True,
              help="Publish a new share even if this file was published before, without asking.")
@click.option("--exclude", "excludes", multiple=True, metavar="PATTERN",
              help="Leave out files matching PATTERN (.gitignore syntax) from a bundle; repeatable.")
@click.option("--infer-env", is_flag=True,
              help="When the files declare no environment, add requirements.txt and runtime.txt "
                   "inferred from the notebooks' imports and the versions installed here.")
@click.option("--yes", "-y", is_flag=True, help="Upload a bundle without showing it and asking first.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with url, id and manage_url.")
def publish(paths: tuple[Path, ...], server: str, title: str | None, ask_password: bool,
            password_stdin: bool, expires: str | None, max_views: int | None, choose_update: bool,
            choose_new: bool, excludes: tuple[str, ...], infer_env: bool, yes: bool, as_json: bool) -> None:
    """Upload a notebook, or a whole analysis, and print its share link.

    PATHS is one notebook, or several notebooks and files, a folder, or a .zip: those
    become a bundle, with each notebook on its own page, the files downloadable, and
    `nbshare clone` rebuilding a working copy with its environment. A folder is walked
    without .git, virtual environments, caches, checkpoints and what .gitignore excludes.

    What you published before (same paths, same server) can be updated in place instead:
    you are asked on a terminal; --update and --new choose without asking. The password
    comes from --password (asked, hidden), --password-stdin, or NBSHARE_PASSWORD, and is
    never sent in a URL.

    \b
    Example:
        nbshare publish analysis.ipynb --title "Q3 churn analysis" --expires 7d
        nbshare publish churn/ --exclude "*.parquet" --infer-env
    """
    if choose_update and choose_new:
        fail("Choose one of --update and --new.")
    if ask_password and password_stdin:
        fail("Choose one of --password and --password-stdin.")
    for given in paths:
        if not given.exists():
            fail(f"No such file or folder: {given}")
    # One file is sent as a notebook (the server says if it is not one); a folder, a .zip,
    # several paths or an environment to infer make a bundle.
    single = len(paths) == 1 and paths[0].is_file() and paths[0].suffix.lower() != ".zip" and not infer_env
    if single and excludes:
        fail("--exclude applies to folders and bundles, not to a single notebook.")
    with contextlib.ExitStack() as stack:
        notebook = paths[0] if single else _bundle_to_send(paths, excludes, infer_env, yes, stack)
        _publish(notebook, paths, server=server, title=title, ask_password=ask_password,
                 password_stdin=password_stdin, expires=expires, max_views=max_views,
                 choose_update=choose_update, choose_new=choose_new, as_json=as_json)


def _bundle_to_send(paths: tuple[Path, ...], excludes: tuple[str, ...], infer_env: bool, yes: bool,
                    stack: contextlib.ExitStack) -> Path:
    """Show what will go up, ask, and write the bundle's .zip to a temporary folder."""
    from .bundle.outgoing import plan

    try:
        outgoing = plan(list(paths), excludes=excludes, infer_env=infer_env)
        _show_outgoing(outgoing, infer_env)
        if not outgoing.env and not infer_env and not yes and sys.stdin.isatty() and outgoing.notebooks:
            # Without an environment the recipient's `nbshare clone` can build none: offer one.
            if click.confirm("Add a requirements.txt and runtime.txt inferred from the notebooks' imports "
                             "(as --infer-env does)?", default=True, err=True):
                outgoing = plan(list(paths), excludes=excludes, infer_env=True)
                _show_outgoing(outgoing, True)
    except NbshareError as exc:
        fail(exc.message)
    if not yes:
        if not sys.stdin.isatty():
            fail("Standard input is not a terminal to ask on: add --yes to upload these files.")
        if not click.confirm("Upload these files?", default=True, err=True):
            fail("Nothing was uploaded.")
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nbshare-")))
    archive = folder / outgoing.name
    try:
        archive.write_bytes(outgoing.archive())
    except NbshareError as exc:
        fail(exc.message)
    return archive


def _show_outgoing(outgoing, infer_env: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True, highlight=False)
    console.print(f"{outgoing.name}: {len(outgoing.files)} files, {_size(outgoing.total)}")
    table = Table(box=None, pad_edge=False)
    table.add_column("File", overflow="fold")
    table.add_column("Size", justify="right")
    for f in outgoing.files:
        note = " (added: inferred environment)" if f.path in outgoing.added else ""
        table.add_row(f"{f.path}{note}", _size(f.size))
    console.print(table)
    inferred = outgoing.inferred
    if inferred is not None:
        if inferred.requirements:
            pins = ", ".join(f"{r.distribution}=={r.version}" for r in inferred.requirements)
            console.print(f"Inferred from imports: {pins}; Python {inferred.python_version}.")
        else:
            console.print(f"No third-party imports found; Python {inferred.python_version}.")
        if inferred.unresolved:
            console.print("Not installed here, so not pinned (add them to requirements.txt by hand): "
                          + ", ".join(inferred.unresolved))
    elif outgoing.env:
        console.print("Environment: " + ", ".join(e.path for e in outgoing.env))
        if infer_env:
            console.print("The files declare an environment already; --infer-env left it as it is.")
    else:
        console.print("No environment file (requirements.txt, environment.yml, ...): "
                      "--infer-env would add one from the notebooks' imports.")


def _publish(notebook: Path, paths: tuple[Path, ...], *, server: str, title: str | None, ask_password: bool,
             password_stdin: bool, expires: str | None, max_views: int | None, choose_update: bool,
             choose_new: bool, as_json: bool) -> None:
    client = NbshareClient(server)
    path = " ".join(str(p.resolve()) for p in paths)  # what the history remembers it by
    earlier = None if choose_new else _earlier_share(client, path, must=choose_update)
    update = choose_update
    if earlier is not None and not update:
        when = _when(earlier.created_at)
        shown = paths[0].name if len(paths) == 1 else notebook.name
        if sys.stdin.isatty():
            update = click.confirm(
                f"You published {shown} on {when}: {earlier.url}\n"
                "Update that share (same link, new version)?", default=False, err=True,
            )
        else:
            click.echo(
                f"Note: you published {shown} before ({when}): {earlier.url}; publishing a new "
                "share. Use --update to replace that one instead, or --new to skip this check.", err=True,
            )
    if update:
        assert earlier is not None
        # A new password only when asked for: NBSHARE_PASSWORD protects new shares.
        password = _read_password(ask_password, password_stdin, env_without_ask=False)
        changes = _changes(expires=expires, max_views=max_views, password=password)
        answer = _update(client, earlier.id, earlier.owner_token, notebook, title, changes, path)
        _print_published(answer, earlier.manage_url, as_json, updated=True)
        return
    password = _read_password(ask_password, password_stdin, env_without_ask=True)
    try:
        answer = _with_progress(notebook, lambda progress: client.publish(
            notebook, title=title, password=password, expires=expires, max_views=max_views,
            on_progress=progress,
        ))
    except ClientError as exc:
        fail(str(exc))
    try:
        entry = Published(
            id=answer["id"], url=answer["url"], server=client.server,
            manage_url=answer["manage_url"], owner_token=answer["owner_token"],
            title=answer["title"], filename=answer["filename"],
            path=path, created_at=answer["created_at"],
        )
        entry.remember(answer, now=_now().isoformat())
        History().add(entry)
    except (RuntimeError, OSError) as exc:
        # The share exists: still print its links (the manage link is the only way to delete it).
        click.echo(f"Warning: not saved to your history ({exc}); keep the manage link.", err=True)
    _print_published(answer, answer["manage_url"], as_json, updated=False)


def _earlier_share(client: NbshareClient, path: str, *, must: bool) -> Published | None:
    """The latest share of `path` on this server that is still there, from the history."""
    try:
        candidates = History().published_from(path, client.server)
    except RuntimeError as exc:
        if must:
            fail(str(exc))
        return None  # publishing still works; saving will warn
    for entry in candidates:
        try:
            client.owner_info(entry.id, entry.owner_token)
        except ClientError as exc:
            if exc.status in (404, 403):  # gone, or not ours any more: not an update target
                continue
            fail(str(exc))
        return entry
    if must:
        fail(f"No earlier share of {path} on {client.server} in your history (or it is gone); "
             "publish it without --update.")
    return None


def _changes(*, expires: str | None = None, max_views: int | None = None, password: str | None = None,
             versions_public: bool | None = None) -> dict:
    """The PATCH fields for the options given (None: not given; removals are added by the caller)."""
    given = {"expires": expires, "max_views": max_views, "password": password,
             "versions_public": versions_public}
    return {name: value for name, value in given.items() if value is not None}


def _update(client: NbshareClient, share_id: str, token: str, notebook: Path, title: str | None,
            changes: dict, source: str | None = None) -> dict:
    """Settings first (so new content is never out under the old password), then the content."""
    try:
        if changes:
            client.configure(share_id, token, **changes)
        answer = _with_progress(notebook, lambda progress: client.update(
            share_id, token, notebook, title=title, on_progress=progress,
        ))
    except ClientError as exc:
        fail(str(exc))

    def edit(entry: Published) -> None:
        entry.remember(answer, now=_now().isoformat())
        entry.path = source or str(notebook.resolve())  # the file(s) that now back this share

    try:
        History().change(share_id, edit)
    except (RuntimeError, OSError) as exc:
        click.echo(f"Warning: your history was not updated ({exc}).", err=True)
    return answer


def _print_published(answer: dict, manage_url: str | None, as_json: bool, *, updated: bool) -> None:
    if as_json:
        keys = ("id", "url", "download_url", "title", "created_at", "updated_at", "version",
                "expires_at", "max_views", "protected")
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


def _facts(info: dict) -> str:
    """One line on what makes a share private or ephemeral; empty for a plain share."""
    parts = []
    if info.get("protected"):
        parts.append("Protected by a password.")
    if info.get("expires_at"):
        parts.append(f"Expires {_expiry_text(info['expires_at'])}.")
    if info.get("max_views"):
        n = info["max_views"]
        parts.append(f"Deleted after {n} view{'s' if n != 1 else ''} of the notebook.")
    return " ".join(parts)


def _with_progress(notebook: Path, send: Callable[[Callable[[int], None] | None], dict]) -> dict:
    size = notebook.stat().st_size
    if size < PROGRESS_THRESHOLD or not sys.stderr.isatty():
        return send(None)
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    columns = (
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn()
    )
    # On stderr, which was checked to be a terminal: stdout carries only the link.
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"Uploading {notebook.name}", total=size)

        def advance(n: int) -> None:
            progress.advance(task, n)
            if progress.tasks[0].completed >= size:  # all sent: the server renders, then answers
                progress.update(task, description="Rendering")

        answer = send(advance)
    return answer


# --- clone: the recipient's working copy --------------------------------------------------


@main.command()
@click.argument("url")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-env", is_flag=True, help="Only download the files; build no environment.")
@click.option("--check", is_flag=True,
              help="Run every notebook in the new environment and report what does not reproduce "
                   "(this runs the share's code: asking for it is agreeing to that).")
@click.option("--timeout", default=600, show_default=True, type=int, metavar="SECONDS",
              help="With --check: longest a single cell may run.")
@click.option("--password-stdin", is_flag=True,
              help="For a protected share: read the password from the first line of standard input.")
@click.option("--trust", is_flag=True,
              help="Run the share's own install code (setup.py, build backends, local packages in "
                   "requirements files) without asking.")
def clone(url: str, folder: Path | None, no_env: bool, check: bool, timeout: int,
          password_stdin: bool, trust: bool) -> None:
    """Download a share into FOLDER and rebuild its environment there.

    The files are checked against the server's SHA-256 before anything is written. The
    environment comes from the share's requirements.txt, pyproject.toml or environment.yml
    (a .venv, with uv when installed; conda for environment.yml when available); what
    cannot be reproduced (apt.txt, postBuild, ...) is said. A protected share's password is
    asked for (hidden), or read from NBSHARE_PASSWORD or --password-stdin.

    Nothing that came with the share runs unless you agree. Installing the packages a
    requirements file names is not running the share's code; installing the share itself
    (setup.py, a build backend, `-e .` or a local path in a requirements file) is: those
    steps are shown and asked about on a terminal, and skipped without one unless --trust
    is given (the clone then ends with status 1 and says what was skipped).

    \b
    Example:
        nbshare clone https://nb.example.org/n/3kT9x0AbCdEfGhIjKlMnOpQr churn --check
    """
    from .bundle.check import check_notebooks, format_report
    from .bundle.environment import build_environment
    from .bundle.incoming import default_folder, fetch, open_share

    if "/" not in url:
        fail("Give the share's link (https://.../n/ID), so nbshare knows which server to ask.")
    if no_env and check:
        fail("--check runs the notebooks in the environment that --no-env skips; choose one.")
    try:
        share_id = share_id_from(url)
        client = NbshareClient(server_of(url))
        info, grant = open_share(client, share_id, lambda: _clone_password(password_stdin))
        dest = (folder or Path(default_folder(info))).absolute()
        click.echo(f"Cloning {info['title']!r} ({_size(info['size'])}) into {dest}", err=True)
        cloned = fetch(client, info, grant, dest)
    except ClientError as exc:
        fail(str(exc))
    except NbshareError as exc:
        fail(exc.message)
    click.echo(f"Wrote {len(cloned.files)} file{'s' if len(cloned.files) != 1 else ''}, checksum verified.",
               err=True)
    if no_env:
        click.echo(f"cd {shlex.quote(str(dest))}")
        return
    echo = partial(click.echo, err=True)
    try:
        report = build_environment(dest, env_files=cloned.env_files, echo=echo,
                                   consent=partial(_consent, trust=trust, check=check))
    except NbshareError as exc:
        fail(exc.message)
    for name, reason in report.not_reproduced:
        click.echo(f"Not reproduced: {name}: {reason}", err=True)
    ok = True
    if check:
        result = check_notebooks(dest, cloned.notebooks, env=report, timeout=timeout, echo=echo)
        click.echo(format_report(result), err=True)
        ok = result.ok
    click.echo("Open the notebooks with:", err=True)
    click.echo(report.open_command)
    if report.refused:
        click.echo(f"Error: skipped {len(report.refused)} install step(s) that would run code that came "
                   "with the share (listed above). Read the files, then clone again with --trust, or "
                   "run those steps yourself.", err=True)
    if not ok or report.refused:
        sys.exit(1)


def _consent(steps: list, *, trust: bool, check: bool) -> bool:
    """Whether to run install steps that run the share's own code: --trust, or a yes on a
    terminal. Without a terminal to ask on, no."""
    click.echo("These install steps would run code that came with the share, as you:", err=True)
    for step in steps:
        for line in step.what:
            click.echo(f"  {line}", err=True)
    if trust:
        click.echo("Running them: --trust was given.", err=True)
        return True
    if not sys.stdin.isatty():
        click.echo("Not running them: no terminal to ask on (add --trust to allow them).", err=True)
        return False
    if check:
        click.echo("(--check runs the notebooks afterwards in any case: that runs the share's code too.)",
                   err=True)
    return click.confirm("Run them? Answer no to build the environment without them", default=False,
                         err=True)


def _clone_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        return _checked(line, "No password on standard input (--password-stdin).")
    from_env = os.environ.get(PASSWORD_ENV, "")
    if from_env:
        return _checked(from_env, f"{PASSWORD_ENV} holds only spaces.")
    if not sys.stdin.isatty():
        fail(f"This share is protected: give its password with --password-stdin or {PASSWORD_ENV}.")
    return click.prompt("This share is protected. Password", hide_input=True, err=True)


# --- the owner's commands ---------------------------------------------------------------


def _owner_options(command: Callable) -> Callable:
    command = click.option(
        "--token-stdin", is_flag=True,
        help="Read the owner token from standard input (for shares published elsewhere).",
    )(command)
    return click.option(
        "--server", envvar="NBSHARE_SERVER", default=None,
        help="Server URL, when URL_OR_ID is a bare id not in your history (a share URL names its "
             "own server, which is the one used).",
    )(command)


@dataclass
class Target:
    share_id: str
    server: str
    token: str
    entry: Published | None
    history: History

    @property
    def client(self) -> NbshareClient:
        return NbshareClient(self.server)

    @property
    def name(self) -> str:
        return repr(self.entry.title) if self.entry else self.share_id

    def remember(self, answer: dict) -> None:
        if self.entry is None:
            return
        try:
            self.history.change(self.share_id, lambda e: e.remember(answer, now=_now().isoformat()))
        except (RuntimeError, OSError) as exc:
            click.echo(f"Warning: your history was not updated ({exc}).", err=True)


def _target(url_or_id: str, server: str | None, token_stdin: bool) -> Target:
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
    except RuntimeError as exc:
        if not token_stdin:
            fail(str(exc))
        entry = elsewhere = None
    if elsewhere is not None:
        fail(f"Your history has the owner token of {share_id} for {elsewhere.server}, not for "
             f"{given}; it is only ever sent to its own server. Use that server's link, or pass "
             "the token with --token-stdin.")
    if token_stdin:
        # Typed at a terminal, the token is not echoed; piped in, it is read as is.
        token = (click.prompt("Owner token", hide_input=True, err=True) if sys.stdin.isatty()
                 else sys.stdin.readline()).strip()
    else:
        token = entry.owner_token if entry else ""
    if not token:
        fail("No owner token for this share in your history; pass it with --token-stdin.")
    if given is None and token_stdin and server:
        given = server  # a token from stdin goes where the person says
    if given is None:
        given = entry.server if entry else server or DEFAULT_SERVER
    if entry is not None and not same_server(entry.server, given):
        entry = None  # that history entry is another server's share
    return Target(share_id, given, token, entry, history)


@main.command()
@click.argument("url_or_id")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--title", default=None, help="Title shown on the page (default: from the notebook).")
@click.option("--exclude", "excludes", multiple=True, metavar="PATTERN",
              help="Leave out files matching PATTERN (.gitignore syntax) from a bundle; repeatable.")
@click.option("--infer-env", is_flag=True,
              help="When the files declare no environment, add one inferred from the imports.")
@click.option("--yes", "-y", is_flag=True, help="Upload a bundle without showing it and asking first.")
@_owner_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with url, id and version.")
def update(url_or_id: str, paths: tuple[Path, ...], title: str | None, excludes: tuple[str, ...],
           infer_env: bool, yes: bool, server: str | None, token_stdin: bool, as_json: bool) -> None:
    """Replace a share's content with PATHS: same link, next version.

    PATHS is a notebook, or files, a folder or a .zip as for `publish` (a bundle). Prints
    the link; earlier versions stay available to you (see `nbshare versions`).

    \b
    Example:
        nbshare update https://nb.example.org/n/3kT9x0AbCdEfGhIjKlMnOpQr analysis.ipynb
    """
    for given in paths:
        if not given.exists():
            fail(f"No such file or folder: {given}")
    single = len(paths) == 1 and paths[0].is_file() and paths[0].suffix.lower() != ".zip" and not infer_env
    target = _target(url_or_id, server, token_stdin)
    with contextlib.ExitStack() as stack:
        notebook = paths[0] if single else _bundle_to_send(paths, excludes, infer_env, yes, stack)
        source = " ".join(str(p.resolve()) for p in paths)
        answer = _update(target.client, target.share_id, target.token, notebook, title, {}, source)
    _print_published(answer, None, as_json, updated=True)


@main.command(name="set")
@click.argument("url_or_id")
@click.option("--expires", default=None, metavar="WHEN",
              help="New lifetime from now (1h, 7d, 4w), a date (2026-12-31), or 'never'.")
@click.option("--max-views", default=None, type=int, metavar="N",
              help="Delete the share after N more views of the notebook.")
@click.option("--no-max-views", is_flag=True, help="Remove the view limit.")
@_password_options
@click.option("--no-password", is_flag=True, help="Remove the password: anyone with the link can read it.")
@click.option("--public-versions/--private-versions", "versions_public", default=None,
              help="Whether visitors may open earlier versions (/n/ID/v/N).")
@_owner_options
@click.option("--json", "as_json", is_flag=True, help="Print the share's settings as JSON.")
def set_(url_or_id: str, expires: str | None, max_views: int | None, no_max_views: bool,
         ask_password: bool, password_stdin: bool, no_password: bool, versions_public: bool | None,
         server: str | None, token_stdin: bool, as_json: bool) -> None:
    """Change a share's expiry, view limit, password or version visibility.

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
    changes = _changes(expires=expires, max_views=max_views, versions_public=versions_public)
    if no_max_views:
        changes["max_views"] = None
    if no_password:
        changes["password"] = None
    if not (changes or ask_password or password_stdin):
        fail("Nothing to change: give --expires, --max-views, --no-max-views, --password, "
             "--no-password or --public-versions/--private-versions.")
    target = _target(url_or_id, server, token_stdin)
    password = _read_password(ask_password, password_stdin, env_without_ask=False)
    if password is not None:
        changes["password"] = password
    try:
        answer = target.client.configure(target.share_id, target.token, **changes)
    except ClientError as exc:
        fail(str(exc))
    target.remember(answer)
    if as_json:
        keys = ("id", "url", "version", "protected", "expires_at", "max_views", "views", "versions_public")
        click.echo(json.dumps({k: answer.get(k) for k in keys}))
        return
    views = f"{answer['views']} of {answer['max_views']}" if answer.get("max_views") else (
        f"{answer['views']} (no limit)")
    click.echo(f"Updated the settings of {answer['title']!r}: {answer['url']}")
    click.echo(f"  Password:         {'yes' if answer['protected'] else 'no'}")
    expiry = _expiry_text(answer["expires_at"]) if answer["expires_at"] else "never"
    click.echo(f"  Expires:          {expiry}")
    click.echo(f"  Views:            {views}")
    click.echo(f"  Earlier versions: {'anyone with the link' if answer['versions_public'] else 'only you'}")


@main.command()
@click.argument("url_or_id")
@_owner_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
def versions(url_or_id: str, server: str | None, token_stdin: bool, as_json: bool) -> None:
    """List the versions of a share you published (each `nbshare update` adds one).

    \b
    Example:
        nbshare versions https://nb.example.org/n/3kT9x0AbCdEfGhIjKlMnOpQr
    """
    target = _target(url_or_id, server, token_stdin)
    try:
        found = target.client.versions(target.share_id, target.token)
    except ClientError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(found))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table("Version", "Created", "Title", "File", "Size")
    table.add_column("Link", no_wrap=True, min_width=max(len(v["url"]) for v in found))
    rows = []
    for v in found:
        number = f"{v['version']} (current)" if v["current"] else str(v["version"])
        rows.append((number, _when(v["created_at"]), v["title"], v["filename"], _size(v["size"]), v["url"]))
        table.add_row(*rows[-1])
    if _fits(console, table):
        console.print(table)
        return
    for number, created, title, filename, size, url in rows:
        console.print(f"Version {number} · {created} · {title} ({filename}) · {size}",
                      markup=False, highlight=False)
        console.print(f"  {url}", markup=False, highlight=False, soft_wrap=True)


def _fits(console, table) -> bool:
    """Whether `table` fits when every column is as wide as its longest word (text may wrap)."""
    return console.measure(table, options=console.options.update_width(10_000)).minimum <= console.width


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return ""


@main.command()
@click.argument("url_or_id")
@_owner_options
@click.option("--version", "version", type=int, default=None, metavar="N",
              help="Delete only this earlier version, not the share.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(url_or_id: str, server: str | None, token_stdin: bool, version: int | None, yes: bool) -> None:
    """Delete a share you published: the server removes it and everything stored for it.

    \b
    Example:
        nbshare delete https://nb.example.org/n/3kT9x0AbCdEfGhIjKlMnOpQr
    """
    target = _target(url_or_id, server, token_stdin)
    what = f"version {version} of {target.name}" if version is not None else f"{target.name} for everyone"
    if not yes and sys.stdin.isatty():
        click.confirm(f"Delete {what}?", abort=True, err=True)
    try:
        if version is not None:
            target.client.delete_version(target.share_id, target.token, version)
        else:
            target.client.delete(target.share_id, target.token)
    except ClientError as exc:
        fail(str(exc))
    if version is not None:
        click.echo(f"Deleted version {version} of {target.share_id}.")
        return
    if target.entry:
        try:
            target.history.remove(target.share_id)
        except (RuntimeError, OSError) as exc:
            click.echo(f"Warning: your history was not updated ({exc}).", err=True)
    click.echo(f"Deleted {target.share_id}.")


# --- list -------------------------------------------------------------------------------


@dataclass
class Listed:
    entry: Published
    status: str  # live | gone | unreachable | refused

    def as_json(self) -> dict:
        shown = {k: v for k, v in vars(self.entry).items() if k not in SECRET_FIELDS}
        shown["status"] = self.status
        return shown


def _fetch(entries: list[Published]) -> tuple[list[Listed], dict[str, str]]:
    """Each share's state from its server with the saved owner token.

    Returns the listing and, per server that could not be asked, why. A server that does
    not answer is asked once, not once per share."""
    listed: list[Listed] = []
    down: dict[str, str] = {}
    clients: dict[str, NbshareClient] = {}
    now = _now().isoformat()
    try:
        for entry in entries:
            if entry.server in down:
                listed.append(Listed(entry, "unreachable"))
                continue
            client = clients.get(entry.server) or clients.setdefault(
                entry.server, NbshareClient(entry.server, timeout=LIST_TIMEOUT)
            )
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
            entry.remember(answer, now=now)
            listed.append(Listed(entry, "live"))
    finally:
        for client in clients.values():
            client.close()
    return listed, down


@main.command(name="list")
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
    except RuntimeError as exc:
        fail(str(exc))
    listed, down = _fetch(entries)
    live = {item.entry.id: item.entry for item in listed if item.status == "live"}
    gone = {item.entry.id for item in listed if item.status == "gone"}
    try:
        # Save what the servers said, so an offline `list` shows the latest known state.
        history.change_many({sid: _copy_from(entry) for sid, entry in live.items()})
        if prune and gone:
            history.remove_many(gone)
    except (RuntimeError, OSError) as exc:
        click.echo(f"Warning: your history was not updated ({exc}).", err=True)
    if prune:
        listed = [item for item in listed if item.status != "gone"]
    if as_json:
        click.echo(json.dumps([item.as_json() for item in listed]))
    elif not listed:
        click.echo("Nothing published yet. Try: nbshare publish NOTEBOOK.ipynb")
    else:
        _print_listing(listed)
    for server, why in down.items():
        count = sum(1 for item in listed if item.entry.server == server)
        click.echo(f"Note: {why} Showing the last known state of its {count} "
                   f"share{'s' if count != 1 else ''}.", err=True)
    refused = sum(1 for item in listed if item.status == "refused")
    if refused:
        click.echo(f"Note: the server refused the saved owner token for {refused} "
                   f"share{'s' if refused != 1 else ''}; showing the last known state.", err=True)
    if prune and gone:
        click.echo(f"Removed {len(gone)} share{'s' if len(gone) != 1 else ''} that no longer "
                   "exist from your history.", err=True)
    elif gone:
        n = len(gone)
        click.echo(f"Note: {n} share{'s' if n != 1 else ''} no longer exist{'s' if n == 1 else ''} "
                   "(expired, used up or deleted); remove them with: nbshare list --prune", err=True)


def _copy_from(fresh: Published) -> Callable[[Published], None]:
    def edit(entry: Published) -> None:
        for name in ("title", "filename", "version", "expires_at", "max_views", "views", "protected",
                     "checked_at"):
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
    expires = _expiry_text(e.expires_at, short=True) if e.expires_at else "never"
    version = str(e.version) if e.version else "?"
    note = "" if item.status == "live" else f"saved {_when(e.checked_at) if e.checked_at else 'at publish'}"
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
        cells = [_when(e.created_at), e.title, e.filename, expires, views, version]
        if stale:
            cells.append(note)
        table.add_row(*cells, e.url)
    if _fits(console, table):
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
            details = (f"shared {_when(e.created_at)} · expires {expires} · views {views} · "
                       f"version {version}" + (f" · {note}" if note else ""))
        console.print(f"  {details}", markup=False, highlight=False)


def _when(timestamp: str) -> str:
    try:
        return datetime.fromisoformat(timestamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return timestamp


def _expiry_text(timestamp: str, *, short: bool = False) -> str:
    """'2026-11-22 11:00 UTC (in 59m)'; within two days the relative part alone when short."""
    try:
        moment = datetime.fromisoformat(timestamp).astimezone(UTC)
    except (TypeError, ValueError):
        return str(timestamp)
    left = (moment - _now()).total_seconds()
    absolute = moment.strftime("%Y-%m-%d %H:%M") + ("" if short else " UTC")
    if left <= 0:
        return "expired"
    if left >= 2 * 86400:
        return absolute
    minutes = int(left // 60)
    relative = f"in {minutes}m" if minutes < 60 else f"in {minutes // 60}h{minutes % 60:02d}m"
    if minutes < 1:
        relative = "in <1m"
    return relative if short else f"{absolute} ({relative})"


# --- server side ------------------------------------------------------------------------


@main.command()
@click.option("--data-dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="The server's data folder (default: as for `nbshare serve`).")
def purge(data_dir: Path | None) -> None:
    """Delete every expired share now, with everything stored for it, from a server's
    storage. Run it where the server runs; `nbshare serve` also purges periodically.

    \b
    Example:
        nbshare purge --data-dir ./data
    """
    from .settings import Settings

    try:
        settings = Settings.from_env(data_dir=data_dir)
    except ValueError as exc:
        fail(str(exc))
    if settings.database_url.startswith("sqlite:///"):
        database = Path(settings.database_url.removeprefix("sqlite:///"))
        if not database.is_file():  # do not create an empty server where none was
            fail(f"No nbshare database at {database}; give the server's folder with --data-dir.")
    from sqlalchemy.exc import SQLAlchemyError

    from .app import build_service

    service = None
    try:
        service = build_service(settings)
        purged = service.purge()
    except (SQLAlchemyError, OSError, ValueError) as exc:
        fail(f"Cannot purge {settings.data_dir}: {exc}")
    finally:
        if service is not None:
            service.metadata.close()
    click.echo(f"Purged {purged} expired share{'s' if purged != 1 else ''}.")
