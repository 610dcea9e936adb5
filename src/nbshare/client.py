"""An httpx-based client for the nbshare API, used by the CLI.

It takes any `httpx.Client`, so tests can hand it the in-process app's TestClient
or point it at a real server.

Secrets never go in a URL: the owner token travels in the Authorization header, a
password in the X-Nbshare-Password header, or (when a header cannot carry it intact:
non-ASCII, leading or trailing spaces) in a multipart form field or a JSON body.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx

from .security.tokens import ID_PATTERN
from .unset import UNSET

DEFAULT_SERVER = "http://127.0.0.1:8000"
CHUNK = 256 * 1024
# A share's path: /n/ID and what may follow it (pages.py's routes, the .ipynb and .zip
# downloads, a version, a bundle's notebook or file). The server may have a prefix in front
# (https://host/services/nbshare/n/ID): the server is everything before the first /n/ID that
# such a rest follows, so a prefix with /n/ in it still parses, and so does a bundle path
# holding one.
SHARE_PATH_RE = re.compile(
    rf"/n/({ID_PATTERN})(?:\.ipynb|\.zip|/(?:v|nb|files|f|content|manage|unlock)(?:/[^?#]*)?)?/?$"
)
PASSWORD_HEADER = "X-Nbshare-Password"  # noqa: S105 (a header name)
GRANT_HEADER = "X-Nbshare-Grant"
NOTEBOOK_TYPE = "application/x-ipynb+json"
ZIP_TYPE = "application/zip"


class ClientError(Exception):
    """A failure worth one line to the user: no traceback.

    `status` is the HTTP status the server answered, or None when it was not reached."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


def share_id_from(url_or_id: str) -> str:
    """The share id in a share, download or manage URL, or the id itself."""
    if "/" not in url_or_id:
        return url_or_id
    return _share_path(url_or_id).group(1)


def server_of(url: str) -> str:
    """The server of a share URL, with its path prefix: https://host/services/nbshare."""
    parts = urlsplit(url)
    match = SHARE_PATH_RE.search(parts.path)
    prefix = parts.path[: match.start()] if match else parts.path.split("/n/")[0]
    return f"{parts.scheme}://{parts.netloc}{prefix}"


def _share_path(url: str) -> re.Match[str]:
    match = SHARE_PATH_RE.search(urlsplit(url).path)
    if not match:
        raise ClientError(f"{url!r} is not an nbshare link (expected .../n/ID).")
    return match


def header_safe(password: str) -> bool:
    """Whether an HTTP header carries `password` unchanged: printable ASCII, no outer spaces
    (servers strip those, and decode other bytes as Latin-1)."""
    return password == password.strip() and all(32 <= ord(c) < 127 for c in password)


def hub_token_for(server: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The JupyterHub token of the single-user server this runs in, if `server` is the
    nbshare service of that same Hub; else None.

    JupyterHub gives each user's server a token (JUPYTERHUB_API_TOKEN) that identifies the
    user to the Hub's services: sent to nbshare running as one, it makes the user the owner
    of what they publish. The token also opens the user's own server, so it goes to one
    address only: the nbshare server the Hub's admin named (NBSHARE_SERVER in the users'
    environment), and only if that is a service on the Hub's public address
    (JUPYTERHUB_PUBLIC_HUB_URL, set when `c.JupyterHub.public_url` is), written plainly: no
    user name, no `.` or `..` segments, nothing percent-encoded. A share link from elsewhere,
    or one that walks out of the service's path, gets nothing."""
    env = os.environ if environ is None else environ
    token, hub_url, named = (
        env.get("JUPYTERHUB_API_TOKEN"),
        env.get("JUPYTERHUB_PUBLIC_HUB_URL"),
        env.get("NBSHARE_SERVER"),
    )
    if not token or not hub_url or not named:
        return None
    target, hub = _plain_url(server), _plain_url(hub_url)
    if target is None or hub is None or target != _plain_url(named):
        return None
    services = (env.get("JUPYTERHUB_BASE_URL") or "/").rstrip("/") + "/services/"
    scheme, host, path = target
    if (scheme, host) != hub[:2] or not re.fullmatch(re.escape(services) + r"[A-Za-z0-9_.~-]+", path):
        return None
    return token


def _plain_url(url: str) -> tuple[str, str, str] | None:
    """(scheme, host:port, path without its final slash) of a URL with nothing odd about
    it, else None: what a token may be sent to is compared in this form only."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    if parts.query or parts.fragment or not _plain_path(parts.path or "/"):
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    return parts.scheme, f"{parts.hostname.lower()}:{port or default}", parts.path.rstrip("/")


def _plain_path(path: str) -> bool:
    """A path with no `.`/`..` segment, no empty segment, no backslash and no escape (%),
    which no client or server would read differently."""
    segments = path.split("/")[1:]
    if path and not path.startswith("/"):
        return False
    return (
        "%" not in path
        and "\\" not in path
        and all(
            segment not in (".", "..") and (segment or i == len(segments) - 1)
            for i, segment in enumerate(segments)
        )
    )


class NbshareClient:
    def __init__(
        self,
        server: str = DEFAULT_SERVER,
        *,
        http: httpx.Client | None = None,
        timeout: float = 300,
        hub_token: str | None = None,
    ):
        """`hub_token`: a JupyterHub token to identify the user to nbshare running as a
        service of that Hub; by default the single-user server's own (`hub_token_for`)."""
        self.server = server.rstrip("/")
        self.http = http or httpx.Client(timeout=timeout)
        self.hub_token = hub_token or hub_token_for(self.server)

    def _url(self, path: str) -> str:
        return f"{self.server}{path}"

    def _auth(self, token: str | None) -> dict[str, str]:
        """The owner token (Bearer) when there is one, else the Hub token (JupyterHub's
        `token` scheme), if any."""
        if token is not None:
            return {"Authorization": f"Bearer {token}"}
        return {"Authorization": f"token {self.hub_token}"} if self.hub_token else {}

    def _send(self, method: str, path: str, *, token: str | None = None, **kw) -> httpx.Response:
        kw["headers"] = {**kw.get("headers", {}), **self._auth(token)}
        with self._talking():
            response = self.http.request(method, self._url(path), **kw)
        if response.status_code >= 400:
            raise ClientError(_error_message(response), response.status_code, _error_code(response))
        return response

    def _send_json(self, method: str, path: str, **kw) -> Any:
        response = self._send(method, path, **kw)
        try:
            return response.json()
        except ValueError:
            raise ClientError(
                f"{self.server} answered {response.headers.get('content-type') or 'something'} where an "
                "nbshare server answers JSON: is --server (or NBSHARE_SERVER) an nbshare server?",
                response.status_code,
                "not_nbshare",
            ) from None

    def publish(
        self,
        path: Path,
        *,
        title: str | None = None,
        password: str | None = None,
        expires: str | None = None,
        max_views: int | None = None,
        visible_to: str | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> dict:
        """Upload the notebook at `path`; returns the server's answer (id, url, manage_url...).
        `visible_to` (a server running in a JupyterHub): 'anyone', 'hub', or names such as
        'bob,group:physics'."""
        path = _existing(path)
        options: dict[str, str] = {}
        if title:
            options["title"] = title
        if visible_to:
            options["visible_to"] = visible_to
        if expires is not None:
            options["expires"] = expires
        if max_views is not None:
            options["max_views"] = str(max_views)
        if password is not None and not header_safe(password):
            # Every option as a form field: nothing secret or not in the URL.
            with path.open("rb") as f:
                files = {"file": (path.name, _Reader(f, on_progress), _media_type(path))}
                return self._send_json(
                    "POST", "/api/v1/shares", data={**options, "password": password}, files=files
                )
        headers = _raw_headers(path)
        if password is not None:
            headers[PASSWORD_HEADER] = password
        return self._send_json(
            "POST",
            "/api/v1/shares",
            params={"filename": path.name, **options},
            headers=headers,
            content=_read_chunks(path, on_progress),
        )

    def update(
        self,
        share_id: str,
        owner_token: str,
        path: Path,
        *,
        title: str | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> dict:
        """A new version of the share from the notebook at `path`: same link."""
        path = _existing(path)
        params = {"filename": path.name, **({"title": title} if title else {})}
        return self._send_json(
            "PUT",
            f"/api/v1/shares/{share_id}",
            token=owner_token,
            params=params,
            headers=_raw_headers(path),
            content=_read_chunks(path, on_progress),
        )

    def configure(
        self,
        share_id: str,
        owner_token: str,
        *,
        expires: Any = UNSET,
        max_views: Any = UNSET,
        password: Any = UNSET,
        versions_public: Any = UNSET,
        discoverable: Any = UNSET,
        visible_to: Any = UNSET,
    ) -> dict:
        """Change what is given: expires ('never' for none), max_views (None: no limit),
        password (None removes it), versions_public, discoverable (search engines may index),
        visible_to (who may read it, on a JupyterHub)."""
        changes = {
            name: value
            for name, value in (
                ("expires", expires),
                ("max_views", max_views),
                ("password", password),
                ("versions_public", versions_public),
                ("discoverable", discoverable),
                ("visible_to", visible_to),
            )
            if value is not UNSET
        }
        return self._send_json("PATCH", f"/api/v1/shares/{share_id}", token=owner_token, json=changes)

    def info(self, share_id: str, *, grant: str | None = None) -> dict:
        headers = {GRANT_HEADER: grant} if grant else {}
        return self._send_json("GET", f"/api/v1/shares/{share_id}", headers=headers)

    def limits(self) -> dict:
        """What the server accepts: max_upload_bytes, lifetimes, default_expiry, max_expiry."""
        return self._send_json("GET", "/api/v1/limits")

    def owner_info(self, share_id: str, owner_token: str) -> dict:
        """The share as its owner sees it: also views, versions_public and discoverable."""
        return self._send_json("GET", f"/api/v1/shares/{share_id}", token=owner_token)

    def versions(self, share_id: str, owner_token: str) -> list[dict]:
        return self._send_json("GET", f"/api/v1/shares/{share_id}/versions", token=owner_token)

    def delete_version(self, share_id: str, owner_token: str, number: int) -> None:
        self._send("DELETE", f"/api/v1/shares/{share_id}/versions/{number}", token=owner_token)

    def unlock(self, share_id: str, password: str) -> str:
        """A grant for a protected share; send it back with `info(..., grant=)`."""
        return self._send_json("POST", f"/api/v1/shares/{share_id}/unlock", json={"password": password})[
            "grant"
        ]

    def download(
        self,
        url: str,
        *,
        grant: str | None = None,
        max_bytes: int | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> bytes:
        """The bytes at one of the share's URLs (its path taken on this client's server's
        origin; the path holds the server's prefix, if it has one). A body that grows past
        `max_bytes` is abandoned: a broken or hostile server cannot fill the recipient's
        memory."""
        parts, server = urlsplit(url), urlsplit(self.server)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {GRANT_HEADER: grant} if grant else {}
        # The path came from the server's answer: the Hub token goes only along a plain path
        # inside the server's own, never where a `..` or an escape might lead it.
        own = urlsplit(self.server).path.rstrip("/") + "/"
        if parts.path.startswith(own) and _plain_path(parts.path):
            headers.update(self._auth(None))
        chunks = []
        where = f"{server.scheme}://{server.netloc}{path}"
        with self._talking(), self.http.stream("GET", where, headers=headers) as response:
            if response.status_code >= 400:
                response.read()
                raise ClientError(_error_message(response), response.status_code, _error_code(response))
            received = 0
            for chunk in response.iter_bytes(CHUNK):
                received += len(chunk)
                if max_bytes is not None and received > max_bytes:
                    raise ClientError(
                        f"The server sent more than the {max_bytes:,} bytes it announced; "
                        "stopped, nothing was written.",
                        code="download_too_large",
                    )
                chunks.append(chunk)
                if on_progress:
                    on_progress(len(chunk))
        return b"".join(chunks)

    @contextlib.contextmanager
    def _talking(self) -> Iterator[None]:
        """httpx's transport errors as one-line ClientErrors."""
        try:
            yield
        except httpx.ConnectError:
            raise ClientError(
                f"Cannot reach the nbshare server at {self.server} (is it running?).", code="unreachable"
            ) from None
        except httpx.TimeoutException:
            raise ClientError(
                f"The nbshare server at {self.server} did not answer in time.", code="unreachable"
            ) from None
        except httpx.HTTPError as exc:
            raise ClientError(f"Talking to {self.server} failed: {exc}", code="unreachable") from None

    def delete(self, share_id: str, owner_token: str) -> None:
        self._send("DELETE", f"/api/v1/shares/{share_id}", token=owner_token)

    def close(self) -> None:
        self.http.close()


def _existing(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ClientError(f"No such file: {path}", code="no_such_path")
    return path


def _media_type(path: Path) -> str:
    return ZIP_TYPE if path.suffix.lower() == ".zip" else NOTEBOOK_TYPE


def _raw_headers(path: Path) -> dict[str, str]:
    return {"Content-Type": _media_type(path), "Content-Length": str(path.stat().st_size)}


def _read_chunks(path: Path, on_progress: Callable[[int], None] | None) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            if on_progress:
                on_progress(len(chunk))
            yield chunk


class _Reader:
    """A file for httpx's multipart encoder that reports progress as it is read."""

    def __init__(self, f: IO[bytes], on_progress: Callable[[int], None] | None):
        self.f, self.on_progress = f, on_progress

    def read(self, size: int = -1) -> bytes:
        chunk = self.f.read(size)
        if self.on_progress and chunk:
            self.on_progress(len(chunk))
        return chunk

    def seek(self, *args):
        return self.f.seek(*args)

    def tell(self) -> int:
        return self.f.tell()

    def fileno(self) -> int:
        return self.f.fileno()


def _error_code(response: httpx.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except Exception:
        return None


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
        message = body["error"]["message"]
    except Exception:
        # Not an nbshare error body (a proxy's or another server's page): one line, no markup.
        message = response.reason_phrase or "no reason given"
        if "html" not in response.headers.get("content-type", ""):
            text = " ".join(response.text.split())[:200]
            message = text or message
    return f"The server refused: {message} (HTTP {response.status_code})"
