"""Reading request bodies without ever holding more than their size limit.

The limit is enforced on the bytes actually received, whatever Content-Length says.
`BodyLimit` wraps the ASGI receive channel of every request: an upload (to a route
marked with `takes_uploads`) may send up to the upload limit, and `read_body` stops a raw upload
at the first byte past it; any other body (settings, a password) is read whole, at most
SMALL_BODY bytes, before the app parses anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import NbshareError, TooLarge

# A multipart body carries boundaries and small fields beside the file itself.
MULTIPART_SLACK = 64 * 1024
# The most any body but an upload's may hold: a settings change or a password is a few
# hundred bytes, and JSON is parsed whole, so nothing bigger is read, let alone parsed.
SMALL_BODY = 64 * 1024

F = TypeVar("F", bound=Callable[..., Any])
_UPLOADS: set[Callable[..., Any]] = set()


def takes_uploads(endpoint: F) -> F:
    """Marks a route whose body is an upload, which may be as large as the upload limit."""
    _UPLOADS.add(endpoint)
    return endpoint


def too_large(limit: int) -> TooLarge:
    return TooLarge(f"The notebook is larger than this server's limit of {shown_size(limit)}.")


def body_too_large() -> TooLarge:
    return TooLarge(
        f"The request body is larger than {shown_size(SMALL_BODY)}; only uploads may be larger.",
        code="body_too_large",
    )


def shown_size(limit: int) -> str:
    # In KB below 1 MB: a limit of 10000 bytes reads "9.8 KB", not "0.00953674 MB".
    size, unit = (limit / (1024 * 1024), "MB") if limit >= 1024 * 1024 else (limit / 1024, "KB")
    return f"{size:.1f}".removesuffix(".0") + f" {unit}"


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def upload_routes(*routers: Router) -> list[BaseRoute]:
    """The routes of `routers` whose endpoints are marked with `takes_uploads`."""
    return [r for router in routers for r in router.routes if getattr(r, "endpoint", None) in _UPLOADS]


class BodyLimit:
    """Refuse an upload's body beyond `limit + MULTIPART_SLACK` bytes as it streams in, and
    any other body beyond SMALL_BODY before the app reads it. `refuse` turns an error
    into the answer the app would give."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        uploads: list[BaseRoute],
        refuse: Callable[[Request, NbshareError], Response],
    ):
        self.app = app
        self.limit = limit
        self.hard_limit = limit + MULTIPART_SLACK
        self.uploads = uploads
        self.refuse = refuse

    def is_upload(self, scope: Scope) -> bool:
        """Whether one of the upload routes answers this request (asked of the routes
        themselves, so no second list of upload paths is kept)."""
        return any(route.matches(scope)[0] == Match.FULL for route in self.uploads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.is_upload(scope):
            await self.app(scope, self._counting(receive), send)
            return
        try:
            body = await self._small_body(scope, receive)
        except _ClientGone:
            return
        if body is None:
            response = self.refuse(Request(scope), body_too_large())
            # The rest of the body is never read, so the connection cannot carry another request.
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            if received > self.hard_limit:
                raise too_large(self.limit)
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                received += len(body)
                if received > self.hard_limit:
                    # The bytes within the limit still go on, so the handler learns what
                    # the body starts with (which client sent it: views/peers.py); the
                    # next read is refused.
                    within = body[: len(body) - (received - self.hard_limit)]
                    return {"type": "http.request", "body": within, "more_body": True}
            return message

        return counting_receive

    async def _small_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or None once it is over SMALL_BODY (declared or counted:
        a chunked body declares nothing)."""
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > SMALL_BODY:
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > SMALL_BODY:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


class _ClientGone(Exception):
    """The client disconnected before its body was whole: nobody is left to answer."""


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that gives `body` once, then what the client sends (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
