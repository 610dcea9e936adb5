"""Bad uploads, through the JSON API (raw body and multipart) and the HTML form.

Every one must get a 4xx (never a 500) with a message a person understands, as JSON
{"error": {"code", "message"}} from the API and as an HTML page from the form, and
must leave nothing stored: no rows, no blobs.
"""

from __future__ import annotations

import json

import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from helpers import (
    CORPUS,
    PUBLIC_URL,
    TEST_HOSTS,
    fixture_bytes,
    minimal_notebook,
    nb_bytes,
    publish,
    published,
    serve_in_thread,
    slow_notebook,
    stored_state,
)
from nbshare.app import create_app
from nbshare.notebook import json_depth
from nbshare.render.pool import RenderPool
from nbshare.settings import Settings
from nbshare.uploads import MULTIPART_SLACK, SMALL_BODY

WAYS = ("raw", "multipart", "form")  # API raw body, API multipart, HTML form
LIMIT = 10_000  # max_upload_bytes of the `small_client` app
NOTHING = ((0, 0), [])
CORPUS_INVALID = CORPUS / "nbformat-tests" / "invalid.ipynb"


def upload(client, way: str, data: bytes, filename: str = "bad.ipynb"):
    if way == "raw":
        return publish(client, data, filename)
    files = {"file": (filename, data, "application/x-ipynb+json")}
    return client.post("/api/v1/shares" if way == "multipart" else "/upload", files=files)


def error_message(response, way: str, code: str) -> str:
    """The message shown to the uploader, after checking the response's shape."""
    assert 400 <= response.status_code < 500, response.text[:500]  # never a 500
    if way == "form":
        assert response.headers["content-type"].startswith("text/html")
        shown = BeautifulSoup(response.text, "html.parser").select_one("p.error-message")
        assert shown is not None, response.text
        return shown.get_text()
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code
    return body["error"]["message"]


def assert_refused(app, response, way, *, status, code, word):
    assert response.status_code == status, response.text[:500]
    message = error_message(response, way, code)
    assert word.lower() in message.lower(), message
    assert stored_state(app) == NOTHING


def notebook_with(**changes) -> bytes:
    return nb_bytes({**minimal_notebook(), **changes})


def in_metadata(value: bytes) -> bytes:
    return b'{"nbformat": 4, "nbformat_minor": 5, "cells": [], "metadata": {"x": ' + value + b"}}"


def nested_in_metadata(levels: int) -> bytes:
    """A notebook whose metadata holds `levels` nested arrays: JSON depth levels + 2."""
    return in_metadata(b"[" * levels + b"]" * levels)


def cut_in_half() -> bytes:
    data = fixture_bytes("headings.ipynb")
    return data[: len(data) // 2]


def cut_inside_a_character() -> bytes:
    data = fixture_bytes("headings.ipynb")
    return data[: data.index("数".encode()) + 1]  # first of the character's three bytes


BAD = [
    pytest.param(b"this is not JSON", 422, "not_json", "not valid JSON", id="not-json"),
    pytest.param(b"[1, 2, 3]", 422, "not_a_notebook", "not a Jupyter notebook", id="json-list"),
    pytest.param(b'{"a": 1}', 422, "not_a_notebook", "not a Jupyter notebook", id="json-object"),
    pytest.param(b'"a string"', 422, "not_a_notebook", "not a Jupyter notebook", id="json-string"),
    pytest.param(
        notebook_with(cells=[{"cell_type": "bogus"}]),
        422,
        "invalid_notebook",
        "not valid",
        id="schema-bad-cell",
    ),
    pytest.param(
        notebook_with(cells=[{"cell_type": "markdown", "metadata": {}, "id": "a"}]),
        422,
        "invalid_notebook",
        "'source' is a required property",
        id="schema-missing-source",
    ),
    pytest.param(
        CORPUS_INVALID.read_bytes() if CORPUS_INVALID.exists() else b"",
        422,
        "invalid_notebook",
        "not valid",
        id="corpus-invalid",
        marks=pytest.mark.skipif(not CORPUS_INVALID.exists(), reason="shared corpus is absent"),
    ),
    pytest.param(cut_in_half(), 422, "truncated", "truncated", id="truncated"),
    pytest.param(cut_inside_a_character(), 422, "truncated", "truncated", id="truncated-mid-character"),
    pytest.param(b'{"cells": "\xff\xfe"}', 422, "not_utf8", "UTF-8", id="invalid-utf8"),
    pytest.param(json.dumps(minimal_notebook()).encode("utf-16"), 422, "not_utf8", "UTF-8", id="utf16"),
    pytest.param(
        nb_bytes(minimal_notebook(title="\ud800")), 422, "not_utf8", "surrogate", id="lone-surrogate"
    ),
    pytest.param(b"", 422, "empty", "empty", id="empty"),
    pytest.param(b" \n\t ", 422, "empty", "empty", id="whitespace"),
    pytest.param(nested_in_metadata(100_000), 422, "too_deep", "nested", id="100000-nested-arrays"),
    pytest.param(
        in_metadata(b'{"a": ' * 100_000 + b"1" + b"}" * 100_000),
        422,
        "too_deep",
        "nested",
        id="100000-nested-objects",
    ),
    pytest.param(notebook_with(nbformat=5), 422, "unsupported_version", "version", id="nbformat-5"),
    pytest.param(notebook_with(nbformat="x"), 422, "unsupported_version", "version", id="nbformat-x"),
    pytest.param(
        b'{"nbformat": 4, "nbformat_minor": ' + b"9" * 5000 + b', "metadata": {}, "cells": []}',
        422,
        "invalid_notebook",
        "digits",
        id="number-too-long",
    ),
    # Valid against the schema, but nbconvert's template calls .lower() on raw_mimetype.
    pytest.param(
        notebook_with(
            cells=[{"cell_type": "raw", "id": "r", "metadata": {"raw_mimetype": 5}, "source": "x"}]
        ),
        422,
        "render_failed",
        "could not be rendered",
        id="render-fails",
    ),
]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(("data", "status", "code", "word"), BAD)
def test_bad_notebook_is_refused_and_nothing_stored(client, app, way, data, status, code, word):
    assert stored_state(app) == NOTHING
    assert_refused(app, upload(client, way, data), way, status=status, code=code, word=word)


@pytest.mark.parametrize("way", WAYS)
def test_nesting_one_level_past_the_limit_is_refused(client, app, settings, way):
    data = nested_in_metadata(settings.max_json_depth - 1)
    assert json_depth(json.loads(data)) == settings.max_json_depth + 1
    assert_refused(app, upload(client, way, data), way, status=422, code="too_deep", word="nested")


def test_nesting_at_the_limit_is_accepted(client, settings):
    data = nested_in_metadata(settings.max_json_depth - 2)
    assert json_depth(json.loads(data)) == settings.max_json_depth
    assert publish(client, data).status_code == 201


# --- requests that are not an upload at all -----------------------------------------------


def test_unsupported_content_type_is_415(client, app):
    r = client.post(
        "/api/v1/shares", content=nb_bytes(minimal_notebook()), headers={"Content-Type": "image/png"}
    )
    assert_refused(app, r, "raw", status=415, code="unsupported_media_type", word="Content-Type")


@pytest.mark.parametrize("way", ("multipart", "form"))
@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"files": {"title": (None, "just a title")}}, id="no-file-field"),
        pytest.param({"files": {"file": (None, "text, not a file")}}, id="file-is-text"),
        pytest.param({"files": {"other": ("nb.ipynb", b"{}")}}, id="file-under-other-name"),
    ],
)
def test_multipart_without_a_file_is_400(client, app, way, form):
    r = client.post("/api/v1/shares" if way == "multipart" else "/upload", **form)
    assert_refused(app, r, way, status=400, code="no_file", word="Choose a notebook file")


@pytest.mark.parametrize("way", ("multipart", "form"))
def test_broken_multipart_body_is_400(client, app, way):
    r = client.post(
        "/api/v1/shares" if way == "multipart" else "/upload",
        content=b"garbage",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert_refused(app, r, way, status=400, code="bad_request", word="multipart")


# --- size limit -----------------------------------------------------------------------------


@pytest.fixture
def small_app(tmp_path, renderer):
    settings = Settings(
        data_dir=tmp_path / "d", public_url=PUBLIC_URL, allowed_hosts=TEST_HOSTS, max_upload_bytes=LIMIT
    )
    return create_app(settings, renderer=renderer)


@pytest.fixture
def small_client(small_app):
    with TestClient(small_app) as c:
        yield c


def notebook_of_size(size: int) -> bytes:
    data = nb_bytes(minimal_notebook(padding=""))
    data = nb_bytes(minimal_notebook(padding="x" * (size - len(data))))
    assert len(data) == size
    return data


def chunks(data: bytes, size: int = 4096):
    for start in range(0, len(data), size):
        yield data[start : start + size]


# Just past the limit (the handlers count the file's bytes), and far past it (a multipart
# body is then stopped by the UploadLimit middleware while it streams in).
SIZES = [pytest.param(LIMIT + 1, id="limit+1"), pytest.param(LIMIT + MULTIPART_SLACK + 50_000, id="far-over")]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("size", SIZES)
def test_upload_over_the_limit_is_413(small_client, small_app, way, size):
    r = upload(small_client, way, notebook_of_size(size))
    assert_refused(small_app, r, way, status=413, code="too_large", word="limit of 9.8 KB")


@pytest.mark.parametrize("size", SIZES)
def test_chunked_upload_over_the_limit_is_413(small_client, small_app, size):
    # A generator body goes out with Transfer-Encoding: chunked and no Content-Length,
    # so only counting the bytes as they arrive can stop it. (A small Content-Length
    # that lies cannot be sent with TestClient, which always sends the real length.)
    r = small_client.post(
        "/api/v1/shares",
        content=chunks(notebook_of_size(size)),
        headers={"Content-Type": "application/x-ipynb+json"},
    )
    assert "content-length" not in r.request.headers
    assert_refused(small_app, r, "raw", status=413, code="too_large", word="limit")


@pytest.mark.parametrize("way", WAYS)
def test_upload_of_exactly_the_limit_is_accepted(small_client, way):
    r = upload(small_client, way, notebook_of_size(LIMIT))
    assert r.status_code == 201, r.text[:500]


# --- render timeout -------------------------------------------------------------------------


def test_render_timeout_is_422_stores_nothing_and_the_pool_recovers(tmp_path):
    pool = RenderPool(workers=1, timeout=0.5)
    settings = Settings(data_dir=tmp_path / "d", public_url=PUBLIC_URL, allowed_hosts=TEST_HOSTS)
    app = create_app(settings, renderer=pool)
    try:
        with TestClient(app) as client:
            r = publish(client, slow_notebook())
            assert_refused(app, r, "raw", status=422, code="render_timeout", word="longer than")
            # The worker's own timer stopped the render; the same warm worker renders the next,
            # given a budget a busy machine cannot miss.
            pool.timeout = 60
            assert publish(client, nb_bytes(minimal_notebook())).status_code == 201
    finally:
        pool.close()


# --- bodies that are not uploads ------------------------------------------------------------

PASSWORD = "a-long-password-9"  # noqa: S105 - a test share's password


def json_of_size(size: int) -> bytes:
    """A JSON object of exactly `size` bytes: {"password": "xxx..."}."""
    head = b'{"password": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


def body_ways(share_id: str):
    """(method, path, body bytes -> request options): JSON with a length, JSON chunked, a form."""
    json_type = {"Content-Type": "application/json"}
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    return [
        ("PATCH", f"/api/v1/shares/{share_id}", lambda b: {"content": b, "headers": json_type}),
        ("PATCH", f"/api/v1/shares/{share_id}", lambda b: {"content": chunks(b), "headers": json_type}),
        ("POST", f"/api/v1/shares/{share_id}/unlock", lambda b: {"content": chunks(b), "headers": json_type}),
        ("POST", f"/n/{share_id}/unlock", lambda b: {"content": b"password=" + b[9:], "headers": form_type}),
    ]


def test_a_body_that_is_not_an_upload_is_refused_before_it_is_parsed(settings, renderer):
    """Before, a settings change or a password could be up to max_upload_bytes (100 MB) of
    JSON, read and parsed whole before any check of its fields."""
    app = create_app(settings, renderer=renderer)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        body = published(client, nb_bytes(minimal_notebook()), headers={"X-Nbshare-Password": PASSWORD})
        owner = {"Authorization": f"Bearer {body['owner_token']}"}
        for method, path, options in body_ways(body["id"]):
            for size in (SMALL_BODY + 1, 4 * SMALL_BODY):
                sent = options(json_of_size(size))
                sent["headers"] = {**sent["headers"], **owner}
                r = client.request(method, path, **sent)
                assert r.status_code == 413, (method, path, size, r.text[:300])
                assert "larger than 64 KB" in r.text and "only uploads" in r.text, r.text[:300]
                if path.startswith("/api/"):
                    assert r.json()["error"]["code"] == "body_too_large"
                    assert ("content-length" in r.request.headers) != (
                        r.request.headers.get("transfer-encoding") == "chunked"
                    )
        # Nothing was changed, and bodies up to the cap are read as before.
        r = client.post(f"/api/v1/shares/{body['id']}/unlock", json={"password": PASSWORD})
        assert r.status_code == 200, r.text
        as_json = {**owner, "Content-Type": "application/json"}
        r = client.patch(f"/api/v1/shares/{body['id']}", content=json_of_size(SMALL_BODY), headers=as_json)
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_password", r.text
        r = client.patch(f"/api/v1/shares/{body['id']}", json={"max_views": 3}, headers=owner)
        assert r.json()["max_views"] == 3
