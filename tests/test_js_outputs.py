"""JavaScript outputs made by real libraries (issue #4): altair's Vega-Lite charts, drawn
with nbshare's own vega, and bokeh plots that carry BokehJS. The browser half is in
tests/browser/test_charts.py."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from helpers import minimal_notebook, nb_bytes, published
from js_outputs import altair_cell, bokeh_notebook, saved_notebook
from nbshare.errors import BadNotebook
from nbshare.notebook import parse

HOSTILE = "</script><!--<script>alert(1)</script>&amp;"
V6 = "application/vnd.vegalite.v6.json"  # what altair 6 writes
V5 = "application/vnd.vegalite.v5+json"  # what altair 5 writes


def spec_mime(outputs: list) -> str:
    return next(mime for mime in outputs[0]["data"] if mime.startswith("application/vnd.vegalite."))


def altair_notebook() -> tuple[bytes, dict]:
    """Charts from altair's "mimetype" renderer, labelled as altair 6 and altair 5 label
    them, and from its "html" renderer; and the spec, its third bar named with markup."""
    source, outputs = altair_cell("mimetype", third=HOSTILE)
    spec = outputs[0]["data"].pop(spec_mime(outputs))
    older = json.loads(json.dumps(outputs))
    outputs[0]["data"][V6] = spec
    older[0]["data"][V5] = spec
    older[0]["metadata"] = {V5: {"embed_options": {"actions": False}}}
    return saved_notebook([(source, outputs), (source, older), altair_cell("html")]), spec


def content(client, data: bytes) -> str:
    return client.get(f"/n/{published(client, data)['id']}/content").text


def loaded_urls(soup: BeautifulSoup) -> list[str]:
    """What the page itself fetches: scripts, styles, images, frames."""
    tags = soup.find_all(["script", "link", "img", "iframe"])
    return [str(tag.get("src") or tag.get("href")) for tag in tags if tag.get("src") or tag.get("href")]


def test_vega_lite_charts_carry_their_spec_and_load_vega_from_static(client):
    data, spec = altair_notebook()
    html = content(client, data)
    soup = BeautifulSoup(html, "html.parser")

    charts = soup.select(".nbs-vega")
    assert [c["data-mime-type"] for c in charts] == [V6, V5]
    embeds = [json.loads(c.find("script", type="application/json").string) for c in charts]
    assert embeds[0] == {"mode": "vega-lite", "spec": spec, "options": {}}
    assert embeds[1] == {"mode": "vega-lite", "spec": spec, "options": {"actions": False}}
    # The markup in the data cannot end or reopen the element that carries it.
    assert HOSTILE not in html and "<!--<script>" not in html
    assert len(soup.find_all("script", string=re.compile("alert"))) == 2

    # require.js resolves vega, vega-lite and vega-embed to nbshare's copies, before any
    # output asks; the "html" renderer's output is left as altair wrote it.
    config = soup.head.find("script", string=re.compile("require.config"))
    assert config is not None
    for name in ("vega", "vega-lite", "vega-embed"):
        assert f'"nbshare-{name}": "/static/vendor/{name}.min"' in config.string
        assert f'"{name}": "nbshare-{name}"' in config.string
    assert soup.find("script", src="/static/content.js") is not None
    assert "requirejs.config({paths})" in html

    assert all(urlsplit(url).netloc == "" for url in loaded_urls(soup)), loaded_urls(soup)
    for name in ("vega", "vega-lite", "vega-embed"):
        r = client.get(f"/static/vendor/{name}.min.js")
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
        assert "define.amd" in r.text  # the UMD build require.js can load


def test_pages_without_vega_outputs_do_not_configure_it(client):
    assert "nbshare-vega" not in content(client, nb_bytes(minimal_notebook()))


def test_altair_6_specs_pass_validation_as_objects_only():
    """nbformat wants text under a mime type without `+json`; altair 6 saves an object."""
    source, outputs = altair_cell("mimetype")
    outputs[0]["data"][V6] = outputs[0]["data"].pop(spec_mime(outputs))
    parse(saved_notebook([(source, outputs)]))
    outputs[0]["data"][V6] = 5
    with pytest.raises(BadNotebook, match="not valid"):
        parse(saved_notebook([(source, outputs)]))


def test_bokeh_with_inline_resources_runs_its_own_bokehjs(client):
    html = content(client, bokeh_notebook())
    soup = BeautifulSoup(html, "html.parser")
    # nbconvert picks application/javascript over the bokehjs mime types it does not
    # know: the loader (BokehJS itself, about 4 MB) and the call that draws the plot.
    scripts = [s.string or "" for s in soup.select('[data-mime-type="application/javascript"] script')]
    assert len(scripts) == 2
    assert "Bokeh" in scripts[0] and len(scripts[0]) > 1_000_000
    assert "embed_items_notebook" in scripts[1]
    assert soup.select_one("[data-root-id]") is not None
    assert all(urlsplit(url).netloc == "" for url in loaded_urls(soup)), loaded_urls(soup)
    assert "nbshare-vega" not in html
