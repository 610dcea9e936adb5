# ruff: noqa: S603  (tests run this package's own program)
"""nbshare under a path prefix, end to end: a real `nbshare serve` whose public URL is
http://127.0.0.1:PORT/services/nbshare, as behind a proxy that passes the whole path on
(JupyterHub's configurable-http-proxy). Every link it gives (pages, JSON, redirects,
cookies, the sandboxed frame's files) stays under the prefix and answers; the CLI works
against that URL; outside the prefix only `/` (a redirect) and the probes answer."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from bs4 import BeautifulSoup

from cli_helpers import NOTEBOOK, Cli, Seen
from helpers import (
    b64,
    clean_env,
    markdown,
    notebook,
    output_cell,
    png,
    start_server,
    zip_of,
)

PREFIX = "/services/nbshare"
PASSWORD = "prefix-password-1"  # noqa: S105 - a test's password
LINK_ATTRIBUTES = ("href", "src", "action", "data-api", "data-share", "data-src", "data-url")

BIG_IMAGE = png(400, 300)  # over the inline limit below: taken out of the page, served by URL
PICTURE = notebook(
    markdown("# Results\n\nA plot.", "m"),
    output_cell({"image/png": b64(BIG_IMAGE), "text/plain": "<Figure>"}, "c"),
)
BUNDLE = zip_of(
    {
        "analysis.ipynb": notebook(markdown("# Analysis\n[Report](report.ipynb) ![p](plot.png)", "a")),
        "report.ipynb": notebook(markdown("# Report", "r")),
        "plot.png": png(2, 2),
        "data.csv": b"a,b\n1,2\n",
        "README.md": b"# Study\nStart with [the analysis](analysis.ipynb).",
    }
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = start_server(
        tmp_path_factory.mktemp("prefixed"),
        env=clean_env(),
        prefix=PREFIX,
        NBSHARE_INLINE_FILE_BYTES="1024",
    )
    yield live
    live.stop()


@pytest.fixture(scope="module")
def origin(server) -> str:
    """The server's origin: http://127.0.0.1:PORT, without the prefix."""
    return server.url.removesuffix(PREFIX)


@pytest.fixture
def http(server):
    with httpx.Client(timeout=60) as client:
        yield client


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path / "xdg", Seen())


def upload(http: httpx.Client, server, data: bytes, filename: str, content_type: str, **headers) -> dict:
    r = http.post(
        f"{server.url}/api/v1/shares",
        params={"filename": filename},
        content=data,
        headers={"Content-Type": content_type, **headers},
    )
    assert r.status_code == 201, r.text
    return r.json()


def links_in(html: str, base: str) -> set[str]:
    """Every URL a page's markup names (fragments only left out), made absolute."""
    soup = BeautifulSoup(html, "html.parser")
    found = set()
    for tag in soup.find_all(True):
        for name in LINK_ATTRIBUTES:
            value = tag.get(name)
            if isinstance(value, str) and value and not value.startswith(("#", "data:")):
                found.add(urljoin(base, value).split("#")[0])
    return found


def assert_all_answer_under_prefix(http: httpx.Client, server, urls: set[str]) -> None:
    assert urls
    for url in urls:
        assert url.startswith(f"{server.url}/"), url
        r = http.get(url)
        assert r.status_code == 200, (url, r.status_code, r.text[:200])


# --- the CLI ------------------------------------------------------------------------------


def test_cli_publish_prints_a_prefixed_link_that_opens_and_clones(server, cli, http, tmp_path):
    r = cli.ok("publish", NOTEBOOK, "--server", server.url)
    url = r.stdout.strip()
    assert re.fullmatch(re.escape(server.url) + r"/n/[A-Za-z0-9_-]{24}", url), r.stdout
    assert http.get(url).status_code == 200
    assert r.stderr.startswith(f"Manage (keep private): {url}/manage#token="), r.stderr

    listed = json.loads(cli.ok("list", "--json").stdout)
    assert [e["url"] for e in listed] == [url]

    # The share URL alone says where the server is, prefix included.
    cli.ok("clone", url, tmp_path / "copy", "--no-env")
    assert (tmp_path / "copy" / NOTEBOOK.name).read_bytes() == NOTEBOOK.read_bytes()

    cli.ok("delete", url, "--yes")
    assert http.get(url).status_code in (404, 410)


def test_the_python_api_publishes_to_a_prefixed_server(server, http, tmp_path, monkeypatch):
    import nbshare

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    share = nbshare.publish(NOTEBOOK, server=server.url)
    assert share.url.startswith(f"{server.url}/n/")
    assert http.get(share.url).status_code == 200


def test_clone_of_a_prefixed_bundle_fetches_its_files(server, cli, http, tmp_path):
    bundle = upload(http, server, BUNDLE, "study.zip", "application/zip")
    cli.ok("clone", bundle["url"], tmp_path / "study", "--no-env")
    assert (tmp_path / "study" / "data.csv").read_bytes() == b"a,b\n1,2\n"
    assert (tmp_path / "study" / "report.ipynb").is_file()


# --- pages, the frame, static files -------------------------------------------------------


def test_every_link_of_a_share_page_and_its_frame_is_under_the_prefix_and_answers(server, http):
    share = upload(http, server, PICTURE, "picture.ipynb", "application/x-ipynb+json")
    page = http.get(share["url"])
    assert page.status_code == 200
    links = links_in(page.text, share["url"])
    frame = f"{share['url']}/content"
    assert frame in links
    for static in ("app.css", "share.js", "messages.js", "jupyter.js"):
        assert f"{server.url}/static/{static}" in links
    assert_all_answer_under_prefix(http, server, links)

    # The sandboxed frame's page: its styles, scripts and the image taken out of it.
    content = http.get(frame).text
    framed = links_in(content, frame)
    assert f"{server.url}/static/content.js" in framed
    assert any("/f/" in url for url in framed), framed
    assert_all_answer_under_prefix(http, server, framed)


def test_the_home_page_posts_and_links_under_the_prefix(server, http):
    home = http.get(f"{server.url}/")
    assert home.status_code == 200
    links = links_in(home.text, f"{server.url}/")
    assert f"{server.url}/upload" in links  # the form's action (a POST route)
    assert f"{server.url}/api/v1/shares" in links  # upload.js posts here
    posted_to = {f"{server.url}/upload", f"{server.url}/api/v1/shares"}
    assert_all_answer_under_prefix(http, server, links - posted_to)

    # The form without JavaScript: its page of links is under the prefix too.
    r = http.post(
        f"{server.url}/upload",
        files={"file": ("form.ipynb", PICTURE, "application/x-ipynb+json")},
        headers={"Accept": "text/html"},
    )
    assert r.status_code in (200, 201), r.text
    created = links_in(r.text, f"{server.url}/upload")
    assert any("/n/" in url for url in created)
    assert all(url.startswith(f"{server.url}/") for url in created), created


def test_a_bundle_its_notebooks_and_files_are_served_under_the_prefix(server, http):
    bundle = upload(http, server, BUNDLE, "study.zip", "application/zip")
    assert bundle["url"].startswith(f"{server.url}/n/")
    index = http.get(bundle["url"])
    links = links_in(index.text, bundle["url"])
    assert f"{bundle['url']}/nb/analysis.ipynb" in links
    assert_all_answer_under_prefix(http, server, links)
    assert_all_answer_under_prefix(http, server, {f["url"] for f in bundle["files"]})
    assert_all_answer_under_prefix(http, server, {n["url"] for n in bundle["notebooks"]})

    # Inside the frame, a notebook's links to the bundle's files and notebooks are the
    # prefixed paths the frame resolves on its own origin.
    analysis = f"{bundle['url']}/content/nb/analysis.ipynb"
    framed = links_in(http.get(analysis).text, analysis)
    assert any(url.endswith("/plot.png") for url in framed), framed
    assert any(url.endswith("/nb/report.ipynb") for url in framed), framed
    assert_all_answer_under_prefix(http, server, framed)

    with zipfile.ZipFile(io.BytesIO(http.get(bundle["download_url"]).content)) as archive:
        assert "data.csv" in archive.namelist()


# --- JSON, redirects, cookies -------------------------------------------------------------


def test_the_api_json_and_openapi_name_prefixed_urls(server, http):
    share = upload(http, server, PICTURE, "picture.ipynb", "application/x-ipynb+json")
    for key in ("url", "download_url", "manage_url"):
        assert share[key].startswith(f"{server.url}/n/{share['id']}"), (key, share[key])
    token = share["manage_url"].split("#token=")[1]
    owner = {"Authorization": f"Bearer {token}"}
    versions = http.get(f"{server.url}/api/v1/shares/{share['id']}/versions", headers=owner).json()
    assert_all_answer_under_prefix(http, server, {v["url"] for v in versions})
    info = http.get(f"{server.url}/api/v1/shares/{share['id']}").json()
    assert info["url"] == share["url"]
    assert info["files"] == []  # images only, which the page names (see the page test)

    api = http.get(f"{server.url}/api/v1/openapi.json").json()
    assert api["servers"] == [{"url": server.url}]
    assert "/api/v1/shares" in api["paths"]  # the routes, relative to that server


def test_unlocking_a_protected_share_sets_a_cookie_under_the_prefix(server, http):
    share = upload(
        http, server, PICTURE, "secret.ipynb", "application/x-ipynb+json", **{"X-Nbshare-Password": PASSWORD}
    )
    r = http.post(f"{server.url}/n/{share['id']}/unlock", data={"password": PASSWORD})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == share["url"]
    cookie = r.headers["set-cookie"]
    assert re.search(rf"(?i)\bpath={re.escape(PREFIX)}/(;|$)", cookie), cookie
    name, value = cookie.split(";", 1)[0].split("=", 1)

    # A browser sends the cookie back to every path under the prefix, and it works there.
    with httpx.Client(timeout=60, cookies={name: value}) as browser:
        page = browser.get(share["url"])
        assert page.status_code == 200 and "unlock" not in page.url.path
        frame = browser.get(f"{share['url']}/content")
        assert frame.status_code == 200
        assert browser.get(share["download_url"]).content == PICTURE
    with httpx.Client(timeout=60) as stranger:
        assert stranger.get(share["download_url"]).status_code in (401, 403)


def test_the_peers_routes_answer_with_prefixed_urls(server, http):
    r = http.post(f"{server.url}/upload", files={"notebook-data": ("nbhub.ipynb", PICTURE)})
    assert r.status_code == 200, r.text
    url = r.json()["path"]
    assert url.startswith(f"{server.url}/n/")
    assert http.get(url).status_code == 200

    share_id = url.rsplit("/", 1)[1]
    moved = http.get(f"{server.url}/notebook/{share_id}")
    assert moved.status_code == 301
    assert moved.headers["location"] == url

    r = http.post(f"{server.url}/api/v1/notebook", files={"notebook": ("nbss.ipynb", PICTURE)})
    assert r.status_code == 200, r.text
    assert r.text.strip().startswith(f"{server.url}/n/")
    assert http.get(r.text.strip()).status_code == 200


# --- outside the prefix -------------------------------------------------------------------


def test_outside_the_prefix_only_the_home_redirect_and_the_probes_answer(server, origin, http):
    home = http.get(f"{origin}/")
    assert home.status_code == 307
    assert home.headers["location"] == f"{server.url}/"
    bare = http.get(server.url)  # the prefix without its slash
    assert bare.status_code == 307 and urljoin(server.url, bare.headers["location"]) == f"{server.url}/"

    share = upload(http, server, PICTURE, "picture.ipynb", "application/x-ipynb+json")
    unprefixed = f"{origin}{urlsplit(share['url']).path.removeprefix(PREFIX)}"
    for url in (unprefixed, f"{origin}/static/app.css", f"{origin}/services/nbsharex/"):
        r = http.get(url)
        assert r.status_code == 404, url
        assert f"{server.url}/" in r.text
    api = http.get(f"{origin}/api/v1/limits")
    assert api.status_code == 404
    assert f"{server.url}/" in api.json()["error"]["message"]

    # A CLI pointed at the bare host says where the server is.
    r = Cli(Path(server.data_dir).parent / "xdg-outside", Seen())("publish", NOTEBOOK, "--server", origin)
    assert r.returncode == 1 and f"{server.url}/" in r.stderr, r.stderr

    # A container's health check or a scraper asks the process directly: the probes answer
    # at the root as well as under the prefix.
    for probe in ("/healthz", "/readyz"):
        assert http.get(f"{origin}{probe}").status_code == 200
        assert http.get(f"{server.url}{probe}").status_code == 200


def test_the_server_says_where_it_serves(server):
    assert f"serving at {server.url}" in server.log()


# --- a render URL with a path of its own (in process) -------------------------------------


def test_a_render_url_with_its_own_path_frames_from_there(tmp_path, renderer):
    """The frame, its static files and the files taken out of its page are under the render
    URL's path; the pages under the public URL's. One process answers both."""
    from fastapi.testclient import TestClient

    from nbshare.app import create_app
    from nbshare.settings import Settings

    settings = Settings(
        data_dir=tmp_path / "data",
        public_url="http://nbshare.test/services/nbshare",
        render_url="http://render.test/frames",
        inline_file_bytes=1024,
    )
    with TestClient(create_app(settings, renderer=renderer), base_url="http://nbshare.test") as client:
        r = client.post(
            "/services/nbshare/api/v1/shares",
            params={"filename": "picture.ipynb"},
            content=PICTURE,
            headers={"Content-Type": "application/x-ipynb+json"},
        )
        assert r.status_code == 201, r.text
        share = r.json()
        page = client.get(share["url"])
        frame = f"http://render.test/frames/n/{share['id']}/content"
        assert frame in links_in(page.text, share["url"])
        content = client.get(frame)
        assert content.status_code == 200
        framed = links_in(content.text, frame)
        assert framed and all(url.startswith("http://render.test/frames/") for url in framed), framed
        for url in framed:
            assert client.get(url).status_code == 200, url
        home = client.get("http://nbshare.test/", follow_redirects=False)
        assert home.headers["location"] == "http://nbshare.test/services/nbshare/"
