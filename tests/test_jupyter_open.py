"""Open in my Jupyter (docs/jupyter.md): `GET {base_url}nbshare/open?url=SHARE` on a real
`jupyter server` with the extension, fetching from a real `nbshare serve` (and, for hostile
contents, from a hostile server written here). The share lands in a new folder of Jupyter's
root, byte for byte, and the answer redirects to it in JupyterLab; anything that cannot be
opened is a page in words and leaves nothing behind."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from helpers import (
    make_zip,
    markdown,
    notebook,
    publish_live,
    serve_in_thread,
    start_server,
    with_mode,
    zip_of,
)
from jupyter_helpers import history, jupyter_env, start_jupyter
from nbshare.bundle.incoming import Cloned
from nbshare.client import NbshareClient
from nbshare.jupyter.receiving import to_open

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"  # noqa: S105 (a test's share password)
XSRF_FIELD = re.compile(r'name="_xsrf" value="([^"]+)"')


@pytest.fixture(scope="module")
def nbshare_server(tmp_path_factory):
    live = start_server(tmp_path_factory.mktemp("nbshare"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory, nbshare_server):
    folder = tmp_path_factory.mktemp("jupyter")
    root = folder / "root"
    originals = root / "originals"
    (originals / "analysis" / "data").mkdir(parents=True)
    (originals / "report.ipynb").write_bytes(notebook(markdown("# Quarterly report")))
    (originals / "twice.ipynb").write_bytes(notebook(markdown("# Opened twice")))
    (originals / "locked.ipynb").write_bytes(notebook(markdown("# Behind a password")))
    (originals / "asked.ipynb").write_bytes(notebook(markdown("# Asked first")))
    (originals / "gone.ipynb").write_bytes(notebook(markdown("# Deleted soon")))
    (originals / "analysis" / "README.md").write_text("# Churn analysis\n")
    (originals / "analysis" / "churn.ipynb").write_bytes(notebook(markdown("# Churn")))
    (originals / "analysis" / "data" / "rows.csv").write_text("a,b\n1,2\n")
    env = jupyter_env(folder, nbshare_server.url)
    live = start_jupyter(root, env, folder / "jupyter.log")
    live.env = env  # type: ignore[attr-defined]
    yield live
    live.stop()


def share(jupyter, path: str, **options) -> dict:
    """A share of `path` (in originals/), made through the extension's own publish endpoint."""
    with jupyter.api() as http:
        r = http.post("nbshare/api/publish", json={"paths": [f"originals/{path}"], **options})
        assert r.status_code == 200, r.text
        return r.json()


def open_share(jupyter, url: str) -> httpx.Response:
    """The confirm page's POST (token-authenticated, as the API is: no XSRF field needed)."""
    with jupyter.api() as http:
        return http.post("nbshare/open", data={"url": url}, follow_redirects=False)


def everything_under(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")}


def test_a_notebook_opens_in_a_new_folder_and_the_answer_redirects_to_it(jupyter):
    shared = share(jupyter, "report.ipynb")
    r = open_share(jupyter, shared["url"])
    assert r.status_code == 302, r.text
    assert r.headers["location"] == "/lab/tree/report/report.ipynb"
    opened = jupyter.root / "report" / "report.ipynb"
    assert opened.read_bytes() == (jupyter.root / "originals" / "report.ipynb").read_bytes()
    # Only the notebook and clone's hidden marker: no environment, nothing run.
    assert {p.name for p in opened.parent.iterdir()} == {"report.ipynb", ".nbshare-clone"}
    assert not [p for p in jupyter.root.iterdir() if p.name.startswith(".nbshare-open-")]


def test_a_get_only_asks_and_writes_nothing(jupyter):
    """Any page can send a signed-in reader to nbshare/open: the GET shows what would be
    opened, from where, and a button whose POST (with Jupyter's XSRF field) does it."""
    shared = share(jupyter, "asked.ipynb")
    before = everything_under(jupyter.root)
    with httpx.Client(base_url=jupyter.url, timeout=300) as browser:
        page = browser.get("nbshare/open", params={"url": shared["url"], "token": jupyter.token})
        assert page.status_code == 200, page.text
        assert shared["url"] in page.text and 'method="post"' in page.text and "Open a copy" in page.text
        assert everything_under(jupyter.root) == before
        forged = browser.post("nbshare/open", data={"url": shared["url"]})
        assert forged.status_code == 403  # a cross-site form cannot know the _xsrf value
        assert everything_under(jupyter.root) == before
        xsrf = XSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
        fields = {"url": shared["url"], "_xsrf": xsrf}
        opened = browser.post("nbshare/open", data=fields, follow_redirects=False)
        assert opened.status_code == 302, opened.text
        assert opened.headers["location"] == "/lab/tree/asked/asked.ipynb"


def test_a_bundle_opens_with_its_files_at_its_readme(jupyter):
    shared = share(jupyter, "analysis")
    r = open_share(jupyter, shared["url"])
    assert r.status_code == 302, r.text
    assert r.headers["location"] == "/lab/tree/analysis/README.md"
    original, opened = jupyter.root / "originals" / "analysis", jupyter.root / "analysis"
    assert everything_under(original).items() <= everything_under(opened).items()


def test_a_bundle_of_a_server_under_a_path_prefix_opens(jupyter, tmp_path):
    """A share link of https://host/services/nbshare/n/ID: the server is everything before
    /n/ID, and the bundle's files are fetched under the prefix."""
    (tmp_path / "prefixed").mkdir()
    prefixed = start_server(tmp_path / "prefixed", prefix="/services/nbshare")
    try:
        bundle = zip_of({"README.md": b"# Under a prefix\n", "data/rows.csv": b"a,b\n1,2\n"})
        shared = publish_live(prefixed, bundle, "prefixed.zip", content_type="application/zip")
        assert shared["url"].startswith(f"{prefixed.url}/n/")
        r = open_share(jupyter, shared["url"])
        assert r.status_code == 302, r.text
        folder = r.headers["location"].removeprefix("/lab/tree/").removesuffix("/README.md")
        assert (jupyter.root / folder / "data" / "rows.csv").read_bytes() == b"a,b\n1,2\n"
    finally:
        prefixed.stop()


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (["b.ipynb", "README.md", "a.ipynb"], "README.md"),
        (["z.ipynb", "sub/README.md", "sub/a.ipynb"], "z.ipynb"),  # only a top README counts
        (["data/x.csv", "nb/b.ipynb", "nb/a.ipynb"], "nb/a.ipynb"),
        (["data/x.csv"], ""),  # no notebook: the folder itself
    ],
)
def test_what_a_bundle_opens_at(files, expected):
    notebooks = [f for f in files if f.endswith(".ipynb")]
    cloned = Cloned(dest=Path("x"), info={}, files=files, notebooks=notebooks, env_files=[])
    assert to_open(cloned) == expected


def test_opening_twice_makes_two_folders_and_overwrites_nothing(jupyter):
    mine = jupyter.root / "twice"
    mine.mkdir()
    (mine / "my-work.txt").write_text("the person's own")
    shared = share(jupyter, "twice.ipynb")
    first, second = open_share(jupyter, shared["url"]), open_share(jupyter, shared["url"])
    assert first.headers["location"] == "/lab/tree/twice-2/twice.ipynb"
    assert second.headers["location"] == "/lab/tree/twice-3/twice.ipynb"
    assert {p.name for p in mine.iterdir()} == {"my-work.txt"}
    assert (mine / "my-work.txt").read_text() == "the person's own"
    original = (jupyter.root / "originals" / "twice.ipynb").read_bytes()
    assert (jupyter.root / "twice-2" / "twice.ipynb").read_bytes() == original
    assert (jupyter.root / "twice-3" / "twice.ipynb").read_bytes() == original


def test_a_protected_share_asks_for_its_password_in_a_form(jupyter, nbshare_server):
    """As in a browser: signed in by cookie (the token once in the URL), so Jupyter's XSRF
    check applies to the form's POST; the password only ever travels in the POST body."""
    shared = share(jupyter, "locked.ipynb", password=PASSWORD)
    with httpx.Client(base_url=jupyter.url, timeout=300) as browser:
        asked = browser.get("nbshare/open", params={"url": shared["url"], "token": jupyter.token})
        xsrf = XSRF_FIELD.search(asked.text).group(1)  # type: ignore[union-attr]
        fields = {"url": shared["url"], "_xsrf": xsrf}
        form = browser.post("nbshare/open", data=fields)
        assert form.status_code == 200, form.text
        assert 'type="password"' in form.text and shared["url"] in form.text
        assert not (jupyter.root / "locked").exists()

        wrong = browser.post("nbshare/open", data={**fields, "password": "not it"})
        assert wrong.status_code == 403 and "Wrong password" in wrong.text and 'type="password"' in wrong.text
        forged = browser.post("nbshare/open", data={"url": shared["url"], "password": PASSWORD})
        assert forged.status_code == 403  # no _xsrf: Jupyter refuses the POST
        assert not (jupyter.root / "locked").exists()

        right = browser.post("nbshare/open", data={**fields, "password": PASSWORD}, follow_redirects=False)
        assert right.status_code == 302, right.text
        assert right.headers["location"] == "/lab/tree/locked/locked.ipynb"
    original = (jupyter.root / "originals" / "locked.ipynb").read_bytes()
    assert (jupyter.root / "locked" / "locked.ipynb").read_bytes() == original
    assert PASSWORD not in jupyter.log() and PASSWORD not in nbshare_server.log()


def test_a_deleted_share_is_a_page_in_words(jupyter, nbshare_server):
    shared = share(jupyter, "gone.ipynb")
    token = next(e["owner_token"] for e in history(jupyter.env) if e["id"] == shared["id"])
    NbshareClient(nbshare_server.url).delete(shared["id"], token)
    before = everything_under(jupyter.root)
    r = open_share(jupyter, shared["url"])
    assert r.status_code in (404, 410), r.text
    assert "text/html" in r.headers["content-type"] and "Traceback" not in r.text
    assert "Nothing was written" in r.text
    assert everything_under(jupyter.root) == before


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://example.org/some/page", "not a link to an nbshare share"),
        ("file:///etc/passwd", "not an http(s) link"),
        ("javascript:alert(1)", "not an http(s) link"),
        ("", "Say which share to open"),
    ],
)
def test_what_is_not_a_share_link_is_a_400_page(jupyter, url, words):
    with jupyter.api() as http:
        asked = http.get("nbshare/open", params={"url": url})
    for r in (asked, open_share(jupyter, url)):
        assert r.status_code == 400 and words in r.text and "Traceback" not in r.text
        assert "<script" not in r.text  # the link is shown escaped


def test_jupyter_refuses_a_request_that_is_not_signed_in(jupyter, nbshare_server):
    shared = share(jupyter, "report.ipynb")
    before = everything_under(jupyter.root)
    r = httpx.get(f"{jupyter.url}nbshare/open", params={"url": shared["url"]}, follow_redirects=False)
    assert r.status_code in (302, 403)
    assert r.status_code == 403 or "/login" in r.headers["location"]
    posted = httpx.post(f"{jupyter.url}nbshare/open", data={"url": shared["url"], "password": "x"})
    assert posted.status_code == 403
    assert everything_under(jupyter.root) == before


# --- hostile share contents ----------------------------------------------------------------

NOTEBOOK = notebook(markdown("# Hostile"))


def hostile_server(body: bytes, **lies) -> Starlette:
    """A server on loopback that describes one bundle share truthfully (unless `lies` say
    otherwise) and answers `body` for its download."""
    share_id = "h" * 24

    async def describe(request):
        return JSONResponse(
            {
                "id": share_id,
                "kind": "bundle",
                "title": "hostile",
                "filename": "hostile.zip",
                "download_url": f"/n/{share_id}.zip",
                "sha256": hashlib.sha256(body).hexdigest(),
                "size": 100_000,
                "files": [],
                "environment": [],
                **lies,
            }
        )

    async def download(request):
        return Response(body, media_type="application/zip")

    return Starlette(routes=[Route("/api/v1/shares/{id}", describe), Route("/n/{id}.zip", download)])


def escaping_zip() -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.ipynb", NOTEBOOK)
        archive.writestr("../escaped.txt", b"outside")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("body", "lies"),
    [
        pytest.param(escaping_zip(), {}, id="dot-dot-path"),
        pytest.param(
            make_zip(("a.ipynb", NOTEBOOK), (with_mode("link", 0o120777), b"/etc")), {}, id="symlink"
        ),
        pytest.param(make_zip(("a.ipynb", NOTEBOOK)), {"sha256": "0" * 64}, id="checksum-mismatch"),
        pytest.param(
            make_zip(("a.ipynb", NOTEBOOK), ("data", b"a file"), ("data/rows.csv", b"a,b\n")),
            {},
            id="file-then-folder",
        ),
        pytest.param(make_zip(("a.ipynb", NOTEBOOK)), {"id": "../../escaped"}, id="another-share"),
    ],
)
def test_hostile_share_contents_write_nothing(jupyter, body, lies):
    outside = jupyter.root.parent
    before_root, before_outside = everything_under(jupyter.root), set(everything_under(outside))
    with serve_in_thread(hostile_server(body, **lies)) as url:
        r = open_share(jupyter, f"{url}/n/{'h' * 24}")
    assert r.status_code == 502, r.text
    assert "Nothing was written" in r.text and "Traceback" not in r.text
    assert everything_under(jupyter.root) == before_root  # no folder, no staging left behind
    assert set(everything_under(outside)) - before_outside <= {"jupyter.log"}
    assert not (outside / "escaped.txt").exists() and not (outside.parent / "escaped.txt").exists()
