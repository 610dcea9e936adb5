"""The render pool under trouble: a slow notebook, a queue, a worker that dies. Whatever
happens to one upload, the others render, and nothing becomes a 500.

Slowness is real: a long code cell is highlighted and cleaned token by token, so a valid
notebook renders as slowly as we like. No margin rests on how fast this machine renders:
a render that must be slow is far slower than its budget, one that must finish gets a
budget of seconds for a notebook a warm worker renders in milliseconds.
The pool's size-scaled budget is set out of the way (budget_floor): these tests are
about the timeout, the queue and dying workers."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import minimal_notebook, nb_bytes, slow_notebook
from nbshare.errors import RenderFailed
from nbshare.render.pool import RenderPool

pytestmark = pytest.mark.slow


async def render(pool: RenderPool, data: bytes) -> str:
    try:
        await pool.render(data, filename="a.ipynb", static_url="/static", max_depth=200)
    except RenderFailed as exc:
        return exc.code
    return "ok"


def run(coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API (the browser tests) keeps an
    event loop running in the main thread for the whole session."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def workers(pool: RenderPool) -> set[int]:
    executor = pool._get()
    return set(executor._processes or {})


@pytest.fixture
def pool():
    pool = RenderPool(workers=1, timeout=300, budget_floor=300)
    pool.warm_up("/static", wait=True)
    yield pool
    pool.close()


def test_time_spent_queued_does_not_count_against_the_timeout(pool):
    """An upload queued behind a worker that stays busy for longer than the timeout still
    renders: its clock starts when its render does. The worker is held by a plain sleep,
    not by another render, so no margin depends on how fast this machine renders."""
    pool.timeout = 5.0  # a warm worker renders the minimal notebook in milliseconds
    held = pool.timeout + 3

    async def scenario():
        start = time.monotonic()
        busy = asyncio.wrap_future(pool._get().submit(time.sleep, held))
        result = await render(pool, nb_bytes(minimal_notebook()))
        waited = time.monotonic() - start
        await busy
        return result, waited

    result, waited = run(scenario())
    assert waited >= held  # it really did queue for longer than the timeout
    assert result == "ok"


def test_a_timeout_stops_only_that_render_and_keeps_the_worker(pool):
    before = workers(pool)

    async def scenario():
        pool.timeout = 0.5
        stuck = asyncio.create_task(render(pool, slow_notebook(2000)))
        await asyncio.sleep(0.1)  # the stuck render has taken its 0.5 s budget by now
        pool.timeout = 60  # the innocent one's budget: a margin for a busy machine
        innocent = asyncio.create_task(render(pool, nb_bytes(minimal_notebook())))
        return await stuck, await innocent

    assert run(scenario()) == ("render_timeout", "ok")
    assert workers(pool) == before  # the worker's own timer stopped it: nothing was killed


def test_a_worker_killed_while_idle_is_replaced_and_the_next_upload_renders(pool):
    for pid in workers(pool):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    pool.timeout = 120  # the replacement starts cold
    assert run(render(pool, nb_bytes(minimal_notebook()))) == "ok"
    assert run(render(pool, nb_bytes(minimal_notebook()))) == "ok"


def test_uploads_running_when_a_worker_dies_are_retried_on_a_fresh_pool():
    pool = RenderPool(workers=2, timeout=120, budget_floor=120)
    pool.warm_up("/static", wait=True)
    try:

        async def scenario():
            data = slow_notebook(500)
            tasks = [asyncio.create_task(render(pool, data)) for _ in range(3)]
            await asyncio.sleep(0.3)
            os.kill(next(iter(workers(pool))), signal.SIGKILL)
            return await asyncio.gather(*tasks)

        assert run(scenario()) == ["ok", "ok", "ok"]
    finally:
        pool.close()
