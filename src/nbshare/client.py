"""An httpx-based client for the nbshare API, used by the CLI.

It takes any `httpx.Client`, so tests can hand it the in-process app's TestClient
or point it at a real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx

DEFAULT_SERVER = "http://127.0.0.1:8000"
CHUNK = 256 * 1024
SHARE_PATH_RE = re.compile(r"/n/([A-Za-z0-9_-]{16,64})(?:\.ipynb|/[^?#]*)?/?$")


class ClientError(Exception):
    """A failure worth one line to the user: no traceback."""


def share_id_from(url_or_id: str) -> str:
    """The share id in a share, download or manage URL, or the id itself."""
    if "/" not in url_or_id:
        return url_or_id
    match = SHARE_PATH_RE.search(urlsplit(url_or_id).path)
    if not match:
        raise ClientError(f"{url_or_id!r} is not an nbshare link (expected .../n/ID).")
    return match.group(1)


def server_of(url: str) -> str:
    parts = urlsplit(url)
    prefix = parts.path.split("/n/")[0]
    return f"{parts.scheme}://{parts.netloc}{prefix}"


class NbshareClient:
    def __init__(
        self, server: str = DEFAULT_SERVER, *, http: httpx.Client | None = None, timeout: float = 300
    ):
        self.server = server.rstrip("/")
        self.http = http or httpx.Client(timeout=timeout)

    def _url(self, path: str) -> str:
        return f"{self.server}{path}"

    def _send(self, method: str, path: str, **kw) -> httpx.Response:
        try:
            response = self.http.request(method, self._url(path), **kw)
        except httpx.ConnectError:
            raise ClientError(f"Cannot reach the nbshare server at {self.server} (is it running?).") from None
        except httpx.TimeoutException:
            raise ClientError(f"The nbshare server at {self.server} did not answer in time.") from None
        except httpx.HTTPError as exc:
            raise ClientError(f"Talking to {self.server} failed: {exc}") from None
        if response.status_code >= 400:
            raise ClientError(_error_message(response))
        return response

    def publish(
        self,
        path: Path,
        *,
        title: str | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> dict:
        """Upload the notebook at `path`; returns the server's answer (id, url, manage_url...)."""
        path = Path(path)
        if not path.is_file():
            raise ClientError(f"No such file: {path}")
        params = {"filename": path.name}
        if title:
            params["title"] = title
        size = path.stat().st_size
        headers = {"Content-Type": "application/x-ipynb+json", "Content-Length": str(size)}
        return self._send(
            "POST", "/api/v1/shares", params=params, headers=headers,
            content=_read_chunks(path, on_progress),
        ).json()

    def info(self, share_id: str) -> dict:
        return self._send("GET", f"/api/v1/shares/{share_id}").json()

    def delete(self, share_id: str, owner_token: str) -> None:
        self._send("DELETE", f"/api/v1/shares/{share_id}", headers={"Authorization": f"Bearer {owner_token}"})


def _read_chunks(path: Path, on_progress: Callable[[int], None] | None) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            if on_progress:
                on_progress(len(chunk))
            yield chunk


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
        message = body["error"]["message"]
    except Exception:
        message = response.text.strip()[:200] or response.reason_phrase
    return f"The server refused: {message} (HTTP {response.status_code})"
