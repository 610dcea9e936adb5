"""How many uploads one client may have rendering at once.

The render pool has a few workers. Without a limit one client could keep all of them
busy (each render within its budget, but one after another), and everybody else's
upload would wait. Beyond the limit an upload is refused at once with a 429, before it
costs any rendering, and the client can try again when one of its uploads is done.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import NbshareError


class RendersPerClient:
    def __init__(self, limit: int):
        self.limit = limit
        self._running: Counter[str] = Counter()
        self._lock = threading.Lock()  # the service may be used from several event loops

    @contextmanager
    def slot(self, client: str | None) -> Iterator[None]:
        """Hold one of `client`'s render slots for the block, or raise a 429.
        `client` None (the CLI's own process, tests) is not limited."""
        if client is None:
            yield
            return
        with self._lock:
            if self._running[client] >= self.limit:
                raise NbshareError(
                    f"You already have {self.limit} uploads being rendered; wait until one of them"
                    " is done, then try again. Nothing was stored.",
                    code="too_many_renders",
                    status=429,
                )
            self._running[client] += 1
        try:
            yield
        finally:
            with self._lock:
                self._running[client] -= 1
                if not self._running[client]:
                    del self._running[client]

    def running(self, client: str) -> int:
        with self._lock:
            return self._running[client]
