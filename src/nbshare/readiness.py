"""The readiness check: can this instance reach its database and its blob store now?

`/healthz` says the process answers; `/readyz` (this) says it can serve shares. Each part is
one cheap call (`MetadataStore.ping`, `BlobStore.check`) in a thread, bounded by a timeout:
an object store that does not answer is retried by its client for minutes. A part whose
earlier check is still stuck is reported as timed out without starting another thread, so
a probe every few seconds against a dead store holds at most one thread per part.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import anyio

from .logs import redact
from .store import BlobStore, MetadataStore

log = logging.getLogger(__name__)
TIMEOUT = 10.0  # seconds; an orchestrator's probe usually waits as long
OK, FAILED, TIMED_OUT = "ok", "failed", "timed out"


class Readiness:
    def __init__(self, metadata: MetadataStore, blobs: BlobStore, *, timeout: float = TIMEOUT):
        self.parts: dict[str, Callable[[], None]] = {"database": metadata.ping, "blobs": blobs.check}
        self.timeout = timeout
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    async def check(self) -> dict[str, str]:
        """Each part's state: "ok", "failed" or "timed out". What failed is logged, never
        answered: an error's text may name hosts, paths or users."""
        results: dict[str, str] = {}
        async with anyio.create_task_group() as group:
            for name, probe in self.parts.items():
                group.start_soon(self._check_one, name, probe, results)
        return results

    async def _check_one(self, name: str, probe: Callable[[], None], results: dict[str, str]) -> None:
        with self._lock:
            if name in self._busy:
                results[name] = TIMED_OUT  # the last check has not come back yet
                return

        def run() -> None:
            # Marked here, in the thread: a check cancelled before its thread started never
            # runs, and must not leave the part marked busy for ever.
            with self._lock:
                self._busy.add(name)
            try:
                probe()
            finally:
                with self._lock:
                    self._busy.discard(name)

        try:
            with anyio.fail_after(self.timeout):
                await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
            results[name] = OK
        except TimeoutError:
            log.warning("readiness: the %s did not answer within %.0f s", name, self.timeout)
            results[name] = TIMED_OUT
        except Exception as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            log.warning("readiness: the %s failed: %s: %s", name, type(exc).__name__, redact(reason[:300]))
            results[name] = FAILED
