"""Slowing down password guessing, and bounding the CPU spent on Argon2.

The design follows OWASP's advice on lockout: throttle each client, slow rather than refuse
when the pressure comes from everyone, and never let anyone lock out a whole share.

- Per client and share: `per_client` wrong passwords in the window, then that client (and
  only that client) gets 429 with Retry-After until the window slides past its guesses.
- Per share: past `per_share` wrong passwords in the window from all clients together, the
  share is under attack. Its clients that have already guessed wrong are slowed down (see
  ShareService.unlock: one at a time per share, after a pause); a client that has not
  guessed wrong yet, such as a reader who knows the password, is neither slowed nor refused.
- CPU: HashLimiter computes at most a few Argon2 checks at once. When its queue is full,
  only clients that have guessed wrong are refused; the others wait their turn.

Counts live in the metadata database, so every instance sharing it throttles together.
Clients are stored as hashes of their addresses, and rows are deleted once out of the window.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from ..store.tables import unlock_failures as failures


class TooManyAttempts(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    id: int
    guessed_wrong_before: bool  # this client, on this share, within the window
    share_under_attack: bool  # all clients together are past the share's budget

    @property
    def slowed(self) -> bool:
        return self.guessed_wrong_before and self.share_under_attack


def _client_key(client: str) -> str:
    return hashlib.sha256(client.encode("utf-8", "surrogatepass")).hexdigest()


class GuessThrottle:
    def __init__(self, engine: Engine, *, per_client: int, per_share: int, window: float = 60.0,
                 clock: Callable[[], float] = time.time):
        # Wall-clock time, not monotonic: stamps are compared across processes and machines.
        self.engine = engine
        self.per_client, self.per_share, self.window = per_client, per_share, window
        self.clock = clock

    def attempt(self, share_id: str, client: str) -> Attempt:
        """Count this attempt as a failure until `succeeded` takes it back, or raise
        TooManyAttempts if this client already guessed wrong too often. Counting before the
        hash is checked, not after, means guesses sent all at once cannot all slip through
        while the first ones are still being hashed."""
        now, key = self.clock(), _client_key(client)
        cutoff = now - self.window
        mine = (failures.c.share_id == share_id) & (failures.c.client == key) & (failures.c.at > cutoff)
        with self.engine.begin() as conn:
            # The insert comes first: on SQLite it takes the write lock, so concurrent
            # attempts are counted one after another.
            inserted = conn.execute(failures.insert().values(share_id=share_id, client=key, at=now))
            assert inserted.inserted_primary_key is not None
            row_id = inserted.inserted_primary_key[0]
            conn.execute(delete(failures).where(failures.c.at <= cutoff))
            count, oldest = conn.execute(select(func.count(), func.min(failures.c.at)).where(mine)).one()
            if count > self.per_client:
                # Refused attempts are not counted: the lock-out ends a window after the
                # last guess that was actually checked.
                conn.execute(delete(failures).where(failures.c.id == row_id))
                raise TooManyAttempts(max(1, int(oldest + self.window - now) + 1))
            on_share = conn.execute(select(func.count()).where(
                (failures.c.share_id == share_id) & (failures.c.at > cutoff))).scalar_one()
        return Attempt(row_id, guessed_wrong_before=count > 1, share_under_attack=on_share > self.per_share)

    def succeeded(self, attempt: Attempt) -> None:
        """A right password takes its attempt back."""
        with self.engine.begin() as conn:
            conn.execute(delete(failures).where(failures.c.id == attempt.id))


class HashLimiter:
    """At most `concurrent` Argon2 computations at once, and a short queue behind them for
    clients that already guessed wrong. Clients that have not wait however long the queue is:
    the CPU stays bounded, and guesses from others never turn a reader away."""

    def __init__(self, concurrent: int, queue: int):
        self._slots = asyncio.Semaphore(concurrent)
        self._capacity = concurrent + queue
        self._inside = 0

    def __call__(self, *, patient: bool = False) -> _Slot:
        return _Slot(self, patient)

    async def __aenter__(self) -> None:
        await self._enter(patient=False)

    async def __aexit__(self, *exc) -> None:
        self._leave()

    async def _enter(self, *, patient: bool) -> None:
        if self._inside >= self._capacity and not patient:
            raise TooManyAttempts(retry_after=2)
        self._inside += 1
        try:
            await self._slots.acquire()
        except BaseException:
            self._inside -= 1
            raise

    def _leave(self) -> None:
        self._slots.release()
        self._inside -= 1


class _Slot:
    def __init__(self, limiter: HashLimiter, patient: bool):
        self.limiter, self.patient = limiter, patient

    async def __aenter__(self) -> None:
        await self.limiter._enter(patient=self.patient)

    async def __aexit__(self, *exc) -> None:
        self.limiter._leave()


class SlowLane:
    """Under attack, a share's password checks for clients that guessed wrong run one at a
    time, each after a pause: guessing gets slower for everyone who guesses, yet a reader
    who has not guessed wrong never queues here. Locks are striped by share id, so their
    number stays fixed however many shares are attacked."""

    def __init__(self, pause: float = 1.0, stripes: int = 64):
        self.pause = pause
        self._locks = [asyncio.Lock() for _ in range(stripes)]

    def lock(self, share_id: str) -> asyncio.Lock:
        digest = hashlib.sha256(share_id.encode("utf-8", "surrogatepass")).digest()
        return self._locks[int.from_bytes(digest[:4], "big") % len(self._locks)]
