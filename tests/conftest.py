"""Shared fixtures: an in-process app per test, one warm render pool per session,
a real server process for smoke tests, and the shared corpus when it is present."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from nbshare.app import create_app
from nbshare.render.pool import RenderPool
from nbshare.settings import Settings

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
CORPUS = HERE.parent.parent / "shared" / "corpus"
PUBLIC_URL = "http://nbshare.test"


def corpus_notebooks() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(CORPUS.rglob("*.ipynb"))


needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")


@pytest.fixture(scope="session")
def renderer():
    pool = RenderPool(workers=2, timeout=120)
    pool.warm_up("/static", wait=True)
    yield pool
    pool.close()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", public_url=PUBLIC_URL)


@pytest.fixture
def app(settings, renderer):
    return create_app(settings, renderer=renderer)


@pytest.fixture
def client(app):
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def publish(client, data: bytes, filename: str = "nb.ipynb", **params):
    return client.post(
        "/api/v1/shares",
        params={"filename": filename, **params},
        content=data,
        headers={"Content-Type": "application/x-ipynb+json"},
    )


def stored_state(app) -> tuple[tuple[int, int], list[str]]:
    """(row counts, blob keys): what a failed upload must leave unchanged."""
    service = app.state.service
    return service.metadata.count(), sorted(service.blobs.keys())


def minimal_notebook(**metadata) -> dict:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": metadata,
        "cells": [{"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# Hello"}],
    }


def nb_bytes(nb: dict) -> bytes:
    return json.dumps(nb).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, url: str, process: subprocess.Popen, log_path: Path, data_dir: Path):
        self.url, self.process, self.log_path, self.data_dir = url, process, log_path, data_dir

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def live_server(tmp_path):
    """`nbshare serve` in a real process on loopback, with its own data folder."""
    port = free_port()
    data_dir = tmp_path / "server-data"
    log_path = tmp_path / "server.log"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",  # so access-log lines reach the log file as they happen
        "NBSHARE_RENDER_WORKERS": "1",
        "NBSHARE_MAX_UPLOAD_BYTES": str(5 * 1024 * 1024),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "nbshare", "serve", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log_path.read_text()}")
        time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(f"server did not start:\n{log_path.read_text()}")
    server = LiveServer(url, process, log_path, data_dir)
    yield server
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
