"""config: the client's settings file (config.toml), and where each setting comes from."""

from __future__ import annotations

import json

import click

from .common import client_settings, fail


@click.group(name="config")
def config() -> None:
    """Show or change your client settings: the server, and defaults for new shares.

    They live in config.toml in your config folder (`nbshare config path`). A flag wins
    over an NBSHARE_* variable, which wins over the file, which wins over the default.

    \b
    Example:
        nbshare config set server https://nb.example.org
        nbshare config show
    """


@config.command(name="set")
@click.argument("key")
@click.argument("value")
def set_(key: str, value: str) -> None:
    """Set KEY to VALUE in the config file (KEY: server, expires, max_views, password).

    \b
    Example:
        nbshare config set expires 7d
    """
    from ..config import ConfigError, config_path, set_value

    try:
        stored = set_value(key, value)
    except ConfigError as exc:
        fail(exc.message)
    shown = str(stored).lower() if isinstance(stored, bool) else stored
    click.echo(f"Set {key} = {shown} in {config_path()}")


@config.command()
@click.argument("key")
def unset(key: str) -> None:
    """Remove KEY from the config file: its variable or default applies again.

    \b
    Example:
        nbshare config unset expires
    """
    from ..config import ConfigError, config_path, unset_value

    try:
        removed = unset_value(key)
    except ConfigError as exc:
        fail(exc.message)
    where = config_path()
    click.echo(f"Removed {key} from {where}" if removed else f"{key} was not set in {where}")


@config.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: each key's value and source.")
def show(as_json: bool) -> None:
    """Each setting's value now, and where it comes from: env, file or default.

    \b
    Example:
        nbshare config show --json
    """
    from ..config import OPTIONS

    resolved = client_settings()
    if as_json:
        settings = {
            o.name: {"value": getattr(resolved, o.name), "source": resolved.sources[o.name]} for o in OPTIONS
        }
        click.echo(json.dumps({"path": str(resolved.path), "settings": settings}))
        return
    click.echo(f"# {resolved.path}")
    for option in OPTIONS:
        value = getattr(resolved, option.name)
        shown = "(none)" if value is None else str(value).lower() if isinstance(value, bool) else value
        variable = f", {option.env_var}" if option.env_var else ""
        click.echo(f"{option.name} = {shown}  ({resolved.sources[option.name]}{variable})")


@config.command()
def path() -> None:
    """Print the config file's path (it need not exist yet).

    \b
    Example:
        nbshare config path
    """
    from ..config import config_path

    click.echo(str(config_path()))
