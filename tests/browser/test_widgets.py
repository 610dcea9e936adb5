"""ipywidgets with saved state: drawn by nbshare's widget manager inside the sandboxed
frame, interactive there, and with the manager's icon fonts loading from /static.

The notebook is written by hand in the shape ipywidgets 8 saves (widget state 2.0,
@jupyter-widgets/base and /controls 2.0.0 models), which is what the bundled
@jupyter-widgets/html-manager 1.0.15 draws: a slider whose value a jslink copies to an
IntText and back, a dropdown, and a button with a Font Awesome icon.
"""

from __future__ import annotations

import json

import httpx
import pytest

from helpers import CORPUS, markdown, needs_corpus, notebook, open_share, output_cell, publish_live

STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
BASE, CONTROLS = "@jupyter-widgets/base", "@jupyter-widgets/controls"
# The Font Awesome 5 solid face (the button's icon), as the manager names it.
SOLID_WOFF2 = "1551f4f60c37af51121f.woff2"


def model(name: str, module: str, **state) -> dict:
    return {"model_name": name, "model_module": module, "model_module_version": "2.0.0", "state": state}


def view_cell(model_id: str, text: str) -> dict:
    view = {"version_major": 2, "version_minor": 0, "model_id": model_id}
    return output_cell({VIEW_MIME: view, "text/plain": text}, model_id, source=model_id)


def widget_notebook() -> bytes:
    state = {
        **{f"layout-{n}": model("LayoutModel", BASE) for n in ("slider", "copy", "pick", "ok")},
        "style-slider": model("SliderStyleModel", CONTROLS, description_width=""),
        "style-copy": model("DescriptionStyleModel", CONTROLS, description_width=""),
        "style-pick": model("DescriptionStyleModel", CONTROLS, description_width=""),
        "style-ok": model("ButtonStyleModel", CONTROLS),
        "slider": model(
            "IntSliderModel",
            CONTROLS,
            value=5,
            min=0,
            max=10,
            step=1,
            description="n",
            readout=True,
            continuous_update=True,
            layout="IPY_MODEL_layout-slider",
            style="IPY_MODEL_style-slider",
        ),
        "copy": model(
            "IntTextModel",
            CONTROLS,
            value=5,
            description="copy",
            layout="IPY_MODEL_layout-copy",
            style="IPY_MODEL_style-copy",
        ),
        # widgets.jslink((slider, "value"), (copy, "value")): runs in the browser, no kernel.
        "link": model(
            "LinkModel", CONTROLS, source=["IPY_MODEL_slider", "value"], target=["IPY_MODEL_copy", "value"]
        ),
        "pick": model(
            "DropdownModel",
            CONTROLS,
            _options_labels=["alpha", "beta", "gamma"],
            index=0,
            description="pick",
            layout="IPY_MODEL_layout-pick",
            style="IPY_MODEL_style-pick",
        ),
        "ok": model(
            "ButtonModel",
            CONTROLS,
            description="ok",
            icon="check",
            layout="IPY_MODEL_layout-ok",
            style="IPY_MODEL_style-ok",
        ),
    }
    cells = [
        markdown("# Widgets", "intro"),
        view_cell("slider", "IntSlider(value=5, description='n', max=10)"),
        view_cell("copy", "IntText(value=5, description='copy')"),
        view_cell("pick", "Dropdown(description='pick', options=('alpha', 'beta', 'gamma'), value='alpha')"),
        view_cell("ok", "Button(description='ok', icon='check', style=ButtonStyle())"),
    ]
    saved = {"version_major": 2, "version_minor": 0, "state": state}
    return notebook(*cells, title="Widgets", widgets={STATE_MIME: saved})


def watch_fonts(page) -> tuple[list, list]:
    """(responses, failures) of every font the page or its frame asks for. MathJax's probe
    for a blank font (`url(about:blank)`) fails by design and is left out."""
    loaded, failed = [], []

    def response(r):
        if r.request.resource_type == "font":
            loaded.append((r.url, r.status, r.headers))

    def failure(r):
        if r.resource_type == "font" and r.url != "about:blank":
            failed.append((r.url, r.failure))

    page.on("response", response)
    page.on("requestfailed", failure)
    return loaded, failed


def test_saved_widgets_are_drawn_and_respond_inside_the_sandbox(server, page):
    """The slider, its linked copy and the dropdown draw in the frame's opaque origin and
    answer the keyboard, the mouse and typing; the button's icon font loads.

    Checked: without the require.js paths in render/templates/nbshare/index.html.j2 (on
    a weakened copy, as in test_containment.py), the manager asked for its fonts under
    /n/<id>/@jupyter-widgets/, which answers 404 without a CORS header; the font never
    loaded and this test and the corpus one failed (the corpus one on
    ".../n/<id>/@jupyter-widgets/1551f4f60c37af51121f.woff2 net::ERR_FAILED")."""
    share = publish_live(server, widget_notebook(), "widgets.ipynb")
    fonts, font_failures = watch_fonts(page)
    frame = open_share(page, share["url"])
    assert frame.evaluate("origin") == "null", "the widgets run in the sandbox's opaque origin"
    slider = frame.locator(".widget-slider")
    handle = slider.locator(".noUi-handle")
    readout = slider.locator(".widget-readout")
    copy = frame.locator(".widget-text input")
    handle.wait_for(timeout=30_000)
    assert readout.inner_text() == "5" and copy.input_value() == "5"

    # Keyboard: the handle takes focus and arrow keys; the jslink copies the value.
    handle.focus()
    handle.press("ArrowRight")
    handle.press("ArrowRight")
    frame.wait_for_function("document.querySelector('.widget-slider .widget-readout').textContent === '7'")
    assert handle.get_attribute("aria-valuenow") == "7.0"
    assert copy.input_value() == "7"

    # The mouse: dragging the handle to the track's end.
    box = slider.locator(".noUi-base").bounding_box()
    start = handle.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] + 40, start["y"] + start["height"] / 2, steps=8)
    page.mouse.up()
    frame.wait_for_function("document.querySelector('.widget-slider .widget-readout').textContent === '10'")
    assert copy.input_value() == "10"

    # And back: a number typed into the copy moves the slider.
    copy.fill("3")
    copy.press("Enter")
    frame.wait_for_function("document.querySelector('.widget-slider .widget-readout').textContent === '3'")

    pick = frame.locator(".widget-dropdown select")
    assert pick.input_value() == "alpha"
    assert pick.locator("option").all_inner_texts() == ["alpha", "beta", "gamma"]
    pick.select_option(label="gamma")
    assert pick.input_value() == "gamma"

    # The button's icon is a Font Awesome glyph: its font comes from nbshare's /static,
    # with the CORS header a font needs to load in an opaque origin.
    assert frame.locator(".widget-button i.fa-check").count() == 1
    frame.wait_for_function("""() => [...document.fonts].some(
        f => f.family.includes('Font Awesome 5 Free') && f.weight === '900' && f.status === 'loaded')""")
    solid = [(url, status, headers) for url, status, headers in fonts if url.endswith(SOLID_WOFF2)]
    assert solid, fonts
    for url, status, headers in solid:
        assert url.startswith(f"{server.url}/static/vendor/") and status == 200
        assert headers.get("access-control-allow-origin") == "*"
    assert font_failures == []


def test_the_widget_fonts_are_served_to_any_origin(server):
    """What the frame's opaque origin needs to use them: a 200, CORS for any origin, a font
    type. The names are those the bundled manager asks for (see scripts/vendor-static.sh)."""
    for name in (SOLID_WOFF2, "7a3337626410ca2f4071.woff2", "d878b0a6a1144760244f.woff2"):
        r = httpx.get(f"{server.url}/static/vendor/{name}", headers={"Origin": "null"}, timeout=30)
        assert r.status_code == 200, name
        assert r.headers["access-control-allow-origin"] == "*"
        assert r.headers["content-type"] == "font/woff2"
        assert r.content[:4] == b"wOF2"


@needs_corpus
@pytest.mark.corpus
def test_a_corpus_widget_notebook_is_drawn_and_responds(server, page):
    """nbconvert's Widget_List.ipynb: 41 widget views saved by ipywidgets 7 (controls
    1.5.0), which the manager draws with its ipywidgets 7 models."""
    path = CORPUS / "nbconvert-tests" / "Widget_List.ipynb"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    share = publish_live(server, path.read_bytes(), "Widget_List.ipynb")
    fonts, font_failures = watch_fonts(page)
    frame = open_share(page, share["url"])
    # ipywidgets 7 sliders are jQuery UI's.
    handle = frame.locator(".widget-slider .ui-slider-handle").first
    handle.wait_for(timeout=60_000)
    frame.wait_for_function("document.querySelectorAll('.widget-subarea').length >= 41", timeout=60_000)
    assert frame.locator(".widget-subarea > .jupyter-widgets").count() >= 41
    readout = frame.locator(".widget-slider .widget-readout").first
    before = readout.inner_text()
    handle.scroll_into_view_if_needed()
    handle.focus()
    handle.press("ArrowRight")
    first_readout = "document.querySelector('.widget-slider .widget-readout').textContent"
    frame.wait_for_function(f"{first_readout} !== {json.dumps(before)}")
    page.wait_for_timeout(500)
    assert [f for f in fonts if f[1] != 200] == [] and font_failures == []
