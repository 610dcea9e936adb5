"""The `nbshare` command (also `jupyter nbshare`): flags in, client calls, friendly output.

The group and the server-side commands (serve, purge) live here; the client commands by
family: publish.py (publish, update), owner.py (set, versions, delete), listing.py (list),
clone.py, config.py (the settings file). Secrets (passwords, owner tokens) never appear in
argv: they come from a hidden prompt, standard input, the NBSHARE_PASSWORD variable or the
private history file (secrets.py)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from .. import __version__
from .clone import clone
from .common import Connections, fail, require_extra
from .config import config
from .listing import list_shares
from .owner import delete, set_, versions
from .publish import publish, update

__all__ = ["Connections", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nbshare")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Share Jupyter notebooks by link.

    \b
    Example:
        nbshare publish analysis.ipynb
    """
    # One client per server for the whole command, closed when it ends; a test may have
    # passed its own Connections (obj=) to reach the in-process app.
    ctx.with_resource(ctx.ensure_object(Connections))


@main.command()
@click.option("--host", default=None, help="Interface to listen on [default: 127.0.0.1].")
@click.option("--port", default=None, type=int, help="Port to listen on [default: 8000].")
@click.option(
    "--data-dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the database and blobs.",
)
@click.option("--public-url", default=None, help="Base URL used in every link the service returns.")
def serve(host: str | None, port: int | None, data_dir: Path | None, public_url: str | None) -> None:
    """Run the nbshare web service (SQLite and a local folder by default).

    Every setting can also come from an NBSHARE_* environment variable; see docs/settings.md.

    \b
    Example:
        nbshare serve --port 8000 --data-dir ./data --public-url https://nb.example.org
    """
    require_extra("server", "serve")
    from ..settings import Settings

    try:  # before the heavy imports below, so a bad setting is refused at once
        settings = Settings.from_env(host=host, port=port, data_dir=data_dir, public_url=public_url)
    except ValueError as exc:
        fail(str(exc))
    import uvicorn

    from ..app import create_app
    from ..logs import configure_logging

    log_config = configure_logging(settings.access_log)
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
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=log_config,
        access_log=settings.access_log == "text",  # "json": the app writes its own (access.py)
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or "",
    )


@main.command()
@click.option(
    "--data-dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="The server's data folder (default: as for `nbshare serve`).",
)
def purge(data_dir: Path | None) -> None:
    """Delete every expired share now, with everything stored for it, from a server's
    storage. Run it where the server runs; `nbshare serve` also purges periodically.

    \b
    Example:
        nbshare purge --data-dir ./data
    """
    require_extra("server", "purge")
    from ..settings import Settings

    try:
        settings = Settings.from_env(data_dir=data_dir)
    except ValueError as exc:
        fail(str(exc))
    if settings.database_url.startswith("sqlite:///"):
        database = Path(settings.database_url.removeprefix("sqlite:///"))
        if not database.is_file():  # do not create an empty server where none was
            fail(f"No nbshare database at {database}; give the server's folder with --data-dir.")
    from sqlalchemy.exc import SQLAlchemyError

    from ..app import build_service

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


for command in (publish, clone, update, set_, versions, delete, list_shares, config):
    main.add_command(command)
