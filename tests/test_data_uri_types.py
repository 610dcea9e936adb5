"""The media type of an embedded file (a data: URI, a cell attachment) is stored and later
sent as the file's Content-Type: only a valid media type (RFC 6838) is kept (issue 10,
item 8). A CR LF in it made the file route drop the connection; a non-Latin-1 letter
gave a 500."""

from __future__ import annotations

import pytest

from helpers import markdown, minimal_notebook, nb_bytes, publish
from nbshare.render.assets import decode_data_uri, valid_media_type

HOSTILE_TYPES = [
    pytest.param("text/html&#13;&#10;X-Injected: yes", id="crlf-header"),
    pytest.param("text/ħtml", id="non-latin-1"),
]


def download_notebook(media_type: str) -> bytes:
    nb = minimal_notebook()
    link = f'<a download="report.bin" href="data:{media_type};base64,QUJD">report</a>'
    nb["cells"].append(markdown(link, "dl"))
    return nb_bytes(nb)


def fetch_only_file(client, share: dict, role: str):
    (entry,) = [f for f in share["files"] if f["role"] == role]
    return entry, client.get(entry["url"])


@pytest.mark.parametrize("media_type", HOSTILE_TYPES)
def test_a_download_with_a_hostile_type_is_stored_and_served_as_octet_stream(client, media_type):
    r = publish(client, download_notebook(media_type))
    assert r.status_code == 201, r.text
    entry, served = fetch_only_file(client, r.json(), "download")
    assert entry["media_type"] == "application/octet-stream"
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/octet-stream"
    assert "x-injected" not in served.headers
    assert served.content == b"ABC"


@pytest.mark.parametrize("media_type", ["image/ħpng", "image/png\r\nX-Injected: yes"])
def test_an_attachment_with_a_hostile_type_is_served_as_octet_stream(client, media_type):
    nb = minimal_notebook()
    attachment = markdown("![p](attachment:p.png)", "att")
    attachment["attachments"] = {"p.png": {media_type: "QUJD"}}
    nb["cells"].append(attachment)
    r = publish(client, nb_bytes(nb))
    assert r.status_code == 201, r.text
    entry, served = fetch_only_file(client, r.json(), "attachment")
    assert entry["media_type"] == "application/octet-stream"
    assert served.headers["content-type"] == "application/octet-stream"
    assert "x-injected" not in served.headers


@pytest.mark.parametrize(
    ("uri", "media_type"),
    [
        ("data:image/PNG;base64,QUJD", "image/png"),
        ("data:text/csv;charset=utf-8,a%2Cb", "text/csv"),  # parameters dropped
        ("data:application/vnd.ms-excel;base64,QUJD", "application/vnd.ms-excel"),
        ("data:image/svg+xml;base64,QUJD", "image/svg+xml"),
        ("data:,hello", "text/plain"),  # none given: RFC 2397's default
        ("data:text/ html;base64,QUJD", "application/octet-stream"),
        ("data:text/html\r\nX: y;base64,QUJD", "application/octet-stream"),
        ("data:-x/y;base64,QUJD", "application/octet-stream"),  # a name starts with a letter or digit
        ("data:text/" + "a" * 128 + ";base64,QUJD", "application/octet-stream"),  # 127 at most
    ],
)
def test_data_uri_media_types(uri, media_type):
    decoded = decode_data_uri(uri)
    assert decoded is not None and decoded[0] == media_type


def test_valid_media_type_keeps_what_rfc_6838_allows():
    assert valid_media_type("application/x-ipynb+json") == "application/x-ipynb+json"
    assert valid_media_type("a!#$&^_.+-/b") == "a!#$&^_.+-/b"
    for bad in ("text/html;charset=utf-8", "text", "text/", "/html", "te xt/html", "text/ħtml", "tëxt/html"):
        assert valid_media_type(bad) == "application/octet-stream", bad
