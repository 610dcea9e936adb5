"""What every client command shares: one-line errors, the --server option, and the HTTP
clients a command opens, each closed when the command ends."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click
import httpx

from ..client import DEFAULT_SERVER, NbshareClient

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from ..config import ClientSettings

Answer = dict[str, Any]  # a server's JSON answer, as the API documents it
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

# Resolved by client_settings (flag > NBSHARE_SERVER > config file > default), not by click.
SERVER_OPTION = click.option(
    "--server",
    default=None,
    metavar="URL",
    help="nbshare server URL [default: NBSHARE_SERVER, else `server` in the config file, "
    f"else {DEFAULT_SERVER}].",
)
# publish and set: who may read a share, checked by the server (audience.py).
VISIBLE_TO_OPTION = click.option(
    "--visible-to",
    default=None,
    metavar="WHO",
    help="Who may read it, on an nbshare running in a JupyterHub with Hub login: 'anyone' with the "
    "link (the default), 'hub' (the Hub's users), or names such as bob,group:physics.",
)
REQUEST_TIMEOUT = 300.0  # an upload waits for its render


def options(*decorators: Decorator) -> Decorator:
    """Several click options as one decorator; --help lists them in the order given."""

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return apply


def fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def require_extra(extra: str, command: str) -> None:
    """Stop `command` with one line when nbshare[extra]'s packages are not installed here
    (`pip install nbshare` is the client; the service comes with the `server` extra)."""
    if missing := missing_requirements(extra):
        fail(
            f"nbshare {command} needs the {extra} packages ({', '.join(missing)} not installed): "
            f"pip install 'nbshare[{extra}]'"
        )


def missing_requirements(extra: str) -> list[str]:
    """The distributions nbshare[extra] declares that are not installed, read from nbshare's
    own metadata, so the list is pyproject's and is written nowhere else."""
    from importlib import metadata

    from packaging.requirements import Requirement

    try:
        declared = metadata.requires("nbshare") or []
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return []
    missing = []
    for line in declared:
        requirement = Requirement(line)
        marker = requirement.marker
        # Only this extra's own lines: the core lines have no `extra ==` marker.
        if marker is None or "extra" not in str(marker) or not marker.evaluate({"extra": extra}):
            continue
        try:
            metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(requirement.name)
    return missing


def client_settings(**given: object) -> ClientSettings:
    """The client's settings, the flags given (None: not given) winning; a bad config file or
    variable is one error line."""
    from ..config import ConfigError, resolve

    try:
        return resolve(**given)  # type: ignore[arg-type]
    except ConfigError as exc:
        fail(exc.message)


def now() -> datetime:
    return datetime.now(UTC)


def history_not_updated(exc: Exception) -> None:
    """The server did what was asked; only the local record of it failed."""
    click.echo(f"Warning: your history was not updated ({exc}).", err=True)


class Connections:
    """The clients of one command, one per server, closed when the command ends.

    The group puts one in the click context. A test can pass its own with a `transport`
    (the in-process app's), so the commands run against the app without a network."""

    def __init__(self, transport: httpx.BaseTransport | None = None):
        self.transport = transport
        self.clients: dict[str, NbshareClient] = {}

    def client(self, server: str, *, timeout: float = REQUEST_TIMEOUT) -> NbshareClient:
        """The client for `server` (its timeout is the one asked for first)."""
        if server not in self.clients:
            http = httpx.Client(transport=self.transport, timeout=timeout)
            self.clients[server] = NbshareClient(server, http=http)
        return self.clients[server]

    def close(self) -> None:
        while self.clients:
            self.clients.popitem()[1].close()

    def __enter__(self) -> Connections:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def client_for(server: str, *, timeout: float = REQUEST_TIMEOUT) -> NbshareClient:
    """A client for `server` that lives as long as the running command."""
    connections = click.get_current_context().find_object(Connections)
    assert connections is not None, "commands run inside the nbshare group, which opens the connections"
    return connections.client(server, timeout=timeout)


def fits(console: Console, table: Table) -> bool:
    """Whether `table` fits when every column is as wide as its longest word (text may wrap)."""
    return bool(console.measure(table, options=console.options.update_width(10_000)).minimum <= console.width)
