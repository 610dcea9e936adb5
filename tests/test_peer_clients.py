"""The clients of the services nbshare replaces publish to it unchanged (issue 13, part 5).

NbHub's CLI (`nbhub`) and notebooksharing.space's (`nbss-upload`) are the real packages from
PyPI, pinned in peer_clients.txt: scripts/wheelhouse.sh builds their wheels during `make
test`'s set-up, and each is installed offline into a fresh virtual environment of its own.
Their CLIs run as subprocesses against a real `nbshare serve` on loopback. NbHub's server
address is a constant in its module; the test appends two lines to the installed module that
point it at the test server. The routes' finer points (what browsers get, the discovery flag,
bad forms) are checked in process."""

from __future__ import annotations

import re
import subprocess
import venv
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from helpers import (
    PUBLIC_URL,
    TEST_HOSTS,
    WHEELHOUSE,
    clean_env,
    code,
    markdown,
    notebook,
    publish,
    serve_in_thread,
    start_server,
)
from nbshare.app import create_app
from nbshare.settings import Settings

HERE = Path(__file__).parent
PEER_WHEELS = WHEELHOUSE / "peers"
PINNED = [line for line in (HERE / "peer_clients.txt").read_text().splitlines() if line and line[0] != "#"]
INSTALL_TIMEOUT = 600  # a venv and a handful of wheels, on a busy machine
RUN_TIMEOUT = 300  # an upload, rendered by a server that shares the machine with others
SMALL_LIMIT = 20_000  # the small server's upload limit
# What NbHub's module says today; the patch below replaces it for the test's run.
NBHUB_ADDRESS = 'POST_URL = "https://nbhub.duarteocarmo.com/upload"'
NBHUB_PATCH = """
# Added by nbshare's tests: NbHub's server address is hard-coded above.
import os as _os
SITE_URL = _os.environ["NBHUB_TEST_SERVER"]
POST_URL = SITE_URL + "/upload"
"""
LINK = re.compile(r"https?://|www\.|/n/")


@dataclass
class Peer:
    """One peer's CLI in a virtual environment of its own."""

    folder: Path

    def run(self, command: str, *argv: str | Path, stdin: str = "", **env: str):
        return subprocess.run(
            [str(self.folder / "bin" / command), *map(str, argv)],
            capture_output=True,
            text=True,
            input=stdin,
            env=clean_env(**env),
            timeout=RUN_TIMEOUT,
        )


def install(folder: Path, requirement: str) -> Peer:
    venv.EnvBuilder(with_pip=True).create(folder)
    env = clean_env(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(PEER_WHEELS), PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(folder / "bin" / "python"), "-m", "pip", "install", requirement],
        capture_output=True,
        text=True,
        env=env,
        timeout=INSTALL_TIMEOUT,
    )
    assert done.returncode == 0, f"pip install {requirement} failed:\n{done.stdout}\n{done.stderr}"
    return Peer(folder)


def pinned(name: str) -> str:
    (found,) = [line for line in PINNED if line.split("==")[0] == name]
    return found


def install_pinned(tmp_path_factory, name: str) -> Peer:
    """A fresh venv with the peer `name` at its pinned version, from the offline wheels."""
    wheel = name.replace("-", "_")
    if not any(PEER_WHEELS.glob(f"{wheel}-*.whl")):
        pytest.skip(
            "no offline wheels for the peers' clients: run scripts/wheelhouse.sh once (it needs PyPI)"
        )
    return install(tmp_path_factory.mktemp(wheel), pinned(name))


@pytest.fixture(scope="session")
def nbhub(tmp_path_factory) -> Peer:
    peer = install_pinned(tmp_path_factory, "nbhub")
    (module,) = (peer.folder / "lib").glob("python3*/site-packages/nbhub.py")
    source = module.read_text()
    assert NBHUB_ADDRESS in source, "NbHub's address moved: update NBHUB_ADDRESS and the patch"
    module.write_text(source + NBHUB_PATCH)
    return peer


@pytest.fixture(scope="session")
def nbss(tmp_path_factory) -> Peer:
    return install_pinned(tmp_path_factory, "nbss-upload")


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    """A real server whose upload limit a test can pass without sending megabytes."""
    live = start_server(
        tmp_path_factory.mktemp("small"), env=clean_env(), NBSHARE_MAX_UPLOAD_BYTES=str(SMALL_LIMIT)
    )
    yield live
    live.stop()


def sent(folder: Path, title: str, name: str = "analysis.ipynb") -> tuple[Path, bytes]:
    data = notebook(markdown(f"# {title}\n\nPublished by a peer's client."), code("6 * 7", "c"))
    path = folder / name
    path.write_bytes(data)
    return path, data


def run_nbhub(nbhub: Peer, server_url: str, path: Path):
    # Its two questions: publish? yes. Set a password? no.
    return nbhub.run("nbhub", path, stdin="y\nn\n", NBHUB_TEST_SERVER=server_url)


def assert_opens(link: str, title: str, data: bytes) -> None:
    page = httpx.get(link, timeout=60)
    assert page.status_code == 200 and title in page.text
    assert httpx.get(link + ".ipynb", timeout=60).content == data


# --- the real clients against a real server ---------------------------------------------------


@pytest.mark.slow
def test_nbhub_publishes_and_its_link_opens_the_notebook(nbhub, server, tmp_path):
    path, data = sent(tmp_path, "From NbHub")
    done = run_nbhub(nbhub, server.url, path)
    assert done.returncode == 0, done.stderr
    assert "Published!" in done.stdout, done.stdout
    link = re.search(r"Visit your notebook at: (\S+)", done.stdout).group(1)
    assert link.startswith(f"{server.url}/n/")
    assert_opens(link, "From NbHub", data)
    # NbHub's own link shape leads to the same page.
    share_id = link.rsplit("/", 1)[1]
    moved = httpx.get(f"{server.url}/notebook/{share_id}", timeout=60)
    assert moved.status_code == 301 and moved.headers["location"] == link


@pytest.mark.slow
@pytest.mark.parametrize("discovery", [False, True])
def test_nbss_upload_prints_a_link_that_opens_the_notebook(nbss, server, tmp_path, discovery):
    path, data = sent(tmp_path, "From nbss-upload")
    done = nbss.run("nbss-upload", path, "--nbss-url", server.url, *(["-d"] if discovery else []), "-a")
    assert done.returncode == 0, done.stderr
    link = done.stdout.strip()
    assert re.fullmatch(rf"{re.escape(server.url)}/n/[A-Za-z0-9_-]+", link), done.stdout
    assert_opens(link, "From nbss-upload", data)
    robots = httpx.get(link, timeout=60).headers.get("x-robots-tag")
    assert robots == (None if discovery else "noindex")


@pytest.mark.slow
def test_nbss_upload_shows_an_error_sentence_for_a_file_that_is_no_notebook(nbss, server, tmp_path):
    path = tmp_path / "notes.ipynb"
    path.write_text("These are my notes, not a notebook.")
    done = nbss.run("nbss-upload", path, "--nbss-url", server.url)
    # nbss-upload prints whatever the server answers and exits 0 even on an error: what the
    # user sees is all there is, so it must read as an error, not as a link.
    assert done.returncode == 0, done.stderr
    shown = done.stdout.strip()
    assert shown.startswith("nbshare: ") and "not valid JSON" in shown, shown
    assert not LINK.search(shown), shown


@pytest.mark.slow
@pytest.mark.parametrize("size", [SMALL_LIMIT + 1_000, 1_000_000])
def test_nbss_upload_shows_an_error_sentence_for_a_file_too_large(nbss, small_server, tmp_path, size):
    """Just over the limit (read whole, then refused) and far over it (refused while it streams)."""
    path = tmp_path / "big.ipynb"
    path.write_bytes(notebook(markdown("x" * size)))
    done = nbss.run("nbss-upload", path, "--nbss-url", small_server.url)
    assert done.returncode == 0, done.stderr
    shown = done.stdout.strip()
    assert shown == "nbshare: The notebook is larger than this server's limit of 19.5 KB.", shown


@pytest.mark.slow
def test_nbhub_says_something_went_wrong_on_an_error(nbhub, small_server, tmp_path):
    not_notebook = tmp_path / "notes.ipynb"
    not_notebook.write_text("not a notebook")
    big = tmp_path / "big.ipynb"
    big.write_bytes(notebook(markdown("x" * 1_000_000)))
    for path in (not_notebook, big):
        done = run_nbhub(nbhub, small_server.url, path)
        # NbHub reads only the status: anything but 200 is its one error sentence (exit 0).
        assert done.returncode == 0, done.stderr
        assert "Sorry, something went wrong" in done.stdout and "Visit your notebook" not in done.stdout


# --- the routes, in process -------------------------------------------------------------------


@pytest.fixture
def small_client(tmp_path, renderer):
    settings = Settings(
        data_dir=tmp_path / "small",
        public_url=PUBLIC_URL,
        allowed_hosts=TEST_HOSTS,
        max_upload_bytes=SMALL_LIMIT,
    )
    with TestClient(create_app(settings, renderer=renderer)) as c:
        yield c


NB = notebook(markdown("# Peers\n\nsome text"))


def nbhub_post(client, data: bytes = NB, **headers: str):
    return client.post("/upload", files={"notebook-data": ("peer.ipynb", data)}, headers=headers)


def nbss_post(client, data: bytes = NB, **fields: str):
    return client.post("/api/v1/notebook", files={"notebook": ("peer.ipynb", data)}, data=fields)


def test_nbhub_gets_json_with_the_path_and_no_owner_token(client):
    r = nbhub_post(client)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["path"].startswith(f"{PUBLIC_URL}/n/") and "token" not in r.text
    assert client.get(body["path"].removeprefix(PUBLIC_URL)).status_code == 200


def test_browsers_keep_the_html_form_at_upload(client):
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    r = client.post("/upload", files={"file": ("a.ipynb", NB)}, headers=browser)
    assert r.status_code == 201 and r.headers["content-type"].startswith("text/html")
    assert "#token=" in r.text  # the created page with the owner's link, as before
    # A client that names the form's field, without asking for HTML (curl -F), too.
    assert client.post("/upload", files={"file": ("a.ipynb", NB)}).status_code == 201
    # NbHub's field from a browser still gets pages, never JSON.
    r = nbhub_post(client, **browser)
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [(b"not json", 422, "not_json"), (notebook(markdown("x" * 30_000)), 413, "too_large")],
)
def test_nbhub_errors_are_json_with_a_message(small_client, data, status, code):
    r = nbhub_post(small_client, data)
    assert r.status_code == status and r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]


def test_nbhub_upload_refused_while_it_streams_is_json_too(tmp_path, renderer):
    """Over real HTTP, as NbHub sends it: the bytes within the limit name the field before
    the rest is refused while it streams in."""
    settings = Settings(data_dir=tmp_path / "d", public_url=PUBLIC_URL, max_upload_bytes=SMALL_LIMIT)
    with serve_in_thread(create_app(settings, renderer=renderer)) as url:
        r = httpx.post(f"{url}/upload", files={"notebook-data": ("big.ipynb", b"x" * 1_000_000)}, timeout=120)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("path", ["/upload", "/api/v1/notebook"])
@pytest.mark.parametrize(
    "body",
    [b"garbage", b'--xyz\r\nContent-Disposition: form-data; name="notebook-data"\r\n\r\nabc', b""],
)
def test_junk_multipart_is_a_4xx_never_a_500(client, path, body):
    r = client.post(path, content=body, headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    assert 400 <= r.status_code < 500, r.text


def test_nbss_gets_the_link_as_plain_text(client):
    r = nbss_post(client, **{"enable-annotations": "False", "enable-discovery": "False"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    link = r.text.strip()
    assert re.fullmatch(rf"{PUBLIC_URL}/n/[A-Za-z0-9_-]+", link)
    assert "token" not in r.text


@pytest.mark.parametrize(
    ("fields", "robots"),
    [
        ({}, "noindex"),
        ({"enable-discovery": "False"}, "noindex"),
        ({"enable-discovery": "True"}, None),
        ({"enable-discovery": "true", "enable-annotations": "True"}, None),
    ],
)
def test_discovery_decides_whether_search_engines_may_index(client, fields, robots):
    path = nbss_post(client, **fields).text.strip().removeprefix(PUBLIC_URL)
    for url in (path, f"{path}/content", f"{path}.ipynb"):
        assert client.get(url).headers.get("x-robots-tag") == robots, url


def test_shares_from_the_api_are_not_indexed(client):
    url = publish(client, NB).json()["url"].removeprefix(PUBLIC_URL)
    assert client.get(url).headers["x-robots-tag"] == "noindex"


@pytest.mark.parametrize(
    ("fields", "word"),
    [
        ({"enable-discovery": "maybe"}, "enable-discovery must be true or false"),
        ({}, "form field 'notebook'"),
    ],
)
def test_nbss_errors_are_sentences_in_plain_text(client, fields, word):
    files = {"notebook": ("a.ipynb", NB)} if fields else {"other": ("a.ipynb", NB)}
    r = client.post("/api/v1/notebook", files=files, data=fields)
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith("nbshare: ") and word in r.text and not LINK.search(r.text)


def test_nbss_not_a_notebook_and_too_large(small_client):
    for data, status in ((b"{}", 422), (notebook(markdown("x" * 30_000)), 413), (b"x" * 200_000, 413)):
        r = nbss_post(small_client, data)
        assert r.status_code == status and r.headers["content-type"].startswith("text/plain"), r.text
        assert r.text.startswith("nbshare: ") and not LINK.search(r.text)


def test_nbhub_links_redirect_to_the_share_and_unknown_ids_are_the_usual_404(client):
    link = nbhub_post(client).json()["path"]
    share_id = link.rsplit("/", 1)[1]
    r = client.get(f"/notebook/{share_id}", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == link
    usual = client.get("/n/AAAAAAAAAAAAAAAAAAAAAAAA")
    for unknown in ("AAAAAAAAAAAAAAAAAAAAAAAA", "not-an-id", "%2e%2e"):
        r = client.get(f"/notebook/{unknown}", follow_redirects=False)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), unknown
        assert BeautifulSoup(r.text, "html.parser").title == BeautifulSoup(usual.text, "html.parser").title


def test_clis_post_without_origin_but_other_sites_are_refused(client):
    assert nbss_post(client).status_code == 200
    assert nbhub_post(client).status_code == 200
    evil = {"Origin": "https://evil.example"}
    assert (
        client.post("/api/v1/notebook", files={"notebook": ("a.ipynb", NB)}, headers=evil).status_code == 403
    )
    assert nbhub_post(client, **evil).status_code == 403


def test_the_peer_routes_carry_the_security_headers(client):
    link = nbhub_post(client).json()["path"]
    for r in (nbss_post(client), nbhub_post(client), client.get(f"/notebook/{link.rsplit('/', 1)[1]}")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
