"""What tests call by name: notebook and cell builders, publishing to the in-process app or
a live server, and real `nbshare serve` processes. Fixtures, which pytest hands to tests,
stay in conftest.py; a test never imports conftest."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from nbshare.store import ShareRow, VersionRow

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
CORPUS = HERE.parent.parent / "shared" / "corpus"
SRC = HERE.parent / "src"
# Wheels to build environments from offline; scripts/wheelhouse.sh fills it (make test does).
WHEELHOUSE = HERE.resolve().parent / ".cache" / "wheelhouse"
PUBLIC_URL = "http://nbshare.test"
# The name Starlette's TestClient sends as Host; the service refuses names it was not given.
TEST_HOSTS = "testserver"
NOTEBOOK_TYPE = "application/x-ipynb+json"
ZIP_TYPE = "application/zip"
# The metadata Jupyter writes for a Python notebook: the page shows the kernel's name.
PYTHON_KERNEL = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
}
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "nbshare-test",
    "AWS_SECRET_ACCESS_KEY": "nbshare-test-secret",
    "AWS_REGION": "us-east-1",
    "AWS_ALLOW_HTTP": "true",
}


def corpus_notebooks() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(CORPUS.rglob("*.ipynb"))


needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- notebooks ---------------------------------------------------------------------------


def markdown(source: str, cell_id: str = "m") -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": source}


def code(
    source: str | list[str], cell_id: str = "c", outputs: list | None = None, *, execution_count: int = 1
) -> dict:
    return {
        "cell_type": "code",
        "id": cell_id,
        "metadata": {},
        "execution_count": execution_count,
        "source": source,
        "outputs": outputs or [],
    }


def display_data(data: dict) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": data}


def output_cell(data: dict, cell_id: str, source: str = "x") -> dict:
    """A code cell that showed `data` (a mime bundle)."""
    return code(source, cell_id, [display_data(data)])


def html_cell(html: str, cell_id: str, *, source: str = "show()", plain: str = "<output>") -> dict:
    return output_cell({"text/html": html, "text/plain": plain}, cell_id, source)


def plotly_cell(
    figure: dict, cell_id: str = "fig", *, execution_count: int = 1, html: str | None = None
) -> dict:
    """A cell that showed a plotly figure; `html` is the page a plotly version would add."""
    data = {
        "application/vnd.plotly.v1+json": figure,
        **({"text/html": html} if html else {}),
        "text/plain": "Figure()",
    }
    return code("fig", cell_id, [display_data(data)], execution_count=execution_count)


def notebook_dict(*cells: dict, **metadata) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": list(cells)}


def notebook(*cells: dict, **metadata) -> bytes:
    """An .ipynb file of `cells`, its notebook metadata `metadata`."""
    return nb_bytes(notebook_dict(*cells, **metadata))


def minimal_notebook(**metadata) -> dict:
    """One markdown cell, '# Hello', as a dict a test may change before nb_bytes."""
    return notebook_dict(markdown("# Hello", "intro"), **metadata)


def nb_bytes(nb: dict) -> bytes:
    return json.dumps(nb).encode()


def slow_notebook(lines: int = 1000) -> bytes:
    """A valid notebook that is genuinely slow to render: one code cell of `lines` dense
    lines, highlighted and cleaned token by token (about 4 ms a line here)."""
    source = "".join(f"value_{i} = compute({i}, 'text', [1, 2.5, None])  # note\n" for i in range(lines))
    return notebook(code(source, "slow"))


def png(width: int, height: int, rgb: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    """A PNG of one colour, without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = (b"\x00" + bytes(rgb) * width) * height
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def b64(data: bytes) -> str:
    """`data` as an .ipynb holds binary outputs: base64 text."""
    return base64.b64encode(data).decode()


def zip_of(files: dict[str, bytes], *, prefix: str = "") -> bytes:
    """A zip (deflated) of `files`, each name under `prefix`: a bundle as a client sends it."""
    return make_zip(*((prefix + name, data) for name, data in files.items()))


def make_zip(*entries: tuple[str | zipfile.ZipInfo, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of `entries` in their order, as a hostile client may write one: a name may
    repeat, climb out of the folder or carry a file mode (see with_mode)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def with_mode(name: str, mode: int) -> zipfile.ZipInfo:
    """A zip entry that says it was made on Unix with `mode` (a symlink, a device...)."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


# --- publishing --------------------------------------------------------------------------


def publish(
    client: httpx.Client,
    data: bytes,
    filename: str = "nb.ipynb",
    *,
    content_type: str = NOTEBOOK_TYPE,
    headers: dict[str, str] | None = None,
    **params,
) -> httpx.Response:
    """The API's answer to an upload of `data`; `client` is the in-process app's TestClient
    or an httpx.Client for a live server."""
    return client.post(
        "/api/v1/shares",
        params={"filename": filename, **params},
        content=data,
        headers={"Content-Type": content_type, **(headers or {})},
    )


def published(client: httpx.Client, data: bytes, filename: str = "nb.ipynb", **options) -> dict:
    """The new share's JSON (`options` as for publish); an upload refused fails the test."""
    r = publish(client, data, filename, **options)
    assert r.status_code == 201, r.text
    return r.json()


def publish_live(server: LiveServer, data: bytes, filename: str = "nb.ipynb", **options) -> dict:
    """The new share's JSON, from a real server (`options` as for publish)."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        return published(client, data, filename, **options)


def update(client: httpx.Client, share: dict, data: bytes, **params) -> httpx.Response:
    """The API's answer to the owner's upload of a new version of `share` (its JSON)."""
    return client.put(
        f"/api/v1/shares/{share['id']}",
        params=params,
        content=data,
        headers={**as_owner(share), "Content-Type": NOTEBOOK_TYPE},
    )


def as_owner(share: dict) -> dict[str, str]:
    """The headers that make a request the share's owner's."""
    return {"Authorization": f"Bearer {share['owner_token']}"}


def stored_state(app) -> tuple[tuple[int, int], list[str]]:
    """(row counts, blob keys): what a failed upload must leave unchanged."""
    service = app.state.service
    return service.metadata.count(), sorted(service.blobs.keys())


# --- time ------------------------------------------------------------------------------


class Clock:
    """The service's idea of now (create_app's `clock`), moved by hand."""

    def __init__(self, now: datetime | None = None):
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# --- stores ----------------------------------------------------------------------------


def share_rows(share_id: str = "s" * 24, **share_fields) -> tuple[ShareRow, VersionRow]:
    """A share's row and its first version's, as the metadata store keeps them."""
    now = datetime.now(UTC)
    share = ShareRow(share_id, "h" * 64, now, now, 1, **share_fields)
    version = VersionRow(
        share_id,
        1,
        now,
        "a.ipynb",
        "A",
        10,
        "0" * 64,
        "4.5",
        "Python 3",
        "python",
        1,
        [{"level": 1, "text": "Ä", "anchor": "ä"}],
        "k1",
        "k2",
        manifest={"files": [{"name": "x.csv", "size": 3}]},
    )
    return share, version


def fresh_postgres_database(server_url: str) -> str:
    """A new database on the session's PostgreSQL server, so each test starts empty."""
    import uuid

    import sqlalchemy

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


# --- servers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_in_thread(app, *, lifespan: str = "off", log_level: str = "warning") -> Iterator[str]:
    """An ASGI app (most often a hostile or recording server written in a test) served by
    uvicorn on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, lifespan=lifespan)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180  # generous: the test machine may be busy
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test's server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def stop_process(process: subprocess.Popen, *, timeout: float) -> None:
    """Ask a server process to stop; kill it if it has not within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


class LiveServer:
    def __init__(self, url: str, process: subprocess.Popen, log_path: Path, data_dir: Path):
        self.url, self.process, self.log_path, self.data_dir = url, process, log_path, data_dir

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process, timeout=15)

    def wait_until_serving(self) -> LiveServer:
        """This server, once /healthz answers; it is stopped if it never does."""
        # Generous: with both cores kept busy and several test runs at once (load average 12),
        # test_cli's module server failed its set-up within 120 s; a healthy start waits no longer.
        started = time.monotonic()
        deadline = started + 300
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
        raise RuntimeError(f"server did not start in {time.monotonic() - started:.0f} s:\n{self.log()}")


def clean_env(columns: int = 80, **extra: str) -> dict[str, str]:
    """The test process's environment without NBSHARE_* settings, for CLI subprocesses."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBSHARE_")}
    env.update(COLUMNS=str(columns), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def start_server(
    folder: Path, env: dict[str, str] | None = None, *, prefix: str = "", **env_overrides: str
) -> LiveServer:
    """`nbshare serve` in a real process on a free loopback port, data and log in `folder`.
    `env` replaces the inherited environment (for tests that must not see NBSHARE_*).
    `prefix` ("/services/nbshare"): the server runs under that path of its public URL,
    which is then the LiveServer's url."""
    port = free_port()
    data_dir, log_path = folder / "server-data", folder / "server.log"
    url = f"http://127.0.0.1:{port}{prefix}"
    env = {
        **(os.environ if env is None else env),
        "PYTHONUNBUFFERED": "1",  # so access-log lines reach the log file as they happen
        "NBSHARE_RENDER_WORKERS": "1",
        "NBSHARE_MAX_UPLOAD_BYTES": str(5 * 1024 * 1024),
        **({"NBSHARE_PUBLIC_URL": url} if prefix else {}),
        **env_overrides,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "nbshare", "serve", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return LiveServer(url, process, log_path, data_dir).wait_until_serving()


# --- the browser -------------------------------------------------------------------------


def notebook_frame(page):
    """The content frame of the page shown now, once its script has run."""
    page.wait_for_load_state()
    frame = page.frame(name="notebook")
    assert frame is not None, page.url
    frame.wait_for_function("() => document.readyState === 'complete'")
    return frame


def open_share(page, url: str):
    """Open a share page; its content frame, once the notebook's script has run there."""
    page.goto(url)
    return notebook_frame(page)
