"""Refuse state-changing requests that a browser sends on behalf of another site.

Sharing is anonymous, so this is less about stolen credentials than about consent:
a web page (or a notebook's script, whose origin is the sandbox's "null") must not
make a visitor's browser create, change or delete shares. Browsers always send
`Origin` on such requests; the CLI and curl send none and are not affected.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def same_origin(origin: str, host: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.lower()


class SameOriginWrites:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            origin = headers.get("origin")
            if origin is not None and not same_origin(origin, headers.get("host", "")):
                # Compared with Host, not the public URL: the check is about where the
                # request came from, and a laptop may be reached as localhost or 127.0.0.1.
                response = JSONResponse(
                    {"error": {"code": "cross_site", "message": "Requests from other sites are refused."}},
                    status_code=403,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
