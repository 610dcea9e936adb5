"""The share page's "Open in my Jupyter" in Chromium, against a real Jupyter Server with
nbshare's extension: the reader is asked once for their Jupyter's address, the browser
remembers it, and the button's tab lands on the copy in JupyterLab; an operator's
`jupyter_url` fills the address in for everyone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from helpers import ZIP_TYPE, markdown, notebook, publish_live, start_server, zip_of
from jupyter_helpers import jupyter_env, start_jupyter

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory, server):
    folder = tmp_path_factory.mktemp("jupyter")
    (folder / "root").mkdir()
    live = start_jupyter(folder / "root", jupyter_env(folder, server.url), folder / "jupyter.log")
    yield live
    live.stop()


def signed_in(context, jupyter) -> None:
    """The reader is signed in to their Jupyter in this browser (the token once, then a cookie)."""
    page = context.new_page()
    assert page.goto(f"{jupyter.url}api/status?token={jupyter.token}").ok
    page.close()


def open_in_jupyter(context, page):
    """Click the button; the tab it opens, once it has landed in JupyterLab."""
    page.locator("#clone summary, #clone-heading").first.click()  # a notebook's is folded
    with context.expect_page() as opened:
        page.locator("#open-in-jupyter").click()
    tab = opened.value
    tab.locator("#open-copy").click(timeout=120_000)  # the extension asks before writing anything
    try:
        tab.wait_for_url(re.compile(r".*/lab/tree/.*"), wait_until="commit", timeout=120_000)
    except PlaywrightTimeout:
        raise AssertionError(f"never reached JupyterLab; the tab shows {tab.url}:\n{tab.content()}") from None
    return tab


def test_the_reader_is_asked_once_and_the_copy_opens_in_their_jupyter(context, server, jupyter):
    data = notebook(markdown("# Opened from the page"))
    share = publish_live(server, data, "from-page.ipynb")
    signed_in(context, jupyter)
    page = context.new_page()
    asked = []
    page.on("dialog", lambda d: (asked.append(d.message), d.accept(jupyter.url)))
    page.goto(share["url"])

    tab = open_in_jupyter(context, page)
    assert tab.url == f"{jupyter.url}lab/tree/from-page/from-page.ipynb"
    assert (jupyter.root / "from-page" / "from-page.ipynb").read_bytes() == data
    assert len(asked) == 1 and "localhost:8888" in asked[0]
    stored = page.evaluate("localStorage.getItem('nbshare.jupyterUrl')")
    assert stored == jupyter.url.rstrip("/")
    assert page.locator("#jupyter-address").is_visible()

    # Remembered: a second reading of the page opens a second copy without asking.
    page.reload()
    again = open_in_jupyter(context, page)
    assert again.url == f"{jupyter.url}lab/tree/from-page-2/from-page.ipynb"
    assert len(asked) == 1


def test_the_operators_jupyter_url_is_used_without_asking(context, tmp_path, jupyter):
    operated = start_server(tmp_path, NBSHARE_JUPYTER_URL=jupyter.url)
    try:
        folder = {"README.md": b"# Read me first\n", "analysis.ipynb": notebook(markdown("# Analysis"))}
        with_readme = publish_live(operated, zip_of(folder), "analysis.zip", content_type=ZIP_TYPE)
        signed_in(context, jupyter)
        page = context.new_page()
        asked = []
        page.on("dialog", lambda d: (asked.append(d.message), d.dismiss()))
        page.goto(with_readme["url"])
        assert not page.locator("#jupyter-address").is_visible()
        tab = open_in_jupyter(context, page)
        assert tab.url.startswith(f"{jupyter.url}lab/tree/") and tab.url.endswith("/README.md")
        assert asked == []
    finally:
        operated.stop()


def test_a_protected_share_asks_for_its_password_in_the_readers_jupyter(context, server, jupyter):
    """The reader unlocked the share page; their Jupyter is another client, so it asks too,
    in its own form, and the copy opens once the password is right."""
    data = notebook(markdown("# Behind a password"))
    share = publish_live(server, data, "locked-page.ipynb", headers={"X-Nbshare-Password": "open sesame"})
    signed_in(context, jupyter)
    page = context.new_page()
    page.on("dialog", lambda d: d.accept(jupyter.url))
    page.goto(share["url"])
    page.fill("#password", "open sesame")
    page.click("button[type=submit]")
    page.wait_for_url(share["url"])
    page.locator("#clone summary, #clone-heading").first.click()
    with context.expect_page() as opened:
        page.locator("#open-in-jupyter").click()
    tab = opened.value
    tab.locator("#open-copy").click(timeout=120_000)
    tab.fill("input[name=password]", "not it", timeout=120_000)
    tab.locator("button[type=submit]").click()
    tab.get_by_text("Wrong password.").wait_for(timeout=120_000)
    assert not (jupyter.root / "locked-page").exists()
    tab.fill("input[name=password]", "open sesame")
    tab.locator("button[type=submit]").click()
    tab.wait_for_url(
        re.compile(r".*/lab/tree/locked-page/locked-page\.ipynb$"), wait_until="commit", timeout=120_000
    )
    assert (jupyter.root / "locked-page" / "locked-page.ipynb").read_bytes() == data
