"""A warm pool of worker processes that render notebooks off the event loop.

nbconvert is CPU-bound and slow to import, so workers import it once at start
(`_warm`) and then render many notebooks.

A render's time budget grows with the notebook's size, up to the timeout: a small
notebook that takes long is pathological (markdown that costs quadratic time), and
should not hold a worker for the whole timeout while other uploads wait.

The timeout counts rendering time only, never time spent queued behind other uploads:
each worker arms its own timer when it starts a render and abandons that render when it
rings, staying alive for the next one. Only when a worker is stuck where the timer cannot
reach it (inside C code) does a watchdog tear the pool down, killing its processes, and
start a fresh one. Renders that were running in the pool that died through no fault of
their own are retried once on the fresh pool; the uploader whose notebook hangs or
crashes the renderer gets an error, and nothing is stored.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import FrameType
from typing import Any, NoReturn

from ..errors import RenderFailed
from .assets import AssetPolicy, BundleLinks
from .orphans import exit_with_parent
from .page import RenderedPage, render_page

log = logging.getLogger(__name__)


def _init_worker(parent_pid: int, kernel_signal: bool) -> None:
    exit_with_parent(parent_pid, kernel_signal=kernel_signal)
    # nbconvert warns about harmless things (missing IPython lexer, cell ids) per cell.
    warnings.simplefilter("ignore")
    logging.getLogger("traitlets").setLevel(logging.ERROR)


WARM_UP_NOTEBOOK = (
    b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ['
    b'{"cell_type": "markdown", "id": "a", "metadata": {}, "source": "# Warm $x$"},'
    b'{"cell_type": "code", "id": "b", "metadata": {}, "execution_count": 1, "source": "1",'
    b' "outputs": [{"output_type": "stream", "name": "stdout", "text": "1"}]}]}'
)


def _warm(static_url: str) -> bool:
    # A real render, not just an import: Jinja compiles nbconvert's templates on first use,
    # and nbformat builds a schema validator per format version on first use.
    import nbformat.validator

    for minor in range(6):
        nbformat.validator.get_validator(version=4, version_minor=minor)
    render_page(WARM_UP_NOTEBOOK, filename="warm-up.ipynb", static_url=static_url)
    return True


class _TimerRang(BaseException):
    """Raised in a worker by its own timer. A BaseException, so that no `except Exception`
    inside nbconvert or its extensions can swallow it and carry on rendering."""


def _on_timer(signum: int, frame: FrameType | None) -> NoReturn:  # noqa: ARG001 (signal handler signature)
    raise _TimerRang


def _render_with_timer(timeout: float, data: bytes, **options: Any) -> RenderedPage:
    """render_page, abandoned after `timeout` seconds of its own (in the worker process)."""
    if not hasattr(signal, "setitimer"):  # not on this OS: the watchdog alone applies
        return render_page(data, **options)
    previous = signal.signal(signal.SIGALRM, _on_timer)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return render_page(data, **options)
    except _TimerRang:
        raise _timed_out(timeout) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _timed_out(timeout: float) -> RenderFailed:
    return RenderFailed(
        f"Rendering took longer than {timeout:g} seconds and was stopped; nothing was stored.",
        code="render_timeout",
    )


# A render may take BUDGET_FLOOR seconds plus BUDGET_PER_MB per megabyte of notebook, and
# never more than the timeout. Real notebooks take under 7 s/MB on a 2-core machine
# (dense highlighted code up to 70 s/MB) and under 6 s in all: the floor and the rate
# leave room for a slow, busy laptop.
BUDGET_FLOOR = 20.0
BUDGET_PER_MB = 120.0

# Added to the watchdog's limit before it assumes a worker is stuck beyond the reach of its
# timer. Generous: killing the pool costs every render running in it a retry.
WATCHDOG_GRACE = 10.0


class RenderPool:
    """`await pool.render(data, ...)` runs render_page in a worker process."""

    def __init__(
        self,
        workers: int = 2,
        timeout: float = 60.0,
        *,
        budget_floor: float = BUDGET_FLOOR,
        budget_per_mb: float = BUDGET_PER_MB,
    ):
        self.workers = workers
        self.timeout = timeout
        self.budget_floor = budget_floor
        self.budget_per_mb = budget_per_mb
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._static_url: str | None = None  # remembered to re-warm a replacement pool
        # Imported here: workers import this module too, and need none of the quota's
        # imports (the throttle's database tables).
        from .quota import WorkerShares

        self.shares = WorkerShares(workers)

    def _new_executor(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server process has threads (uvicorn, SQLAlchemy pools).
        ctx = multiprocessing.get_context("spawn")
        # The kernel's parent-death signal follows the thread that started a worker, so it
        # is armed only when that is the main thread (orphans.py); every worker is started
        # here, by the thread creating the pool (the executor starts one per submission
        # until it has them all, and never more).
        on_main_thread = threading.current_thread() is threading.main_thread()
        executor = ProcessPoolExecutor(
            self.workers, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(), on_main_thread)
        )
        for _ in range(self.workers):
            executor.submit(os.getpid)
        return executor

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = self._new_executor()
            return self._executor

    def warm_up(self, static_url: str, *, wait: bool = False) -> None:
        """Start every worker now and import nbconvert in it, so the first upload is fast.

        By default this does not wait: the server answers at once, and an upload that
        arrives before the workers are ready simply queues behind the warm-up."""
        self._static_url = static_url
        executor = self._get()
        futures = [executor.submit(_warm, static_url) for _ in range(self.workers)]
        if wait:
            for future in futures:
                future.result()

    def budget(self, size: int) -> float:
        """Seconds a render of a notebook of `size` bytes may take."""
        return min(self.timeout, self.budget_floor + self.budget_per_mb * size / 1_000_000)

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        """Replace a dead or stuck pool. Several renders may find the same pool broken at
        once: only the first one tears it down and starts the next."""
        with self._lock:
            if self._executor is not executor:
                return
            self._executor = None
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            process.kill()  # the only way to stop a render stuck inside nbconvert
        executor.shutdown(wait=False, cancel_futures=True)
        if self._static_url is not None:
            self.warm_up(self._static_url)  # so the next upload does not pay the cold start

    async def render(
        self,
        data: bytes,
        *,
        filename: str,
        static_url: str,
        max_depth: int,
        assets: AssetPolicy | None = None,
        links: BundleLinks | None = None,
    ) -> RenderedPage:
        options = dict(
            filename=filename, static_url=static_url, max_depth=max_depth, assets=assets, links=links
        )
        for attempt in (1, 2):
            executor = self._get()
            try:
                async with self.shares.turn():  # one client never holds every worker
                    return await self._run(executor, data, options, self.budget(len(data)))
            except BrokenProcessPool:
                # A worker died: this notebook's fault (out of memory?) or another render's
                # (a stuck one the watchdog killed, an idle worker the OOM killer chose).
                # One retry on a fresh pool tells them apart.
                self._discard(executor)
                if attempt == 2:
                    log.error("a render worker died twice on a %d-byte notebook", len(data))
                    raise RenderFailed(
                        "The renderer crashed on this notebook; nothing was stored.", code="render_crashed"
                    ) from None
                log.warning("a render worker died; retrying on a fresh pool")
        raise AssertionError("unreachable")

    async def _run(
        self, executor: ProcessPoolExecutor, data: bytes, options: dict[str, Any], timeout: float
    ) -> RenderedPage:
        try:
            future = executor.submit(_render_with_timer, timeout, data, **options)
        except RuntimeError:  # shut down by another render's _discard since we took it
            raise BrokenProcessPool from None
        waiting = asyncio.wrap_future(future)
        started: float | None = None
        while True:
            # The watchdog's clock starts when the executor marks the render running, not
            # at submission. The executor marks one render more than it has workers, so a
            # render may still wait for one other, itself bounded by its own timer (at most
            # the timeout): hence its budget plus the timeout before a render counts as stuck.
            done, _ = await asyncio.wait({waiting}, timeout=0.25 if started is None else 1.0)
            if done:
                if waiting.cancelled():  # still queued when another render's _discard ran
                    raise BrokenProcessPool
                try:
                    return waiting.result()
                except _TimerRang:  # the timer rang between the render's end and disarming
                    raise _timed_out(timeout) from None
            if started is None:
                if future.running():
                    started = time.monotonic()
            elif time.monotonic() - started > timeout + self.timeout + WATCHDOG_GRACE:
                log.warning(
                    "a render of a %d-byte notebook is stuck past its timeout; killing its pool", len(data)
                )
                self._discard(executor)
                waiting.cancel()
                raise _timed_out(timeout)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
