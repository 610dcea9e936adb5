"""JavaScript outputs of real libraries (issue #4), drawn and interactive inside the
sandboxed frame with no network: every request goes to the nbshare server on loopback,
and any other is refused before it leaves, so a chart that needed a CDN would not draw."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from helpers import open_share, publish_live, start_server
from js_outputs import altair_cell, bokeh_notebook, saved_notebook

pytestmark = pytest.mark.browser

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture
def requests(context) -> list[str]:
    """Every URL the browser asks for; those off loopback are aborted."""
    seen: list[str] = []
    context.on("request", lambda request: seen.append(request.url))

    def only_loopback(route):
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_loopback)
    return seen


def off_loopback(requests: list[str]) -> list[str]:
    return [
        url for url in requests if urlsplit(url).scheme != "data" and urlsplit(url).hostname not in LOOPBACK
    ]


@pytest.fixture(scope="module")
def roomy_server(tmp_path_factory):
    """A server that accepts a bokeh notebook with INLINE resources (BokehJS twice, 8 MB)."""
    folder = tmp_path_factory.mktemp("bokeh-server")
    live = start_server(folder, NBSHARE_MAX_UPLOAD_BYTES=str(32 * 1024 * 1024))
    yield live
    live.stop()


def test_altair_charts_draw_and_answer_the_pointer_offline(server, context, requests):
    charts = saved_notebook([altair_cell("mimetype", "mime bars"), altair_cell("html", "html bars")])
    share = publish_live(server, charts)
    page = context.new_page()
    frame = open_share(page, share["url"])
    # The mime bundle is drawn by content.js; altair's HTML draws itself, through the
    # require.js names the page maps to nbshare's vega.
    drawn = ((".nbs-vega .vega-embed", "mime bars"), ("[id^=altair-viz-].vega-embed", "html bars"))
    for chart, title in drawn:
        bars = frame.locator(f"{chart} svg.marks .mark-rect path")
        bars.nth(2).wait_for()
        assert bars.count() == 3
        assert title in frame.locator(f"{chart} svg.marks").text_content()
        bars.nth(1).hover()
        tooltip = frame.locator("#vg-tooltip-element.visible")
        tooltip.wait_for()
        assert "pears" in tooltip.text_content() and "7" in tooltip.text_content()
        frame.locator("h1").hover()
        tooltip.wait_for(state="hidden")
    assert frame.locator(".nbs-vega .vega-embed details summary").count() == 1  # the actions menu
    assert not off_loopback(requests), off_loopback(requests)
    assert any(url.endswith("/static/vendor/vega-embed.min.js") for url in requests)


def bokeh_state(frame) -> dict:
    return frame.evaluate("""() => {
        const plot = Bokeh.documents[0].roots()[0];
        const box = plot.toolbar.tools.find((tool) => tool.type === "BoxZoomTool");
        return {x: [plot.x_range.start, plot.x_range.end], box_zoom: box.active};
    }""")


def test_a_bokeh_plot_with_inline_bokehjs_draws_and_its_tools_work_offline(roomy_server, context, requests):
    share = publish_live(roomy_server, bokeh_notebook())
    page = context.new_page()
    frame = open_share(page, share["url"])
    frame.get_by_text("successfully loaded").wait_for()
    canvas = frame.locator(".bk-Canvas canvas").first
    canvas.wait_for()
    start = bokeh_state(frame)
    assert not start["box_zoom"]

    frame.locator(".bk-tool-icon-box-zoom").click()  # the toolbar, in bokeh's shadow DOM
    assert bokeh_state(frame)["box_zoom"]
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 150, box["y"] + 80)
    page.mouse.down()
    page.mouse.move(box["x"] + 300, box["y"] + 220, steps=8)
    page.mouse.up()
    zoomed = bokeh_state(frame)["x"]
    assert start["x"][0] < zoomed[0] < zoomed[1] < start["x"][1]

    frame.locator(".bk-tool-icon-reset").click()
    frame.wait_for_function(f"() => Bokeh.documents[0].roots()[0].x_range.start === {start['x'][0]}")
    assert not off_loopback(requests), off_loopback(requests)
