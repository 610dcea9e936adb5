"""`nbshare serve` answers HTTP within a second of starting, while the app is being built.

A JupyterHub gives a managed service ten seconds to answer HTTP and stops itself when it
does not; on a busy machine the app's imports, its migrations and its first connections take
longer than that. So `serve` listens at once with this small ASGI app in front, and builds
the real one in a thread. Until it is ready, the service's home page says it is starting and
reloads itself (200: what the Hub's check asks is whether the service answers, and a 5xx
would not count), and every other request gets 503 with Retry-After. From then on every
request goes to the app, whose lifespan (render pool, periodic purge) runs inside this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)
RETRY_AFTER = "2"
PAGE = (
    b"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
    b"<meta http-equiv='refresh' content='2'><title>nbshare is starting</title></head>"
    b"<body><p>nbshare is starting; this page reloads itself in a moment.</p></body></html>"
)
JSON = b'{"error": {"code": "starting", "message": "nbshare is starting; try again in a moment."}}'


class Starting:
    def __init__(self, build: Callable[[], Any], *, root: str, on_failure: Callable[[BaseException], None]):
        """`build()` returns the app (a Starlette/FastAPI app, in a thread); `root` is the
        path prefix ("" or "/services/nbshare"); `on_failure` is told if building fails."""
        self.build, self.root, self.on_failure = build, root, on_failure
        self.app: ASGIApp | None = None
        self._lifespan: contextlib.AbstractAsyncContextManager | None = None
        self._task: asyncio.Task | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._run_lifespan(receive, send)
        elif self.app is not None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await self._starting(scope, send)
        else:  # a websocket: "try again later"
            await send({"type": "websocket.close", "code": 1013})

    async def _starting(self, scope: Scope, send: Send) -> None:
        path = scope.get("path", "")
        home = path in (self.root, f"{self.root}/")
        api = path.startswith(f"{self.root}/api/")
        body, kind = (JSON, b"application/json") if api else (PAGE, b"text/html; charset=utf-8")
        headers = [
            (b"content-type", kind),
            (b"cache-control", b"no-store"),
            (b"retry-after", RETRY_AFTER.encode()),
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200 if home else 503, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})

    async def _run_lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._task = asyncio.create_task(self._start())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start(self) -> None:
        try:
            app = await anyio.to_thread.run_sync(self.build)
            lifespan = app.router.lifespan_context(app)
            await lifespan.__aenter__()
        except Exception as exc:  # a setting the storage refuses, an unreachable database
            self.on_failure(exc)
            return
        self._lifespan, self.app = lifespan, app
        log.info("nbshare is ready")

    async def ready(self) -> None:
        """Until the app is built (for tests)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _stop(self) -> None:
        if self._task is not None and not self._task.done():
            # The thread building the app cannot be interrupted; let it finish, then stop.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._task)
        if self._lifespan is not None:
            await self._lifespan.__aexit__(None, None, None)
