"""Every server setting, declared once: name, default, help and environment variable.

The CLI turns flags into keyword arguments of `Settings`; `Settings.from_env()` reads
`NBSHARE_*` variables. Nothing else in the package reads the environment, and
`docs/settings.md` is checked against this table by a test.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from platformdirs import user_data_dir

from .expiry import parse_duration

ENV_PREFIX = "NBSHARE_"
ACCESS_LOGS = ("text", "json", "off")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    type: type = str

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()


def _default_data_dir() -> str:
    return user_data_dir("nbshare-server", appauthor=False)


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "127.0.0.1", "Interface `nbshare serve` listens on."),
    Setting("port", 8000, "TCP port `nbshare serve` listens on.", int),
    Setting(
        "data_dir",
        None,
        "Folder for the SQLite database and the blob store. Default: the platform's user"
        " data folder (for example ~/.local/share/nbshare-server).",
        Path,
    ),
    Setting(
        "public_url",
        None,
        "Base URL people use to reach the service; every link the service prints or"
        " returns is built from it, never from the request's Host header. It may have a"
        " path (https://host/services/nbshare): the service then answers under it."
        " Default: http://HOST:PORT.",
    ),
    Setting(
        "render_url",
        None,
        "Optional separate origin (for example https://render.example.org) serving the"
        " same app, from which rendered notebooks are framed; a path of its own is served"
        " too. Default: the public URL; notebooks are isolated by a CSP sandbox either way.",
    ),
    Setting(
        "database_url",
        None,
        "SQLAlchemy URL of the metadata database. Default: sqlite:///DATA_DIR/nbshare.db.",
    ),
    Setting(
        "blob_url",
        None,
        "Object store for notebooks, pages and files instead of DATA_DIR/blobs: for example"
        " s3://bucket/prefix, with credentials, region and endpoint (AWS_ENDPOINT for"
        " S3-compatible servers) from the usual AWS_* variables; also gs:// and az://.",
    ),
    Setting(
        "max_upload_bytes",
        100 * 1024 * 1024,
        "Largest upload (a notebook, or a bundle's .zip) accepted, in bytes; enforced while"
        " the upload streams in.",
        int,
    ),
    Setting(
        "max_bundle_bytes",
        200 * 1024 * 1024,
        "Largest total size of a bundle's files once unpacked, in bytes; counted while"
        " decompressing, so a zip bomb stops there.",
        int,
    ),
    Setting(
        "max_bundle_files",
        1000,
        "Most files one bundle may hold.",
        int,
    ),
    Setting(
        "max_bundle_file_bytes",
        100 * 1024 * 1024,
        "Largest single file in a bundle once unpacked, in bytes.",
        int,
    ),
    Setting(
        "inline_file_bytes",
        4 * 1024,
        "Images and embedded downloads larger than this many bytes are taken out of a public"
        " share's page and served as files of their own (cached, loaded lazily).",
        int,
    ),
    Setting(
        "render_workers",
        2,
        "Worker processes kept warm for rendering notebooks with nbconvert.",
        int,
    ),
    Setting(
        "render_timeout",
        60.0,
        "Seconds a single render may take before it is abandoned (and nothing is stored).",
        float,
    ),
    Setting(
        "max_renders_per_client",
        2,
        "Uploads one client may have rendering at the same time; more are refused with 429"
        " until one is done. A client is an IPv4 address or an IPv6 /64, as for password"
        " guesses. However many it has, one client's renders (a bundle's notebooks too) hold"
        " at most render_workers - 1 workers at once (at least 1); the others wait their"
        " turn, so another client's upload always finds a worker this client cannot take.",
        int,
    ),
    Setting(
        "max_json_depth",
        64,
        "Deepest nesting of JSON arrays and objects accepted in a notebook.",
        int,
    ),
    Setting(
        "default_expiry",
        "never",
        "Lifetime of a share whose uploader chose none: a duration like 30m, 12h, 7d, 4w, or 'never'.",
    ),
    Setting(
        "max_expiry",
        "never",
        "Longest lifetime an uploader may choose (same form); longer requests are refused.",
    ),
    Setting(
        "purge_interval",
        300.0,
        "Seconds between purges of expired shares (their rows and every blob) inside `nbshare serve`.",
        float,
    ),
    Setting(
        "secret_key",
        None,
        "64 hex characters sealing visitors' access grants. Default: generated once into"
        " DATA_DIR/secret.key. Set the same value on every instance sharing a database.",
    ),
    Setting(
        "grant_lifetime",
        12 * 3600.0,
        "Seconds a visitor stays unlocked after entering a share's password.",
        float,
    ),
    Setting(
        "unlock_attempts",
        5,
        "Wrong passwords allowed per share and client per minute; then that client (only) gets"
        " 429 with Retry-After until the minute has passed.",
        int,
    ),
    Setting(
        "unlock_attempts_per_share",
        30,
        "Wrong passwords per share per minute, from all clients together, after which every"
        " check on that share waits its turn in a short queue, one a second, readers who have"
        " not been guessing first.",
        int,
    ),
    Setting(
        "trusted_proxies",
        None,
        "Comma-separated addresses (or networks, or * for any) of reverse proxies whose"
        " X-Forwarded-For and X-Forwarded-Proto headers `nbshare serve` believes. Default:"
        " none, so a client's address is the one it connects from and a forged header"
        " cannot escape the password-guessing throttle. Name the proxy's address rather"
        " than *: with *, the leftmost (forgeable) X-Forwarded-For entry is believed.",
    ),
    Setting(
        "allowed_hosts",
        None,
        "Comma-separated extra host names (or * for any) the service answers to, besides"
        " the public and render URLs' hosts and the loopback names (localhost, 127.0.0.1,"
        " [::1]); requests for any other Host get 400, which stops DNS-rebinding pages.",
    ),
    Setting(
        "max_concurrent_hashes",
        2,
        "Argon2 password checks computed at once; a few more wait, the rest get 429.",
        int,
    ),
    Setting(
        "access_log",
        "text",
        "How `nbshare serve` logs each request: 'text' (uvicorn's lines), 'json' (one JSON object"
        " a line: time, method, path, status, duration, bytes, client) or 'off'. Share ids and"
        " query values are redacted either way.",
    ),
    Setting(
        "metrics",
        False,
        "Serve Prometheus metrics at /metrics (uploads, renders, views, responses by status"
        " class). Without metrics_token, only loopback requests that no proxy forwarded get them.",
        bool,
    ),
    Setting(
        "metrics_token",
        None,
        "A bearer token /metrics requires (Authorization: Bearer TOKEN), from any address."
        " Never logged; keep it in an environment file only the service reads.",
    ),
    Setting(
        "jupyter_url",
        None,
        'The Jupyter address "Open in my Jupyter" sends every reader to (their server or a'
        " Hub's user-redirect, for example https://hub.example.org/hub/user-redirect), where"
        " nbshare's Jupyter extension opens the share. Default: none, so each reader is asked"
        " once for their own and the browser remembers it.",
    ),
    Setting(
        "hub_auth",
        False,
        "Sign people in with JupyterHub (Hub OAuth), when nbshare runs as a Hub service: an"
        " uploader may then make a share readable by the Hub's users only, or by named users"
        " and groups, and a signed-in user manages their own shares without the owner token."
        " Needs the variables JupyterHub gives the services it starts (docs/operating.md).",
        bool,
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


_BOOLS = dict.fromkeys(("1", "true", "yes", "on"), True) | dict.fromkeys(("0", "false", "no", "off"), False)


def _coerce(setting: Setting, value: Any) -> Any:
    if value is None or setting.type is str:
        return value
    if setting.type is bool and isinstance(value, str):  # bool("false") would be True
        if value.strip().lower() not in _BOOLS:
            raise ValueError(f"{setting.env_var} must be true or false, got {value!r}")
        return _BOOLS[value.strip().lower()]
    if isinstance(value, setting.type):
        return value
    try:
        return setting.type(value)
    except (TypeError, ValueError) as exc:
        kind = {int: "an integer", float: "a number"}.get(setting.type, setting.type.__name__)
        raise ValueError(f"{setting.env_var} must be {kind}, got {value!r}") from exc


def split_list(value: str | None) -> list[str]:
    """A comma-separated setting as its non-empty items."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _check_proxies(value: str | None) -> None:
    # uvicorn would take a mistyped entry as a literal that never matches, silently.
    for item in split_list(value):
        try:
            if item != "*":
                ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                f"NBSHARE_TRUSTED_PROXIES: {item!r} is not an IP address or network "
                "(for example 10.0.0.5 or 10.0.0.0/24), nor *"
            ) from None


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    # None means "derive from the others"; __post_init__ always fills these three in.
    data_dir: Path = None  # type: ignore[assignment]
    public_url: str = None  # type: ignore[assignment]
    render_url: str | None = None
    database_url: str = None  # type: ignore[assignment]
    blob_url: str | None = None
    max_upload_bytes: int = 100 * 1024 * 1024
    max_bundle_bytes: int = 200 * 1024 * 1024
    max_bundle_files: int = 1000
    max_bundle_file_bytes: int = 100 * 1024 * 1024
    inline_file_bytes: int = 4 * 1024
    render_workers: int = 2
    render_timeout: float = 60.0
    max_renders_per_client: int = 2
    max_json_depth: int = 64
    default_expiry: str = "never"
    max_expiry: str = "never"
    purge_interval: float = 300.0
    secret_key: str | None = field(default=None, repr=False)  # never printed
    grant_lifetime: float = 12 * 3600.0
    unlock_attempts: int = 5
    unlock_attempts_per_share: int = 30
    trusted_proxies: str | None = None
    allowed_hosts: str | None = None
    max_concurrent_hashes: int = 2
    access_log: str = "text"
    metrics: bool = False
    metrics_token: str | None = field(default=None, repr=False)  # never printed
    jupyter_url: str | None = None
    hub_auth: bool = False

    def __post_init__(self) -> None:
        for declared in dataclasses.fields(self):
            value = _coerce(_BY_NAME[declared.name], getattr(self, declared.name))
            object.__setattr__(self, declared.name, value)
        if self.data_dir is None:
            object.__setattr__(self, "data_dir", Path(_default_data_dir()))
        if self.public_url is None:
            object.__setattr__(self, "public_url", f"http://{self.host}:{self.port}")
        object.__setattr__(self, "public_url", self.public_url.rstrip("/"))
        if self.render_url:
            object.__setattr__(self, "render_url", self.render_url.rstrip("/"))
        if self.jupyter_url:
            if not re.match(r"https?://[^/\s]", self.jupyter_url):
                raise ValueError(
                    f"NBSHARE_JUPYTER_URL must be an http(s) address, for example "
                    f"http://localhost:8888; got {self.jupyter_url!r}"
                )
            object.__setattr__(self, "jupyter_url", self.jupyter_url.rstrip("/"))
        if self.database_url is None:
            db = Path(self.data_dir) / "nbshare.db"
            object.__setattr__(self, "database_url", f"sqlite:///{db}")
        positive = (
            "port",
            "max_upload_bytes",
            "max_bundle_bytes",
            "max_bundle_files",
            "max_bundle_file_bytes",
            "inline_file_bytes",
            "render_workers",
            "render_timeout",
            "max_json_depth",
            "max_renders_per_client",
            "purge_interval",
            "grant_lifetime",
            "unlock_attempts",
            "unlock_attempts_per_share",
            "max_concurrent_hashes",
        )
        lifetimes = {}
        for name in ("default_expiry", "max_expiry"):
            try:
                lifetimes[name] = parse_duration(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{_BY_NAME[name].env_var}: {exc}") from None
        if self.secret_key is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", self.secret_key):
            raise ValueError(
                "NBSHARE_SECRET_KEY must be 64 hex characters (32 random bytes), for "
                "example from: python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        _check_proxies(self.trusted_proxies)
        if self.access_log not in ACCESS_LOGS:
            choices = ", ".join(ACCESS_LOGS)
            raise ValueError(f"NBSHARE_ACCESS_LOG must be one of {choices}, got {self.access_log!r}")
        if self.metrics_token is not None and len(self.metrics_token) < 16:
            raise ValueError("NBSHARE_METRICS_TOKEN must be at least 16 characters (a random string)")
        default, longest = lifetimes["default_expiry"], lifetimes["max_expiry"]
        if longest is not None and default is not None and default > longest:
            # Every upload that leaves the lifetime to the server would be refused.
            raise ValueError(
                f"NBSHARE_DEFAULT_EXPIRY ({self.default_expiry}) is longer than "
                f"NBSHARE_MAX_EXPIRY ({self.max_expiry})"
            )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{_BY_NAME[name].env_var} must be positive, got {getattr(self, name)!r}")

    @property
    def blob_dir(self) -> Path:
        return Path(self.data_dir) / "blobs"

    @property
    def frame_url(self) -> str:
        """Base URL the share page frames rendered notebooks from."""
        return self.render_url or self.public_url

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from NBSHARE_* variables; explicit keyword arguments win. Started by
        JupyterHub as a service, the Hub's variables give the address to listen on and the
        public URL, unless NBSHARE_* variables say otherwise."""
        env: Mapping[str, str] = os.environ if environ is None else environ
        values: dict[str, Any] = _hub_defaults(env, public_url_given=bool(overrides.get("public_url")))
        for setting in SETTINGS:
            if env.get(setting.env_var, "") != "":
                values[setting.name] = env[setting.env_var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        if env.get("JUPYTERHUB_SERVICE_PREFIX"):
            _check_hub_prefix(settings.public_url, env["JUPYTERHUB_SERVICE_PREFIX"])
        if settings.hub_auth and HubService.from_env(env) is None:
            raise ValueError(
                "NBSHARE_HUB_AUTH is on, but JupyterHub's service variables (JUPYTERHUB_API_TOKEN,"
                " JUPYTERHUB_CLIENT_ID, JUPYTERHUB_SERVICE_PREFIX, JUPYTERHUB_API_URL) are not"
                " set: run nbshare as a service of the Hub (docs/operating.md)."
            )
        return settings


def _hub_defaults(env: Mapping[str, str], *, public_url_given: bool) -> dict[str, Any]:
    """What a JupyterHub-managed service is told: where to listen (JUPYTERHUB_SERVICE_URL)
    and, when the Hub knows its public address, the service's public URL."""
    values: dict[str, Any] = {}
    bind = env.get("JUPYTERHUB_SERVICE_URL")
    if bind:
        parsed = urlsplit(bind)
        if parsed.hostname:
            values["host"] = parsed.hostname
        if parsed.port:
            values["port"] = parsed.port
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix:
        public = env.get("JUPYTERHUB_PUBLIC_URL") or ""
        if not public and env.get("JUPYTERHUB_HOST"):
            public = env["JUPYTERHUB_HOST"].rstrip("/") + prefix
        if public:
            values["public_url"] = public
        elif not (public_url_given or env.get("NBSHARE_PUBLIC_URL")):
            raise ValueError(
                "nbshare runs as a JupyterHub service but does not know its public address: set"
                " c.JupyterHub.public_url in jupyterhub_config.py (for example"
                " https://hub.example.org), or NBSHARE_PUBLIC_URL in the service's environment"
                f" (for example https://hub.example.org{prefix})."
            )
    return values


def _check_hub_prefix(public_url: str, prefix: str) -> None:
    # The Hub's proxy passes the whole path on: a public URL with another path would leave
    # every request outside the service.
    path = urlsplit(public_url).path.rstrip("/")
    if path != prefix.rstrip("/"):
        raise ValueError(
            f"NBSHARE_PUBLIC_URL ({public_url}) must end with the path JupyterHub serves this"
            f" service at, {prefix}."
        )


@dataclass(frozen=True)
class HubService:
    """What JupyterHub tells a service it starts, for Hub login (hub.py)."""

    name: str
    api_url: str
    api_token: str = field(repr=False)  # never printed
    client_id: str
    prefix: str  # /services/NAME/
    callback_url: str  # where the Hub sends a browser back after login
    hub_prefix: str  # the Hub's own pages: /hub/ under the Hub's base URL
    hub_host: str  # "" unless the Hub uses subdomains
    access_scopes: frozenset[str]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HubService | None:
        env: Mapping[str, str] = os.environ if environ is None else environ
        needed = (
            "JUPYTERHUB_API_TOKEN",
            "JUPYTERHUB_CLIENT_ID",
            "JUPYTERHUB_SERVICE_PREFIX",
            "JUPYTERHUB_API_URL",
        )
        if not all(env.get(name) for name in needed):
            return None
        prefix = env["JUPYTERHUB_SERVICE_PREFIX"]
        name = env.get("JUPYTERHUB_SERVICE_NAME") or prefix.rstrip("/").rsplit("/", 1)[-1]
        scopes = env.get("JUPYTERHUB_OAUTH_ACCESS_SCOPES") or env.get("JUPYTERHUB_OAUTH_SCOPES")
        try:
            access = frozenset(json.loads(scopes)) if scopes else frozenset()
        except ValueError:
            raise ValueError(f"JUPYTERHUB_OAUTH_ACCESS_SCOPES is not a JSON list: {scopes!r}") from None
        base = (env.get("JUPYTERHUB_BASE_URL") or "/").rstrip("/") + "/"
        return cls(
            name=name,
            api_url=env["JUPYTERHUB_API_URL"].rstrip("/"),
            api_token=env["JUPYTERHUB_API_TOKEN"],
            client_id=env["JUPYTERHUB_CLIENT_ID"],
            prefix=prefix,
            callback_url=env.get("JUPYTERHUB_OAUTH_CALLBACK_URL") or prefix.rstrip("/") + "/oauth_callback",
            hub_prefix=base + "hub/",
            hub_host=env.get("JUPYTERHUB_HOST", ""),
            access_scopes=access or frozenset({f"access:services!service={name}"}),
        )
