"""The `nbshare` command (also `jupyter nbshare`): flags in, client calls, friendly output."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from . import __version__
from .client import DEFAULT_SERVER, ClientError, NbshareClient, server_of, share_id_from
from .history import History, Published

SERVER_OPTION = click.option(
    "--server",
    envvar="NBSHARE_SERVER",
    default=DEFAULT_SERVER,
    show_default=True,
    help="nbshare server URL (or set NBSHARE_SERVER).",
)
PROGRESS_THRESHOLD = 1024 * 1024


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


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
    where = f"{settings.public_url} (data in {settings.data_dir})"
    click.echo(f"nbshare {__version__} serving at {where}", err=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=log_config)


@main.command()
@click.argument("notebook", type=click.Path(path_type=Path))
@SERVER_OPTION
@click.option("--title", default=None, help="Title shown on the page (default: from the notebook).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with url, id and manage_url.")
def publish(notebook: Path, server: str, title: str | None, as_json: bool) -> None:
    """Upload NOTEBOOK and print its share link.

    \b
    Example:
        nbshare publish analysis.ipynb --title "Q3 churn analysis"
    """
    if not notebook.is_file():
        fail(f"No such file: {notebook}")
    client = NbshareClient(server)
    try:
        answer = _publish_with_progress(client, notebook, title)
    except ClientError as exc:
        fail(str(exc))
    try:
        History().add(
            Published(
                id=answer["id"], url=answer["url"], server=client.server,
                manage_url=answer["manage_url"], owner_token=answer["owner_token"],
                title=answer["title"], filename=answer["filename"],
                path=str(notebook.resolve()), created_at=answer["created_at"],
            )
        )
    except (RuntimeError, OSError) as exc:
        # The share exists: still print its links (the manage link is the only way to delete it).
        click.echo(f"Warning: not saved to your history ({exc}); keep the manage link.", err=True)
    if as_json:
        shown = {k: answer[k] for k in ("id", "url", "manage_url", "download_url", "title", "created_at")}
        click.echo(json.dumps(shown))
    else:
        click.echo(answer["url"])
        click.echo(f"Manage (keep private): {answer['manage_url']}", err=True)


def _publish_with_progress(client: NbshareClient, notebook: Path, title: str | None) -> dict:
    size = notebook.stat().st_size
    if size < PROGRESS_THRESHOLD or not sys.stderr.isatty():
        return client.publish(notebook, title=title)
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

        answer = client.publish(notebook, title=title, on_progress=advance)
    return answer


@main.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
def list_shares(as_json: bool) -> None:
    """List the notebooks you have published from this machine.

    \b
    Example:
        nbshare list
    """
    try:
        entries = History().load()
    except RuntimeError as exc:
        fail(str(exc))
    if as_json:
        secret = ("owner_token", "manage_url")  # the manage URL carries the token in its fragment
        shown = [{k: v for k, v in vars(e).items() if k not in secret} for e in entries]
        click.echo(json.dumps(shown))
        return
    if not entries:
        click.echo("Nothing published yet. Try: nbshare publish NOTEBOOK.ipynb")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("Shared", "Title", "File")
    # Links are for copying: never cut them; the other columns give way.
    table.add_column("Link", no_wrap=True, min_width=max(len(e.url) for e in entries))
    for e in entries:
        table.add_row(_when(e.created_at), e.title, e.filename, e.url)
    Console().print(table)


def _when(timestamp: str) -> str:
    try:
        return datetime.fromisoformat(timestamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return timestamp


@main.command()
@click.argument("url_or_id")
@click.option("--server", envvar="NBSHARE_SERVER", default=None,
              help="Server URL, when URL_OR_ID is a bare id not in your history.")
@click.option("--token-stdin", is_flag=True,
              help="Read the owner token from standard input (for shares published elsewhere).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(url_or_id: str, server: str | None, token_stdin: bool, yes: bool) -> None:
    """Delete a share you published: the server removes it and everything stored for it.

    \b
    Example:
        nbshare delete https://nb.example.org/n/3kT9x0AbCdEfGhIjKlMnOpQr
    """
    try:
        share_id = share_id_from(url_or_id)
    except ClientError as exc:
        fail(str(exc))
    history = History()
    entry = history.find(share_id)
    if token_stdin:
        # Typed at a terminal, the token is not echoed; piped in, it is read as is.
        token = (click.prompt("Owner token", hide_input=True, err=True) if sys.stdin.isatty()
                 else sys.stdin.readline()).strip()
    else:
        token = entry.owner_token if entry else None
    if not token:
        fail("No owner token for this share in your history; pass it with --token-stdin.")
    if server is None:
        server = entry.server if entry else (server_of(url_or_id) if "/" in url_or_id else DEFAULT_SERVER)
    if not yes and sys.stdin.isatty():
        click.confirm(f"Delete {entry.title if entry else share_id} for everyone?", abort=True)
    try:
        NbshareClient(server).delete(share_id, token)
    except ClientError as exc:
        fail(str(exc))
    if entry:
        history.remove(share_id)
    click.echo(f"Deleted {share_id}.")
