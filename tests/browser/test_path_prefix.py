"""A share of a server under a path prefix (http://127.0.0.1:PORT/services/nbshare), read in
Chromium: the notebook renders in its frame, the table of contents and the frame's links
work (share.js and content.js ran, with the prefix), and the page never asks for anything
outside the prefix."""

from __future__ import annotations

import pytest

from helpers import (
    clean_env,
    fixture_bytes,
    markdown,
    notebook,
    notebook_frame,
    open_share,
    publish_live,
    start_server,
    zip_of,
)

PREFIX = "/services/nbshare"
PASSWORD = "prefix-password-1"  # noqa: S105 - a test's password
STUDY = zip_of(
    {
        "README.md": b"# Study\nStart with [the analysis](analysis.ipynb).",
        "analysis.ipynb": notebook(markdown("# Analysis\n## Results\nSee [the report](report.ipynb).", "a")),
        "report.ipynb": notebook(markdown("# Report", "r")),
    }
)


@pytest.fixture(scope="module")
def prefixed(tmp_path_factory):
    live = start_server(tmp_path_factory.mktemp("prefixed-browser"), env=clean_env(), prefix=PREFIX)
    yield live
    live.stop()


@pytest.fixture
def requests(page) -> list[str]:
    """Every URL the page and its frames ask for."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def assert_all_under_prefix(server, requests: list[str]) -> None:
    fetched = [url for url in requests if not url.startswith(("data:", "blob:", "about:"))]
    assert fetched
    outside = [url for url in fetched if not url.startswith(f"{server.url}/")]
    assert outside == [], outside
    assert any(url.startswith(f"{server.url}/static/") for url in fetched), fetched


def test_a_prefixed_share_renders_its_contents_work_and_nothing_leaves_the_prefix(prefixed, page, requests):
    share = publish_live(prefixed, fixture_bytes("headings.ipynb"), "headings.ipynb")
    assert share["url"].startswith(f"{prefixed.url}/n/")
    frame = open_share(page, share["url"])
    frame.locator("#six").wait_for()  # the notebook rendered in the sandboxed frame

    # share.js ran: its buttons are shown, and the table of contents moves the frame.
    assert page.locator("#copy-link").is_visible()
    page.locator("nav.toc a[data-anchor='six']").click()
    page.wait_for_function("location.hash === '#six'")
    page.frame(name="notebook").wait_for_function("location.hash === '#six'")
    assert_all_under_prefix(prefixed, requests)


def test_a_prefixed_bundles_links_open_its_notebooks_from_inside_the_frame(prefixed, page, requests):
    share = publish_live(prefixed, STUDY, "study.zip", content_type="application/zip")
    readme = open_share(page, share["url"])
    # content.js asks the page to open the link; share.js checks it against the prefixed share.
    readme.locator("a", has_text="the analysis").click()
    page.wait_for_url(f"{share['url']}/nb/analysis.ipynb")
    analysis = notebook_frame(page)
    analysis.locator("a", has_text="the report").click()
    page.wait_for_url(f"{share['url']}/nb/report.ipynb")
    notebook_frame(page).locator("h1", has_text="Report").wait_for()
    assert_all_under_prefix(prefixed, requests)


def test_a_prefixed_protected_share_unlocks_with_a_cookie_under_the_prefix(prefixed, page, context, requests):
    share = publish_live(
        prefixed,
        fixture_bytes("headings.ipynb"),
        "headings.ipynb",
        headers={"X-Nbshare-Password": PASSWORD},
    )
    page.goto(share["url"])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(share["url"])
    notebook_frame(page).locator("#six").wait_for()
    assert {c["path"] for c in context.cookies()} == {f"{PREFIX}/"}
    assert_all_under_prefix(prefixed, requests)
