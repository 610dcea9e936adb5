"""`nbshare clone` trusts the server no more than the server trusts an upload: a share
described with lies, a body bigger than announced, an archive with hostile names or
environment files pointing outside the clone all stop before anything is written outside
the new folder. The hostile server is a small Starlette app reached in process."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from nbshare.bundle.archive import write_zip
from nbshare.bundle.incoming import fetch, most_bytes
from nbshare.client import ClientError, NbshareClient
from nbshare.errors import NbshareError

NOTEBOOK = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}).encode()


def hostile(body: bytes, **lies) -> tuple[NbshareClient, dict]:
    """A client talking to a server that answers `body` for the download and describes it
    truthfully unless `lies` say otherwise."""
    files = [{"name": "a.ipynb", "role": "bundle", "size": len(NOTEBOOK)}]
    info = {"id": "x" * 24, "kind": "bundle", "filename": "a.zip", "download_url": "/n/x.zip",
            "sha256": hashlib.sha256(body).hexdigest(), "size": len(NOTEBOOK), "files": files,
            "environment": [], **lies}

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
    info = {"kind": "bundle", "size": sum(len(d) for _, d in members),
            "files": [{"name": n, "role": "bundle"} for n, _ in members]}
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
