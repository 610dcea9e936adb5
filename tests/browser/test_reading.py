"""What a reader sees and does, in a real browser."""

from __future__ import annotations

from helpers import fixture_bytes, publish_live


def publish_headings(server) -> dict:
    return publish_live(server, fixture_bytes("headings.ipynb"), "headings.ipynb")


def test_a_deep_link_opens_the_notebook_at_that_heading(server, page):
    share = publish_headings(server)
    page.goto(f"{share['url']}#results-1")
    frame = page.frame(name="notebook")
    heading = frame.locator("#results-1")
    heading.wait_for()
    top = frame.evaluate("document.getElementById('results-1').getBoundingClientRect().top")
    assert 0 <= top < 100, "the frame scrolled to the heading"


def test_the_table_of_contents_navigates_the_frame_and_the_address(server, page):
    share = publish_headings(server)
    page.goto(share["url"])
    page.frame(name="notebook").locator("#six").wait_for()
    page.locator("nav.toc a[data-anchor='six']").click()
    page.wait_for_function("location.hash === '#six'")
    frame = page.frame(name="notebook")
    frame.wait_for_function("location.hash === '#six'")
    # The last heading cannot reach the top of a short page; it must be scrolled into view.
    assert frame.evaluate("scrollY") > 0
    top = frame.evaluate("document.getElementById('six').getBoundingClientRect().top")
    assert 0 <= top < frame.evaluate("innerHeight")


def test_the_download_button_gives_the_exact_original(server, page):
    share = publish_headings(server)
    page.goto(share["url"])
    with page.expect_download() as download:
        page.locator("#download").click()
    path = download.value.path()
    assert path is not None and open(path, "rb").read() == fixture_bytes("headings.ipynb")
    assert download.value.suggested_filename == "headings.ipynb"
