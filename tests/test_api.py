"""The JSON API and share pages, in process."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

from helpers import PUBLIC_URL, as_owner, fixture_bytes, minimal_notebook, nb_bytes, publish, published
from nbshare.security.tokens import hash_token


def test_publish_answers_201_with_links_built_from_public_url(client):
    r = publish(
        client,
        fixture_bytes("headings.ipynb"),
        "headings.ipynb",
    )
    assert r.status_code == 201, r.text
    body = r.json()
    for key in ("id", "url", "manage_url", "owner_token", "created_at", "title"):
        assert body[key], key
    assert body["url"] == f"{PUBLIC_URL}/n/{body['id']}"
    assert body["manage_url"].startswith(f"{PUBLIC_URL}/n/{body['id']}/manage#token=")
    assert body["title"] == "Results"  # first heading, as the notebook has no title metadata
    assert body["filename"] == "headings.ipynb"


def test_links_ignore_the_host_header(client):
    # An unknown Host is refused outright (test_security.py); one the service answers to,
    # such as a loopback name, still never makes its way into a link.
    r = client.post(
        "/api/v1/shares?filename=a.ipynb",
        content=nb_bytes(minimal_notebook()),
        headers={
            "Host": "localhost:9999",
            "X-Forwarded-Host": "evil.example",
            "Content-Type": "application/x-ipynb+json",
        },
    )
    assert r.status_code == 201
    assert "evil" not in r.text and "localhost" not in r.text
    page = client.get(f"/n/{r.json()['id']}", headers={"Host": "localhost:9999"})
    assert "localhost" not in page.text


def test_ids_are_long_random_and_token_is_stored_only_as_hash(client, app):
    ids = {publish(client, nb_bytes(minimal_notebook())).json()["id"] for _ in range(3)}
    assert len(ids) == 3
    assert all(len(i) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids)  # >= 128 bits
    r = publish(client, nb_bytes(minimal_notebook()))
    token = r.json()["owner_token"]
    share = app.state.service.metadata.get_share(r.json()["id"])[0]
    assert share.owner_token_hash == hash_token(token) != token
    with app.state.service.metadata.engine.connect() as conn:
        dump = "\n".join(
            str(row) for t in ("shares", "versions") for row in conn.exec_driver_sql(f"select * from {t}")
        )  # noqa: S608
    assert token not in dump


def test_download_is_byte_identical_with_original_name(client):
    data = fixture_bytes("headings.ipynb") + b"\n\n"  # trailing bytes must survive too
    r = publish(client, data, "Ünïcode analysis.ipynb")
    share_id = r.json()["id"]
    d = client.get(f"/n/{share_id}.ipynb")
    assert d.status_code == 200
    assert d.content == data
    assert d.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%C3%9Cn%C3%AFcode%20analysis.ipynb" in d.headers["content-disposition"]
    assert d.headers["x-content-type-options"] == "nosniff"


def test_share_page_has_toc_frame_and_download(client):
    share_id = publish(client, fixture_bytes("headings.ipynb")).json()["id"]
    page = client.get(f"/n/{share_id}")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    frame = soup.find("iframe", id="notebook")
    assert frame["data-src"] == f"{PUBLIC_URL}/n/{share_id}/content"  # share.js loads it once
    fallback = BeautifulSoup(soup.find("noscript").decode_contents(), "html.parser").find("iframe")
    assert fallback["src"] == f"{PUBLIC_URL}/n/{share_id}/content"  # without JavaScript
    assert "allow-same-origin" not in frame["sandbox"]
    assert soup.find("a", id="download")["href"] == f"{PUBLIC_URL}/n/{share_id}.ipynb"
    # A single notebook can be cloned too; the command is on its page, ready to copy.
    assert soup.select_one("#clone-command").get_text() == f"nbshare clone {PUBLIC_URL}/n/{share_id}"
    anchors = [a["data-anchor"] for a in soup.select("nav.toc a[data-anchor]")]
    assert anchors == [
        "results",
        "results-1",
        "résumé-des-données",
        "数据分析",
        "math-x-2-in-a-heading",
        "setext-heading",
        "html-heading",
        "bold-and-a-link",
        "six",
        "results-2",
    ]
    # nested: the h2 "Results" sits inside the h1 "Results"
    top = soup.select("nav.toc > ul > li")
    assert [li.a["data-anchor"] for li in top] == ["results", "setext-heading"]


def test_rendered_content_anchors_match_toc(client):
    r = publish(client, fixture_bytes("headings.ipynb"))
    share_id, toc = r.json()["id"], r.json()["toc"]
    content = client.get(f"/n/{share_id}/content")
    soup = BeautifulSoup(content.text, "html.parser")
    for entry in toc:
        heading = soup.find(id=entry["anchor"])
        assert heading is not None and heading.name == f"h{entry['level']}", entry
        assert heading.find("a", class_="anchor-link")["href"] == f"#{entry['anchor']}"
    ids = [tag["id"] for tag in soup.find_all(id=True)]
    assert len(ids) == len(set(ids)), "anchors must be unique"
    # every cell has a permalink using its nbformat id
    for cell_id in ("md-title", "code-1", "code-table", "code-error", "raw-1"):
        assert soup.find(id=f"cell-id={cell_id}") is not None
        assert soup.find("a", href=f"#cell-id={cell_id}", class_="nbs-cell-link") is not None


def test_content_is_sandboxed_and_pages_are_strict(client):
    share_id = publish(client, fixture_bytes("headings.ipynb")).json()["id"]
    content = client.get(f"/n/{share_id}/content")
    csp = content.headers["content-security-policy"]
    assert csp.startswith("sandbox allow-scripts")
    assert "allow-same-origin" not in csp and "allow-top-navigation" not in csp
    assert "allow-forms" not in csp
    for path in ("/", f"/n/{share_id}", f"/n/{share_id}.ipynb", "/api/v1/openapi.json", "/static/app.css"):
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        if path != f"/n/{share_id}/content":
            assert "script-src 'self'" in r.headers["content-security-policy"], path
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path


def test_rendered_page_loads_nothing_from_third_party_hosts(client):
    share_id = publish(client, fixture_bytes("headings.ipynb")).json()["id"]
    html = client.get(f"/n/{share_id}/content").text
    soup = BeautifulSoup(html, "html.parser")
    sources = [t.get("src") for t in soup.find_all("script") if t.get("src")]
    sources += [t.get("href") for t in soup.find_all("link") if t.get("href")]
    assert sources, "expected local assets"
    for src in sources:
        assert src.startswith("/static/"), src
        assert client.get(src.split("?")[0]).status_code == 200, src


def test_v3_notebook_is_upgraded_for_rendering_but_stored_as_uploaded(client):
    data = fixture_bytes("v3.ipynb")
    r = publish(client, data, "old.ipynb")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["nbformat"] == "3.0"
    assert [e["text"] for e in body["toc"]] == ["Old style heading", "Markdown heading"]
    assert client.get(f"/n/{body['id']}.ipynb").content == data


def test_cells_without_their_ids_are_accepted_as_jupyter_accepts_them(client):
    """nbformat 4.5 requires cell ids; some tools omit them and Jupyter opens the file anyway."""
    nb = minimal_notebook()
    nb["cells"].append(
        {"cell_type": "code", "metadata": {}, "source": "1 + 1", "outputs": [], "execution_count": None}
    )  # no "id"
    data = nb_bytes(nb)
    r = publish(client, data, "loose.ipynb")
    assert r.status_code == 201, r.text
    html = client.get(f"/n/{r.json()['id']}/content").text
    assert f'href="#cell-{len(nb["cells"])}"' in html  # a positional permalink for the id-less cell
    assert client.get(f"/n/{r.json()['id']}.ipynb").content == data  # stored exactly as uploaded


def test_outputs_render(client):
    share_id = publish(client, fixture_bytes("headings.ipynb")).json()["id"]
    html = client.get(f"/n/{share_id}/content").text
    assert "<table" in html  # pandas-style HTML table
    assert "data:image/png;base64," in html  # output image and markdown attachment
    assert html.count("data:image/png;base64,") >= 2
    assert "ansi-red-fg" in html  # ANSI colours in tracebacks become classes
    assert "raw <b>cell</b> text" in html
    assert "$e^{i\\pi} + 1 = 0$" in html  # left for MathJax


def test_form_upload_without_javascript(client):
    r = client.post(
        "/upload",
        files={"file": ("form.ipynb", nb_bytes(minimal_notebook()), "application/octet-stream")},
        data={"title": "From the form"},
    )
    assert r.status_code == 201
    soup = BeautifulSoup(r.text, "html.parser")
    link = soup.find("input", id="link")["value"]
    assert link.startswith(f"{PUBLIC_URL}/n/")
    share_id = link.rsplit("/", 1)[1]
    assert client.get(f"/api/v1/shares/{share_id}").json()["title"] == "From the form"


def test_home_page_has_a_plain_upload_form(client):
    soup = BeautifulSoup(client.get("/").text, "html.parser")
    form = soup.find("form")
    assert form["method"] == "post" and form["action"] == "/upload"
    assert form["enctype"] == "multipart/form-data"
    assert form.find("input", type="file")["name"] == "file"


def test_openapi_describes_the_api(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/shares" in spec["paths"]
    assert "post" in spec["paths"]["/api/v1/shares"]
    assert "delete" in spec["paths"]["/api/v1/shares/{share_id}"]


def test_limits_say_what_the_server_accepts(client):
    r = client.get("/api/v1/limits")
    assert r.status_code == 200
    limits = r.json()
    assert limits["max_upload_bytes"] == 100 * 1024 * 1024
    assert [x["value"] for x in limits["lifetimes"]] == ["1h", "1d", "7d", "30d", "never"]
    assert limits["default_expiry"] == limits["max_expiry"] == "never"
    assert "/api/v1/limits" in client.get("/api/v1/openapi.json").json()["paths"]


def test_limits_offer_no_lifetime_longer_than_the_maximum(tmp_path, renderer):
    from fastapi.testclient import TestClient

    from helpers import TEST_HOSTS
    from nbshare.app import create_app
    from nbshare.settings import Settings

    settings = Settings(
        data_dir=tmp_path,
        public_url=PUBLIC_URL,
        allowed_hosts=TEST_HOSTS,
        max_expiry="14d",
        default_expiry="1d",
        max_upload_bytes=5000,
    )
    with TestClient(create_app(settings, renderer=renderer), base_url=PUBLIC_URL) as small:
        limits = small.get("/api/v1/limits").json()
    assert [x["value"] for x in limits["lifetimes"]] == ["1h", "1d", "7d", "14d"]
    assert limits["lifetimes"][-1]["label"].endswith("(the longest allowed)")
    assert (limits["max_upload_bytes"], limits["default_expiry"], limits["max_expiry"]) == (5000, "1d", "14d")


def test_delete_needs_the_owner_token_and_removes_everything(client, app):
    r = publish(client, fixture_bytes("headings.ipynb")).json()
    share_id, token = r["id"], r["owner_token"]
    assert client.delete(f"/api/v1/shares/{share_id}").status_code == 403
    assert (
        client.delete(f"/api/v1/shares/{share_id}", headers={"Authorization": "Bearer wrong"}).status_code
        == 403
    )
    assert client.get(f"/n/{share_id}").status_code == 200
    assert (
        client.delete(f"/api/v1/shares/{share_id}", headers={"Authorization": f"Bearer {token}"}).status_code
        == 204
    )
    for path in (
        f"/n/{share_id}",
        f"/n/{share_id}/content",
        f"/n/{share_id}.ipynb",
        f"/api/v1/shares/{share_id}",
    ):
        assert client.get(path).status_code == 404, path
    assert app.state.service.metadata.count() == (0, 0)
    assert list(app.state.service.blobs.keys()) == []


def test_unknown_ids_are_404_with_a_message(client):
    r = client.get("/api/v1/shares/AAAAAAAAAAAAAAAAAAAAAAAA")
    assert r.status_code == 404
    assert "does not exist or has expired" in r.json()["error"]["message"]
    page = client.get("/n/AAAAAAAAAAAAAAAAAAAAAAAA")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]


def test_pages_and_assets_are_compressed(client):
    for path in ("/static/vendor/plotly.min.js", "/static/nbconvert/index.css", "/"):
        r = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert r.headers.get("content-encoding") == "gzip", path


def test_rendered_pages_are_stored_compressed_and_sent_as_stored(client):
    """Compressed once at upload; no gzip per request, and plain HTML for a client without it."""
    import gzip

    share_id = publish(client, fixture_bytes("headings.ipynb")).json()["id"]
    service = client.app.state.service
    key = service.metadata.get_share(share_id)[1].page_key
    stored = service.blobs.get(key)
    assert stored[:2] == b"\x1f\x8b"
    gzipped = client.get(f"/n/{share_id}/content", headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip" and gzipped.headers["vary"] == "Accept-Encoding"
    assert gzipped.content == gzip.decompress(stored)  # httpx decodes; the bytes sent were `stored`
    for refusing in ("identity", ""):
        plain = client.get(f"/n/{share_id}/content", headers={"Accept-Encoding": refusing})
        assert "content-encoding" not in plain.headers, refusing
        assert plain.content == gzip.decompress(stored) and b"<html" in plain.content[:200]
    # A page stored before pages were compressed is plain HTML: still served either way.
    service.blobs.put(key, gzip.decompress(stored))
    for accept in ("gzip", "identity"):
        r = client.get(f"/n/{share_id}/content", headers={"Accept-Encoding": accept})
        assert r.status_code == 200 and r.content == gzip.decompress(stored), accept


def test_accept_encoding_is_read_with_its_weights():
    from nbshare.views.pages import accepts_gzip

    assert accepts_gzip("gzip, deflate, br") and accepts_gzip("br;q=1.0, gzip;q=0.8") and accepts_gzip("*")
    assert not accepts_gzip("gzip;q=0") and not accepts_gzip("identity") and not accepts_gzip("")
    assert not accepts_gzip("gzip;q=zero")


def test_the_owner_lets_search_engines_index_a_share_and_takes_it_back(client):
    share = published(client, nb_bytes(minimal_notebook()))
    owner = as_owner(share)
    page = share["url"].removeprefix(PUBLIC_URL)
    assert share["discoverable"] is False
    assert client.get(page).headers["x-robots-tag"] == "noindex"

    r = client.patch(f"/api/v1/shares/{share['id']}", json={"discoverable": True}, headers=owner)
    assert r.status_code == 200, r.text
    assert r.json()["discoverable"] is True
    for path in (page, f"{page}/content", f"{page}.ipynb"):
        assert "x-robots-tag" not in client.get(path).headers, path
    assert "discoverable" not in client.get(f"/api/v1/shares/{share['id']}").json()  # the owner's setting

    for wrong in (1, "yes", None):  # strict: a boolean, nothing guessed
        r = client.patch(f"/api/v1/shares/{share['id']}", json={"discoverable": wrong}, headers=owner)
        assert r.status_code in (400, 422), (wrong, r.text)
    assert client.get(f"/api/v1/shares/{share['id']}", headers=owner).json()["discoverable"] is True

    r = client.patch(f"/api/v1/shares/{share['id']}", json={"discoverable": False}, headers=owner)
    assert r.json()["discoverable"] is False
    assert client.get(page).headers["x-robots-tag"] == "noindex"
