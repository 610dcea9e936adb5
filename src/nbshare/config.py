"""The client's settings, resolved the same way by the CLI, the Python API, the magic and the
Jupyter extension: an explicit argument (a flag) wins, then an NBSHARE_* variable, then the
user's config file (config.toml in the platform's config folder), then the built-in default.

Each setting is declared once below, with its help text and how a value is checked; a value
is checked when it is set and again when it is read, so a bad file or variable is one clear
line naming where it came from, never a traceback."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from platformdirs import user_config_dir

from .client import DEFAULT_SERVER
from .errors import NbshareError

# Where a resolved value came from, as `nbshare config show` prints it.
FLAG, ENV, FILE, DEFAULT = "flag", "env", "file", "default"


class ConfigError(NbshareError):
    """A config file, a variable or a value given that nbshare cannot use."""

    code = "bad_config"


def config_path() -> Path:
    """The user's config file (on Linux $XDG_CONFIG_HOME/nbshare/config.toml)."""
    return Path(user_config_dir("nbshare", appauthor=False)) / "config.toml"


def _server(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a URL (text)")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r} has a query or fragment; give the server's base URL")
    return value.strip().rstrip("/")


def _expires(value: object) -> str:
    from .expiry import BadExpiry, parse_expiry

    if not isinstance(value, str):
        raise ValueError("must be a lifetime like 7d, a date like 2026-12-31, or 'never' (text)")
    try:
        parse_expiry(value, datetime.now(UTC))
    except BadExpiry as exc:
        raise ValueError(exc.message) from None
    return value.strip()


def _max_views(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{value!r} is not a whole number of views, 1 or more")
    return value


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "off", "0"):
        return False
    raise ValueError(f"{value!r} is not true or false")


@dataclass(frozen=True)
class Option:
    name: str
    help: str
    check: Callable[[object], Any]  # the value to use, or ValueError saying why not
    default: Any = None
    env_var: str | None = None


OPTIONS = (
    Option("server", "The nbshare server shares go to.", _server, DEFAULT_SERVER, "NBSHARE_SERVER"),
    Option(
        "expires",
        "How long new shares live (1h, 7d, 4w, a date like 2026-12-31, or never); default: the server's.",
        _expires,
        None,
        "NBSHARE_EXPIRES",
    ),
    Option(
        "max_views",
        "Delete new shares after this many views of the notebook; default: no limit.",
        _max_views,
        None,
        "NBSHARE_MAX_VIEWS",
    ),
    # No variable: NBSHARE_PASSWORD already holds a password itself.
    Option("password", "Whether publishing asks for a password by default (true or false).", _flag, False),
)
BY_NAME = {o.name: o for o in OPTIONS}


@dataclass(frozen=True)
class ClientSettings:
    """The resolved settings, and where each came from (flag, env, file or default)."""

    server: str
    expires: str | None
    max_views: int | None
    password: bool
    sources: Mapping[str, str]
    path: Path

    def given(self, name: str) -> Any:
        """The value only when it was given explicitly (a flag or argument), else None."""
        return getattr(self, name) if self.sources[name] == FLAG else None


def _option(name: str) -> Option:
    if name not in BY_NAME:
        raise ConfigError(f"Unknown setting {name!r}; the settings are: {', '.join(BY_NAME)}.")
    return BY_NAME[name]


def read_file(path: Path | None = None) -> dict[str, Any]:
    """The config file's settings, each checked; {} when there is no file."""
    path = path or config_path()
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc}") from None
    values = {}
    for name, value in raw.items():
        if name not in BY_NAME:
            raise ConfigError(
                f"The config file {path} has an unknown key {name!r}; the keys are: {', '.join(BY_NAME)}."
            )
        try:
            values[name] = BY_NAME[name].check(value)
        except ValueError as exc:
            raise ConfigError(f"The config file {path}, key {name!r}: {exc}.") from None
    return values


def resolve(
    *,
    server: str | None = None,
    expires: str | None = None,
    max_views: int | None = None,
    password: bool | None = None,
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> ClientSettings:
    """Every client setting: given here (not None) > NBSHARE_* variable > config file > default.

    Values from a variable or the file are checked (ConfigError naming where it came from);
    values given are used as they are."""
    environ = os.environ if environ is None else environ
    path = path or config_path()
    given = {"server": server, "expires": expires, "max_views": max_views, "password": password}
    from_file: dict[str, Any] | None = None
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        if given[option.name] is not None:
            # As given: the server checks a flag's value and says what is wrong in its words.
            values[option.name], sources[option.name] = given[option.name], FLAG
        elif option.env_var and environ.get(option.env_var, "").strip():
            try:
                values[option.name] = option.check(environ[option.env_var])
            except ValueError as exc:
                raise ConfigError(f"The variable {option.env_var}: {exc}.") from None
            sources[option.name] = ENV
        else:
            if from_file is None:
                from_file = read_file(path)
            if option.name in from_file:
                values[option.name], sources[option.name] = from_file[option.name], FILE
            else:
                values[option.name], sources[option.name] = option.default, DEFAULT
    return ClientSettings(**values, sources=sources, path=path)


def _checked(option: Option, value: object) -> Any:
    try:
        return option.check(value)
    except ValueError as exc:
        raise ConfigError(f"{option.name}: {exc}.") from None


def set_value(name: str, text: str, path: Path | None = None) -> Any:
    """Check `text` as setting `name` and write it to the config file; returns the value."""
    option = _option(name)
    value = _checked(option, text)
    path = path or config_path()
    _write(path, {**read_file(path), name: value})
    return value


def unset_value(name: str, path: Path | None = None) -> bool:
    """Remove `name` from the config file; whether it was there."""
    _option(name)
    path = path or config_path()
    values = read_file(path)
    if name not in values:
        return False
    del values[name]
    _write(path, values)
    return True


def _write(path: Path, values: dict[str, Any]) -> None:
    import tempfile

    import tomli_w

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-")
    try:
        with os.fdopen(fd, "wb") as f:
            tomli_w.dump(values, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
