"""The service's own pages escape everything a notebook or uploader controls; notebook
content runs only in a sandbox; headers, downloads, paths and logs leak nothing."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from helpers import PUBLIC_URL, TEST_HOSTS, fixture_bytes, minimal_notebook, nb_bytes, publish, stored_state
from nbshare.app import create_app
from nbshare.logs import RedactShareIds
from nbshare.security.tokens import new_share_id, redact_id
from nbshare.settings import Settings

HOSTILE_TITLE = '"><script>alert("title")</script><img src=x onerror=alert(1)>'
HOSTILE_FILENAME = '"><img src=x onerror=alert(2)>.ipynb'
HOSTILE_KERNEL = '<img src=x onerror="window.PWNED_KERNEL=1">'  # from hostile.ipynb
NOTEBOOK_TITLE = "</title><script>window.top.PWNED_TITLE=1</script><b>x"  # from hostile.ipynb
STATIC_SCRIPT = re.compile(r"/static/[\w.-]+\.js")


def assert_inert(html: str) -> BeautifulSoup:
    """No markup from the notebook or the uploader survives as markup."""
    soup = BeautifulSoup(html, "html.parser")
    for script in soup.find_all("script"):
        assert STATIC_SCRIPT.fullmatch(script.get("src", "")) and not script.string, script
    for tag in soup.find_all(True):
        handlers = [name for name in tag.attrs if name.lower().startswith("on")]
        assert not handlers, tag
    assert soup.find(["img", "svg", "b", "object", "embed"]) is None
    assert html.count("<script") == len(soup.find_all("script"))
    assert "<img src=x" not in html and "<svg" not in html
    return soup


@pytest.fixture
def hostile_share(client):
    r = publish(client, fixture_bytes("hostile.ipynb"), HOSTILE_FILENAME)
    assert r.status_code == 201, r.text
    return r.json()


def test_share_page_escapes_notebook_metadata_and_filename(client, hostile_share):
    page = client.get(f"/n/{hostile_share['id']}")
    soup = assert_inert(page.text)
    assert soup.title.get_text() == NOTEBOOK_TITLE
    assert soup.select_one("h1.share-title").get_text() == NOTEBOOK_TITLE
    assert soup.select_one(".filename").get_text() == hostile_share["filename"] == HOSTILE_FILENAME
    assert soup.select_one(".kernel").get_text() == HOSTILE_KERNEL
    assert "&lt;script&gt;window.top.PWNED_TITLE=1&lt;/script&gt;" in page.text


def test_manage_page_is_inert_and_shows_nothing_without_the_token(client, hostile_share):
    # The manage page learns the title only through the API, with the owner token, and
    # manage.js puts it in with textContent.
    page = client.get(f"/n/{hostile_share['id']}/manage")
    assert_inert(page.text)
    assert NOTEBOOK_TITLE not in page.text
    assert hostile_share["owner_token"] not in page.text


def test_explicit_title_is_escaped_everywhere(client):
    r = publish(client, nb_bytes(minimal_notebook()), HOSTILE_FILENAME, title=HOSTILE_TITLE)
    share_id = r.json()["id"]
    soup = assert_inert(client.get(f"/n/{share_id}").text)
    assert HOSTILE_TITLE in soup.find("h1").get_text()


def test_upload_result_page_escapes_title_and_filename(client):
    filename = "<img src=x onerror=alert(3)>.ipynb"  # httpx percent-encodes quotes in form names
    r = client.post(
        "/upload", files={"file": (filename, fixture_bytes("hostile.ipynb"))}, data={"title": HOSTILE_TITLE}
    )
    assert r.status_code == 201
    soup = assert_inert(r.text)
    assert soup.select_one("p.share-title").get_text().startswith(HOSTILE_TITLE)
    assert filename in soup.select_one("p.share-title .hint").get_text()


@pytest.mark.parametrize(
    "changes",
    [
        {"nbformat": "<script>alert(5)</script>"},
        {"cells": [{"cell_type": "<img src=x onerror=alert(6)>"}]},
    ],
)
def test_error_page_escapes_what_the_notebook_contains(client, changes):
    r = client.post("/upload", files={"file": ("x.ipynb", nb_bytes({**minimal_notebook(), **changes}))})
    assert r.status_code == 422
    message = assert_inert(r.text).select_one("p.error-message").get_text()
    assert "alert(" in message  # quoted back to the uploader, as text


def test_table_of_contents_escapes_heading_text(client):
    nb = minimal_notebook()
    nb["cells"][0]["source"] = "# &lt;img src=x onerror=alert(4)&gt; \"quoted\" 'heading'"
    share_id = publish(client, nb_bytes(nb)).json()["id"]
    soup = assert_inert(client.get(f"/n/{share_id}").text)
    link = soup.select_one("nav.toc a[data-anchor]")
    assert link.get_text() == "<img src=x onerror=alert(4)> \"quoted\" 'heading'"
    assert re.fullmatch(r"[\w-]+", link["data-anchor"])


def test_notebook_content_runs_only_in_a_sandbox(client, hostile_share):
    share_id = hostile_share["id"]
    content = client.get(f"/n/{share_id}/content")
    assert "<script>document.title='PWNED'</script>" in content.text  # allowed: it is sandboxed
    csp = content.headers["content-security-policy"]
    assert csp.startswith("sandbox allow-scripts")
    assert "allow-same-origin" not in csp and "allow-top-navigation" not in csp
    assert f"frame-ancestors {PUBLIC_URL}" in csp
    assert "x-frame-options" not in content.headers  # the share page must be able to frame it
    frame = BeautifulSoup(client.get(f"/n/{share_id}").text, "html.parser").find("iframe")
    assert "allow-scripts" in frame["sandbox"]
    assert "allow-same-origin" not in frame["sandbox"] and "allow-top-navigation" not in frame["sandbox"]


# --- headers on every kind of response --------------------------------------------------


@pytest.fixture
def small_client(tmp_path, renderer):
    settings = Settings(
        data_dir=tmp_path / "d", public_url=PUBLIC_URL, allowed_hosts=TEST_HOSTS, max_upload_bytes=1000
    )
    with TestClient(create_app(settings, renderer=renderer)) as c:
        yield c


def responses(client, small_client, share_id: str) -> dict:
    """One response of every kind the service sends, by name."""
    get = client.get
    return {
        "home page": get("/"),
        "share page": get(f"/n/{share_id}"),
        "manage page": get(f"/n/{share_id}/manage"),
        "rendered content": get(f"/n/{share_id}/content"),
        "download": get(f"/n/{share_id}.ipynb"),
        "API JSON": get(f"/api/v1/shares/{share_id}"),
        "OpenAPI": get("/api/v1/openapi.json"),
        "static css": get("/static/app.css"),
        "static js": get("/static/share.js"),
        "404 page": get("/n/AAAAAAAAAAAAAAAAAAAAAAAA"),
        "404 API": get("/api/v1/shares/AAAAAAAAAAAAAAAAAAAAAAAA"),
        "404 static": get("/static/nope.js"),
        "405": client.put(f"/api/v1/shares/{share_id}"),
        "413": publish(small_client, nb_bytes(minimal_notebook(pad="x" * 2000))),
        "415": client.post("/api/v1/shares", content=b"x", headers={"Content-Type": "image/png"}),
        "422 API": publish(client, b"not json"),
        "422 form": client.post("/upload", files={"file": ("x.ipynb", b"not json")}),
    }


def test_every_response_has_nosniff_and_no_referrer(client, small_client):
    share_id = publish(client, fixture_bytes("headings.ipynb")).json()["id"]
    for name, r in responses(client, small_client, share_id).items():
        assert r.headers.get("x-content-type-options") == "nosniff", name
        assert r.headers.get("referrer-policy") == "same-origin", name
        csp = r.headers.get("content-security-policy", "")
        if name == "rendered content":
            assert csp.startswith("sandbox "), name
        else:
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, name
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp, name
            assert r.headers.get("x-frame-options") == "DENY", name


def test_500_page_has_the_security_headers_too(app, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(app.state.service, "open", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/n/AAAAAAAAAAAAAAAAAAAAAAAA", "/api/v1/shares/AAAAAAAAAAAAAAAAAAAAAAAA"):
            r = client.get(path)
            assert r.status_code == 500, path
            assert "simulated bug" not in r.text
            assert r.headers.get("x-content-type-options") == "nosniff", path
            assert r.headers.get("referrer-policy") == "same-origin", path
            assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", ""), path


# --- downloads ------------------------------------------------------------------------------

DISPOSITION = re.compile(r"""attachment; filename="([^"\\\r\n]*)"; filename\*=UTF-8''([A-Za-z0-9%._~-]+)""")


@pytest.mark.parametrize(
    "filename",
    [
        'quote"in"name.ipynb',
        "crlf\r\nSet-Cookie: stolen=1\r\n.ipynb",
        "semi; filename=evil.exe",
        "back\\slash.ipynb",
        "../../etc/passwd",
        "\u202egpj.ipynb",  # right-to-left override
        "tab\tand\x00nul.ipynb",
        HOSTILE_FILENAME,
    ],
)
def test_download_is_an_attachment_with_a_clean_filename(client, filename):
    data = nb_bytes(minimal_notebook())
    body = publish(client, data, filename).json()
    cleaned = body["filename"]
    assert cleaned.endswith(".ipynb") and "/" not in cleaned and "\\" not in cleaned
    assert all(c.isprintable() for c in cleaned), repr(cleaned)
    d = client.get(f"/n/{body['id']}.ipynb")
    assert d.content == data
    assert d.headers["content-type"] == "application/x-ipynb+json"  # never served as HTML
    assert "set-cookie" not in d.headers
    match = DISPOSITION.fullmatch(d.headers["content-disposition"])
    assert match, d.headers["content-disposition"]
    assert unquote(match.group(2)) == cleaned


# --- paths ------------------------------------------------------------------------------------


# httpx removes literal "/../" before sending, so the dots are percent-encoded here; the
# server decodes them, and sees the same "/static/../app.py" path a raw client would send.
@pytest.mark.parametrize(
    "path",
    [
        "/static/%2e%2e/app.py",
        "/static/..%2fapp.py",
        "/static/..%2f..%2fnbshare%2fapp.py",
        "/static/vendor/%2e%2e/%2e%2e/app.py",
        "/static/mathjax/..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static/nbconvert/..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static/%2fetc%2fpasswd",
        "/n/..%2f..%2fetc",
        "/n/..%2f..%2fetc%2fpasswd",
        "/n/%2e%2e/content",
        "/n/..%2f..%2fetc%2fpasswd.ipynb",
        "/api/v1/shares/..%2f..%2fetc%2fpasswd",
    ],
)
def test_path_traversal_is_404(client, path):
    r = client.get(path)
    assert r.status_code == 404, path
    for leak in ("create_app", "root:", "import "):
        assert leak not in r.text, path


# --- logs -------------------------------------------------------------------------------------


def test_logs_never_show_the_owner_token_or_a_whole_share_id(client, caplog):
    caplog.set_level(logging.INFO)
    body = publish(client, fixture_bytes("headings.ipynb")).json()
    share_id, token = body["id"], body["owner_token"]
    client.get(f"/n/{share_id}")
    client.delete(f"/api/v1/shares/{share_id}", headers={"Authorization": "Bearer wrong-token"})
    assert (
        client.delete(f"/api/v1/shares/{share_id}", headers={"Authorization": f"Bearer {token}"}).status_code
        == 204
    )
    server_side = [r for r in caplog.records if r.name.split(".")[0] not in ("httpx", "httpcore")]
    logged = [r.getMessage() + (r.exc_text or "") for r in server_side]
    assert any(redact_id(share_id) in line for line in logged), logged
    for line in logged:
        assert token not in line and share_id not in line and "wrong-token" not in line, line


def test_access_log_lines_show_only_redacted_ids():
    # `nbshare serve` logs requests through uvicorn's access logger, with this filter.
    share_id = "AbCdEfGhIjKlMnOpQrStUvWx"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/n/{share_id}/content?x=1", "1.1", 200),
        None,
    )
    RedactShareIds().filter(record)
    assert share_id not in record.getMessage()
    assert "/n/AbCd…/content?x=…" in record.getMessage()  # no query value either


def test_access_log_lines_show_no_query_values_and_no_blob_key_ids():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/api/v1/shares?password=hunter2&title=Merger%20plan", "1.1", 400),
        None,
    )
    RedactShareIds().filter(record)
    assert "hunter2" not in record.getMessage() and "Merger" not in record.getMessage()
    assert "/api/v1/shares?password=…&title=…" in record.getMessage()
    record = logging.LogRecord(
        "nbshare.shares",
        logging.ERROR,
        __file__,
        1,
        "blob %s is missing",
        ("shares/AbCdEfGhIjKlMnOpQrStUvWx/v1/page",),
        None,
    )
    RedactShareIds().filter(record)
    assert record.getMessage() == "blob shares/AbCd…/v1/page is missing"


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://testserver.evil"])
def test_writes_from_other_sites_or_sandboxed_notebooks_are_refused(client, app, origin):
    before = stored_state(app)
    r = client.post(
        "/api/v1/shares?filename=x.ipynb",
        content=nb_bytes(minimal_notebook()),
        headers={"Content-Type": "text/plain", "Origin": origin},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "cross_site"
    assert stored_state(app) == before


def test_writes_from_the_service_itself_or_without_origin_are_allowed(client):
    for headers in ({"Origin": "http://testserver"}, {}):
        r = client.post(
            "/api/v1/shares?filename=x.ipynb",
            content=nb_bytes(minimal_notebook()),
            headers={"Content-Type": "application/x-ipynb+json", **headers},
        )
        assert r.status_code == 201, headers


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_dns_rebinding_page_is_refused_for_writes_and_reads(client, app, method):
    """A page at evil.example whose name now points at the server: Origin and Host agree,
    so only the Host check stops it."""
    share_id = publish(client, nb_bytes(minimal_notebook())).json()["id"]
    before = stored_state(app)
    evil = {"Host": "evil.example:8000", "Origin": "http://evil.example:8000"}
    for path in ("/api/v1/shares?filename=x.ipynb", f"/n/{share_id}", f"/n/{share_id}.ipynb"):
        r = client.request(
            method,
            path,
            content=nb_bytes(minimal_notebook()) if method == "POST" else None,
            headers={"Content-Type": "application/x-ipynb+json", **evil},
        )
        assert r.status_code == 400, (method, path, r.status_code)
        assert "does not answer to the host name 'evil.example:8000'" in r.text
        assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/v1/shares/x", headers=evil).json()["error"]["code"] == "unknown_host"
    assert stored_state(app) == before


def test_the_public_url_loopback_names_and_allowed_hosts_are_answered(tmp_path, renderer):
    settings = Settings(
        data_dir=tmp_path / "d",
        public_url="https://nb.example.org",
        host="10.1.2.3",
        allowed_hosts="nbshare.internal, Other.Example.",
    )
    app = create_app(settings, renderer=renderer)
    with TestClient(app, base_url="https://nb.example.org") as c:
        data = nb_bytes(minimal_notebook())
        posted = c.post(
            "/api/v1/shares?filename=x.ipynb", content=data, headers={"Origin": "https://nb.example.org"}
        )
        assert posted.status_code == 201
        page = f"/n/{posted.json()['id']}"
        for host in (
            "nb.example.org",
            "NB.example.org:443",
            "localhost:9999",
            "127.0.0.1:8000",
            "[::1]:8000",
            "10.1.2.3:8000",
            "nbshare.internal",
            "other.example:81",
        ):
            assert c.get(page, headers={"Host": host}).status_code == 200, host
        # A page of the service reached by a loopback name may publish to it.
        r = c.post(
            "/api/v1/shares?filename=x.ipynb",
            content=data,
            headers={"Host": "localhost:8000", "Origin": "http://localhost:8000"},
        )
        assert r.status_code == 201
        for host in (
            "evil.example",
            "nb.example.org.evil.example",
            "10.1.2.4",
            "a@nb.example.org",
            "nb.example.org:port",
        ):
            assert c.get(page, headers={"Host": host}).status_code == 400, host
        assert (
            c.post(
                "/api/v1/shares?filename=x.ipynb",
                content=data,
                headers={"Host": "localhost:8000", "Origin": "http://evil.example"},
            ).status_code
            == 403
        )
    anyone = Settings(data_dir=tmp_path / "d", public_url="https://nb.example.org", allowed_hosts="*")
    with TestClient(create_app(anyone, renderer=renderer)) as c:
        assert c.get("/healthz", headers={"Host": "whatever.example"}).status_code == 200


def test_trusted_proxies_must_be_addresses_or_networks():
    assert Settings(trusted_proxies="10.0.0.5, 10.1.0.0/16,::1").trusted_proxies
    assert Settings(trusted_proxies="*").trusted_proxies == "*"
    with pytest.raises(ValueError, match="NBSHARE_TRUSTED_PROXIES: 'proxy.local' is not an IP"):
        Settings(trusted_proxies="10.0.0.5,proxy.local")


def test_share_ids_never_look_like_command_line_options():
    # A CI run once drew an id starting with "-", which `nbshare delete ID` read as an option.
    ids = [new_share_id() for _ in range(5000)]
    assert all(i[0].isalnum() for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 24 for i in ids)  # still 144 random bits of base64url
