"""Containment: a notebook's scripts and HTML run, but only in an opaque origin.

One hostile notebook tries every attack at once inside the real share page, in a
browser profile that holds bait: a readable cookie and local/session storage on the
service origin, and the grant cookie of a password-protected victim share (with a view
limit, so a credentialed read would show in its view count). Each attack records that
it ran (`tried`) and, if it got anywhere, that it succeeded (`won`), in every way it
can: the frame's title and DOM, the top page's title and DOM, a request to /pwned/...
on the service (which the server's access log would show) and a navigation. The tests
below then look for each of those signs.

How each test was checked to fail without its protection is in its docstring. The
check was done once, by hand, on a weakened copy of the package (cp -r src/nbshare to a
scratch folder, edit it, run this file with PYTHONPATH pointing there, so the working
tree was never weakened; the server then also serves that copy's templates and static
files, share.js included). "allow-same-origin added" means added to SANDBOX in
security/headers.py and to both iframes' sandbox attribute in templates/share.html:
the framed notebook is sandboxed by the attribute and by the CSP header, so both must go
for it to get the service's origin; with only SANDBOX weakened, the framed tests still
passed and only the direct-URL test failed.
"""

# ruff: noqa: E501 -- the attacks are JavaScript in string literals, kept one statement a line

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import sqlite3
import time
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from helpers import html_cell, markdown, notebook, plotly_cell, publish_live

PASSWORD = "correct horse battery"  # noqa: S105 - a test share's password
SECRET_PROTECTED = "secret-protected-" + secrets.token_hex(4)
SECRET_PUBLIC = "secret-public-" + secrets.token_hex(4)
BAIT_COOKIE = "baitcookie" + secrets.token_hex(4)
BAIT_LOCAL = "baitlocal" + secrets.token_hex(4)
BAIT_SESSION = "baitsession" + secrets.token_hex(4)
BAITS = (BAIT_COOKIE, BAIT_LOCAL, BAIT_SESSION, SECRET_PROTECTED, SECRET_PUBLIC)
# A 1x1 PNG.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVQI12P4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
# A javascript: URL that reports wherever it runs. In an opaque origin it can only say that
# it ran (`tried`); with the service's origin, in the frame or in the top page (where
# won() is not defined), it wins: the top page's title, a /pwned/ request. No spaces, so
# the markdown link syntax takes it whole.
JS_URL = (
    "javascript:(function(n,s){try{tried(n)}catch(e){}"
    "try{s+=document.cookie}catch(e){}try{s+=JSON.stringify(localStorage)}catch(e){}"
    "if(origin!=='null'||s){try{won(n,origin+':'+s)}catch(e){document.title='WON:'+n;"
    "document.createElement('img').src='/pwned/'+n+'?v='+encodeURIComponent(origin)}}"
    "})('javascript-link','')"
)
# The reader clicks each javascript: link plainly, with each modifier that opens a link
# elsewhere (new tab, new window, download) and with the middle button.
JS_LINKS = ("#js-link", "text=markdown js link", "#top-js-link", "#blank-js-link")
JS_CLICKS = (
    {},
    {"modifiers": ["Control"]},
    {"modifiers": ["Shift"]},
    {"modifiers": ["Alt"]},
    {"button": "middle"},
)
ATTACKS = (
    "cookie-read",
    "storage-read",
    "storage-write",
    "top-dom",
    "top-navigation",
    "forms",
    "credentialed-api",
    "read-other-share",
    "markdown-script",
    "markdown-onerror",
    "svg-script",
    "javascript-link",
    "base-tag",
    "message-spoof",
)


# --- notebooks ---------------------------------------------------------------------------


def attack_cell(html: str, cell_id: str) -> dict:
    return html_cell(html, cell_id, source="attack()", plain="<attack>")


# Defines the reporting helpers every later cell uses. A success is reported in every
# channel an attacker could use; the test watches all of them.
PRELUDE = """<script>
// `waiting`: the attempts whose promise has not settled yet; `pressed`: mouse buttons
// released in this frame (a reader's click has reached it). The test waits on both, not on
// time.
window.NBS = {tried: [], won: [], waiting: [], pressed: 0};
window.addEventListener("mouseup", function () { NBS.pressed++; }, true);
window.tried = function (name) { if (NBS.tried.indexOf(name) < 0) NBS.tried.push(name); report(); };
window.won = function (name, detail) {
  detail = String(detail).slice(0, 200);
  NBS.won.push(name + ": " + detail);
  report();
  document.title = "WON " + name + " " + detail;
  try { top.document.title = "WON " + name + " " + detail; } catch (e) {}
  new Image().src = "/pwned/" + name + "?v=" + encodeURIComponent(detail);
  try { navigator.sendBeacon("/pwned/beacon-" + name, detail); } catch (e) {}
};
// Anything read that is not an error is a success for the attacker.
window.attempt = function (name, what, fn) {
  tried(name);
  try {
    var value = fn();
    if (value && typeof value.then === "function") {
      var label = name + ": " + what;
      NBS.waiting.push(label);
      value.then(function (v) { if (v !== undefined && v !== null && v !== "") won(name, what + "=" + v); },
                 function () {})
        .then(function () { NBS.waiting.splice(NBS.waiting.indexOf(label), 1); report(); });
    } else if (value !== undefined && value !== null && value !== "") {
      won(name, what + "=" + value);
    }
  } catch (e) {}
};
window.report = function () {
  var el = document.getElementById("nbs-report");
  if (!el) { el = document.createElement("pre"); el.id = "nbs-report"; document.body.appendChild(el); }
  el.textContent = JSON.stringify(NBS);
};
tried("prelude");
</script>"""


def attack_cells(protected_id: str, public_id: str, only: set[str] | None = None) -> list[dict]:
    p, v = protected_id, public_id
    attacks = {
        "cookie-read": """
attempt("cookie-read", "document.cookie", function () { return document.cookie; });
attempt("cookie-read", "parent.cookie", function () { return parent.document.cookie; });
attempt("cookie-read", "top.cookie", function () { return top.document.cookie; });
attempt("cookie-read", "cookieStore", function () {
  return cookieStore.getAll().then(function (all) { return JSON.stringify(all); });
});""",
        "storage-read": """
attempt("storage-read", "localStorage", function () { return JSON.stringify(localStorage); });
attempt("storage-read", "sessionStorage", function () { return JSON.stringify(sessionStorage); });
attempt("storage-read", "parent.localStorage", function () { return JSON.stringify(parent.localStorage); });
attempt("storage-read", "top.sessionStorage", function () { return JSON.stringify(top.sessionStorage); });
attempt("storage-read", "indexedDB", function () {
  return indexedDB.databases().then(function (d) { return JSON.stringify(d); });
});
attempt("storage-read", "caches", function () { return caches.keys().then(function (k) { return k.join(); }); });""",
        "storage-write": """
attempt("storage-write", "localStorage.setItem", function () { localStorage.setItem("pwned", "1"); return "written"; });
attempt("storage-write", "sessionStorage.setItem", function () { sessionStorage.setItem("pwned", "1"); return "written"; });
attempt("storage-write", "document.cookie=", function () {
  document.cookie = "pwned=1; path=/"; return "written";
});""",
        "top-dom": """
attempt("top-dom", "top.title", function () { top.document.title = "PWNED"; return top.document.title; });
attempt("top-dom", "parent.body", function () {
  parent.document.body.insertAdjacentHTML("afterbegin", "<b id='pwned'>PWNED</b>");
  return parent.document.getElementById("pwned") && "inserted";
});
attempt("top-dom", "frameElement", function () {
  window.frameElement.removeAttribute("sandbox"); return "sandbox removed";
});
attempt("top-dom", "top.history", function () { top.history.pushState(null, "", "/pwned/pushstate"); return "pushed"; });""",
        "top-navigation": """
attempt("top-navigation", "top.location", function () { top.location = "/pwned/top-location"; });
attempt("top-navigation", "top.location.replace", function () { top.location.replace("/pwned/top-replace"); });
attempt("top-navigation", "parent.location.href", function () { parent.location.href = "/pwned/parent-href"; });
attempt("top-navigation", "open _top", function () { window.open("/pwned/open-top", "_top"); });
attempt("top-navigation", "anchor _top", function () {
  var a = document.createElement("a"); a.href = "/pwned/anchor-top"; a.target = "_top";
  document.body.appendChild(a); a.click();
});""",
        "forms": """
function postForm(action, target) {
  var f = document.createElement("form");
  f.method = "post"; f.action = action; f.enctype = "multipart/form-data";
  if (target) f.target = target;
  var field = document.createElement("input"); field.type = "file"; field.name = "file";
  var dt = new DataTransfer();
  dt.items.add(new File(['{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}'], "pwned.ipynb"));
  field.files = dt.files;
  var pw = document.createElement("input"); pw.name = "password"; pw.value = "guess";
  f.appendChild(field); f.appendChild(pw); document.body.appendChild(f);
  f.submit();
}
attempt("forms", "form /upload", function () { postForm("/upload"); });
attempt("forms", "form /upload _blank", function () { postForm("/upload", "_blank"); });
attempt("forms", "form /api/v1/shares _top", function () { postForm("/api/v1/shares", "_top"); });
attempt("forms", "form unlock", function () { postForm("/n/PROTECTED/unlock", "_blank"); });""",
        "credentialed-api": """
function readBody(url, opts) {
  return fetch(url, opts).then(function (r) { return r.text(); })
    .then(function (t) { return r_ok(t); });
}
function r_ok(t) { return t.indexOf("PROTECTED") >= 0 || /secret-/.test(t) ? t : undefined; }
attempt("credentialed-api", "fetch api", function () { return readBody("/api/v1/shares/PROTECTED", {credentials: "include"}); });
attempt("credentialed-api", "fetch content", function () { return readBody("/n/PROTECTED/content", {credentials: "include"}); });
attempt("credentialed-api", "fetch ipynb", function () { return readBody("/n/PROTECTED.ipynb", {credentials: "include"}); });
attempt("credentialed-api", "no-cors content", function () {
  fetch("/n/PROTECTED/content", {credentials: "include", mode: "no-cors"}); });
attempt("credentialed-api", "xhr", function () {
  return new Promise(function (resolve) {
    var x = new XMLHttpRequest(); x.open("GET", "/n/PROTECTED.ipynb"); x.withCredentials = true;
    x.onloadend = function () { resolve(r_ok(x.responseText)); };
    x.send();
  });
});
attempt("credentialed-api", "owner-session", function () {
  fetch("/api/v1/shares/PROTECTED/owner-session", {method: "POST", credentials: "include", mode: "no-cors"}); });""",
        "read-other-share": """
attempt("read-other-share", "nested frame", function () {
  var f = document.createElement("iframe"); f.src = "/n/PUBLIC/content"; f.id = "nested";
  document.body.appendChild(f);
  return new Promise(function (resolve) {
    f.onload = function () { try { resolve(f.contentDocument.body.innerText); } catch (e) { resolve(); } };
  });
});
attempt("read-other-share", "nested protected frame", function () {
  var f = document.createElement("iframe"); f.src = "/n/PROTECTED/content";
  document.body.appendChild(f);
  return new Promise(function (resolve) {
    f.onload = function () { try { resolve(f.contentDocument.body.innerText); } catch (e) { resolve(); } };
  });
});
attempt("read-other-share", "popup", function () {
  var w = window.open("/n/PROTECTED", "_blank");
  return new Promise(function (resolve) {
    setTimeout(function () {
      try { resolve(w.document.body.innerText + w.frames[0].document.body.innerText); } catch (e) { resolve(); }
      try { w.location = "javascript:top.opener && 0"; } catch (e) {}
    }, 1500);
  });
});
attempt("read-other-share", "fetch public", function () { return fetch("/n/PUBLIC/content").then(function (r) { return r.text(); }); });""",
        "message-spoof": """
attempt("message-spoof", "postMessage", function () {
  parent.postMessage({nbshare: "hash", hash: "#/../../pwned/message"}, "*");
  parent.postMessage({nbshare: "hash", hash: "/pwned/message"}, "*");
  parent.postMessage({nbshare: "hash", hash: "javascript:alert(1)"}, "*");
  parent.postMessage({nbshare: "copy", hash: "#<img id=pwned-msg src=x>"}, "*");
  parent.postMessage({nbshare: "copy", hash: "#%3Cimg%20id%3Dpwned-msg%20src%3Dx%3E"}, "*");
  parent.postMessage({nbshare: "current", anchor: "<img id=pwned-msg src=x>"}, "*");
  parent.postMessage({nbshare: "print", hash: "<img id=pwned-msg src=x>"}, "*");
  // "open" navigates the share page, so only to this share's own notebooks and files.
  var me = "/n/" + location.pathname.split("/")[2];
  ["/pwned/open", "//127.0.0.1:9/pwned/open", "javascript:top.document.title='PWNED'", "/n/PUBLIC/nb/x.ipynb",
   me + "/nb/%2e%2e/%2e%2e/%2e%2e/pwned/open-dots", me + "/files/..\\..\\..\\pwned/open-backslash",
   me + "/nb/x.ipynb?next=/pwned/open-query", me + "/../pwned/open-up"].forEach(function (path) {
    parent.postMessage({nbshare: "open", path: path}, "*");
  });
});""",
    }
    cells = [attack_cell(PRELUDE, "prelude")]
    for name, js in attacks.items():
        if only is not None and name not in only:
            continue
        js = js.replace("PROTECTED", p).replace("PUBLIC", v)
        cells.append(attack_cell(f"<div class='attack' id='attack-{name}'><script>{js}</script></div>", name))
    # Markdown and HTML payloads, some of which only work if a reader clicks them.
    steal = (
        "(function(){var s='';try{s+=document.cookie}catch(e){}try{s+=JSON.stringify(localStorage)}"
        "catch(e){}try{top.document.title='PWNED'}catch(e){}return s})()"
    )
    if only is not None:
        return cells
    cells += [
        markdown(
            f"## Markdown script\n\n<script>tried('markdown-script');"
            f"attempt('markdown-script', 'cookie+storage', function () {{ return {steal}; }});</script>",
            "md-script",
        ),
        markdown(
            f"<img src='x:nothing' onerror=\"tried('markdown-onerror');"
            f"attempt('markdown-onerror', 'onerror', function () {{ return {steal}; }})\">",
            "md-onerror",
        ),
        markdown(
            "<svg width='10' height='10'><script>tried('svg-script');"
            f"attempt('svg-script', 'svg', function () {{ return {steal}; }});</script>"
            "<rect width='10' height='10' onclick=\"top.location='/pwned/svg-click'\"/></svg>"
            "<svg onload=\"tried('svg-script'); try { top.document.title = 'PWNED' } catch (e) {}\"></svg>",
            "md-svg",
        ),
        markdown(
            f"[markdown js link]({JS_URL})\n\n"
            f"<a id='js-link' href=\"{JS_URL}\">html js link</a>\n\n"
            f"<a id='top-js-link' target='_top' href=\"{JS_URL}\">top js link</a>\n\n"
            f"<a id='blank-js-link' target='_blank' href=\"{JS_URL}\">blank js link</a>\n\n"
            "<a id='top-link' target='_top' href='/pwned/top-link'>top link</a>\n\n"
            "<a id='parent-link' target='_parent' href='/pwned/parent-link'>parent link</a>",
            "md-links",
        ),
        markdown(
            "<base href='http://127.0.0.1:9/pwned/base/'>\n\n<a id='base-link' href='relative'>rel</a>"
            "\n\n<script>tried('base-tag'); if (document.baseURI.indexOf('/pwned/') >= 0) "
            "won('base-tag', document.baseURI);</script>",
            "md-base",
        ),
        markdown(
            "<form id='md-form' method='post' action='/upload'><input name='title' value='pwned'>"
            "<button id='md-submit'>submit</button></form>\n\n"
            "<form id='md-form-top' method='post' action='/upload' target='_top'>"
            "<button id='md-submit-top'>submit top</button></form>",
            "md-forms",
        ),
    ]
    return cells


def benign_plotly() -> list[dict]:
    figure = {
        "data": [{"type": "bar", "y": [2, 3, 1], "name": "bars"}],
        "layout": {"title": {"text": "bars"}},
    }
    return [plotly_cell(figure)]


# --- the scene ---------------------------------------------------------------------------


def views(server, share: dict) -> int:
    r = httpx.get(
        f"{server.url}/api/v1/shares/{share['id']}",
        headers={"Authorization": f"Bearer {share['owner_token']}"},
        timeout=30,
    )
    r.raise_for_status()
    return r.json()["views"]


def share_count(server) -> int:
    with sqlite3.connect(server.data_dir / "nbshare.db") as db:
        return db.execute("select count(*) from shares").fetchone()[0]


def log_since(server, offset: int) -> str:
    return server.log()[offset:]


def wait_for_report(frame, expected: set[str]) -> dict:
    """The report once every `expected` attack has run and, as far as they do, the attempts
    waiting for an answer (a fetch, a frame, a popup) have it: a late success is not missed.
    A nested frame's load event sometimes never comes on a loaded machine; such an attempt
    has not succeeded (it stays listed in "waiting"), so the scene goes on without it."""
    frame.wait_for_function(
        "names => window.NBS && names.every(n => NBS.tried.indexOf(n) >= 0)",
        arg=sorted(expected),
        timeout=60_000,  # generous: the test machine may be busy
    )
    try:
        frame.wait_for_function("() => !NBS.waiting.length", timeout=45_000)
    except PlaywrightTimeout:
        pass
    return frame.evaluate("JSON.parse(JSON.stringify(NBS))")


def once_still(page, read, *, still: float = 2.0, timeout: float = 60.0):
    """read()'s value once it has stopped changing for `still` seconds: for signs that say
    nowhere that they are done (popups, requests, the server's log, the top page's title).
    Polled with page.wait_for_timeout, so Playwright's events keep arriving meanwhile."""
    deadline = time.monotonic() + timeout
    value, since = read(), time.monotonic()
    while time.monotonic() - since < still:
        if time.monotonic() > deadline:
            raise AssertionError(f"still changing after {timeout} s: {value!r}"[:500])
        page.wait_for_timeout(100)
        now = read()
        if now != value:
            value, since = now, time.monotonic()
    return value


def frame_report(frame) -> str:
    try:
        return frame.evaluate("JSON.stringify(NBS)")
    except Exception as exc:  # navigated away (only when a protection is missing)
        return repr(exc)


class Scene:
    """What happened while the hostile notebook ran in the share page."""


@pytest.fixture(scope="module")
def scene(browser, server):
    s = Scene()
    s.server = server
    s.protected = publish_live(
        server,
        notebook(markdown(f"# Protected\n\n{SECRET_PROTECTED}", "p")),
        "protected.ipynb",
        headers={"X-Nbshare-Password": PASSWORD},
        max_views=50,
    )
    s.public = publish_live(server, notebook(markdown(f"# Public\n\n{SECRET_PUBLIC}", "v")), "public.ipynb")
    prefixes = {share["id"][:4] for share in (s.protected, s.public)}
    s.hostile = publish_live(
        server,
        notebook(*attack_cells(s.protected["id"], s.public["id"]), *benign_plotly(), title="Hostile"),
        "hostile.ipynb",
    )
    assert len(prefixes | {s.hostile["id"][:4]}) == 3, "log lines tell the shares apart by id prefix"
    # Notebooks that navigate their own frame to the protected share (this replaces the
    # notebook, so each gets its own share): by a markdown <meta refresh>, and by script.
    target = f"/n/{s.protected['id']}/content"
    s.refresher = publish_live(
        server,
        notebook(markdown(f"<meta http-equiv='refresh' content='0;url={target}'>\n\nrefreshing", "meta")),
        "meta.ipynb",
    )
    # The same attacks from a notebook opened directly, as the top page, not framed.
    s.direct = publish_live(
        server,
        notebook(
            *attack_cells(
                s.protected["id"],
                s.public["id"],
                only={"cookie-read", "storage-read", "storage-write", "credentialed-api"},
            )
        ),
        "direct.ipynb",
    )
    s.navigator = publish_live(
        server, notebook(attack_cell(f"<script>location.href = '{target}';</script>", "nav")), "nav.ipynb"
    )

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # The share page may write the clipboard, so a spoofed "copy" takes the path that shows
    # the decoded fragment ("Link copied: ..."), which share.js must show as text.
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    # What share.js says in its status line, and any element added to the share page:
    # the status line clears itself after a moment, and an injected element with it.
    context.add_init_script("""if (window === window.top) document.addEventListener("DOMContentLoaded", function () {
      var status = document.getElementById("share-status");
      window.nbsStatuses = [];
      window.nbsAdded = [];
      new MutationObserver(function (records) {
        records.forEach(function (r) {
          r.addedNodes.forEach(function (n) { if (n.nodeType === 1) nbsAdded.push(n.outerHTML.slice(0, 300)); });
        });
        if (status && status.textContent) nbsStatuses.push(status.textContent);
      }).observe(document.body, {childList: true, characterData: true, subtree: true});
    });""")
    page = context.new_page()
    s.context, s.page = context, page
    s.dialogs, s.popups, s.requests = [], [], []
    page.on("dialog", lambda d: (s.dialogs.append(d.message), d.dismiss()))
    context.on("page", lambda p: s.popups.append(p))
    context.on("request", lambda r: s.requests.append((r.method, r.url)))

    # Bait on the service origin: a readable cookie, local and session storage, and an
    # unlocked protected share (its HttpOnly SameSite=Strict grant cookie).
    page.goto(server.url + "/")
    context.add_cookies([{"name": "nbs_bait", "value": BAIT_COOKIE, "url": server.url}])
    page.evaluate(
        "([l, s]) => { localStorage.setItem('bait', l); sessionStorage.setItem('bait', s); }",
        [BAIT_LOCAL, BAIT_SESSION],
    )
    page.goto(s.protected["url"])
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.locator("#notebook").wait_for()
    page.frame(name="notebook").get_by_text(SECRET_PROTECTED).wait_for()
    assert any(c["name"].startswith("nbs_grant_") and c["httpOnly"] for c in context.cookies())
    s.views_before = views(server, s.protected)
    s.count_before = share_count(server)
    s.log_offset = len(server.log())

    # The attack: the visitor opens the hostile share.
    page.goto(s.hostile["url"])
    # Where the visitor went, not page.url: by the time goto returns the attacks have run.
    s.top_url = s.hostile["url"]
    s.report = None  # stays None if an attack navigated the top page or the frame away
    s.frame_title = s.frame_text = ""
    frame = None
    try:
        page.locator("#notebook").wait_for(timeout=30_000)
        frame = page.frame(name="notebook")
        wait_for_report(frame, {"prelude", *ATTACKS} - {"javascript-link"})
        frame.locator("#md-submit").wait_for(timeout=30_000)
        once_still(page, lambda: (frame_report(frame), len(s.popups), len(s.requests), len(s.dialogs)))
        s.report = frame.evaluate("JSON.parse(JSON.stringify(NBS))")
        s.frame_title = frame.evaluate("document.title")
        s.frame_text = frame.evaluate("document.documentElement.outerHTML")
    except Exception as exc:  # only when a protection is missing; the tests then fail
        s.requests.append(("scene-broken", repr(exc)[:300], frame and frame_report(frame)))
    # The reader clicks everything clickable; the last one (a relative link) leaves the page.
    s.clicked = []
    clicks = [(selector, how) for selector in JS_LINKS for how in JS_CLICKS]
    clicks += [
        (selector, {})
        for selector in (
            "#top-link",
            "#parent-link",
            "#md-submit",
            "#md-submit-top",
            "svg rect",
            "#base-link",
        )
    ]

    def merge_report() -> None:
        after = frame.evaluate("JSON.parse(JSON.stringify(NBS))")
        s.report["tried"] = sorted(set(s.report["tried"]) | set(after["tried"]))
        s.report["won"] += [w for w in after["won"] if w not in s.report["won"]]

    for selector, how in clicks:
        if s.report is None:
            break
        try:
            if selector == "#base-link":  # it leaves the frame: first, what the others did
                once_still(
                    page, lambda: (frame_report(frame), len(s.popups), len(s.requests), len(s.dialogs))
                )
                merge_report()
            pressed = frame.evaluate("NBS.pressed")
            # Generous: on a busy machine a click can wait seconds for the frame to be ready.
            frame.locator(selector).first.click(timeout=15_000, **how)
            s.clicked.append((selector, json.dumps(how)))
            if selector != "#base-link":
                frame.wait_for_function(f"NBS.pressed > {pressed}", timeout=30_000)  # it got there
                merge_report()
        except Exception as exc:  # a click that navigated the frame or the page away
            s.requests.append(("click-failed", f"{selector} {how}: {exc!r}"[:300]))
    # Whatever the clicks set off (a navigation, a popup, a request) has happened once the
    # top page, the popups, the requests and the server's log stop changing.
    once_still(
        page,
        lambda: (page.url, page.title(), len(s.popups), len(s.requests), len(s.dialogs), len(server.log())),
    )
    s.top_title = page.title()
    s.top_html = page.content()
    s.added = page.evaluate("window.nbsAdded || []")
    # Elements an attack put there, still there or added for a moment.
    s.top_injected = page.locator("#pwned, #pwned-msg").count() + len([h for h in s.added if "pwned" in h])
    s.statuses = page.evaluate("(window.nbsStatuses || []).join('\\n')")
    s.top_url_after = page.url
    s.top_storage = page.evaluate(
        "[JSON.stringify(localStorage), JSON.stringify(sessionStorage), document.cookie]"
    )
    s.cookies = context.cookies()
    s.popup_urls = [p.url for p in s.popups if p is not page]
    s.popup_titles = []
    for popup in s.popups:
        try:
            s.popup_titles.append(popup.title())
        except Exception:  # noqa: S110 - a popup that closed itself has no title to read
            pass
    s.log = log_since(server, s.log_offset)
    s.views_after = views(server, s.protected)
    s.count_after = share_count(server)
    yield s
    context.close()


def log_lines(scene, share: dict) -> list[str]:
    prefix = share["id"][:4]
    return [line for line in scene.log.splitlines() if f"/{prefix}" in line]


def no_success(scene, name: str) -> None:
    assert scene.report is not None, f"the hostile notebook's report could be read: {scene.requests[-3:]}"
    assert name in scene.report["tried"], f"the {name} attack ran"
    assert not [w for w in scene.report["won"] if w.startswith(name)], scene.report["won"]
    assert "/pwned/" not in scene.log.replace("/pwned/beacon-", "/beacon-") or not [
        line for line in scene.log.splitlines() if f"/pwned/{name}" in line or f"/pwned/beacon-{name}" in line
    ]


# --- the tests ---------------------------------------------------------------------------


def test_every_attack_ran_and_none_left_a_sign(scene):
    """The summary: all attacks ran; no success reported in the frame, no marker in the top
    page, no /pwned request, no bait anywhere the attacker could leave it."""
    assert scene.report is not None, f"the hostile notebook's report could be read: {scene.requests[-3:]}"
    # This Chromium runs no javascript: URL from an opaque-origin frame (see
    # test_javascript_links_never_run_with_the_service_origin), so that one need not report.
    assert set(ATTACKS) - {"javascript-link"} <= set(scene.report["tried"])
    assert scene.report["won"] == []
    assert "/pwned" not in scene.log
    assert "PWNED" not in scene.top_title and "WON" not in scene.top_title
    for bait in BAITS:
        assert bait not in scene.frame_title
        assert bait not in scene.frame_text
        assert bait not in scene.log
        assert all(bait not in d for d in scene.dialogs)
    assert scene.views_after == scene.views_before
    assert scene.count_after == scene.count_before


def test_cookies_cannot_be_read_or_set(scene):
    """document.cookie, parent/top.document.cookie and cookieStore all fail in the frame;
    the bait cookie appears nowhere and no cookie was set on the service.

    Checked: with allow-same-origin added, document.cookie and parent.document.cookie
    returned the bait cookie: the test failed on won "cookie-read: document.cookie=nbs_bait=..."."""
    no_success(scene, "cookie-read")
    no_success(scene, "storage-write")
    names = {c["name"] for c in scene.cookies}
    assert "pwned" not in names and "nbs_bait" in names
    assert "pwned" not in scene.top_storage[2]
    for place in (scene.frame_title, scene.frame_text, scene.log):
        assert BAIT_COOKIE not in place


def test_storage_cannot_be_read_or_written(scene):
    """localStorage, sessionStorage, indexedDB and caches (own and the parent's) all fail.

    Checked: with allow-same-origin added, localStorage, sessionStorage and
    parent.localStorage read the bait (failed on won "storage-read: localStorage=...") and
    setItem('pwned') landed in the service origin's storage."""
    no_success(scene, "storage-read")
    no_success(scene, "storage-write")
    local, session, _ = scene.top_storage
    assert json.loads(local) == {"bait": BAIT_LOCAL}
    assert json.loads(session) == {"bait": BAIT_SESSION}
    for bait in (BAIT_LOCAL, BAIT_SESSION):
        assert bait not in scene.frame_title and bait not in scene.frame_text and bait not in scene.log


def test_the_top_page_cannot_be_rewritten(scene):
    """top.document.title, parent.document.body, frameElement and top.history all fail.

    Checked: with allow-same-origin added, the test failed on won "top-dom: top.title=PWNED",
    "parent.body=inserted", "frameElement=sandbox removed" and "top.history=pushed"."""
    no_success(scene, "top-dom")
    assert scene.top_title == "Hostile"
    assert "PWNED" not in scene.top_html and 'id="pwned"' not in scene.top_html
    frame = scene.page.locator("#notebook")
    assert "allow-same-origin" not in frame.get_attribute("sandbox")
    assert frame.get_attribute("sandbox").startswith("allow-scripts")


def test_the_top_page_cannot_be_navigated(scene):
    """top.location, location.replace, parent.location, window.open(_top), and links with
    target=_top/_parent (clicked by the reader) leave the share page where it was.

    Checked: with allow-top-navigation added to SANDBOX and the iframe attributes, the
    share page was navigated to /pwned/top-location, /pwned/top-replace,
    /pwned/parent-href, /pwned/open-top and /pwned/anchor-top; the test failed on the log."""
    assert urlsplit(scene.top_url_after).path == urlsplit(scene.top_url).path
    assert urlsplit(scene.top_url_after).netloc == urlsplit(scene.top_url).netloc
    assert "/pwned/" not in scene.log
    no_success(scene, "top-navigation")


def test_forms_cannot_be_submitted_to_the_service(scene):
    """Scripted form.submit() to /upload, /api/v1/shares and the unlock URL, into the frame,
    _blank and _top, and markdown forms clicked by the reader: nothing reaches the server.

    Checked: with allow-forms added to SANDBOX and the iframe attributes but form-action
    'none' kept, nothing reached the server, but the blocked submission replaced the frame
    with an error page and the test failed (the report could not be read). With
    form-action 'none' removed as well, the log showed "POST /upload" 201 Created (twice)
    and "POST /n/<id>/unlock", and the test failed on them."""
    posts = [line for line in scene.log.splitlines() if '"POST ' in line]
    assert not [line for line in posts if "/upload" in line or "/unlock" in line or "shares HTTP" in line], (
        posts
    )
    assert scene.count_after == scene.count_before
    no_success(scene, "forms")


def test_the_service_is_called_without_the_visitors_credentials(scene):
    """fetch/XHR with credentials: 'include' of the protected share the visitor unlocked
    (API, content, .ipynb, owner session): the grant cookie (HttpOnly, SameSite=Strict) is
    not sent from the opaque origin, every call is refused, no body is read and the share's
    view count does not move.

    Checked: with allow-same-origin added, the calls were same-origin and carried the
    grant: the test failed on won "credentialed-api: fetch api={...}" and the protected
    notebook's body with its secret."""
    no_success(scene, "credentialed-api")
    lines = [line for line in log_lines(scene, scene.protected) if "/static/" not in line]
    assert len(lines) >= 6, scene.log
    assert all(" 401 " in line or " 403 " in line for line in lines), lines
    assert scene.views_after == scene.views_before
    assert SECRET_PROTECTED not in scene.frame_text and SECRET_PROTECTED not in scene.frame_title


def test_other_shares_cannot_be_read(scene):
    """A nested frame of another share's content (public or protected), a popup of the
    protected share, and fetch: none is readable from the notebook.

    Checked: with allow-same-origin added, the test failed on won "read-other-share:
    fetch public=..." and "nested protected frame=... secret-protected-..."."""
    no_success(scene, "read-other-share")
    for secret in (SECRET_PUBLIC, SECRET_PROTECTED):
        assert secret not in scene.frame_text and secret not in scene.frame_title
    # The popup escaped the sandbox but not the visitor's SameSite=Strict grant: it shows
    # the unlock form, as any other site's link would.
    assert any(scene.protected["id"] in url for url in scene.popup_urls)


def test_markdown_and_html_payloads_run_only_in_the_opaque_origin(scene):
    """<script> in markdown, onerror=, SVG <script>/onload/onclick: whatever runs, runs in
    the frame's opaque origin and reaches nothing of the service. Dialogs, if any, carry
    no bait and no service origin.

    Checked: with allow-same-origin added, the test failed on won "markdown-script:
    cookie+storage=nbs_bait=...{"bait": ...}", "markdown-onerror: onerror=nbs_bait=..."
    and "svg-script: svg=nbs_bait=..." (the <img onerror> and the SVG <script> ran with
    the service's origin and read the bait cookie and storage), and the SVG's onload set
    the share page's title to "PWNED"."""
    for name in ("markdown-script", "markdown-onerror", "svg-script"):
        no_success(scene, name)
    for message in scene.dialogs:
        assert scene.server.url not in message
        assert not any(bait in message for bait in BAITS)
    assert "PWNED" not in scene.top_title


def test_javascript_links_never_run_with_the_service_origin(scene):
    """javascript: links in markdown and HTML (in the frame, target=_top, target=_blank),
    clicked by the reader plainly, with Ctrl, Shift and Alt, and with the middle button:
    none runs with the service's origin, in the frame or in the top page. Each link would
    report that: the share page's title, a /pwned/javascript-link request, the frame's
    won().

    Observed in this Chromium (156): none of them runs at all. The frame's own links do
    nothing, without a console message; the _top one is refused as a javascript:
    navigation from a frame that is not same-origin with the top page; the _blank one
    opens an empty window and runs nowhere; the modified clicks open nothing. The test
    does not depend on that: a link that ran in the opaque origin would only report
    `tried`, which is harmless.

    Checked, which protection stops them (on weakened copies, see the module docstring;
    the last three with a notebook holding only these links and the report helpers, as
    allow-top-navigation lets the scripted attacks take the page away first):
    - allow-same-origin added (SANDBOX and both iframe attributes): the frame's links (the
      markdown and the HTML one) ran with the service origin when clicked plainly; the
      test failed on won "javascript-link: http://127.0.0.1:<port>:nbs_bait=...{"bait":
      ...}" and on /pwned/javascript-link in the log. The _top link was still refused
      (the frame is sandboxed without allow-top-navigation) and the _blank one ran nowhere.
    - Also allow-top-navigation added, and 'unsafe-inline' added to the share page's
      script-src: the _top link ran in the share page, whose title became
      "WON:javascript-link". With the share page's CSP kept, the share page refused it
      ("Running the JavaScript URL violates ... script-src 'self'").
    - No sandbox at all (the CSP sandbox and both iframe attributes removed): the frame's
      links ran with the service origin as with allow-same-origin; the _top one was refused
      by the share page's CSP. The content CSP has no script-src, so what stops the
      frame's links is the sandbox's opaque origin, not a script policy.
    """
    links = scene.frame_text.count('href="javascript:(function(n,s)')
    assert links == len(JS_LINKS), "every javascript: link reached the page with its href"
    done = {(selector, how) for selector, how in scene.clicked}
    assert {(sel, json.dumps(how)) for sel in JS_LINKS for how in JS_CLICKS} <= done, scene.requests
    assert not [w for w in scene.report["won"] if w.startswith("javascript-link")], scene.report["won"]
    assert "/pwned/javascript-link" not in scene.log
    assert "WON" not in scene.top_title and "PWNED" not in scene.top_title
    assert not [t for t in scene.popup_titles if "WON" in t or "PWNED" in t], scene.popup_titles
    after = urlsplit(scene.top_url_after)
    assert (after.scheme, after.netloc, after.path) == urlsplit(scene.top_url)[:3]


def test_a_base_tag_cannot_repoint_urls(scene):
    """<base href=...> in markdown is ignored (base-uri 'none'): the document's base stays
    its own URL, and a relative link clicked goes to the service, not the attacker's host.

    Checked: with base-uri 'none' removed from content_csp, the test failed on won
    "base-tag: http://127.0.0.1:9/pwned/base/"."""
    no_success(scene, "base-tag")
    assert not [url for _, url in scene.requests if url.startswith("http://127.0.0.1:9/")]
    assert any(url == f"{scene.hostile['url']}/relative" for _, url in scene.requests)


def test_messages_from_the_notebook_only_move_the_fragment(scene):
    """share.js listens to the frame's postMessage; spoofed ones (hash, copy, current,
    print) can only change the #fragment and show text, and "open" only opens this share's
    own notebooks and files: not another path of the service, another share, another
    host, a javascript: URL, or a path that climbs out by dot segments, %2e or
    backslashes.

    Checked, each on a weakened copy of share.js (see the module docstring):
    - show() without its ANCHOR test: history.replaceState took "/pwned/message" and the
      test failed on the share page's path;
    - openable() returning the path unchecked: the spoofed "open"s took the share page to
      /pwned/open, /pwned/open-dots and /n/pwned/open-up before the report could be read,
      and the test failed;
    - say() writing innerHTML instead of textContent: the copied link's decoded fragment
      "<img id=pwned-msg src=x>" became an element of the share page for the moment the
      status line shows, and the test failed on it (the context may write the clipboard,
      so the "Link copied: ..." path runs; the scene records every element added to the
      share page, as the status line clears itself).
    Before those checks the scene read the share page's URL after the attacks had run, so
    a moved URL compared equal to itself: this test and the navigation test above passed
    with show()'s ANCHOR test removed. It now compares with the URL the visitor opened."""
    tried = scene.report["tried"]
    assert "message-spoof" in tried
    after = urlsplit(scene.top_url_after)
    assert (after.scheme, after.netloc, after.path, after.query) == urlsplit(scene.top_url)[:4]
    assert "javascript" not in after.fragment
    assert "/pwned/open" not in scene.log and f"/n/{scene.public['id']}/nb/" not in scene.log
    assert not [
        url for _, url in scene.requests if "/pwned/open" in url or url.startswith("http://127.0.0.1:9/")
    ]
    # Whatever share.js shows of a message (a status line, a highlighted entry) is text.
    assert scene.top_injected == 0
    assert "Link copied" in scene.statuses, scene.statuses


@pytest.mark.parametrize("which", ["refresher", "navigator"])
def test_navigating_its_own_frame_carries_no_grant(scene, which):
    """A notebook may navigate its own frame (a markdown <meta refresh>, or location= by
    script). Sent to the protected share the visitor unlocked, the navigation must not
    carry the grant: the share answers 401, no view is counted.

    Checked: with allow-same-origin added, both variants failed: the navigation was
    same-origin, carried the SameSite=Strict grant and "GET /n/<id>/content" answered 200."""
    offset = len(scene.server.log())
    views_before = views(scene.server, scene.protected)
    page = scene.context.new_page()
    share = getattr(scene, which)
    page.goto(share["url"])
    prefix = f"/n/{scene.protected['id'][:4]}…/content"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and prefix not in log_since(scene.server, offset):
        time.sleep(0.1)
    page.wait_for_timeout(500)
    lines = [line for line in log_since(scene.server, offset).splitlines() if prefix in line]
    page.close()
    assert lines, "the notebook navigated its frame"
    assert all(" 401 " in line for line in lines), lines
    assert views(scene.server, scene.protected) == views_before


def test_the_content_url_opened_directly_is_still_an_opaque_origin(scene):
    """Sent the bare /n/<id>/content URL (no share page, no iframe sandbox attribute), the
    notebook is still sandboxed by its CSP header: opaque origin, no cookies, no storage,
    no credentialed calls.

    Checked: with allow-same-origin added to SANDBOX only (iframe attribute untouched),
    this was the one test that failed: origin was "http://127.0.0.1:<port>", not "null"."""
    offset = len(scene.server.log())
    page = scene.context.new_page()
    page.goto(scene.direct["url"] + "/content")
    report = wait_for_report(
        page.main_frame, {"prelude", "cookie-read", "storage-read", "storage-write", "credentialed-api"}
    )
    assert page.evaluate("origin") == "null"
    text, title = page.content(), page.title()
    page.close()
    assert {"cookie-read", "storage-read", "storage-write", "credentialed-api"} <= set(report["tried"])
    assert report["won"] == []
    for bait in BAITS:
        assert bait not in text and bait not in title
    log = log_since(scene.server, offset)
    assert "/pwned" not in log
    lines = [line for line in log.splitlines() if f"/{scene.protected['id'][:4]}" in line]
    assert lines and all(" 401 " in line or " 403 " in line for line in lines), lines


def test_plotly_stays_interactive_inside_the_sandbox(scene):
    """Containment does not break interactivity: a plotly figure draws, hovers and has its
    modebar, in the same profile as the attacks."""
    share = publish_live(scene.server, notebook(*benign_plotly()), "plot.ipynb")
    page = scene.context.new_page()
    page.goto(share["url"])
    page.locator("#notebook").wait_for()
    frame = page.frame(name="notebook")
    frame.locator(".nbs-plotly .main-svg").first.wait_for()
    assert frame.locator(".nbs-plotly .modebar").count() == 1
    bar = frame.locator(".nbs-plotly .bars path").nth(1)
    bar.hover(force=True)  # plotly's drag layer takes the pointer, as it should
    frame.locator(".nbs-plotly .hoverlayer .hovertext").first.wait_for()
    assert "3" in frame.locator(".nbs-plotly .hoverlayer").text_content()
    page.close()


# What Content-Disposition must look like whatever the name: a quoted ASCII fallback with
# no quote or backslash inside, and the exact name percent-encoded (RFC 6266 / 5987).
DISPOSITION = re.compile(
    r"""^(inline|attachment); filename="([\x20\x21\x23-\x5b\x5d-\x7e]*)"; """
    r"""filename\*=UTF-8''([A-Za-z0-9%._~-]+)$"""
)


def disposition_name(header: str) -> str:
    """The file name a Content-Disposition header gives, after checking its shape."""
    match = DISPOSITION.match(header)
    assert match, f"a well-formed Content-Disposition: {header!r}"
    name = unquote(match.group(3))
    assert match.group(2) == "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name), (
        header
    )
    return name


def test_hostile_names_are_text_on_the_share_page(scene):
    """The share page (the service's own origin) shows the notebook's title, kernel name
    and file name as text: no element or script of theirs appears there; and the .ipynb
    download's Content-Disposition keeps the file name inside its quotes.

    Checked (on weakened copies, see the module docstring):
    - the title rendered `|safe` in share.html: the title's markup became elements in the
      share page and the test failed on .share-title reading "x" (the strict CSP kept the
      script from running, so the test checks the DOM, not only for execution);
    - the kernel name rendered `|safe` (share.html's span.kernel): the span held an <img>
      and the test failed on its text reading "";
    - the file name rendered `|safe` (share.html's span.filename): the name's <img> became
      an element and the test failed on the span reading only `"; filename=evil.html;
      x=".ipynb`;
    - content_disposition() (views/pages.py) without its ASCII fallback's escaping (the
      name put between the quotes as it is): the test failed on the header, whose
      `filename="<img id='pwned-file' ...>"; filename=evil.html; x=".ipynb"` the
      name's own quote had closed."""
    hostile_meta = {
        "title": "</title><script>window.PWNED_TITLE=1</script><b id='pwned-title'>x",
        "kernelspec": {
            "name": "evil",
            "display_name": "<img id='pwned-kernel' src=x onerror='window.PWNED_KERNEL=1'>",
            "language": "<svg onload=alert(1)>",
        },
        "language_info": {"name": "<script>alert('lang')</script>"},
    }
    cells = [markdown("# Names\n\nhostile names", "names")]
    filename = "<img id='pwned-file' src=x onerror=alert(1)>\"; filename=evil.html; x=\".ipynb"
    share = publish_live(scene.server, notebook(*cells, **hostile_meta), filename)
    page = scene.context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(share["url"])
    page.locator("#notebook").wait_for()
    page.frame(name="notebook").locator("#cell-id\\=names, .jp-Cell").first.wait_for()
    page.wait_for_timeout(500)
    assert page.locator(".share-title").inner_text() == hostile_meta["title"]
    assert page.locator(".kernel").inner_text() == hostile_meta["kernelspec"]["display_name"]
    assert page.locator(".filename").inner_text() == filename
    assert page.locator("#pwned-title, #pwned-kernel, #pwned-file, svg, img").count() == 0
    assert [s.get_attribute("src") for s in page.locator("script").all()] == [
        "/static/messages.js",
        "/static/share.js",
        "/static/jupyter.js",
    ]
    assert page.evaluate("[window.PWNED_TITLE, window.PWNED_KERNEL]") == [None, None]
    assert page.title() == hostile_meta["title"] and dialogs == []
    download = page.locator("#download").get_attribute("href")
    page.close()
    r = httpx.get(download, timeout=30)
    assert r.status_code == 200
    assert disposition_name(r.headers["content-disposition"]) == filename


# Attachment names that try every place a name goes: the <img> markdown makes of it, the
# "Files in this notebook" list on the share page, the file's URL and its
# Content-Disposition. The first and the missing one have no spaces, so the markdown
# image syntax hands them to the renderer whole.
HOSTILE_ATTACHMENTS = (
    """x"onerror="won('attachment-name',origin)"y="<svg/onload=won('attachment-name',1)>.png""",
    # No slash: stripping path parts leaves all of its markup for the escaping.
    """q"'<b>&amp;<i>.png""",
    """x" onerror="won('attachment-name',2)" y=".png""",
    "..\\..\\evil\r\nSet-Cookie: pwned=1\r\n.png",
)
MISSING_ATTACHMENT = """m"onerror="won('attachment-name',3)"y=".png"""
HOSTILE_DOWNLOAD = """d"onerror="won('attachment-name',4)"<svg/onload=won('attachment-name',5)>.csv"""


def test_hostile_attachment_names_are_inert_wherever_they_go(scene):
    """Attachment names (and an embedded download's name) with quotes, angle brackets,
    onerror=, an SVG onload, path parts and CR/LF reach the renderer, the share page's
    file list, the file URLs and Content-Disposition: in the frame nothing of them runs
    and no attribute of theirs appears, the list shows them as plain names, and each
    file downloads under a clean name with a well-formed header.

    (mistune percent-encodes a markdown image's URL before the attachment is looked up,
    so a name with quotes, brackets, spaces or non-ASCII letters is not found and shows as
    a broken image, its encoded name in src; the test accepts that or the data: URL a
    lookup that decodes first would give.)

    Checked (on weakened copies, see the module docstring):
    - safe_name() (render/assets.py) returning the name as given: the test failed on the
      stored names, which kept their quotes, brackets, backslash path and CR/LF (the list
      showed them as text: Jinja still escaped them).
    - that and the file list's name rendered `|safe` in share.html: the names' <svg>, <b>
      and <i> became 6 elements of the share page and the test failed on them (the SVG's
      onload did not run: the share page's CSP refused it).
    - the file list's name rendered `|safe` alone: safe_name leaves no bracket for markup,
      but the test failed on the list reading "q_'_b_&_i_.png" for the stored
      "q_'_b_&amp;_i_.png".
    - content_disposition() (views/pages.py) without its fallback's escaping: this test
      still passed, as the stored names keep no quote or backslash for it to escape;
      test_hostile_names_are_text_on_the_share_page (whose file name keeps its quote)
      failed.
    - the renderer writing a markdown image's src as written (an image() on
      _LenientRenderer in render/exporter.py that decodes the URL and does not escape it):
      the missing attachment's onerror ran in the frame; the test failed on won
      "attachment-name: 3"."""
    refs = "\n\n".join(
        [
            "![ok](attachment:ok.png)",
            f"![quotes](attachment:{HOSTILE_ATTACHMENTS[0]})",
            f"![missing](attachment:{MISSING_ATTACHMENT})",
        ]
    )
    cell = markdown(refs, "att")
    cell["attachments"] = {name: {"image/png": PNG} for name in ("ok.png", *HOSTILE_ATTACHMENTS)}
    csv = base64.b64encode(b"a,b\n1,2\n").decode()
    download = attack_cell(
        f"<a data-nbshare-download='{html.escape(HOSTILE_DOWNLOAD, quote=True)}' "
        f"href='data:text/csv;base64,{csv}'>data</a>",
        "download",
    )
    share = publish_live(scene.server, notebook(attack_cell(PRELUDE, "prelude"), cell, download), "att.ipynb")
    page = scene.context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(share["url"])
    page.locator("#notebook").wait_for()
    frame = page.frame(name="notebook")
    frame.wait_for_function("window.NBS && document.querySelectorAll('.jp-RenderedMarkdown img').length >= 3")
    page.wait_for_timeout(1000)  # a broken image's onerror fires by then

    # In the frame: three images, the benign one resolved, no attribute from any name.
    srcs = frame.eval_on_selector_all(
        ".jp-RenderedMarkdown img", "els => els.map(e => e.getAttribute('src'))"
    )
    assert len(srcs) == 3 and srcs[0].startswith("data:image/png;base64,"), srcs
    assert all(
        src.startswith(("data:image/png;base64,", "attachment:")) and '"' not in src for src in srcs
    ), srcs
    assert frame.evaluate("NBS.won") == [] and dialogs == []
    assert frame.locator("[onerror], [onload], svg").count() == 0

    # On the share page: no element of any name; each name listed exactly as stored (so as
    # text, not markup), and stored without path parts, control characters, quotes or
    # angle brackets.
    assert (
        page.locator("#files b, #files i, #files svg, #files img, #files [onload], #files [onerror]").count()
        == 0
    )
    assert page.locator("svg, img").count() == 0
    assert [s.get_attribute("src") for s in page.locator("script").all()] == [
        "/static/messages.js",
        "/static/share.js",
        "/static/jupyter.js",
    ]
    stored = [f["name"] for f in share["files"] if f["role"] in ("attachment", "download")]
    assert len(stored) == len(HOSTILE_ATTACHMENTS) + 2, stored  # ok.png, the hostile ones, the download
    rows = page.locator("#files tbody a[download]")
    names = rows.all_text_contents()
    assert sorted(names) == sorted(stored)
    for name in stored:
        assert name.endswith((".png", ".csv")) and not set(name) & set('"<>/\\\r\n'), name

    # Each file downloads, under the name listed, with a well-formed header.
    for link, name in zip(rows.all(), names, strict=True):
        r = httpx.get(link.get_attribute("href"), timeout=30)
        assert r.status_code == 200, (name, r.status_code)
        assert r.content == (base64.b64decode(PNG) if name.endswith(".png") else b"a,b\n1,2\n")
        assert disposition_name(r.headers["content-disposition"]) == name
        assert "set-cookie" not in r.headers
    page.locator("#files summary").click()
    with page.expect_download() as saved:
        rows.nth(1).click()
    assert saved.value.suggested_filename == names[1]
    page.close()
