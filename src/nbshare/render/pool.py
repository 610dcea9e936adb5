"""A warm pool of worker processes that render notebooks off the event loop.

nbconvert is CPU-bound and slow to import, so workers import it once at start
(`_warm`) and then render many notebooks. A render that runs past the timeout cannot
be cancelled inside a process, so the pool is torn down (its processes killed) and a
fresh one started; the uploader gets an error and nothing is stored.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..errors import NbshareError, RenderFailed
from .assets import AssetPolicy, BundleLinks
from .page import RenderedPage, render_page

log = logging.getLogger(__name__)


def _init_worker() -> None:
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


class RenderPool:
    """`await pool.render(data, ...)` runs render_page in a worker process."""

    def __init__(self, workers: int = 2, timeout: float = 60.0):
        self.workers = workers
        self.timeout = timeout
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._static_url: str | None = None  # remembered to re-warm a replacement pool

    def _new_executor(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server process has threads (uvicorn, SQLAlchemy pools).
        ctx = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker)

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

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()  # the only way to stop a render stuck inside nbconvert
        executor.shutdown(wait=False, cancel_futures=True)
        if self._static_url is not None:
            self.warm_up(self._static_url)  # so the next upload does not pay the cold start

    async def render(self, data: bytes, *, filename: str, static_url: str, max_depth: int,
                     assets: AssetPolicy | None = None, links: BundleLinks | None = None) -> RenderedPage:
        executor = self._get()
        future = executor.submit(
            render_page, data, filename=filename, static_url=static_url, max_depth=max_depth,
            assets=assets, links=links,
        )
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except NbshareError:
            raise
        except TimeoutError:
            log.warning("render of a %d-byte notebook timed out after %ss", len(data), self.timeout)
            self._discard(executor)
            raise RenderFailed(
                f"Rendering took longer than {self.timeout:g} seconds and was stopped; "
                "nothing was stored.",
                code="render_timeout",
            ) from None
        except BrokenProcessPool:
            log.error("a render worker died (out of memory?); starting a fresh pool")
            self._discard(executor)
            raise RenderFailed(
                "The renderer crashed on this notebook; nothing was stored.", code="render_crashed"
            ) from None

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
