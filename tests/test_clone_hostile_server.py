"""`nbshare clone` trusts the server no more than the server trusts an upload: a share
described with lies, a body bigger than announced, an archive with hostile names or
environment files pointing outside the clone all stop before anything is written outside
the new folder. The hostile server is a small Starlette app reached in process."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from helpers import clean_env, notebook, serve_in_thread
from nbshare.bundle.archive import write_zip
from nbshare.bundle.incoming import default_folder, fetch, most_bytes
from nbshare.client import ClientError, NbshareClient
from nbshare.errors import NbshareError

NOTEBOOK = notebook()


def hostile(body: bytes, **lies) -> tuple[NbshareClient, dict]:
    """A client talking to a server that answers `body` for the download and describes it
    truthfully unless `lies` say otherwise."""
    files = [{"name": "a.ipynb", "role": "bundle", "size": len(NOTEBOOK)}]
    info = {
        "id": "x" * 24,
        "kind": "bundle",
        "filename": "a.zip",
        "download_url": "/n/x.zip",
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(NOTEBOOK),
        "files": files,
        "environment": [],
        **lies,
    }

    async def download(request):
        return Response(body, media_type="application/zip")

    async def describe(request):
        return JSONResponse(info)

    app = Starlette(routes=[Route("/n/x.zip", download), Route("/api/v1/shares/{id}", describe)])
    return NbshareClient("http://testserver", http=TestClient(app)), info


def test_a_body_larger_than_announced_is_abandoned_before_anything_is_written(tmp_path):
    body = write_zip([("a.ipynb", NOTEBOOK), ("padding.bin", os.urandom(5_000_000))])
    client, info = hostile(body)
    assert len(body) > most_bytes(info)
    with pytest.raises(ClientError) as caught:
        fetch(client, info, None, tmp_path / "copy")
    assert caught.value.code == "download_too_large"
    assert not (tmp_path / "copy").exists()


def test_the_announced_bound_fits_every_honest_bundle():
    """Incompressible data and many small files with long names: the zip stays in bounds."""
    members = [(f"folder/{'long-name-' * 10}{i}.bin", os.urandom(i * 37)) for i in range(300)]
    members.append(("big.bin", os.urandom(3_000_000)))
    body = write_zip(members)
    info = {
        "kind": "bundle",
        "size": sum(len(d) for _, d in members),
        "files": [{"name": n, "role": "bundle"} for n, _ in members],
    }
    assert len(body) <= most_bytes(info)


def test_the_bound_fits_a_view_limited_bundle_described_without_its_file_names():
    members = [(f"folder/{'long-name-' * 10}{i}.bin", os.urandom(i * 37)) for i in range(300)]
    body = write_zip(members)
    info = {"kind": "bundle", "size": sum(len(d) for _, d in members), "files": [], "max_views": 1}
    assert len(body) <= most_bytes(info)


def test_environment_files_come_from_what_was_written_not_from_the_server(tmp_path):
    body = write_zip([("a.ipynb", NOTEBOOK), ("requirements.txt", b"")])
    client, info = hostile(body, environment=[{"path": "../../outside/requirements.txt", "kind": "pip"}])
    cloned = fetch(client, info, None, tmp_path / "copy")
    assert cloned.env_files == ["requirements.txt"]


def test_a_hostile_archive_with_a_matching_checksum_writes_nothing(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.ipynb", NOTEBOOK)
        archive.writestr("../escaped.txt", b"outside")
    client, info = hostile(buffer.getvalue(), size=10_000)
    with pytest.raises(NbshareError) as caught:
        fetch(client, info, None, tmp_path / "copy")
    assert caught.value.code == "archive_unsafe_path"
    assert not (tmp_path / "copy").exists() and not (tmp_path / "escaped.txt").exists()


def test_a_body_that_does_not_match_the_checksum_writes_nothing(tmp_path):
    body = write_zip([("a.ipynb", NOTEBOOK)])
    client, info = hostile(body, sha256="0" * 64)
    with pytest.raises(NbshareError) as caught:
        fetch(client, info, None, Path(tmp_path / "copy"))
    assert caught.value.code == "checksum_mismatch"
    assert not (tmp_path / "copy").exists()


# --- where clone writes: only what the person asked for (issue 10, item 2) -----------------


def describing(info: dict, body: bytes) -> Starlette:
    """A hostile server on loopback: it answers every share id with `info` and `body`."""

    async def describe(request):
        return JSONResponse({**info, "sha256": hashlib.sha256(body).hexdigest(), "size": len(body)})

    async def download(request):
        return Response(body, media_type="application/x-ipynb+json")

    return Starlette(routes=[Route("/api/v1/shares/{id}", describe), Route("/n/{id}.ipynb", download)])


def clone_cli(url: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nbshare", "clone", url, "--no-env"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=clean_env(XDG_DATA_HOME=str(cwd / "xdg")),
    )


def everything_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if "xdg" not in p.parts}


@pytest.mark.parametrize(
    "lie",
    [
        pytest.param({"id": "../../escaped"}, id="relative-id"),
        pytest.param({"id": "ABSOLUTE"}, id="absolute-id"),
        pytest.param({"id": "b" * 24}, id="another-share"),
    ],
)
def test_a_server_describing_another_share_is_refused_before_anything_is_written(tmp_path, lie):
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    asked = "a" * 24
    info = {"kind": "notebook", "filename": "", "title": " ./ ", "download_url": "/n/x.ipynb", **lie}
    if info["id"] == "ABSOLUTE":
        info["id"] = str(tmp_path / "escaped")
    with serve_in_thread(describing(info, NOTEBOOK)) as url:
        r = clone_cli(f"{url}/n/{asked}", work)
    assert r.returncode == 1
    assert "another share" in r.stderr and asked in r.stderr and "Traceback" not in r.stderr
    assert everything_under(tmp_path) == {"deep", "deep/work"}


def test_the_folder_name_comes_only_from_what_is_safe(tmp_path):
    """Filename and title that clean to nothing: the folder is named after the id asked for."""
    work = tmp_path / "work"
    work.mkdir()
    asked = "a" * 24
    info = {"id": asked, "kind": "notebook", "filename": "", "title": "../..", "download_url": "/n/x.ipynb"}
    with serve_in_thread(describing(info, NOTEBOOK)) as url:
        r = clone_cli(f"{url}/n/{asked}", work)
    assert r.returncode == 0, r.stderr
    assert everything_under(tmp_path) == {
        "work",
        f"work/{asked}",
        f"work/{asked}/.nbshare-clone",  # clone's marker, written first
        f"work/{asked}/notebook.ipynb",
    }


@pytest.mark.parametrize(
    ("info", "folder"),
    [
        ({"id": "../../x", "filename": "", "title": ""}, "x"),
        ({"id": "/etc/cron.d", "filename": None, "title": None}, "etc-cron.d"),
        ({"id": "..", "filename": "..", "title": "/"}, "nbshare-clone"),
        ({"id": 7, "filename": ["a"], "title": {"b": 1}}, "nbshare-clone"),
        ({"id": "x", "filename": "Churn analysis.zip", "title": "t"}, "Churn analysis"),
    ],
)
def test_default_folder_is_one_plain_name(info, folder):
    assert default_folder(info) == folder
