"""One record per HTTP request, for the JSON access log and the metrics.

The outermost layer of the app, so it sees every answer, 500 pages included, with the
bytes as they left (compressed). `client` is the address after uvicorn has applied
`trusted_proxies`: the forwarded one only from a proxy the operator trusts.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logs import QUERY_VALUE_RE, redact
from .metrics import NoMetrics

ACCESS_LOGGER = "nbshare.access"
log = logging.getLogger(ACCESS_LOGGER)


class AccessRecord:
    def __init__(self, app: ASGIApp, *, json_log: bool, metrics: NoMetrics):
        self.app, self.json_log, self.metrics = app, json_log, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status, size = time.perf_counter(), 500, 0

        async def watch(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self.metrics.response(status)
            if self.json_log:
                log.info(json_line(scope, status, time.perf_counter() - started, size))


def json_line(scope: Scope, status: int, duration: float, size: int) -> str:
    """The request as one JSON object; its path redacted as every log line is (logs.py)."""
    path = scope["path"]  # ASGI: the whole path, any root_path (prefix.py) included
    if scope.get("query_string"):
        # Values go before anything else: a raw quote or space in one must not end the
        # query early for `redact`, leaving the rest of the value in the line.
        path += "?" + QUERY_VALUE_RE.sub("=…", scope["query_string"].decode("latin-1"))
    client = scope.get("client")
    record = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "method": scope["method"],
        "path": redact(path),
        "status": status,
        "duration": round(duration, 6),
        "bytes": size,
        "client": client[0] if client else None,
    }
    return json.dumps(record, ensure_ascii=False)
