"""The read path under attack: view limits on every route that gives content, bounded
numbers, version numbers that reveal nothing, cache and media-type policy for files,
errors that leave the connection usable, and burns under real concurrency."""

from __future__ import annotations

import base64
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from helpers import (
    PUBLIC_URL,
    TEST_HOSTS,
    ZIP_TYPE,
    as_owner,
    b64,
    markdown,
    notebook,
    output_cell,
    published,
    serve_in_thread,
    start_server,
    stored_state,
    zip_of,
)
from nbshare.app import create_app
from nbshare.security import grants
from nbshare.shares import MAX_VIEWS, VIEW_LIFETIME
from nbshare.store import FileBlobStore, MetadataStore

MARKER = "Burn-marker-7Qx"
IMAGE = os.urandom(12_000)  # over inline_file_bytes: taken out of the page into a file
DOWNLOAD = os.urandom(9_000)
HUGE = 1180591620717411303424


NOTEBOOK = notebook(
    markdown(f"# {MARKER}\n\nText", "a"),
    output_cell({"image/png": b64(IMAGE)}, "img"),
    output_cell(
        {
            "text/html": f'<a download="data.bin" href="data:application/octet-stream;base64,'
            f'{b64(DOWNLOAD)}">data</a>'
        },
        "dl",
    ),
)


BUNDLE = zip_of(
    {
        "README.md": f"# {MARKER}\nSee [the analysis](analysis.ipynb).".encode(),
        "analysis.ipynb": notebook(markdown(f"# Analysis {MARKER}")),
        "data.csv": b"a,b\n1,2\n",
    }
)


def files_of(app, share_id: str) -> dict[str, dict]:
    """The version's manifest entries by role (images are not listed by the API)."""
    _, version = app.state.service.metadata.get_share(share_id)
    return {f["role"]: f for f in version.manifest["files"]}


def notebook_routes(app, share_id: str) -> list[str]:
    files = files_of(app, share_id)
    image, download = files["image"], files["download"]
    return [
        f"/n/{share_id}/content",
        f"/n/{share_id}/v/1/content",
        f"/n/{share_id}.ipynb",
        f"/n/{share_id}/v/1.ipynb",
        f"/n/{share_id}/f/{download['address']}/data.bin",
        f"/n/{share_id}/v/1/f/{download['address']}/data.bin",
        f"/n/{share_id}/v/1/f/{image['address']}/{image['name']}",
    ]


def bundle_routes(share_id: str) -> list[str]:
    return [
        f"/n/{share_id}",
        f"/n/{share_id}/v/1",
        f"/n/{share_id}/content",
        f"/n/{share_id}/content/nb/analysis.ipynb",
        f"/n/{share_id}/v/1/content/nb/analysis.ipynb",
        f"/n/{share_id}/files/data.csv",
        f"/n/{share_id}/v/1/files/data.csv",
        f"/n/{share_id}.zip",
        f"/n/{share_id}/v/1.zip",
    ]


def described_routes(share_id: str, kind: str) -> list[str]:
    """The routes that describe a view-limited share without using a view: a notebook's
    share page, a bundle notebook's page and the API. A bundle's index is a view itself."""
    pages = ["", "/v/1"] if kind == "notebook" else ["/nb/analysis.ipynb", "/v/1/nb/analysis.ipynb"]
    return [*(f"/n/{share_id}{page}" for page in pages), f"/api/v1/shares/{share_id}"]


def reader(app) -> TestClient:
    """A new browser: its own cookie jar."""
    return TestClient(app, base_url="http://testserver")


# --- item 3: what a view is, on every route -------------------------------------------------


@pytest.mark.parametrize("first", range(7))
def test_every_notebook_route_gives_one_view_and_the_second_reader_nothing(client, app, first):
    body = published(client, NOTEBOOK, max_views=1)
    routes = notebook_routes(app, body["id"])
    reader_one, reader_two = reader(app), reader(app)
    r = reader_one.get(routes[first])
    assert r.status_code == 200, routes[first]
    assert grants.cookie_name(body["id"], view=True) in r.cookies  # the view's grant
    for route in routes:  # the counted reader's page loads its own frame, images and files
        assert reader_one.get(route).status_code == 200, route
    assert reader_one.get(f"/n/{body['id']}").status_code == 200
    for route in [*routes, f"/n/{body['id']}", f"/n/{body['id']}/v/1"]:
        assert reader_two.get(route).status_code == 404, route


@pytest.mark.parametrize("first", range(9))
def test_every_bundle_route_gives_one_view_and_the_second_reader_nothing(client, app, first):
    body = published(client, BUNDLE, "b.zip", content_type=ZIP_TYPE, max_views=1)
    routes = bundle_routes(body["id"])
    reader_one, reader_two = reader(app), reader(app)
    assert reader_one.get(routes[first]).status_code == 200, routes[first]
    for route in routes:
        assert reader_one.get(route).status_code == 200, route
    for route in routes:
        assert reader_two.get(route).status_code == 404, route


@pytest.mark.parametrize("kind", ["notebook", "bundle"])
def test_describing_a_view_limited_share_uses_no_view_and_gives_no_content(client, app, kind):
    """Headings, file names and notebook names are content: only the reader whose view was
    counted (and the owner) get them. The title and the share's settings are not."""
    if kind == "notebook":
        body = published(client, NOTEBOOK, title="Plain title", max_views=1)
        content, secrets = f"/n/{body['id']}/content", (MARKER, "data.bin")
    else:
        body = published(client, BUNDLE, "b.zip", content_type=ZIP_TYPE, title="Plain title", max_views=1)
        content, secrets = f"/n/{body['id']}", (MARKER, "data.csv", "README.md")
    routes = described_routes(body["id"], kind)
    for route in routes * 2:
        r = reader(app).get(route)
        assert r.status_code == 200 and "Plain title" in r.text, route
        assert [s for s in secrets if s in r.text] == [], route
        assert r.headers["cache-control"] == "private, no-store", route
    session = client.post(f"/api/v1/shares/{body['id']}/owner-session", headers=as_owner(body))
    assert session.status_code == 204
    for route in routes:  # the owner, by session or token, sees everything and uses no view
        assert MARKER in client.get(route, headers=as_owner(body)).text, route
    assert client.get(f"/api/v1/shares/{body['id']}", headers=as_owner(body)).json()["views"] == 0
    viewer = reader(app)
    assert viewer.get(content).status_code == 200  # the view; its grant opens the rest
    for route in routes:
        assert MARKER in viewer.get(route).text, route
    for route in routes:
        assert reader(app).get(route).status_code == 404, route


def test_the_uploader_of_a_view_limited_share_is_told_its_content(client, app):
    """The answers to publishing and updating go to the owner: nothing is left out."""
    body = published(client, NOTEBOOK, title="Plain title", max_views=1)
    assert MARKER in str(body["toc"]) and "data.bin" in str(body["files"])
    r = client.put(
        f"/api/v1/shares/{body['id']}",
        content=NOTEBOOK,
        headers={**as_owner(body), "Content-Type": "application/x-ipynb+json"},
    )
    assert r.status_code == 200 and MARKER in str(r.json()["toc"]), r.text


def test_file_routes_count_views_instead_of_answering_forever(client, app):
    body = published(client, NOTEBOOK, max_views=3)
    route = notebook_routes(app, body["id"])[4]
    assert [reader(app).get(route).status_code for _ in range(5)] == [200, 200, 200, 404, 404]


def test_the_bundle_index_is_the_view_and_opens_its_notebooks_and_readme(client, app):
    body = published(client, BUNDLE, "b.zip", content_type=ZIP_TYPE, max_views=2)
    browser = reader(app)
    index = browser.get(f"/n/{body['id']}")
    assert index.status_code == 200 and index.headers["cache-control"] == "private, no-store"
    for route in bundle_routes(body["id"])[:5]:
        assert browser.get(route).status_code == 200, route
    info = client.get(f"/api/v1/shares/{body['id']}", headers=as_owner(body)).json()
    assert info["views"] == 1


def test_a_view_limited_frame_needs_no_other_request_and_loads_from_the_public_origin(tmp_path, renderer):
    from nbshare.settings import Settings

    settings = Settings(
        data_dir=tmp_path / "d",
        public_url=PUBLIC_URL,
        render_url="http://render.test",
        allowed_hosts=TEST_HOSTS,
    )
    app = create_app(settings, renderer=renderer)
    with TestClient(app) as client:
        body = published(client, NOTEBOOK, max_views=5)
        page = client.get(f"/n/{body['id']}").text
        assert f'data-src="{PUBLIC_URL}/n/{body["id"]}/content"' in page  # where the view grant lives
        frame = client.get(f"/n/{body['id']}/content").text
        # A file address is `/n/<id>[/v/<n>]/f/<sha256>/`; base64 can hold "/f/" by chance,
        # so match the whole form.
        file_link = r"/n/{}(/v/\d+)?/f/[0-9a-f]{{64}}/"
        assert not re.search(file_link.format(body["id"]), frame)
        assert base64.b64encode(IMAGE).decode() in frame
        unlimited = published(client, NOTEBOOK)
        unlimited_frame = client.get(f"/n/{unlimited['id']}/content").text
        assert re.search(file_link.format(unlimited["id"]), unlimited_frame)  # only limited shares pay


def test_the_owner_reads_every_route_without_using_a_view(client, app):
    body = published(client, NOTEBOOK, max_views=1)
    session = client.post(f"/api/v1/shares/{body['id']}/owner-session", headers=as_owner(body))
    assert session.status_code == 204
    for route in notebook_routes(app, body["id"]):
        r = client.get(route)
        assert r.status_code == 200 and "set-cookie" not in r.headers, route
    assert client.get(f"/api/v1/shares/{body['id']}", headers=as_owner(body)).json()["views"] == 0
    assert reader(app).get(f"/n/{body['id']}/content").status_code == 200  # the one view is left


@pytest.fixture
def clocked(tmp_path, renderer):
    """(app, client, offset): the service's clock is a fixed day plus offset[0], moved by hand."""
    from datetime import UTC, datetime, timedelta

    from nbshare.settings import Settings

    clock_start = datetime(2026, 6, 1, tzinfo=UTC)
    offset = [timedelta(0)]
    settings = Settings(data_dir=tmp_path / "d", public_url=PUBLIC_URL, allowed_hosts=TEST_HOSTS)
    app = create_app(settings, renderer=renderer, clock=lambda: clock_start + offset[0])
    with TestClient(app) as client:
        yield app, client, offset


def test_a_burnt_share_is_deleted_when_its_last_view_ends(clocked):
    app, client, offset = clocked
    body = published(client, NOTEBOOK, max_views=1)
    browser = reader(app)
    assert browser.get(f"/n/{body['id']}/content").status_code == 200
    assert app.state.service.purge() == 0  # its reader is still reading
    offset[0] = VIEW_LIFETIME
    assert app.state.service.purge() == 1
    assert stored_state(app) == ((0, 0), [])
    assert browser.get(f"/n/{body['id']}/content").status_code == 404


def test_a_burn_survives_an_instance_whose_clock_runs_behind_and_its_owner_can_delete_it(clocked):
    """Another instance's clock, two minutes behind the one that counted the last view,
    must not take the burn mark for one cut short (and delete the share from under its
    reader); the owner can still delete a burnt share at once."""
    from datetime import timedelta

    app, client, offset = clocked
    body = published(client, NOTEBOOK, max_views=1)
    browser = reader(app)
    assert browser.get(f"/n/{body['id']}/content").status_code == 200
    offset[0] = -timedelta(minutes=2)
    assert app.state.service.purge() == 0
    assert browser.get(f"/n/{body['id']}.ipynb").status_code == 200
    assert client.delete(f"/api/v1/shares/{body['id']}", headers=as_owner(body)).status_code == 204
    assert stored_state(app) == ((0, 0), [])


# --- items 7 and 17: numbers a client sends -------------------------------------------------


@pytest.mark.parametrize("views", [MAX_VIEWS + 1, 2**63, 10**20, 0, -1])
def test_out_of_range_view_limits_are_a_clear_400_everywhere(client, views):
    r = client.post(
        "/api/v1/shares",
        params={"filename": "nb.ipynb", "max_views": views},
        content=NOTEBOOK,
        headers={"Content-Type": "application/x-ipynb+json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_max_views", r.text
    assert "1 to 1,000,000,000" in r.json()["error"]["message"]
    r = client.post("/upload", files={"file": ("nb.ipynb", NOTEBOOK)}, data={"max_views": str(views)})
    assert r.status_code == 400 and "max_views" in r.text
    body = published(client, NOTEBOOK)
    r = client.patch(f"/api/v1/shares/{body['id']}", json={"max_views": views}, headers=as_owner(body))
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_max_views", r.text
    assert stored_state(client.app)[0] == (1, 1)


@pytest.mark.parametrize("views", ["0", "1_0", "\u0663", "5.0", "-0"])
def test_a_view_limit_in_the_api_form_is_checked_like_the_query(client, views):
    """Before, the API's multipart form took 0 as "no limit" (and int() took "1_0")."""
    r = client.post("/api/v1/shares", files={"file": ("nb.ipynb", NOTEBOOK)}, data={"max_views": views})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_max_views", r.text
    assert stored_state(client.app)[0] == (0, 0)


def test_huge_version_numbers_are_404_not_500(client):
    body = published(client, NOTEBOOK)
    r = client.patch(f"/api/v1/shares/{body['id']}", json={"versions_public": True}, headers=as_owner(body))
    assert r.status_code == 200
    for number in (HUGE, 2**63, 2**31, 0, -1):
        for suffix in ("", ".ipynb", "/content", ".zip", "/files/x", "/f/abc/x"):
            r = client.get(f"/n/{body['id']}/v/{number}{suffix}")
            assert r.status_code == 404, (number, suffix)
        r = client.delete(f"/api/v1/shares/{body['id']}/versions/{number}", headers=as_owner(body))
        assert r.status_code == 404, number


@pytest.mark.parametrize(
    "change",
    [
        {"versions_public": 0},
        {"versions_public": "yes"},
        {"max_views": True},
        {"max_views": 2.0},
        {"max_views": "3"},
    ],
)
def test_settings_take_only_real_json_types(client, change):
    body = published(client, NOTEBOOK)
    r = client.patch(f"/api/v1/shares/{body['id']}", json=change, headers=as_owner(body))
    assert r.status_code == 400, r.text
    assert next(iter(change)) in r.json()["error"]["message"]


def test_trace_and_other_methods_get_405_with_allow(client):
    for path in ("/", "/n/abc", "/api/v1/shares"):
        r = client.request("TRACE", path)
        assert r.status_code == 405 and r.headers["allow"], path
    assert "POST" in client.request("TRACE", "/api/v1/shares").headers["allow"]
    # Several routes share a share's path: the header names every method among them.
    allow = client.request("TRACE", "/api/v1/shares/abc").headers["allow"]
    assert {"GET", "PUT", "PATCH", "DELETE"} <= {m.strip() for m in allow.split(",")}, allow


# --- item 12: caching, versions, media types ------------------------------------------------


def test_files_are_revalidated_so_a_cache_cannot_outlive_a_password(client, app):
    body = published(client, NOTEBOOK)
    route = notebook_routes(app, body["id"])[5]
    r = client.get(route)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    etag = r.headers["etag"]
    again = client.get(route, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.content
    r = client.patch(
        f"/api/v1/shares/{body['id']}", json={"password": "a-long-password-9"}, headers=as_owner(body)
    )
    assert r.status_code == 200
    assert reader(app).get(route, headers={"If-None-Match": etag}).status_code == 401


def test_a_locked_share_answers_the_same_for_every_version_number(client):
    body = published(client, NOTEBOOK)
    publish_update = client.put(
        f"/api/v1/shares/{body['id']}",
        content=NOTEBOOK,
        headers={**as_owner(body), "Content-Type": "application/x-ipynb+json"},
    )
    assert publish_update.status_code == 200
    client.patch(
        f"/api/v1/shares/{body['id']}", json={"password": "a-long-password-9"}, headers=as_owner(body)
    )
    stranger = reader(client.app)
    for suffix in ("", ".ipynb", "/content"):
        answers = {stranger.get(f"/n/{body['id']}/v/{n}{suffix}").status_code for n in (1, 2, 3, 99, HUGE)}
        assert answers == {401}, suffix


ACTIVE = {
    "app.js": b"alert(1)",
    "mod.mjs": b"export default 1",
    "page.html": b"<script>alert(1)</script>",
    "doc.xml": b"<x/>",
    "style.css": b"body{}",
    "doc.xhtml": b"<html/>",
}


def test_active_bundle_files_are_served_as_plain_text_attachments(client):
    body = published(
        client,
        zip_of({**ACTIVE, "a.ipynb": notebook(markdown("# A")), "d.csv": b"a\n1\n"}),
        "b.zip",
        content_type=ZIP_TYPE,
    )
    for name in ACTIVE:
        r = client.get(f"/n/{body['id']}/files/{name}")
        assert r.status_code == 200 and r.content == ACTIVE[name]
        assert r.headers["content-type"] == "text/plain; charset=utf-8", name
        assert r.headers["content-disposition"].startswith("attachment"), name
    assert client.get(f"/n/{body['id']}/files/d.csv").headers["content-type"].startswith("text/csv")


# --- item 14: burns under real concurrency --------------------------------------------------


def test_concurrent_prefix_deletes_are_idempotent(tmp_path):
    blobs = FileBlobStore(tmp_path / "blobs")
    for trial in range(5):
        for i in range(200):
            blobs.put(f"shares/s{trial}/v{i % 4}/files/f{i}", b"x")
        start = threading.Barrier(6)

        def delete(_, prefix=f"shares/s{trial}", start=start):
            start.wait()
            return blobs.delete_prefix(prefix)

        with ThreadPoolExecutor(6) as pool:
            counts = list(pool.map(delete, range(6)))
        assert sum(counts) == 200 and not list(blobs.keys())


def test_the_counted_reader_gets_the_content_when_readers_race_for_the_last_view(tmp_path):
    server = start_server(tmp_path)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            ids = [published(client, notebook(markdown(f"# {MARKER}")), max_views=1)["id"] for _ in range(20)]
        outcomes = []
        for share_id in ids:
            start = threading.Barrier(8)

            def read(_, share_id=share_id, start=start):
                with httpx.Client(base_url=server.url, timeout=60) as one:
                    start.wait()
                    r = one.get(f"/n/{share_id}/content")
                    return r.status_code, MARKER in r.text

            with ThreadPoolExecutor(8) as pool:
                outcomes.append(sorted(pool.map(read, range(8))))
        assert all(o == [(200, True)] + [(404, False)] * 7 for o in outcomes), outcomes
    finally:
        server.stop()


# --- item 17: a 500 leaves the connection usable --------------------------------------------


class BrokenMetadata(MetadataStore):
    def get_share(self, share_id):
        raise RuntimeError("database went away")


def test_a_500_answers_cleanly_and_the_next_request_on_the_connection_succeeds(settings, renderer):
    app = create_app(settings, renderer=renderer, metadata=BrokenMetadata(settings.database_url))
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    # The app's own lifespan runs, as in `nbshare serve`; its 500s are logged, not shown.
    with (
        serve_in_thread(app, lifespan="auto", log_level="critical") as url,
        httpx.Client(base_url=url, limits=limits, timeout=30) as client,
    ):
        for _ in range(3):
            failed = client.get("/n/AAAAAAAAAAAAAAAAAAAAAAAA")
            assert failed.status_code == 500 and "nothing was stored" in failed.text
            assert client.get("/healthz").status_code == 200
