"""Rendering details: offline assets, plotly figures, anchors, the pure render function."""

from __future__ import annotations

import json
import re

import pytest
from bs4 import BeautifulSoup

from helpers import fixture_bytes, markdown, notebook, plotly_cell, publish
from nbshare.errors import BadNotebook
from nbshare.render import render_page
from nbshare.render.headings import HeadingIndex, slugify

PLOTLY_FIGURE = {
    # `</script>` would end the element; `<!--<script>` would keep it open past its end tag.
    "data": [
        {"type": "bar", "y": [2, 3, 1], "name": "</script><script>alert(1)</script>"},
        {"type": "bar", "y": [1], "name": "<!--<script> & more"},
    ],
    "layout": {"title": {"text": "bars"}},
}


def plotly_notebook() -> bytes:
    cdn = "<script src='https://cdn.plot.ly/plotly-latest.min.js'></script>"
    return notebook(plotly_cell(PLOTLY_FIGURE, html=cdn))


def test_plotly_figures_render_from_json_with_local_plotly():
    page = render_page(plotly_notebook(), filename="p.ipynb", static_url="/static")
    soup = BeautifulSoup(page.html, "html.parser")
    holder = soup.select_one(".nbs-plotly script[type='application/vnd.plotly.v1+json']")
    assert holder is not None
    assert json.loads(holder.string) == PLOTLY_FIGURE  # content intact
    assert not re.search(r"[<>&]", holder.string)  # escaped as \u003c, \u003e, \u0026
    assert b"cdn.plot.ly" not in page.html  # the CDN-loading HTML fallback is not used
    assert soup.find("script", src="/static/content.js") is not None


def test_mathjax_config_file_is_served(client):
    share_id = publish(client, fixture_bytes("headings.ipynb")).json()["id"]
    html = client.get(f"/n/{share_id}/content").text
    src = re.search(r'<script src="(/static/mathjax/MathJax\.js\?config=([^,"]+)[^"]*)"', html)
    assert src, "MathJax is loaded from /static"
    assert client.get(f"/static/mathjax/config/{src.group(2)}.js").status_code == 200
    assert client.get("/static/vendor/plotly.min.js").headers["access-control-allow-origin"] == "*"


def test_slugs_are_readable_and_unicode():
    assert slugify("Hello, World!") == "hello-world"
    assert slugify("  Résumé des données ") == "résumé-des-données"
    assert slugify("数据 分析") == "数据-分析"
    assert slugify("ﬁne") == "fine"  # NFKC folds compatibility characters
    assert slugify("!!!") == ""


def test_heading_index_makes_unique_anchors_and_avoids_reserved_ones():
    index = HeadingIndex(reserved={"cell-1"})
    html = index.annotate("<h2>Cell 1</h2><h2>Results</h2><h3 id='mine'>Results</h3><h4></h4>")
    assert [e.anchor for e in index.entries] == ["cell-1-1", "results", "results-1", "section"]
    assert "id='mine'" not in html and html.count('class="anchor-link"') == 4


def test_cells_without_ids_get_positional_permalinks():
    page = render_page(fixture_bytes("v3.ipynb"), filename="v3.ipynb", static_url="/static")
    soup = BeautifulSoup(page.html, "html.parser")
    assert [a["href"] for a in soup.select("a.nbs-cell-link")] == ["#cell-1", "#cell-2", "#cell-3"]


def test_missing_attachment_renders_as_broken_image_not_an_error():
    data = notebook(markdown("![x](attachment:gone.png)"))
    page = render_page(data, filename="a.ipynb", static_url="/static")
    assert b'src="attachment:gone.png"' in page.html


def test_render_page_rejects_bad_input_with_readable_errors():
    with pytest.raises(BadNotebook, match="not valid JSON"):
        render_page(b"{nope", filename="x.ipynb", static_url="/static")


def test_images_are_lazy_and_sized_from_their_headers():
    import base64 as b64
    import struct

    from nbshare.render.images import image_size, lazy_images, pixel_size

    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", 640, 480) + b"\x08\x02\x00\x00\x00"
    gif = b"GIF89a" + struct.pack("<HH", 32, 16) + b"\x00" * 8
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 9  # an APP0 block, then the frame header
    jpeg += b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", 300, 200) + b"\x00" * 12
    enc = lambda data: b64.b64encode(data).decode()  # noqa: E731
    assert pixel_size(enc(png), "image/png") == (640, 480)
    assert pixel_size(enc(gif), "image/gif") == (32, 16)
    assert pixel_size(enc(jpeg), "image/jpeg") == (200, 300)
    assert pixel_size("not base64!", "image/png") is None
    # The notebook's own display size wins; one side given keeps the aspect ratio.
    output = {"data": {"image/png": enc(png)}, "metadata": {"image/png": {"width": 320}}}
    assert image_size(output, "image/png") == {"width": "320", "height": "240"}
    plain = {"data": {"image/png": enc(png)}, "metadata": {}}
    assert image_size(plain, "image/png") == {"width": "640", "height": "480"}
    assert lazy_images('<p><img src="a.png" alt="a"> <img loading="eager" src="b.png"></p>') == (
        '<p><img loading="lazy" decoding="async" src="a.png" alt="a"> <img loading="eager" src="b.png"></p>'
    )


def test_attachments_with_spaces_and_other_scripts_in_their_names_show():
    """mistune percent-encodes image URLs before nbconvert looks the attachment up."""
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    cell = markdown("![a](<attachment:图 2.png>) ![b](attachment:image%201.png)", "a")
    cell["attachments"] = {"image 1.png": {"image/png": png}, "图 2.png": {"image/png": png}}
    page = render_page(notebook(cell), filename="a.ipynb", static_url="/static")
    images = BeautifulSoup(page.html, "html.parser").select(".jp-RenderedMarkdown img")
    assert [img["src"] for img in images] == [f"data:image/png;base64,{png}"] * 2
