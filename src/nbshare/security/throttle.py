"""Counting password guesses: per client, per share, and how suspicious each client is.

The design follows OWASP's advice on lockout: throttle each client, slow rather than refuse
when the pressure comes from many clients, and never let anyone lock out a whole share.
docs/settings.md ("Password guessing") says what an attacker can still do; lanes.py holds
the queues that do the slowing.

- A client is an IPv4 address or an IPv6 /64: one machine usually has a whole /64, so
  counting IPv6 addresses one by one would give it 2**64 fresh starts.
- Per client and share: `per_client` wrong passwords in the window, then that client (and
  only that client) gets 429 with Retry-After until the window slides past its guesses.
- Per share: past `per_share` wrong passwords in the window from all clients together, the
  share is under attack, and every further check on it waits in the share's slow lane.
- Rank: how many wrong passwords this client sent (to any share) in the last `memory`
  seconds. The lanes serve low ranks first and make room for them by turning away high
  ranks, so a reader who has not been guessing goes ahead of the clients who have.

Counts live in the metadata database, so every instance sharing it throttles together.
Clients are stored as hashes of their networks, and rows are deleted after `memory`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
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
    rank: int  # this client's earlier wrong passwords, on any share, within `memory`
    share_under_attack: bool  # all clients together are past the share's budget

    @property
    def slowed(self) -> bool:
        return self.share_under_attack


def client_network(address: str) -> str:
    """The unit the throttle counts: an IPv4 address, or the /64 around an IPv6 one (an
    IPv4-mapped IPv6 address counts as its IPv4 address). Anything else (a test client's
    name, "unknown") counts as itself."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # without an IPv6 zone
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _client_key(client: str) -> str:
    return hashlib.sha256(client_network(client).encode("utf-8", "surrogatepass")).hexdigest()


class GuessThrottle:
    def __init__(
        self,
        engine: Engine,
        *,
        per_client: int,
        per_share: int,
        window: float = 60.0,
        memory: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ):
        # Wall-clock time, not monotonic: stamps are compared across processes and machines.
        self.engine = engine
        self.per_client, self.per_share, self.window = per_client, per_share, window
        self.memory = max(memory, window)
        self.clock = clock
        # One writer at a time from this process: a flood of guesses would otherwise have
        # dozens of threads spinning on SQLite's lock, and some give up ("database is
        # locked", a 500) after its busy timeout. Other processes still take turns in SQLite.
        self._writing = threading.Lock()

    def attempt(self, share_id: str, client: str) -> Attempt:
        """Count this attempt as a failure until `withdraw` takes it back, or raise
        TooManyAttempts if this client already guessed wrong too often. Counting before the
        hash is checked, not after, means guesses sent all at once cannot all slip through
        while the first ones are still being hashed."""
        now, key = self.clock(), _client_key(client)
        cutoff = now - self.window
        mine = (failures.c.share_id == share_id) & (failures.c.client == key) & (failures.c.at > cutoff)
        with self._writing, self.engine.begin() as conn:
            # The insert comes first: on SQLite it takes the write lock, so concurrent
            # attempts are counted one after another.
            inserted = conn.execute(failures.insert().values(share_id=share_id, client=key, at=now))
            assert inserted.inserted_primary_key is not None
            row_id = inserted.inserted_primary_key[0]
            conn.execute(delete(failures).where(failures.c.at <= now - self.memory))
            count, oldest = conn.execute(select(func.count(), func.min(failures.c.at)).where(mine)).one()
            if count > self.per_client:
                # Refused attempts are not counted: the lock-out ends a window after the
                # last guess that was actually checked.
                conn.execute(delete(failures).where(failures.c.id == row_id))
                raise TooManyAttempts(max(1, int(oldest + self.window - now) + 1))
            on_share = conn.execute(
                select(func.count()).where((failures.c.share_id == share_id) & (failures.c.at > cutoff))
            ).scalar_one()
            earlier = conn.execute(
                select(func.count()).where((failures.c.client == key) & (failures.c.id != row_id))
            ).scalar_one()
        return Attempt(row_id, rank=earlier, share_under_attack=on_share > self.per_share)

    def withdraw(self, attempt: Attempt) -> None:
        """Take an attempt back: its password was right, or it was turned away unchecked."""
        with self._writing, self.engine.begin() as conn:
            conn.execute(delete(failures).where(failures.c.id == attempt.id))
