"""Bounded queues for password checks, fair to readers who have not been guessing.

A Lane gives `concurrent` places, optionally after a pause, and keeps at most `waiting`
requests waiting behind them. Nothing waits without bound: past that, a newcomer gets 429
with Retry-After. Requests carry a rank (the client's recent wrong passwords, see
throttle.py): the lane serves low ranks first (first come, first served among equals), and
when it is full a newcomer takes the place of the newest waiting request of a higher rank.
So a client that has not guessed wrong lately is refused only when every waiting place is
held by such clients, and once admitted it is served within `waiting + concurrent` turns:
nobody arriving after it can pass it or push it out.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from .throttle import TooManyAttempts


@dataclass(eq=False)
class _Ticket:
    rank: int
    order: int
    called: asyncio.Future[None] = field(repr=False)


class Lane:
    def __init__(
        self,
        concurrent: int,
        waiting: int,
        *,
        pause: float = 0.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ):
        self.concurrent, self.waiting, self.pause = concurrent, waiting, pause
        self._sleep = sleep  # injected by tests, which count turns on a clock of their own
        self._busy = 0
        self._queue: list[_Ticket] = []
        self._order = itertools.count()
        self.turns = 0  # places given so far
        self.most_waiting = 0  # the longest the queue has been

    @property
    def retry_after(self) -> int:
        """Roughly how long a full queue takes to drain."""
        each = max(self.pause, 1.0)
        return max(1, math.ceil((self.waiting + self.concurrent) * each / self.concurrent))

    @asynccontextmanager
    async def turn(self, rank: int = 0) -> AsyncIterator[None]:
        """Wait for a place (raising TooManyAttempts if there is no room, or if a lower rank
        takes this one's place), pause, then hold the place for the body."""
        await self._wait(rank)
        try:
            if self.pause:
                await self._sleep(self.pause)
            yield
        finally:
            self._busy -= 1
            self._call_next()

    async def _wait(self, rank: int) -> None:
        if self._busy < self.concurrent and not self._queue:
            self._give_place()
            return
        ticket = _Ticket(rank, next(self._order), asyncio.get_running_loop().create_future())
        self._make_room(ticket)
        self._queue.append(ticket)
        self.most_waiting = max(self.most_waiting, len(self._queue))
        try:
            await ticket.called
        except asyncio.CancelledError:  # the client went away
            if ticket in self._queue:
                self._queue.remove(ticket)
            elif _was_called(ticket.called):  # ...just as its turn came: pass the place on
                self._busy -= 1
                self._call_next()
            raise

    def _make_room(self, newcomer: _Ticket) -> None:
        # Requests cancelled a moment ago may still be listed: they hold no place.
        self._queue = [t for t in self._queue if not t.called.done()]
        if len(self._queue) < self.waiting:
            return
        # Newest of the highest rank: among equals, those who came first keep their places.
        worst = max(self._queue, key=lambda t: (t.rank, t.order), default=None)
        if worst is None or worst.rank <= newcomer.rank:
            raise TooManyAttempts(self.retry_after)
        self._queue.remove(worst)
        worst.called.set_exception(TooManyAttempts(self.retry_after))

    def _call_next(self) -> None:
        while self._busy < self.concurrent and self._queue:
            ticket = min(self._queue, key=lambda t: (t.rank, t.order))
            self._queue.remove(ticket)
            if not ticket.called.done():  # not cancelled meanwhile
                self._give_place()
                ticket.called.set_result(None)

    def _give_place(self) -> None:
        self._busy += 1
        self.turns += 1


def _was_called(future: asyncio.Future[None]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


class SlowLanes:
    """One lane per share under attack: one check at a time, each after a pause, at most
    `waiting` behind it. Lanes are striped by share id, so their number (and the requests
    they hold) stays bounded however many shares are attacked."""

    def __init__(
        self,
        pause: float = 1.0,
        waiting: int = 8,
        stripes: int = 64,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ):
        self._lanes = [Lane(1, waiting, pause=pause, sleep=sleep) for _ in range(stripes)]

    def lane(self, share_id: str) -> Lane:
        digest = hashlib.sha256(share_id.encode("utf-8", "surrogatepass")).digest()
        return self._lanes[int.from_bytes(digest[:4], "big") % len(self._lanes)]
