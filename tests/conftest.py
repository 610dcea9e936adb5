"""Shared fixtures: an in-process app per test, one warm render pool per session,
a real server process for smoke tests, and the shared corpus when it is present."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
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
# The name Starlette's TestClient sends as Host; the service refuses names it was not given.
TEST_HOSTS = "testserver"


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
    return Settings(data_dir=tmp_path / "data", public_url=PUBLIC_URL, allowed_hosts=TEST_HOSTS)


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


def zip_of(files: dict[str, bytes], *, prefix: str = "") -> bytes:
    """A zip (deflated) of `files`, each name under `prefix`: a bundle as a client sends it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(prefix + name, data)
    return buffer.getvalue()


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


@contextlib.contextmanager
def serve_in_thread(app) -> Iterator[str]:
    """A small ASGI app (a hostile or recording server written in a test) served by uvicorn
    on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # generous: the test machine may be busy
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test's server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# --- a real PostgreSQL ---------------------------------------------------------------------


def _postgres_bin() -> Path | None:
    # Debian keeps the server programs out of PATH, under /usr/lib/postgresql/VERSION/bin.
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    """A throwaway PostgreSQL cluster on a free loopback port, for the session; its URL.
    NBSHARE_TEST_POSTGRES_URL points at an existing server instead. PostgreSQL refuses to
    run as root, so as root the cluster belongs to the `postgres` system user."""
    if os.environ.get("NBSHARE_TEST_POSTGRES_URL"):
        yield os.environ["NBSHARE_TEST_POSTGRES_URL"]
        return
    pytest.importorskip("psycopg")
    bin_dir = _postgres_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("CI: PostgreSQL is not installed "
                        "(make test installs it: scripts/ensure-debian-package.sh)")
        pytest.skip("PostgreSQL is not installed")
    folder = tmp_path_factory.mktemp("postgres")
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        os.chmod(folder, 0o700)
        # The postgres user must be able to pass through the test's temporary folders.
        for parent in folder.parents:
            if parent == Path(tempfile.gettempdir()) or parent == Path("/"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o111)  # noqa: S103 - search, not read
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()

    def run(*argv: str) -> None:
        done = subprocess.run([*as_user, *argv], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed:\n{done.stdout}{done.stderr}")

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "nbshare", "--auth=trust", "-E", "UTF8")
    # fsync off: a test cluster, thrown away at the end; it only saves the disk's time.
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60", "start",
        "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off")
    try:
        yield f"postgresql+psycopg://nbshare@127.0.0.1:{port}/postgres"
    finally:
        stopped = subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                  "-w", "-t", "60", "stop"], capture_output=True, timeout=120)
        pid_file = data / "postmaster.pid"
        if stopped.returncode != 0 and pid_file.exists():  # a busy machine: make sure it is gone
            os.kill(int(pid_file.read_text().split()[0]), 9)


# --- an S3-compatible object store ------------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint():
    """An S3-compatible server on a loopback port (moto's standalone server, spoken to over
    HTTP by obstore's real S3 client), for the session; its endpoint URL."""
    pytest.importorskip("moto.server")
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


S3_ENV = {"AWS_ACCESS_KEY_ID": "nbshare-test", "AWS_SECRET_ACCESS_KEY": "nbshare-test-secret",
          "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}


@pytest.fixture
def s3_bucket(s3_endpoint, monkeypatch):
    """A new, empty bucket; the AWS_* variables an operator would set point at it."""
    import uuid

    name = f"nbshare-{uuid.uuid4().hex[:12]}"
    assert httpx.put(f"{s3_endpoint}/{name}", timeout=30).status_code == 200  # CreateBucket
    for key, value in {**S3_ENV, "AWS_ENDPOINT": s3_endpoint}.items():
        monkeypatch.setenv(key, value)
    return f"s3://{name}"


class LiveServer:
    def __init__(self, url: str, process: subprocess.Popen, log_path: Path, data_dir: Path):
        self.url, self.process, self.log_path, self.data_dir = url, process, log_path, data_dir

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def wait_until_serving(self) -> LiveServer:
        """This server, once /healthz answers; it is stopped if it never does."""
        deadline = time.monotonic() + 120  # generous: the test machine may be busy
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log()}")
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not start:\n{self.log()}")


def clean_env(columns: int = 80, **extra: str) -> dict[str, str]:
    """The test process's environment without NBSHARE_* settings, for CLI subprocesses."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBSHARE_")}
    env.update(COLUMNS=str(columns), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def start_server(folder: Path, env: dict[str, str] | None = None, **env_overrides: str) -> LiveServer:
    """`nbshare serve` in a real process on a free loopback port, data and log in `folder`.
    `env` replaces the inherited environment (for tests that must not see NBSHARE_*)."""
    port = free_port()
    data_dir, log_path = folder / "server-data", folder / "server.log"
    env = {
        **(os.environ if env is None else env),
        "PYTHONUNBUFFERED": "1",  # so access-log lines reach the log file as they happen
        "NBSHARE_RENDER_WORKERS": "1",
        "NBSHARE_MAX_UPLOAD_BYTES": str(5 * 1024 * 1024),
        **env_overrides,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "nbshare", "serve", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    return LiveServer(f"http://127.0.0.1:{port}", process, log_path, data_dir).wait_until_serving()


@pytest.fixture
def live_server(tmp_path):
    """`nbshare serve` in a real process on loopback, with its own data folder."""
    server = start_server(tmp_path)
    yield server
    server.stop()


# --- a real browser ----------------------------------------------------------------------
# Debian's chromium driven by Playwright (a Playwright browser download is not possible
# here); `make test` installs it where it can (scripts/ensure-debian-package.sh). Tests under
# tests/browser/ are skipped when it is missing.

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# As root and on a closed network: no sandbox, and no background calls home.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "browser" in Path(str(item.fspath)).parent.name:
            item.add_marker(pytest.mark.browser)
            if CHROMIUM is None:
                # A user's machine may lack it; CI must not pass by skipping what a reader sees.
                if os.environ.get("CI"):
                    raise pytest.UsageError("CI: chromium is not installed, so the browser tests "
                                            "cannot run (make test installs it: "
                                            "scripts/ensure-debian-package.sh)")
                item.add_marker(pytest.mark.skip(reason="chromium is not installed"))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One real `nbshare serve` shared by the browser tests."""
    live = start_server(tmp_path_factory.mktemp("browser-server"))
    yield live
    live.stop()


@pytest.fixture
def context(browser):
    """A fresh browser profile per test: no cookies, no storage."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()
