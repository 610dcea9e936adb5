"""The recipient's view in a real browser: the share page around the sandboxed notebook,
on a wide screen and a phone, in light and dark, and the pages that lead to it."""

from __future__ import annotations

import io

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from helpers import (
    PYTHON_KERNEL,
    b64,
    code,
    display_data,
    fixture_bytes,
    markdown,
    notebook,
    open_share,
    plotly_cell,
    png,
    publish_live,
)

pytestmark = pytest.mark.browser


# --- notebooks ------------------------------------------------------------------------


def md(source: str, n: int) -> dict:
    return markdown(source, f"md-{n}")


def code_cell(source: str, n: int, outputs: list | None = None) -> dict:
    return code(source, f"code-{n}", outputs, execution_count=n)


def long_notebook(sections: int = 30) -> bytes:
    """Sections taller than the screen, and a code cell in each."""
    text = "\n\n".join(f"Paragraph {i} of prose that takes up room on the page." for i in range(12))
    cells = []
    for s in range(1, sections + 1):
        cells.append(md(f"## Section {s}\n\n{text}", s))
        cells.append(code_cell(f"def section_{s}():\n    return {s}", s))
    return notebook(*cells, **PYTHON_KERNEL)


PLOTLY_FIGURE = {
    "data": [{"type": "bar", "x": ["apples", "pears", "plums"], "y": [3, 7, 5], "name": "fruit"}],
    "layout": {"width": 600, "height": 400},
}


def image_notebook(images: int = 40, plotly: bool = False) -> bytes:
    """~40 plots above the target heading: PNG outputs (their size is known) and markdown
    images (their size is not, so they move the page as they arrive); optionally a plotly
    figure right above the target, drawn only after the page has loaded."""
    cells = [md("# Plots", 0)]
    for i in range(images):
        colour = (40 + 5 * i, 120, 200 - 4 * i)
        if i % 4 == 3:
            cells.append(
                md(f"A figure: ![figure {i}](data:image/png;base64,{b64(png(500, 350, colour))})", 1000 + i)
            )
        else:
            image = display_data({"image/png": b64(png(600, 400, colour)), "text/plain": "<Figure>"})
            cells.append(code_cell(f"plot({i})", i + 1, [image]))
    if plotly:
        cells.append(plotly_cell(PLOTLY_FIGURE, "code-998", execution_count=998))
    cells.append(md("## The target\n\nThe reader came for this.", 999))
    cells += [md(f"Closing remark {i}.\n\n" + "More words. " * 80, 2000 + i) for i in range(6)]
    return notebook(*cells, **PYTHON_KERNEL)


def wide_notebook() -> bytes:
    columns = "".join(f"<th>column_{i}</th>" for i in range(40))
    cells_ = "".join(f"<td>{i * 1000.5}</td>" for i in range(40))
    table = (
        f'<table class="dataframe"><thead><tr>{columns}</tr></thead><tbody><tr>{cells_}</tr></tbody></table>'
    )
    return notebook(
        md("# Wide things\n\n" + "averyveryverylongwordwithoutanyspaces" * 6, 1),
        code_cell(
            "x = " + " + ".join(f"value_{i}" for i in range(60)),
            2,
            [
                {
                    "output_type": "execute_result",
                    "execution_count": 2,
                    "metadata": {},
                    "data": {"text/html": table, "text/plain": "table"},
                },
                {"output_type": "stream", "name": "stdout", "text": "-" * 400 + "\n"},
            ],
        ),
        md("## After", 3),
        **PYTHON_KERNEL,
    )


def plotly_notebook() -> bytes:
    return notebook(plotly_cell(PLOTLY_FIGURE, "code-1"), **PYTHON_KERNEL)


def current_entry(page) -> str | None:
    return page.evaluate(
        "(document.querySelector('nav.toc a[aria-current=true]') || {}).dataset?.anchor ?? null"
    )


# --- reading ---------------------------------------------------------------------------


def test_the_contents_highlight_the_section_being_read_and_keep_it_in_view(server, browser):
    share = publish_live(server, long_notebook())
    context = browser.new_context(viewport={"width": 1280, "height": 700})
    try:
        page = context.new_page()
        frame = open_share(page, share["url"])
        page.wait_for_function("() => document.querySelector('nav.toc a[aria-current=true]') !== null")
        assert current_entry(page) == "section-1"

        # A reader's wheel over the notebook scrolls the frame and moves the highlight.
        box = page.locator("#notebook").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, 1600)
        page.wait_for_function(
            "() => document.querySelector('nav.toc a[aria-current=true]').dataset.anchor !== 'section-1'"
        )
        reached = frame.evaluate("""() => [...document.querySelectorAll('h2[id]')]
            .filter(h => h.getBoundingClientRect().top <= 120).pop().id""")
        page.wait_for_function(
            f"() => document.querySelector('nav.toc a[aria-current=true]').dataset.anchor === '{reached}'"
        )

        # Far down, the entry is scrolled into the (overflowing) contents' view.
        frame.evaluate("document.getElementById('section-27').scrollIntoView()")
        page.wait_for_function(
            "() => document.querySelector('nav.toc a[aria-current=true]').dataset.anchor === 'section-27'"
        )
        assert page.evaluate("document.querySelector('nav.toc').scrollTop") > 0
        inside = page.evaluate("""() => {
            const nav = document.querySelector('nav.toc').getBoundingClientRect();
            const item = document.querySelector('nav.toc a[aria-current=true]').getBoundingClientRect();
            return item.top >= nav.top && item.bottom <= nav.bottom; }""")
        assert inside
        assert page.locator("nav.toc a[aria-current]").count() == 1
    finally:
        context.close()


def test_on_a_phone_the_contents_are_a_menu(server, browser):
    share = publish_live(server, long_notebook(8))
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        frame = open_share(page, share["url"])
        toggle, toc = page.locator("#toc-toggle"), page.locator("nav.toc")
        assert toggle.is_visible() and not toc.is_visible()
        toggle.click()
        assert toc.is_visible() and toggle.get_attribute("aria-expanded") == "true"
        page.locator("nav.toc a[data-anchor='section-6']").click()
        frame.wait_for_function("() => location.hash === '#section-6'")
        assert not toc.is_visible() and toggle.get_attribute("aria-expanded") == "false"
        assert page.evaluate("location.hash") == "#section-6"
        # Escape closes it too, and gives focus back to the button.
        toggle.click()
        page.keyboard.press("Escape")
        assert not toc.is_visible()
        assert page.evaluate("document.activeElement.id") == "toc-toggle"
    finally:
        context.close()


def test_a_permalink_click_copies_the_share_link_and_updates_the_address(server, context, page):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    share = publish_live(server, fixture_bytes("headings.ipynb"), "headings.ipynb")
    frame = open_share(page, share["url"])

    frame.locator("#six").hover()
    frame.locator("#six a.anchor-link").click()
    page.wait_for_function("() => location.hash === '#six'")
    assert page.evaluate("navigator.clipboard.readText()") == share["url"] + "#six"
    assert "copied" in page.locator("#share-status").inner_text().lower()
    assert current_entry(page) == "six"

    # A cell's permalink works the same way.
    frame.locator("#cell-id\\=code-1 > a.nbs-cell-link").click()
    page.wait_for_function("() => location.hash === '#cell-id=code-1'")
    assert page.evaluate("navigator.clipboard.readText()") == share["url"] + "#cell-id=code-1"

    # And the Copy link button copies what the address bar shows.
    page.locator("#copy-link").click()
    page.wait_for_function("() => document.getElementById('share-status').textContent === 'Link copied'")
    assert page.evaluate("navigator.clipboard.readText()") == share["url"] + "#cell-id=code-1"


# Chromium keeps the reader's place when content above grows (scroll anchoring); Safari
# does not. Turning it off shows that the frame itself keeps a deep link on its target.
NO_SCROLL_ANCHORING = """addEventListener('DOMContentLoaded', () => {
    const style = document.createElement('style');
    style.textContent = '* { overflow-anchor: none !important; }';
    document.head.append(style); });"""


def deep_link_after_its_figures(server, context, page):
    """The share opened at #the-target, once the figure right above it and the plotly figure
    (drawn after the load event) have arrived: both push the target down. Scroll anchoring
    is off and the page's clock is Playwright's, so a test can let time pass at once."""
    share = publish_live(server, image_notebook(plotly=True))
    context.add_init_script(NO_SCROLL_ANCHORING)
    page.clock.install()  # time still flows; fast_forward jumps ahead
    page.goto(f"{share['url']}#the-target")
    frame = page.frame(name="notebook")
    frame.wait_for_function("() => document.readyState === 'complete'")
    frame.wait_for_function("() => document.querySelector('img[alt=\\'figure 39\\']').naturalWidth > 0")
    frame.locator(".nbs-plotly .main-svg").first.wait_for()
    wait_for_target_at_top(frame)
    return frame


def target_top(frame) -> float:
    return frame.evaluate("document.getElementById('the-target').getBoundingClientRect().top")


def wait_for_target_at_top(frame) -> None:
    # The page moves the heading on its next layout; how soon that is depends on how busy
    # the machine is, so wait for it rather than for a fixed time.
    try:
        frame.wait_for_function(
            """() => { const top = document.getElementById('the-target')
            .getBoundingClientRect().top; return top >= 0 && top < 60; }""",
            timeout=20_000,
        )
    except PlaywrightTimeout:
        raise AssertionError(f"the heading stayed at {target_top(frame)}px") from None


def grow_above_the_target(frame) -> None:
    """Something that grows late, after the load event (as MathJax or a widget does), and
    two frames for the page to see it (its resize observer runs before the next paint)."""
    frame.evaluate("""() => new Promise(done => {
        const late = document.createElement('div'); late.style.height = '700px';
        document.getElementById('the-target').closest('.nbs-cell').before(late);
        requestAnimationFrame(() => requestAnimationFrame(done)); })""")


def test_a_deep_link_into_a_long_notebook_full_of_images_lands_on_the_heading(server, context, page):
    frame = deep_link_after_its_figures(server, context, page)
    assert frame.evaluate("scrollY") > 10000, "40 plots are above it"
    # A busy machine: long after the last figure, something still grows above the target.
    # The page holds the target until the reader takes over, not for a few seconds.
    page.clock.fast_forward(20_000)
    grow_above_the_target(frame)
    wait_for_target_at_top(frame)


@pytest.mark.parametrize("how", ["wheel", "scroll bar"])
def test_a_deep_link_lets_go_of_its_target_once_the_reader_scrolls(server, context, page, how):
    frame = deep_link_after_its_figures(server, context, page)
    if how == "wheel":
        box = page.locator("#notebook").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -400)
    else:  # a scroll that no event of the reader's announces, as dragging the scroll bar
        frame.evaluate("scrollBy(0, -400)")
    frame.wait_for_function("() => document.getElementById('the-target').getBoundingClientRect().top > 300")
    before = target_top(frame)
    grow_above_the_target(frame)
    assert target_top(frame) == pytest.approx(before + 700, abs=2), "the reader's place is kept"


def test_images_load_lazily_with_their_size_reserved(server, page):
    share = publish_live(server, image_notebook())
    frame = open_share(page, share["url"])
    images = frame.evaluate("""() => [...document.images].map(i => ({
        loading: i.loading, decoding: i.decoding, alt: i.alt, markdown: !!i.closest('.jp-RenderedMarkdown'),
        width: i.getAttribute('width'), height: i.getAttribute('height'),
        loaded: i.complete && i.naturalWidth > 0}))""")
    assert len(images) == 40
    assert all(i["loading"] == "lazy" and i["decoding"] == "async" for i in images)
    plots = [i for i in images if not i["markdown"]]
    assert plots and all((i["width"], i["height"]) == ("600", "400") for i in plots)
    assert [i["alt"] for i in images if i["markdown"]][:2] == [
        "figure 3",
        "figure 7",
    ]  # markdown alt text kept
    assert not images[-1]["loaded"], "images far below the first screen wait until they are needed"
    # The page is usable before the last image arrives: the contents work already.
    page.locator("nav.toc a[data-anchor='the-target']").click()
    frame.wait_for_function("() => location.hash === '#the-target'")


def test_hide_code_hides_inputs_and_is_remembered(server, page):
    share = publish_live(server, fixture_bytes("headings.ipynb"), "headings.ipynb")
    frame = open_share(page, share["url"])
    code_input = frame.locator("#cell-id\\=code-1 .jp-Cell-inputWrapper")
    output = frame.locator("#cell-id\\=code-1 .jp-OutputArea")
    assert code_input.is_visible()
    button = page.locator("#hide-code")
    button.click()
    code_input.wait_for(state="hidden")
    assert output.is_visible(), "outputs stay"
    assert frame.locator(".jp-MarkdownCell").first.is_visible(), "prose stays"
    assert button.get_attribute("aria-pressed") == "true" and button.inner_text() == "Show code"

    frame = open_share(page, share["url"])  # remembered for the next visit
    frame.locator("#cell-id\\=code-1 .jp-Cell-inputWrapper").wait_for(state="hidden")
    page.locator("#hide-code").click()
    frame.locator("#cell-id\\=code-1 .jp-Cell-inputWrapper").wait_for(state="visible")


def luminance(css_color: str) -> float:
    parts = css_color[css_color.index("(") + 1 : css_color.index(")")].replace("/", ",").split(",")
    r, g, b = (float(p) / 255 for p in parts[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_the_dark_theme_follows_the_system_setting(server, browser):
    share = publish_live(server, fixture_bytes("headings.ipynb"), "headings.ipynb")
    context = browser.new_context(color_scheme="dark")
    try:
        page = context.new_page()
        frame = open_share(page, share["url"])
        page_bg = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        frame_bg = frame.evaluate("getComputedStyle(document.body).backgroundColor")
        assert luminance(page_bg) < 0.15 and luminance(frame_bg) < 0.15, (page_bg, frame_bg)
        text = frame.evaluate("getComputedStyle(document.querySelector('.jp-RenderedMarkdown p')).color")
        code_bg = frame.evaluate(
            "getComputedStyle(document.querySelector('.jp-InputArea-editor')).backgroundColor"
        )
        keyword = frame.evaluate(
            "getComputedStyle(document.querySelector('.highlight .nb, .highlight .k, .highlight .s1')).color"
        )
        assert luminance(text) > 0.6 and luminance(code_bg) < 0.2
        assert luminance(keyword) - luminance(code_bg) > 0.25, (
            f"highlighted code is readable: {keyword} on {code_bg}"
        )
        assert frame.evaluate("document.body.dataset.jpThemeLight") == "false"
        # Paper stays white on a dark system: black text on white, in the page and the frame.
        page.emulate_media(media="print", color_scheme="dark")
        frame.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        page_bg = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        frame_bg = frame.evaluate("getComputedStyle(document.body).backgroundColor")
        text = frame.evaluate("getComputedStyle(document.querySelector('.jp-RenderedMarkdown p')).color")
        assert luminance(page_bg) > 0.9 and luminance(frame_bg) > 0.9 and luminance(text) < 0.3, (
            page_bg,
            frame_bg,
            text,
        )
        assert frame.evaluate("document.body.dataset.jpThemeLight") == "true"
    finally:
        context.close()


def test_nothing_scrolls_sideways_on_a_phone_but_wide_outputs(server, browser):
    share = publish_live(server, wide_notebook())
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        frame = open_share(page, share["url"])
        fits = "document.documentElement.scrollWidth <= innerWidth"
        assert page.evaluate(fits), page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert frame.evaluate(fits), frame.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        # The wide table scrolls inside its own box.
        assert frame.evaluate("""() => {
            const o = document.querySelector('table').closest('.jp-OutputArea-output');
            return o.scrollWidth > o.clientWidth; }""")
    finally:
        context.close()


def test_print_prints_the_notebook_without_permalinks(server, page):
    share = publish_live(server, fixture_bytes("headings.ipynb"), "headings.ipynb")
    frame = open_share(page, share["url"])
    frame.evaluate("window.print = () => { window.nbsPrinted = true; }")
    page.locator("#print").click()
    frame.wait_for_function("() => window.nbsPrinted === true")
    page.emulate_media(media="print")
    assert frame.evaluate("getComputedStyle(document.querySelector('a.anchor-link')).display") == "none"
    assert frame.evaluate("getComputedStyle(document.querySelector('a.nbs-cell-link')).display") == "none"
    assert not page.locator(".actions").is_visible() and not page.locator("nav.toc").is_visible()


def test_ctrl_p_prints_the_notebook_from_the_page_and_from_inside_the_frame(server, page):
    share = publish_live(server, long_notebook(3))
    frame = open_share(page, share["url"])
    # (Wrapped: Playwright calls a function that a bare expression evaluates to.)
    frame.evaluate("() => { window.print = () => { window.nbsPrinted = (window.nbsPrinted || 0) + 1; }; }")
    page.evaluate("() => { window.print = () => { window.nbsPagePrinted = true; }; }")
    page.locator("h1.share-title").click()
    page.keyboard.press("Control+p")
    frame.wait_for_function("() => window.nbsPrinted === 1")
    frame.locator("body").click()  # focus inside the notebook
    page.keyboard.press("Control+p")
    frame.wait_for_function("() => window.nbsPrinted === 2")
    assert page.evaluate("window.nbsPagePrinted") is None  # the one-screen page is never what prints


def test_the_browsers_own_print_of_the_page_has_the_whole_notebook(server, page):
    """Print from the browser's menu prints the share page, whose frame is one screen tall:
    while printing, the frame takes the notebook's length, and the PDF has every section."""
    from pypdf import PdfReader

    share = publish_live(server, long_notebook(40))
    frame = open_share(page, share["url"])
    tall = frame.evaluate("document.documentElement.scrollHeight")
    page.wait_for_function(f"() => document.getElementById('notebook').offsetHeight < {tall}")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")  # what the Print menu fires first
    height = page.evaluate("document.getElementById('notebook').offsetHeight")
    assert tall <= height <= tall * 1.2
    pdf = PdfReader(io.BytesIO(page.pdf()))
    text = "".join(p.extract_text() for p in pdf.pages)
    missing = [s for s in range(1, 41) if f"Section {s}" not in text]
    assert not missing, f"sections {missing} are not in the printed PDF ({len(pdf.pages)} pages)"
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert page.evaluate("document.getElementById('notebook').style.height") == ""


def test_landmarks_skip_link_and_keyboard_contents(server, page):
    share = publish_live(server, long_notebook(5))
    open_share(page, share["url"])
    assert page.locator("header.share-header").count() == 1
    assert page.locator("nav[aria-label='Table of contents']").count() == 1
    assert page.locator("main#main").count() == 1
    assert page.locator("iframe#notebook").get_attribute("title").startswith("Notebook: ")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link" and skip.is_visible()
    # The contents are ordinary links in the tab order; arrow keys move along them too.
    page.locator("nav.toc a").first.focus()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.anchor") == "section-2"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.anchor") == "section-3"
    page.keyboard.press("Enter")
    page.frame(name="notebook").wait_for_function("() => location.hash === '#section-3'")


def test_a_plotly_figure_is_interactive(server, page):
    share = publish_live(server, plotly_notebook())
    frame = open_share(page, share["url"])
    bar = frame.locator(".nbs-plotly .point path").nth(1)
    bar.wait_for()
    bar.hover(force=True)  # plotly listens on a layer drawn over the bars
    label = frame.locator(".hoverlayer .hovertext")
    label.wait_for()
    assert "7" in label.text_content()


# --- getting there ----------------------------------------------------------------------


def test_the_unlock_page(server, page):
    share = publish_live(
        server,
        fixture_bytes("headings.ipynb"),
        "headings.ipynb",
        headers={"X-Nbshare-Password": "open sesame"},
    )
    page.goto(share["url"])
    assert page.locator("h1").inner_text() == "This notebook is protected"
    page.fill("#password", "wrong")
    page.click("button[type=submit]")
    assert page.locator(".error-message[role=alert]").is_visible()
    assert page.frame(name="notebook") is None
    page.fill("#password", "open sesame")
    page.click("button[type=submit]")
    page.wait_for_url(share["url"])
    page.frame(name="notebook").locator("#six").wait_for()


def test_the_owner_gets_a_manage_button_that_works(server, browser, page):
    share = publish_live(server, fixture_bytes("headings.ipynb"), "headings.ipynb")
    page.goto(share["manage_url"])
    page.wait_for_function("() => document.getElementById('manage-status').textContent.includes('owner')")
    frame = open_share(page, share["url"])
    frame.locator("#six").wait_for()
    page.locator("#manage").click()
    page.locator("#owner-tools").wait_for(state="visible")  # the token came from sessionStorage
    assert page.url == share["url"] + "/manage"

    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        open_share(other, share["url"])
        assert other.locator("#manage").count() == 0
    finally:
        stranger.close()


def test_the_manage_page_lets_search_engines_index_the_share(server, page):
    share = publish_live(server, fixture_bytes("headings.ipynb"), "headings.ipynb")
    assert httpx.get(share["url"], timeout=30).headers["x-robots-tag"] == "noindex"
    page.goto(share["manage_url"])
    page.locator("#owner-tools").wait_for(state="visible")
    box = page.locator("#set-discoverable")
    page.wait_for_function("() => document.getElementById('fact-title').textContent !== ''")
    assert not box.is_checked()
    box.check()
    page.locator("#settings-form button[type=submit]").click()
    page.wait_for_function("() => document.getElementById('manage-status').textContent === 'Saved.'")
    assert "x-robots-tag" not in httpx.get(share["url"], timeout=30).headers
    page.reload()
    page.wait_for_function("() => document.getElementById('fact-title').textContent !== ''")
    assert page.locator("#set-discoverable").is_checked()


def test_drag_and_drop_upload_shows_progress_and_the_links(server, page):
    page.goto(server.url)
    data = list(fixture_bytes("headings.ipynb"))
    transfer = page.evaluate_handle(
        """bytes => {
        const t = new DataTransfer();
        t.items.add(new File([new Uint8Array(bytes)], 'dropped.ipynb', {type: 'application/x-ipynb+json'}));
        return t; }""",
        data,
    )
    page.dispatch_event("#drop-zone", "dragover", {"dataTransfer": transfer})
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    assert page.evaluate("document.getElementById('file').files[0].name") == "dropped.ipynb"
    page.fill("#title", "Dropped in")
    page.click("button[type=submit]")
    page.locator("#upload-result").wait_for(state="visible")
    assert page.locator("#upload-progress").is_visible()
    assert page.evaluate("document.getElementById('upload-bar').value") == 100
    link = page.input_value("#result-link")
    assert link.startswith(server.url + "/n/")
    assert "/manage#token=" in page.input_value("#result-manage")
    page.click("#result-open")
    assert page.locator("h1.share-title").inner_text() == "Dropped in"


def test_without_javascript_the_upload_form_still_works(server, browser):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(server.url)
        assert not page.locator(".drop-hint").is_visible()
        page.set_input_files(
            "#file",
            files=[
                {
                    "name": "plain.ipynb",
                    "mimeType": "application/json",
                    "buffer": fixture_bytes("headings.ipynb"),
                }
            ],
        )
        page.click("button[type=submit]")
        assert page.locator("h1").inner_text() == "Your notebook is shared"
        assert page.input_value("#link").startswith(server.url + "/n/")
    finally:
        context.close()
