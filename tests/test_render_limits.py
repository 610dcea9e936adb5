"""Inputs that used to cost time out of all proportion to their size (issue 10, items 4
and 19), and the limits that keep one uploader from holding the render pool.

Renders go through a real pool whose worker timer is the hang guard: the inputs are
sized so the old code ran for minutes, and the new code takes seconds. No assertion is
about time."""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from nbconvert.filters.strings import strip_files_prefix as nbconvert_strip_files_prefix

from helpers import PUBLIC_URL, TEST_HOSTS, markdown, minimal_notebook, nb_bytes, notebook
from nbshare.app import create_app
from nbshare.errors import NbshareError
from nbshare.render.files_prefix import strip_files_prefix
from nbshare.render.pool import RenderPool
from nbshare.render.quota import RendersPerClient, WorkerShares
from nbshare.settings import Settings

HANG_GUARD = 60.0  # seconds of rendering before the worker gives up: never reached when fixed


def run(coroutine):
    """asyncio.run in a thread of its own (the browser tests hold the main thread's loop)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def pool():
    pool = RenderPool(workers=1, timeout=HANG_GUARD, budget_floor=HANG_GUARD)
    pool.warm_up("/static", wait=True)
    yield pool
    pool.close()


def markdown_notebook(*sources: str) -> bytes:
    return notebook(*(markdown(source, f"c{i}") for i, source in enumerate(sources)))


def render(pool: RenderPool, data: bytes):
    return run(pool.render(data, filename="a.ipynb", static_url="/static", max_depth=64))


def test_forty_thousand_identical_headings_get_unique_anchors(pool):
    # Each anchor used to be found by trying -1, -2, ... in turn: n² probes, minutes here.
    page = render(pool, markdown_notebook("\n\n".join(["## Same"] * 40_000)))
    anchors = [entry.anchor for entry in page.toc]
    assert len(anchors) == 40_000
    assert anchors[:3] == ["same", "same-1", "same-2"]
    assert anchors[-1] == "same-39999"
    assert len(set(anchors)) == len(anchors)


def test_sixty_thousand_open_links_render(pool):
    # nbconvert's strip_files_prefix regex scanned to the end of the line from every `[`.
    page = render(pool, markdown_notebook("[a](" * 60_000 + "\n\n[data](files/data/x.csv)"))
    links = BeautifulSoup(page.html, "html.parser").select("a[href='data/x.csv']")
    assert [a.text for a in links] == ["data"]  # the files/ prefix is still stripped


def test_two_hundred_thousand_open_brackets_render(pool):
    # Item 4: 60 KB of `[` held a worker for the whole render timeout (the same regex).
    page = render(pool, markdown_notebook("[" * 200_000, "# After"))
    assert [entry.text for entry in page.toc] == ["After"]


@pytest.mark.parametrize(
    "text",
    [
        "<a href=\"files/a.csv\">a</a> <img src='/files/b.png'>",
        "[x](files/a.csv) ![y](/files/b.png) [z](other/files/c)",
        "![[x](files/a) and [b](files/c)](d)",
        "[no target here\n](files/x)",
        "[a](files/b\n) [c](files/d)",
        "[one](files/x [two](files/y)",
    ],
)
def test_strip_files_prefix_matches_nbconvert(text):
    assert strip_files_prefix(text) == nbconvert_strip_files_prefix(text)


def test_strip_files_prefix_matches_nbconvert_on_random_text():
    pieces = [
        "[",
        "]",
        "(",
        ")",
        "!",
        "/",
        "a",
        " ",
        "\n",
        "files/",
        "](files/",
        "](/files/",
        "![",
        'src="files/',
        "href=files/",
    ]
    rng = random.Random(10)  # noqa: S311 - reproducible test input, not a secret
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 16)))
        assert strip_files_prefix(text) == nbconvert_strip_files_prefix(text), text


# --- item 4: one uploader cannot hold the pool ---------------------------------------------


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    """Poll until `condition()` holds; the limit is a hang guard for a busy machine."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


class WatchedPool(RenderPool):
    """A real pool that counts the renders it has been asked for, and holds them at a
    gate while `gate` is closed, so uploads stay in flight as long as a test needs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()
        self.started = 0

    async def render(self, data, **options):
        with self._lock:
            self.started += 1
        while not self.gate.is_set():
            await asyncio.sleep(0.02)
        return await super().render(data, **options)


def from_clients(app):
    """The app, with each request's client address taken from a test-only header: one
    in-process app, several clients."""

    async def wrapped(scope, receive, send):
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"x-test-client")
            if host:
                scope = {**scope, "client": (host.decode(), 1)}
        await app(scope, receive, send)

    return wrapped


def upload(client, data: bytes, who: str):
    return client.post(
        "/api/v1/shares",
        params={"filename": "nb.ipynb"},
        content=data,
        headers={"Content-Type": "application/x-ipynb+json", "X-Test-Client": who},
    )


@pytest.fixture
def one_worker(tmp_path):
    """An app on a real pool of one worker, with default budgets; the pool beside it."""
    pool = WatchedPool(workers=1, timeout=60)
    app = create_app(
        Settings(
            data_dir=tmp_path / "d", public_url=PUBLIC_URL, max_renders_per_client=2, allowed_hosts=TEST_HOSTS
        ),
        renderer=pool,
    )
    try:
        with TestClient(from_clients(app)) as client:
            yield app, pool, client
    finally:
        pool.close()


# mistune with nbconvert's math plugin takes time quadratic in repeated `\begin{a}`:
# 360 KB of them cost minutes of CPU, long past the whole notebook's budget.
QUADRATIC_MARKDOWN = "\\begin{a}" * 40_000


def test_a_pathological_markdown_cell_is_shown_as_text_and_the_next_upload_renders(one_worker):
    app, pool, client = one_worker
    with ThreadPoolExecutor(1) as attacker:
        attack = attacker.submit(upload, client, markdown_notebook("# Before", QUADRATIC_MARKDOWN), "6.6.6.6")
        wait_for(lambda: pool.started == 1, "the attacker's render to start")
        normal = upload(client, nb_bytes(minimal_notebook()), "1.1.1.1")
        attacked = attack.result()
    assert normal.status_code == 201, normal.text
    assert attacked.status_code == 201, attacked.text  # the share works
    page = client.get(f"/n/{attacked.json()['id']}/content")
    soup = BeautifulSoup(page.content, "html.parser")
    shown = soup.select_one("pre.nbs-markdown-source")
    assert shown is not None and shown.text == QUADRATIC_MARKDOWN  # as text, escaped
    assert soup.select_one("h1").get("id") == "before"  # the other cells render as usual


def test_a_third_upload_in_flight_from_one_client_is_refused_and_others_go_through(one_worker):
    app, pool, client = one_worker
    notebook = nb_bytes(minimal_notebook())
    pool.gate.clear()  # every render waits until the test opens the gate
    with ThreadPoolExecutor(4) as uploads:
        mine = [uploads.submit(upload, client, notebook, "6.6.6.6") for _ in range(2)]
        wait_for(lambda: pool.started == 2, "two renders from one client")
        third = uploads.submit(upload, client, notebook, "6.6.6.6")
        wait_for(lambda: third.done() or pool.started == 3, "the third upload to be refused")
        other = uploads.submit(upload, client, notebook, "1.1.1.1")
        wait_for(lambda: pool.started >= 3, "another client's render to start")
        refused = third.result() if third.done() else None
        pool.gate.set()
        results = [f.result() for f in (*mine, other)]
    assert refused is not None and refused.status_code == 429, "the third upload was rendered"
    assert refused.json()["error"]["code"] == "too_many_renders"
    assert "wait until one of them is done" in refused.json()["error"]["message"]
    assert [r.status_code for r in results] == [201, 201, 201]
    assert app.state.service.metadata.count()[0] == 3  # nothing stored for the refused one
    assert upload(client, notebook, "6.6.6.6").status_code == 201  # its slots are free again


def hold_a_worker(folder: str) -> None:
    """Runs in a render worker: says it holds one, and keeps it until the test lets go."""
    Path(folder, f"held-{os.getpid()}-{time.monotonic_ns()}").touch()
    while not Path(folder, "release").exists():
        time.sleep(0.02)


class HoldingPool(RenderPool):
    """A real pool where each render of the attacker's notebook first holds a worker
    process, for as long as the test wants: a render exactly as slow as needed."""

    def __init__(self, folder: Path, attack: bytes, **kwargs):
        super().__init__(**kwargs)
        self.folder, self.attack = folder, attack

    def holding(self) -> int:
        return len(list(self.folder.glob("held-*")))

    async def _run(self, executor, data, options, timeout):
        if data == self.attack:
            await asyncio.wrap_future(executor.submit(hold_a_worker, str(self.folder)))
        return await super()._run(executor, data, options, timeout)


def test_a_client_at_its_limit_leaves_a_worker_for_everybody_else(tmp_path):
    """Before, one client's uploads in flight (as many as the workers) held every worker,
    and everybody else's upload waited for them to finish (here: past its own budget)."""
    attack = nb_bytes(minimal_notebook(title="attack"))
    folder = tmp_path / "held"
    folder.mkdir()
    pool = HoldingPool(folder, attack, workers=2, timeout=60)
    pool.warm_up("/static", wait=True)
    app = create_app(
        Settings(data_dir=tmp_path / "d", public_url=PUBLIC_URL, allowed_hosts=TEST_HOSTS), renderer=pool
    )
    limit = app.state.settings.max_renders_per_client
    assert limit >= pool.workers  # the default: a client's uploads could fill the pool
    release = folder / "release"
    try:
        with TestClient(from_clients(app)) as client, ThreadPoolExecutor(limit + 1) as uploads:
            try:
                mine = [uploads.submit(upload, client, attack, "6.6.6.6") for _ in range(limit)]
                renders = app.state.service.renders
                wait_for(lambda: renders.running("6.6.6.6") == limit and pool.holding() >= 1, "the attack")
                refused = upload(client, attack, "6.6.6.6")  # at its limit
                assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_renders"
                normal = uploads.submit(upload, client, nb_bytes(minimal_notebook()), "1.1.1.1")
                wait_for(normal.done, "the other client's upload", timeout=120)
                assert normal.result().status_code == 201, normal.result().text
                assert not any(f.done() for f in mine)  # the attacker's renders are all still going
                assert pool.holding() == pool.workers - 1  # and never held more workers than that
            finally:
                release.touch()  # before the uploads' threads are waited for
            assert [f.result().status_code for f in mine] == [201] * limit
    finally:
        release.touch()
        pool.close()


def test_one_ipv6_network_is_one_client():
    quota = RendersPerClient(1)
    with quota.slot("2001:db8:1:2::1"):
        with pytest.raises(NbshareError) as refused:
            with quota.slot("2001:db8:1:2:ffff::9"):  # another address of the same /64
                pass
        assert refused.value.code == "too_many_renders"
        with quota.slot("2001:db8:1:3::1"), quota.slot("10.0.0.1"):  # other clients
            assert quota.running("2001:db8:1:2::abcd") == 1
    assert quota.running("2001:db8:1:2::1") == 0


def test_a_client_takes_turns_for_all_workers_but_one():
    """A bundle's notebooks render side by side: within one upload too, one client's
    renders hold at most all workers but one."""
    quota, shares = RendersPerClient(5), WorkerShares(3)
    order: list[str] = []

    async def render(name: str, done: asyncio.Event | None = None) -> None:
        async with shares.turn():
            order.append(f"{name} starts")
            if done is not None:
                await done.wait()
            order.append(f"{name} ends")

    async def scene() -> None:
        first, second = asyncio.Event(), asyncio.Event()
        with quota.slot("2001:db8::1"):
            a = asyncio.create_task(render("a", first))
            b = asyncio.create_task(render("b", second))
            c = asyncio.create_task(render("c"))
            while len(order) < 2:
                await asyncio.sleep(0.01)
            assert shares.holding("2001:db8::7") == 2 and order == ["a starts", "b starts"]
            with quota.slot("10.0.0.1"):
                await render("other")  # another client is not held up
            first.set()
            while "c ends" not in order:
                await asyncio.sleep(0.01)
            second.set()
            await asyncio.gather(a, b, c)
        assert order.index("c starts") > order.index("a ends")
        assert order.index("other ends") < order.index("a ends")

    async def within_a_minute() -> None:  # a hang guard: the scene takes milliseconds
        async with asyncio.timeout(60):
            await scene()

    run(within_a_minute())
    assert WorkerShares(1).share == 1 and WorkerShares(2).share == 1
