"""Reading uploads without ever holding more than the size limit.

The limit is enforced on the bytes actually received, whatever Content-Length says:
`UploadLimit` wraps the ASGI receive channel for every request body, and
`read_body` stops a raw upload at the first byte past the limit.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import TooLarge

# A multipart body carries boundaries and small fields beside the file itself.
MULTIPART_SLACK = 64 * 1024


def too_large(limit: int) -> TooLarge:
    # In KB below 1 MB: a limit of 10000 bytes reads "9.8 KB", not "0.00953674 MB".
    size, unit = (limit / (1024 * 1024), "MB") if limit >= 1024 * 1024 else (limit / 1024, "KB")
    shown = f"{size:.1f}".removesuffix(".0")
    return TooLarge(f"The notebook is larger than this server's limit of {shown} {unit}.")


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


class UploadLimit:
    """Refuse any request body beyond `limit + MULTIPART_SLACK` bytes as it streams in."""

    def __init__(self, app: ASGIApp, *, limit: int):
        self.app = app
        self.limit = limit
        self.hard_limit = limit + MULTIPART_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.hard_limit:
                    raise too_large(self.limit)
            return message

        await self.app(scope, counting_receive, send)
