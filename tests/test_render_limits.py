"""Inputs that used to cost time out of all proportion to their size (issue 10, items 4
and 19), and the limits that keep one uploader from holding the render pool.

Renders go through a real pool whose worker timer is the hang guard: the inputs are
sized so the old code ran for minutes, and the new code takes seconds. No assertion is
about time."""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from bs4 import BeautifulSoup
from nbconvert.filters.strings import strip_files_prefix as nbconvert_strip_files_prefix

from conftest import minimal_notebook, nb_bytes
from nbshare.render.files_prefix import strip_files_prefix
from nbshare.render.pool import RenderPool

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
    nb = minimal_notebook()
    nb["cells"] = [{"cell_type": "markdown", "id": f"c{i}", "metadata": {}, "source": source}
                   for i, source in enumerate(sources)]
    return nb_bytes(nb)


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


@pytest.mark.parametrize("text", [
    '<a href="files/a.csv">a</a> <img src=\'/files/b.png\'>',
    "[x](files/a.csv) ![y](/files/b.png) [z](other/files/c)",
    "![[x](files/a) and [b](files/c)](d)",
    "[no target here\n](files/x)",
    "[a](files/b\n) [c](files/d)",
    "[one](files/x [two](files/y)",
])
def test_strip_files_prefix_matches_nbconvert(text):
    assert strip_files_prefix(text) == nbconvert_strip_files_prefix(text)


def test_strip_files_prefix_matches_nbconvert_on_random_text():
    pieces = ["[", "]", "(", ")", "!", "/", "a", " ", "\n", "files/", "](files/", "](/files/", "![",
              'src="files/', "href=files/"]
    rng = random.Random(10)  # noqa: S311 - reproducible test input, not a secret
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 16)))
        assert strip_files_prefix(text) == nbconvert_strip_files_prefix(text), text
