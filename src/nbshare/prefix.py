"""Serving under the path of the public URL (`https://host/services/nbshare`).

A reverse proxy that keeps the path (JupyterHub's configurable-http-proxy, nginx's
`proxy_pass` without a URI) sends `/services/nbshare/n/ID`; this outermost layer tells
Starlette that the app is mounted there (the ASGI `root_path`), and every route matches
the rest. So the routes are declared once, without the prefix, and the prefix is decided
here. The render URL's path, if it has another one, is served the same way.

Outside the prefix: `/` redirects to the service's home page (someone who typed the bare
host), the operator's probes (/healthz, /readyz, /metrics) answer as well (a container's
health check and a scraper talk to the process directly, without the proxy's path), and
anything else is a 404 that says where nbshare is.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .urls import root_path

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


def route_path(scope: Scope) -> str:
    """The request's path below the prefix it was served under (ASGI: `path` holds
    `root_path` in front)."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class PathPrefix:
    def __init__(self, app: ASGIApp, *, public_url: str, render_url: str | None = None):
        self.app = app
        self.home = f"{public_url}/"
        roots = {root_path(public_url), root_path(render_url) if render_url else root_path(public_url)}
        # The longest first: /a/b is served under /a/b, not /a.
        self.roots = sorted(roots, key=len, reverse=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.roots == [""]:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        for root in self.roots:
            if root == "" or path.startswith(f"{root}/"):
                await self.app({**scope, "root_path": root}, receive, send)
                return
            if path == root:  # the prefix without its slash: the home page has one
                await _redirect(f"{root}/", scope)(scope, receive, send)
                return
        if path in PROBES:
            await self.app({**scope, "root_path": ""}, receive, send)
            return
        if scope["type"] != "http":
            return  # an unknown websocket path: closing it refuses it
        if path == "/" and scope["method"] in ("GET", "HEAD"):
            await _redirect(self.home, scope)(scope, receive, send)
            return
        await self.outside(scope)(scope, receive, send)

    def outside(self, scope: Scope) -> Response:
        message = f"Nothing here: this nbshare server is at {self.home}"
        if path_is_api(scope["path"]):
            # What the CLI shows when --server lacks the prefix.
            body = {"error": {"code": "not_found", "message": f"{message} (use that as the server address)."}}
            return JSONResponse(body, status_code=404)
        return PlainTextResponse(message, status_code=404)


def path_is_api(path: str) -> bool:
    return path.startswith("/api/")


def _redirect(location: str, scope: Scope) -> Response:
    query = scope.get("query_string", b"").decode("latin-1")
    return RedirectResponse(f"{location}?{query}" if query else location, status_code=307)
