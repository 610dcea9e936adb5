"""Slowing down password guessing, and bounding the CPU spent on Argon2.

Failed attempts are counted in a sliding window per share and per (share, client).
The counts live in this process: with several instances, each throttles on its own,
which still bounds the guessing rate to N times the limit.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable


class TooManyAttempts(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


class GuessThrottle:
    def __init__(self, *, per_client: int, per_share: int, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.per_client, self.per_share, self.window = per_client, per_share, window
        self.clock = clock
        self._failures: dict[tuple, deque[float]] = defaultdict(deque)

    def _recent(self, key: tuple) -> deque[float]:
        stamps, cutoff = self._failures[key], self.clock() - self.window
        while stamps and stamps[0] <= cutoff:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
            return deque()
        return stamps

    def check(self, share_id: str, client: str) -> None:
        """Raise TooManyAttempts if this client, or everyone together, guessed too often."""
        for key, limit in (((share_id, client), self.per_client), ((share_id,), self.per_share)):
            stamps = self._recent(key)
            if len(stamps) >= limit:
                raise TooManyAttempts(max(1, int(stamps[0] + self.window - self.clock()) + 1))

    def attempt(self, share_id: str, client: str) -> float:
        """Check the limits, then count this attempt as a failure until `succeeded` takes it
        back. Counting before the hash is checked, not after, means guesses sent all at once
        cannot all slip past `check` while the first ones are still being hashed."""
        self.check(share_id, client)
        now = self.clock()
        for key in ((share_id, client), (share_id,)):
            self._failures[key].append(now)
        return now

    def succeeded(self, share_id: str, client: str, stamp: float) -> None:
        for key in ((share_id, client), (share_id,)):
            stamps = self._failures.get(key)
            if stamps is not None and stamp in stamps:
                stamps.remove(stamp)


class HashLimiter:
    """At most `concurrent` Argon2 computations at once, and a short queue behind them."""

    def __init__(self, concurrent: int, queue: int):
        self._slots = asyncio.Semaphore(concurrent)
        self._capacity = concurrent + queue
        self._inside = 0

    async def __aenter__(self) -> None:
        if self._inside >= self._capacity:
            raise TooManyAttempts(retry_after=2)
        self._inside += 1
        try:
            await self._slots.acquire()
        except BaseException:
            self._inside -= 1
            raise

    async def __aexit__(self, *exc) -> None:
        self._slots.release()
        self._inside -= 1
