"""How much of the render pool one client may use.

The render pool has a few workers. Without limits one client could keep all of them
busy (each render within its budget, but one after another, or a bundle's notebooks side
by side), and everybody else's upload would wait. Two limits, per client:

- `RendersPerClient`: uploads in flight. Beyond `max_renders_per_client` an upload is
  refused at once with a 429, before it costs any rendering, and the client can try
  again when one of its uploads is done.
- `WorkerShares`: renders holding a worker. A client's renders hold at most all workers
  but one (at least one) at a time; its others wait their turn without taking a worker,
  so another client's upload always finds one free of this client.

A client is what the guessing throttle counts as one (an IPv4 address or an IPv6 /64),
so one host cannot take more by using more of its addresses. The upload's client is
handed to the renders it starts (a bundle's several notebooks too) in a context variable.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar

import anyio

from ..errors import NbshareError
from ..security.throttle import client_network

_client: ContextVar[str | None] = ContextVar("nbshare_render_client", default=None)
# How often a waiting render looks for its turn: the service may run in several event
# loops (threads), so it polls a lock instead of waiting on one loop's primitive.
TURN_POLL = 0.02


class RendersPerClient:
    def __init__(self, limit: int):
        self.limit = limit
        self._running: Counter[str] = Counter()
        self._lock = threading.Lock()  # the service may be used from several event loops

    @contextmanager
    def slot(self, client: str | None) -> Iterator[None]:
        """Hold one of `client`'s render slots for the block, or raise a 429; the renders
        started in the block count as `client`'s. `client` None (the CLI's own process,
        tests) is not limited."""
        if client is None:
            yield
            return
        client = client_network(client)
        with self._lock:
            if self._running[client] >= self.limit:
                raise NbshareError(
                    f"You already have {self.limit} uploads being rendered; wait until one of them"
                    " is done, then try again. Nothing was stored.",
                    code="too_many_renders",
                    status=429,
                )
            self._running[client] += 1
        token = _client.set(client)
        try:
            yield
        finally:
            _client.reset(token)
            with self._lock:
                self._running[client] -= 1
                if not self._running[client]:
                    del self._running[client]

    def running(self, client: str) -> int:
        with self._lock:
            return self._running[client_network(client)]


class WorkerShares:
    """At most `workers - 1` (at least 1) renders of one client hold a worker at once."""

    def __init__(self, workers: int):
        self.share = max(1, workers - 1)
        self._holding: Counter[str] = Counter()
        self._lock = threading.Lock()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait until the current upload's client may take a worker, and hold it for the
        block. Renders outside an upload (no client) are not limited."""
        client = _client.get()
        if client is None:
            yield
            return
        while not self._take(client):
            await anyio.sleep(TURN_POLL)
        try:
            yield
        finally:
            with self._lock:
                self._holding[client] -= 1
                if not self._holding[client]:
                    del self._holding[client]

    def _take(self, client: str) -> bool:
        with self._lock:
            if self._holding[client] >= self.share:
                return False
            self._holding[client] += 1
            return True

    def holding(self, client: str) -> int:
        with self._lock:
            return self._holding[client_network(client)]
