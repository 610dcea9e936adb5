"""Bundles on the server: a .zip of notebooks and files becomes an index, a page per
notebook with working relative links, downloadable files and the archive itself; hostile
archives are refused with nothing stored."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile

import pytest
from bs4 import BeautifulSoup

from helpers import (
    PUBLIC_URL,
    TEST_HOSTS,
    ZIP_TYPE,
    make_zip,
    markdown,
    notebook,
    publish,
    stored_state,
    with_mode,
    zip_of,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


ANALYSIS = notebook(
    markdown(
        "# Analysis\n## Results\nSee [the report](sub/report.ipynb#Report), [the data](data/x.csv) and"
        " ![a plot](img/plot.png). [Outside](../../etc/passwd) stays as written.",
        "a",
    ),
)
REPORT = notebook(markdown("# Report\n[Back](../analysis.ipynb) ![up](../img/plot.png)", "r"))
FILES = {
    "analysis.ipynb": ANALYSIS,
    "sub/report.ipynb": REPORT,
    "data/x.csv": b"a,b\n1,2\n",
    "img/plot.png": PNG,
    "helper.py": b"X = 1\n",
    "requirements.txt": b"pandas>=2\n",
    "README.md": "# Churn study\nStart with [the analysis](analysis.ipynb). Ünïcode ok.".encode(),
}


def publish_zip(client, data: bytes, filename: str = "churn.zip", **headers):
    return publish(client, data, filename, content_type=ZIP_TYPE, headers=headers)


@pytest.fixture
def bundle(client):
    r = publish_zip(client, zip_of(FILES, prefix="churn/"))  # one top folder: stripped
    assert r.status_code == 201, r.text
    return r.json()


def path_of(url: str) -> str:
    return url.removeprefix(PUBLIC_URL)


def test_a_zip_becomes_a_bundle_with_notebooks_files_and_environment(bundle):
    assert bundle["kind"] == "bundle"
    assert bundle["title"] == "Churn study"  # from the README's first heading
    assert bundle["filename"] == "churn.zip"
    assert bundle["size"] == sum(len(v) for v in FILES.values())
    assert {n["path"]: n["title"] for n in bundle["notebooks"]} == {
        "analysis.ipynb": "Analysis",
        "sub/report.ipynb": "Report",
    }
    assert sorted(f["name"] for f in bundle["files"] if f["role"] == "bundle") == sorted(FILES)
    assert [e["path"] for e in bundle["environment"]] == ["requirements.txt"]
    assert bundle["download_url"].endswith(f"/n/{bundle['id']}.zip")
    assert bundle["clone_command"] == f"nbshare clone {bundle['url']}"


def test_index_page_lists_notebooks_files_environment_and_clone_command(client, bundle):
    soup = BeautifulSoup(client.get(path_of(bundle["url"])).text, "html.parser")
    notebooks = {a.get_text(): a["href"] for a in soup.select("ul.notebooks a")}
    assert notebooks == {
        "Analysis": f"{bundle['url']}/nb/analysis.ipynb",
        "Report": f"{bundle['url']}/nb/sub/report.ipynb",
    }
    rows = {
        tr.td.get_text(strip=True): tr.find_all("td")[1].get_text()
        for tr in soup.select("table.files tbody tr")
    }
    assert rows["data/x.csv"] == "8 bytes" and len(rows) == len(FILES)
    assert soup.select_one("#download-all")["href"] == bundle["download_url"]
    assert soup.select_one("#clone-command").get_text() == bundle["clone_command"]
    assert "requirements.txt" in soup.select_one("ul.env").get_text()
    readme = soup.select_one("iframe.readme-frame")
    assert readme["data-src"].endswith(f"/n/{bundle['id']}/content")
    assert "allow-same-origin" not in readme["sandbox"]
    # The README renders like a notebook, in the sandbox, with its links resolved.
    html = client.get(f"/n/{bundle['id']}/content").text
    assert "Churn study" in html and "Ünïcode" in html
    assert f'href="/n/{bundle["id"]}/nb/analysis.ipynb"' in html


def test_each_notebook_has_its_own_page_and_toc_and_relative_links_work(client, bundle):
    sid = bundle["id"]
    page = client.get(f"/n/{sid}/nb/analysis.ipynb")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert [a.get_text() for a in soup.select("nav.toc a")] == ["Analysis", "Results"]
    assert soup.select_one("#notebook")["data-src"].endswith(f"/n/{sid}/content/nb/analysis.ipynb")
    assert soup.select_one("#download")["href"].endswith(f"/n/{sid}/files/analysis.ipynb")
    assert soup.select_one(".breadcrumb a")["href"] == bundle["url"]

    content = BeautifulSoup(client.get(f"/n/{sid}/content/nb/analysis.ipynb").text, "html.parser")
    hrefs = {a.get_text(): a["href"] for a in content.select(".jp-RenderedMarkdown a") if a.get_text()}
    assert hrefs["the report"] == f"/n/{sid}/nb/sub/report.ipynb#Report"
    assert hrefs["the data"] == f"/n/{sid}/v/1/files/data/x.csv"
    assert hrefs["Outside"] == "../../etc/passwd"  # climbs out of the bundle: left alone
    image = content.find("img", alt="a plot")
    assert image["src"] == f"/n/{sid}/v/1/files/img/plot.png"
    # Links from a notebook in a sub-folder resolve against that folder.
    sub = client.get(f"/n/{sid}/content/nb/sub/report.ipynb").text
    assert f'href="/n/{sid}/nb/analysis.ipynb"' in sub and f'src="/n/{sid}/v/1/files/img/plot.png"' in sub


def test_files_download_exactly_as_attachments_and_images_show(client, bundle):
    sid = bundle["id"]
    for name, data in FILES.items():
        r = client.get(f"/n/{sid}/files/{name}")
        assert r.status_code == 200 and r.content == data, name
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in r.headers["content-security-policy"]
        expected = "inline" if name.endswith(".png") else "attachment"
        assert r.headers["content-disposition"].startswith(expected), name
    versioned = client.get(f"/n/{sid}/v/1/files/img/plot.png")
    assert versioned.headers["cache-control"] == "no-cache" and versioned.headers["etag"]
    assert client.get(f"/n/{sid}/files/nope.txt").status_code == 404
    assert client.get(f"/n/{sid}/files/../{sid}/files/helper.py").status_code == 404
    assert client.get(f"/n/{sid}/nb/helper.py").status_code == 404
    assert client.get(f"/n/{sid}.ipynb").status_code == 404  # a bundle has no single .ipynb


def test_the_manage_button_on_a_notebook_page_goes_to_the_shares_manage_page(client, bundle):
    sid = bundle["id"]
    owner = {"Authorization": f"Bearer {bundle['owner_token']}"}
    client.post(f"/api/v1/shares/{sid}/owner-session", headers=owner)
    for path in (f"/n/{sid}", f"/n/{sid}/nb/analysis.ipynb", f"/n/{sid}/nb/sub/report.ipynb"):
        button = BeautifulSoup(client.get(path).text, "html.parser").find(id="manage")
        assert button is not None and button["href"] == f"{PUBLIC_URL}/n/{sid}/manage", path


def test_download_all_is_the_archive_the_checksum_describes(client, bundle):
    r = client.get(f"/n/{bundle['id']}.zip")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert 'filename="churn.zip"' in r.headers["content-disposition"]
    assert hashlib.sha256(r.content).hexdigest() == bundle["sha256"] == r.headers["x-nbshare-sha256"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == FILES


def test_a_bundle_can_replace_a_notebook_and_versions_keep_their_files(client, bundle):
    sid, token = bundle["id"], bundle["owner_token"]
    changed = dict(FILES, **{"data/x.csv": b"a,b\n3,4\n"})
    r = client.put(
        f"/api/v1/shares/{sid}",
        params={"filename": "churn.zip"},
        content=zip_of(changed),
        headers={"Content-Type": "application/zip", "Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    assert client.get(f"/n/{sid}/files/data/x.csv").content == b"a,b\n3,4\n"
    owner = {"Authorization": f"Bearer {token}"}
    client.post(f"/api/v1/shares/{sid}/owner-session", headers=owner)
    assert client.get(f"/n/{sid}/v/1/files/data/x.csv").content == b"a,b\n1,2\n"
    blobs = client.app.state.service.blobs
    assert any(k.startswith(f"shares/{sid}/v1/files/") for k in blobs.keys())
    assert client.delete(f"/api/v1/shares/{sid}/versions/1", headers=owner).status_code == 204
    assert not any(k.startswith(f"shares/{sid}/v1/") for k in blobs.keys())


def test_a_protected_bundle_seals_everything_and_inlines_images_in_its_pages(client):
    r = publish_zip(client, zip_of(FILES), **{"X-Nbshare-Password": "correct horse"})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    blobs = client.app.state.service.blobs
    keys = [k for k in blobs.keys() if k.startswith(f"shares/{sid}/")]
    assert keys and all(k.endswith(".sealed") for k in keys)
    png_sha = hashlib.sha256(PNG).hexdigest()
    assert not any(png_sha in k for k in keys)  # names do not reveal which file it holds
    for data in FILES.values():
        assert not any(data in blobs.get(k) for k in keys)
    client.cookies.clear()
    assert client.get(f"/n/{sid}/files/data/x.csv").status_code == 401
    assert client.get(f"/n/{sid}.zip").status_code == 401
    assert client.get(f"/n/{sid}/nb/analysis.ipynb").status_code == 401  # the unlock page
    grant = client.post(f"/api/v1/shares/{sid}/unlock", json={"password": "correct horse"}).json()["grant"]
    client.cookies.clear()
    headers = {"X-Nbshare-Grant": grant}
    file = client.get(f"/n/{sid}/files/data/x.csv", headers=headers)
    assert file.content == FILES["data/x.csv"] and file.headers["cache-control"] == "private, no-store"
    content = client.get(f"/n/{sid}/content/nb/analysis.ipynb", headers=headers).text
    image = BeautifulSoup(content, "html.parser").find("img", alt="a plot")
    assert image["src"] == "data:image/png;base64," + base64.b64encode(PNG).decode()


# --- hostile archives: refused whole, nothing stored ---------------------------------------


def bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.bin", "w", force_zip64=True) as member:
            chunk = bytes(1024 * 1024)
            for _ in range(300):  # 300 MB of zeros in about 300 KB
                member.write(chunk)
    return buffer.getvalue()


HOSTILE = {
    "absolute": (make_zip(("/etc/passwd", b"x")), 400),
    "parent": (make_zip(("a/../../evil.txt", b"x")), 400),
    "dotdot": (make_zip(("../evil.txt", b"x")), 400),
    "drive": (make_zip(("C:/evil.txt", b"x")), 400),
    "backslash": (make_zip(("a\\..\\evil.txt", b"x")), 400),
    "symlink": (make_zip(("nb.ipynb", ANALYSIS), (with_mode("link", 0o120777), b"/etc/passwd")), 400),
    "device": (make_zip(("nb.ipynb", ANALYSIS), (with_mode("dev", 0o020644), b"")), 400),
    "fifo": (make_zip(("nb.ipynb", ANALYSIS), (with_mode("fifo", 0o010644), b"")), 400),
    "case-duplicate": (make_zip(("Data.csv", b"1"), ("data.csv", b"2")), 400),
    "unicode-duplicate": (make_zip(("caf\u00e9.txt", b"1"), ("cafe\u0301.txt", b"2")), 400),
    "file-and-folder": (make_zip(("a", b"1"), ("a/b", b"2")), 400),
    "not-a-zip": (b"PK\x03\x04 but then nothing a zip reader accepts", 400),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_archives_are_refused_with_nothing_stored(client, name):
    data, status = HOSTILE[name]
    before = stored_state(client.app)
    r = publish_zip(client, data)
    assert r.status_code == status, r.text
    assert r.json()["error"]["message"]
    assert stored_state(client.app) == before


def test_a_zip_bomb_stops_during_decompression(app, client):
    data = bomb()
    assert len(data) < 1024 * 1024
    before = stored_state(app)
    r = publish_zip(client, data)
    assert r.status_code == 413, r.text
    assert stored_state(app) == before


def test_a_notebook_that_fails_to_render_refuses_the_whole_bundle(client):
    before = stored_state(client.app)
    r = publish_zip(client, zip_of({"good.ipynb": ANALYSIS, "bad.ipynb": b"{not json"}))
    assert r.status_code == 422 and "bad.ipynb" in r.json()["error"]["message"]
    assert stored_state(client.app) == before


def test_bundle_limits_are_settings(tmp_path, renderer):
    from fastapi.testclient import TestClient

    from nbshare.app import create_app
    from nbshare.settings import Settings

    settings = Settings(
        data_dir=tmp_path,
        public_url=PUBLIC_URL,
        allowed_hosts=TEST_HOSTS,
        max_bundle_files=2,
        max_bundle_file_bytes=1000,
    )
    with TestClient(create_app(settings, renderer=renderer)) as small:
        many = publish_zip(small, zip_of({"a.txt": b"1", "b.txt": b"2", "c.txt": b"3"}))
        assert many.status_code == 413 and "2" in many.json()["error"]["message"]
        big = publish_zip(small, zip_of({"a.txt": b"x" * 2000}))
        assert big.status_code == 413


def test_the_upload_form_takes_a_zip_too(client):
    r = client.post("/upload", files={"file": ("churn.zip", zip_of(FILES), "application/zip")})
    assert r.status_code == 201
    link = BeautifulSoup(r.text, "html.parser").select_one("#link")["value"]
    assert re.search(r"/n/[\w-]+$", link)
    assert "Churn study" in client.get(path_of(link)).text
