"""Refuse requests for host names the service does not own, and state-changing requests
that a browser sends on behalf of another site.

Host: a DNS-rebinding page at evil.example can point its own name at 127.0.0.1 and talk to a
server on loopback as if it were same-origin (its Origin and Host both say evil.example). So
every request must name a host the service knows: the public and render URLs' hosts, the
operator's `allowed_hosts`, and the loopback names. Loopback names are always safe: a page
can only send Host: localhost by addressing localhost, which makes it cross-origin.

Origin: sharing is anonymous, so this is less about stolen credentials than about consent: a
web page (or a notebook's script, whose origin is the sandbox's "null") must not make a
visitor's browser create, change or delete shares. Browsers always send `Origin` on such
requests; the CLI and curl send none and are not affected.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..prefix import path_is_api, route_path
from ..settings import Settings, split_list

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def host_name(netloc: str) -> str | None:
    """The name in a Host header or URL netloc (no port, lower case), or None if malformed."""
    try:
        parts = urlsplit("//" + netloc)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or parts.path:
        return None
    return (parts.hostname or "").rstrip(".") or None


def _is_loopback(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return name in LOOPBACK_NAMES or name.endswith(".localhost")


def same_origin(origin: str, host: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.lower()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class HostAndOriginCheck:
    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        names = {host_name(urlsplit(url).netloc) for url in (settings.public_url, settings.render_url) if url}
        names |= {host_name(item) if item != "*" else "*" for item in split_list(settings.allowed_hosts)}
        # Whatever `nbshare serve` binds to, unless it is every interface (0.0.0.0, ::).
        bound = host_name(settings.host) if ":" not in settings.host else settings.host.lower()
        if bound and bound not in ("0.0.0.0", "::"):  # noqa: S104 - compared, not bound
            names.add(bound)
        self.any_host = "*" in names
        self.names = {n for n in names if n and n != "*"}
        self.public_origin = _origin(settings.public_url)

    def host_allowed(self, host: str | None) -> bool:
        if host is None:  # HTTP/1.0 without Host: no browser sends that
            return True
        name = host_name(host)
        return name is not None and (self.any_host or name in self.names or _is_loopback(name))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            host = headers.get("host")
            if not self.host_allowed(host):
                message = (
                    f"This server does not answer to the host name {host!r}. An operator"
                    " can allow it with NBSHARE_ALLOWED_HOSTS (or NBSHARE_PUBLIC_URL)."
                )
                await _refuse(scope, 400, "unknown_host", message)(scope, receive, send)
                return
            origin = headers.get("origin")
            if (
                scope["type"] == "http"
                and scope["method"] not in SAFE_METHODS
                and origin is not None
                and origin.lower() != self.public_origin
                and not same_origin(origin, host or "")
            ):
                # Host is one of ours by now, so a page served under it is ours too (a laptop
                # may be reached as localhost or 127.0.0.1 whatever the public URL says).
                message = "Requests from other sites are refused."
                await _refuse(scope, 403, "cross_site", message)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _refuse(scope: Scope, status: int, code: str, message: str) -> Response:
    if path_is_api(route_path(scope)):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
    return PlainTextResponse(message, status_code=status)
