"""Files in a real browser: downloads embedded in a notebook (kept inline or taken out of
the page), the share page's list of them, a bundle's links between notebooks and to its
files (public and password-protected), and the limits on what the sandboxed frame may
ask the share page to open."""

from __future__ import annotations

import io
import json
import re
import struct
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError

from helpers import ZIP_TYPE, html_cell, markdown, notebook, notebook_frame, png, publish_live, zip_of
from nbshare import download_link

pytestmark = pytest.mark.browser

PASSWORD = "files behind a password"  # noqa: S105 - a test share's password
SMALL = b"id,score\n1,0.5\n2,0.75\n"  # stays in the page as a data: URI
BIG = bytes(range(256)) * 48 + b"\x00tail\xff"  # 12 KB of every byte value: over the 8 KB limit
CSV = ("city,population\n" + "".join(f"town {i},{i * 37}\n" for i in range(40))).encode()
# A heading's anchor is its slug (render/headings.py): "Part two" -> "part-two".
PART_TWO = "part-two"


# --- building notebooks and bundles ----------------------------------------------------


PLOT = png(40, 24)


def study_bundle() -> bytes:
    """README -> a.ipynb -> sub/b.ipynb#part-two, with a data file and an image."""
    prose = "\n\n".join(f"Paragraph {i}: words that take up room on the page." for i in range(40))
    return zip_of(
        {
            "README.md": b"# Study\n\nStart with [the analysis](a.ipynb).\n",
            "a.ipynb": notebook(
                markdown(
                    "# Analysis\n\n"
                    f"Read on: [next](sub/b.ipynb#{PART_TWO}). The [data](data/x.csv). ![plot](img/p.png)",
                    "a",
                )
            ),
            "sub/b.ipynb": notebook(
                markdown(f"# Part one\n\n{prose}", "b1"),
                markdown(f"## Part two\n\nThe target.\n\n{prose}", "b2"),
            ),
            "data/x.csv": CSV,
            "img/p.png": PLOT,
        }
    )


def publish_zip(server, data: bytes, name: str = "study.zip", **headers: str) -> dict:
    return publish_live(server, data, name, content_type=ZIP_TYPE, headers=headers)


# --- the browser ------------------------------------------------------------------------


def download(page, click) -> tuple[bytes, str]:
    """(bytes, suggested file name) of the download that `click()` starts."""
    with page.expect_download(timeout=15_000) as info:
        click()
    path = info.value.path()
    assert path is not None, info.value.failure()
    return Path(path).read_bytes(), info.value.suggested_filename


def image_loaded(frame, selector: str) -> int:
    """Wait for an image in the frame to finish loading; its natural width (0: broken)."""
    frame.wait_for_function(
        "(sel) => { const img = document.querySelector(sel); return img && img.complete; }", arg=selector
    )
    return frame.eval_on_selector(selector, "img => img.naturalWidth")


def heading_top(frame, anchor: str) -> float:
    frame.locator(f"[id='{anchor}']").wait_for()
    return frame.evaluate("(id) => document.getElementById(id).getBoundingClientRect().top", anchor)


def wav(seconds: float, rate: int = 8000) -> bytes:
    """A WAV of a 440 Hz tone, made with the standard library."""
    import math
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
                for n in range(int(seconds * rate))
            )
        )
    return buffer.getvalue()


def test_embedded_sound_leaves_the_page_and_still_plays(server, page):
    """IPython's Audio (like matplotlib's to_html5_video) embeds the file as a data: URI in
    a <source>; over 4 KB it is taken out of the page like an image, and still plays."""
    import base64

    sound = wav(1.5)
    audio = (
        f'<audio controls="controls"><source src="data:audio/wav;base64,'
        f'{base64.encodebytes(sound).decode()}" type="audio/wav" />Your browser does not support the '
        "audio element.</audio>"
    )
    share = publish_live(server, notebook(markdown("# A tone", "t"), html_cell(audio, "a")), "tone.ipynb")
    page.goto(share["url"])
    frame = notebook_frame(page)
    source = frame.locator("audio source")
    assert re.fullmatch(rf"/n/{share['id']}/v/1/f/[0-9a-f]{{64}}/audio\.wav", source.get_attribute("src"))
    frame.wait_for_function("() => document.querySelector('audio').readyState >= 1")
    assert abs(frame.evaluate("document.querySelector('audio').duration") - 1.5) < 0.05
    content = httpx.get(f"{server.url}/n/{share['id']}/content", timeout=30).text
    assert "data:audio" not in content and len(content) < len(sound)


# --- 1, 2: downloads embedded in a notebook -------------------------------------------------


@pytest.fixture(scope="module")
def with_downloads(server) -> dict:
    data = notebook(
        markdown("# Results\n\nThe files behind the figures.", "intro"),
        html_cell(download_link(SMALL, "small.csv")._repr_html_(), "small"),
        html_cell(download_link(BIG, "big.bin")._repr_html_(), "big"),
    )
    return publish_live(server, data, "results.ipynb")


def test_embedded_downloads_inline_and_taken_out_give_the_exact_bytes(with_downloads, page):
    page.goto(with_downloads["url"])
    frame = notebook_frame(page)
    small, big = frame.locator('a[download="small.csv"]'), frame.locator('a[download="big.bin"]')
    # Both ways a file can travel: the small one inside the page, the big one by URL.
    assert small.get_attribute("href").startswith("data:text/csv;base64,")
    taken_out = rf"/n/{with_downloads['id']}/v/1/f/[0-9a-f]{{64}}/big\.bin"
    assert re.fullmatch(taken_out, big.get_attribute("href"))

    assert download(page, small.click) == (SMALL, "small.csv")
    assert download(page, big.click) == (BIG, "big.bin")
    # A download does not replace the notebook, in the frame or the page.
    assert page.url == with_downloads["url"]
    assert frame.locator('a[download="small.csv"]').is_visible()


def test_the_share_pages_file_list_gives_the_exact_bytes(with_downloads, page):
    page.goto(with_downloads["url"])
    files = page.locator("details#files")
    assert files.locator("summary").inner_text() == "Files in this notebook (2)"
    link = files.locator("a", has_text="big.bin")
    assert not link.is_visible()  # closed until the reader opens it
    files.locator("summary").click()
    assert download(page, link.click) == (BIG, "big.bin")
    assert download(page, files.locator("a", has_text="small.csv").click) == (SMALL, "small.csv")


# --- 3, 4: a bundle's links, public and protected --------------------------------------


def follow_the_bundle(page, share: dict, *, protected: bool) -> None:
    """From the index's README to a.ipynb, its image, its data file and its link to
    sub/b.ipynb#part-two, all by clicks inside the sandboxed frames."""
    prefix = f"/n/{share['id']}"
    readme = notebook_frame(page)
    readme.locator("a", has_text="the analysis").click()
    page.wait_for_url(f"{share['url']}/nb/a.ipynb")
    frame = notebook_frame(page)

    image = frame.locator("img[alt=plot]")
    if protected:  # the sealed page cannot fetch it without the grant: it is inside
        assert image.get_attribute("src").startswith("data:image/png;base64,")
    else:
        assert image.get_attribute("src") == f"{prefix}/v/1/files/img/p.png"
    image.scroll_into_view_if_needed()
    assert image_loaded(frame, "img[alt=plot]") == 40

    data_link = frame.locator("a", has_text="data")
    assert data_link.get_attribute("href") == f"{prefix}/v/1/files/data/x.csv"
    assert download(page, data_link.click) == (CSV, "x.csv")
    assert page.url == f"{share['url']}/nb/a.ipynb"  # the download did not navigate away

    next_link = frame.locator("a", has_text="next")
    assert next_link.get_attribute("href") == f"{prefix}/nb/sub/b.ipynb#{PART_TWO}"
    next_link.click()
    page.wait_for_url(f"{share['url']}/nb/sub/b.ipynb#{PART_TWO}")
    frame = notebook_frame(page)
    assert frame.evaluate("location.hash") == f"#{PART_TWO}"
    # The frame opened at the heading, which is far down the notebook.
    frame.wait_for_function(
        "(id) => { const top = document.getElementById(id)?.getBoundingClientRect().top;"
        " return top !== undefined && top >= 0 && top < 100; }",
        arg=PART_TWO,
    )
    assert frame.evaluate("scrollY") > 500


def test_a_bundles_links_images_and_files_work_inside_the_frame(server, page):
    share = publish_zip(server, study_bundle())
    page.goto(share["url"])
    assert page.locator("ul.notebooks a").all_inner_texts() == ["Analysis", "Part one"]
    follow_the_bundle(page, share, protected=False)


def test_a_protected_bundles_links_images_and_files_work_after_unlocking(server, page):
    share = publish_zip(server, study_bundle(), **{"X-Nbshare-Password": PASSWORD})
    page.goto(share["url"])
    assert page.frame(name="notebook") is None  # the unlock page shows nothing of it
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(share["url"])
    follow_the_bundle(page, share, protected=True)
    # Without the grant cookie (a fresh profile), the file is still refused.
    r = httpx.get(f"{server.url}/n/{share['id']}/v/1/files/data/x.csv", timeout=30)
    assert r.status_code in (401, 403, 404) and r.content != CSV


# --- 5: what the frame may ask the share page to open -----------------------------------

OTHER = "AAAAAAAAAAAAAAAAAAAAAAAA"  # a well-formed share id that is not this share's
# Each `open` request the hostile notebook sends; OWN and VICTIM are filled in by its script.
REFUSED = [
    "/n/VICTIM/nb/a.ipynb",  # another share's notebook and file
    "/n/VICTIM/files/data/x.csv",
    "/n/VICTIM/v/1/files/data/x.csv",
    f"/n/{OTHER}/files/x",
    "https://evil.example/",
    "//evil.example/n/OWN/nb/ok.ipynb",
    "/logout",
    "/api/v1/shares",
    "/n/OWN/manage",  # this share, but neither a notebook nor a file
    "/n/OWN/content",
    "/n/OWN.ipynb",
    "/n/OWNx/nb/ok.ipynb",  # a longer id that starts with this one
    "/n/OWN/nb/../../VICTIM/nb/a.ipynb",  # climbing out
    "/n/OWN/nb/..\\..\\VICTIM\\nb\\a.ipynb",
    "/n/OWN/nb/ok.ipynb\n/../../VICTIM",
    "javascript:alert(document.cookie)",
    " /n/OWN/nb/ok.ipynb",
]
# Dot segments spelled with %2e: the browser's URL parser resolves them like "..".
ENCODED_DOTS = ["/n/OWN/nb/%2e%2e/%2e%2e/VICTIM/nb/a.ipynb", "/n/OWN/files/.%2e/%2E./VICTIM/nb/a.ipynb"]

ATTACK = """<button id="attack">Attack</button>
<script>
(function () {
  var own = location.pathname.split("/")[2];
  function fill(path) { return path.replace(/OWN/g, own).replace(/VICTIM/g, "VICTIM_ID"); }
  window.sendOpen = function (paths, sentinel) {
    paths.forEach(function (path) { parent.postMessage({nbshare: "open", path: fill(path)}, "*"); });
    // Odd shapes: not a string, too long, wrong message names.
    parent.postMessage({nbshare: "open", path: 404}, "*");
    parent.postMessage({nbshare: "open", path: [fill("/n/OWN/nb/ok.ipynb")]}, "*");
    parent.postMessage({nbshare: "open", path: fill("/n/OWN/nb/ok.ipynb?") + "x".repeat(3000)}, "*");
    parent.postMessage({nbshare: "navigate", path: fill("/n/VICTIM/nb/a.ipynb")}, "*");
    parent.postMessage(JSON.stringify({nbshare: "open", path: fill("/n/OWN/nb/ok.ipynb")}), "*");
    // Messages are handled in order: once the page shows this hash, it has seen all the others.
    parent.postMessage({nbshare: "hash", hash: sentinel}, "*");
  };
  document.getElementById("attack").addEventListener("click", function () {
    sendOpen(REFUSED_PATHS, "#after-messages");
  });
})();
</script>"""


def hostile_bundle(victim_id: str, paths: list[str]) -> bytes:
    script = ATTACK.replace("VICTIM_ID", victim_id).replace("REFUSED_PATHS", json.dumps(paths))
    links = (
        f"[victim notebook](/n/{victim_id}/nb/a.ipynb) · [victim file](/n/{victim_id}/files/data/x.csv)"
        f" · [unknown share](/n/{OTHER}/files/x) · [script](javascript:parent.postMessage("
        f"{{nbshare:'open',path:'/n/{victim_id}/nb/a.ipynb'}},'*')) · [the API](/api/v1/shares)"
    )
    return zip_of(
        {
            "evil.ipynb": notebook(
                markdown(f"# Evil\n\n{links}", "links"),
                html_cell(script, "attack"),
                markdown("[fine](ok.ipynb)", "ok"),
            ),
            "ok.ipynb": notebook(markdown("# Fine", "fine")),
        }
    )


def watch_navigations(page) -> list[str]:
    """URLs the top page starts to load (a download starts as one too)."""
    seen: list[str] = []
    page.on(
        "request",
        lambda r: seen.append(r.url) if r.is_navigation_request() and r.frame == page.main_frame else None,
    )
    page.on("popup", lambda p: seen.append(f"popup {p.url}"))
    return seen


def settle(page, navigations: list[str], sentinel: str) -> None:
    """Wait until the page has handled every message the frame sent before `sentinel` (a
    hash it shows; messages are handled in order), or has started to leave; then a little
    longer, since location.assign navigates asynchronously."""
    deadline = time.monotonic() + 15
    while not navigations and time.monotonic() < deadline:
        try:
            if page.evaluate("location.hash") == sentinel:
                break
        except PlaywrightError:
            break  # the page is going away: `navigations` says where to
        page.wait_for_timeout(50)
    page.wait_for_timeout(500)


def send_open(page, frame, navigations: list[str], paths: list[str], sentinel: str) -> None:
    """Have the frame's script post `open` for each path, then settle."""
    frame.evaluate("([paths, sentinel]) => sendOpen(paths, sentinel)", [paths, sentinel])
    settle(page, navigations, sentinel)


@pytest.fixture(scope="module")
def victim(server) -> dict:
    return publish_zip(server, study_bundle(), "victim.zip")


def test_the_frame_cannot_make_the_page_open_anything_outside_its_share(server, victim, page):
    """How this was checked to fail without the protection: on a scratch copy of the package
    (cp -r src/nbshare /tmp/weak/nbshare; PYTHONPATH=/tmp/weak, so the working tree was never
    changed), share.js's condition for "open" was loosened to `typeof data.path === "string"`:
    the first attack then navigated the page (to /n/VICTIM/nb/a.ipynb) and the test failed on
    `navigations`. With only the `sharePath` prefix check removed it failed the same way (the
    other share's paths match OPENABLE); with only OPENABLE removed it failed on /n/OWN/manage."""
    share = publish_zip(server, hostile_bundle(victim["id"], REFUSED), "evil.zip")
    page_url = f"{share['url']}/nb/evil.ipynb"
    page.goto(page_url)
    frame = notebook_frame(page)
    navigations = watch_navigations(page)

    # Messages a script in an output sends, started by a reader's click.
    frame.locator("#attack").click()
    settle(page, navigations, "#after-messages")
    assert navigations == []
    assert page.url == page_url + "#after-messages"

    # Links in markdown: content.js forwards those that look like a share's notebook or file,
    # share.js refuses them; a javascript: link runs (if at all) only in the frame.
    content_url = frame.url
    for name in ("victim notebook", "victim file", "unknown share", "script"):
        frame.locator("a", has_text=name).click()
    frame.evaluate("() => parent.postMessage({nbshare: 'hash', hash: '#after-links'}, '*')")
    settle(page, navigations, "#after-links")
    assert navigations == []
    assert frame.url == content_url  # content.js kept the frame where it was, too
    assert page.url == page_url + "#after-links"

    # A link elsewhere on the service is an ordinary link: it loads in the frame, not the page.
    with page.expect_event("framenavigated", lambda f: f != page.main_frame):
        frame.locator("a", has_text="the API").click()
    page.wait_for_timeout(300)
    assert navigations == []
    assert page.url == page_url + "#after-links"

    # The same channel with a path inside the share is followed: the checks above are not vacuous.
    page.goto(page_url)
    navigations.clear()
    frame = notebook_frame(page)
    frame.evaluate("() => sendOpen(['/n/OWN/nb/ok.ipynb'], '#sent')")
    page.wait_for_url(f"{share['url']}/nb/ok.ipynb")
    assert navigations == [f"{share['url']}/nb/ok.ipynb"]


def test_encoded_dot_segments_do_not_lead_out_of_the_share(server, victim, page):
    """`/n/OWN/nb/%2e%2e/%2e%2e/VICTIM/...` would pass a check of the path as written, and the
    browser resolves `%2e%2e` (also `.%2e`, `%2E.`) as `..` when it navigates: share.js
    checks `new URL(path, location.origin).pathname` and assigns that. Checked: with the
    check on the raw string (the first version of share.js) this test failed and the page
    opened the other share."""
    share = publish_zip(server, hostile_bundle(victim["id"], []), "evil.zip")
    page_url = f"{share['url']}/nb/evil.ipynb"
    page.goto(page_url)
    frame = notebook_frame(page)
    navigations = watch_navigations(page)
    paths = [p.replace("VICTIM", victim["id"]) for p in ENCODED_DOTS]
    for i, path in enumerate(paths):
        send_open(page, frame, navigations, [path], f"#sent-{i}")
        assert navigations == [], path
        assert page.url == page_url + f"#sent-{i}"
