"""Fixtures, which pytest hands to the tests that name them: an in-process app per test, one
warm render pool per session, a real server process per module, PostgreSQL and an S3 store.
What tests call by name is in helpers.py; the browser's fixtures are in browser/conftest.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from cli_helpers import APP_URL, UPLOAD_LIMIT, AppCli, AppServer, Seen
from helpers import (
    PUBLIC_URL,
    S3_ENV,
    TEST_HOSTS,
    clean_env,
    free_port,
    start_server,
)
from nbshare.app import create_app
from nbshare.render.pool import RenderPool
from nbshare.settings import Settings


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


# --- a real PostgreSQL ---------------------------------------------------------------------


def _postgres_bin() -> Path | None:
    # Debian keeps the server programs out of PATH, under /usr/lib/postgresql/VERSION/bin.
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL cluster on a free loopback port, for the session; its URL.
    NBSHARE_TEST_POSTGRES_URL points at an existing server instead. PostgreSQL refuses to
    run as root, so as root the cluster belongs to the `postgres` system user.

    The cluster lives in its own temporary folder, not pytest's: a second pytest started
    meanwhile (another terminal) deletes all but the newest three of pytest's folders, and
    PostgreSQL shuts itself down when its data folder's lock file disappears."""
    if os.environ.get("NBSHARE_TEST_POSTGRES_URL"):
        yield os.environ["NBSHARE_TEST_POSTGRES_URL"]
        return
    pytest.importorskip("psycopg")
    bin_dir = _postgres_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail(
                "CI: PostgreSQL is not installed (make test installs it: scripts/ensure-debian-package.sh)"
            )
        pytest.skip("PostgreSQL is not installed")
    folder = Path(tempfile.mkdtemp(prefix="nbshare-test-postgres-"))
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
    run(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(folder / "log"),
        "-w",
        "-t",
        "60",
        "start",
        "-o",
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off",
    )
    try:
        yield f"postgresql+psycopg://nbshare@127.0.0.1:{port}/postgres"
    finally:
        stopped = subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "-t", "60", "stop"],
            capture_output=True,
            timeout=120,
        )
        pid_file = data / "postmaster.pid"
        if stopped.returncode != 0 and pid_file.exists():  # a busy machine: make sure it is gone
            os.kill(int(pid_file.read_text().split()[0]), 9)
        shutil.rmtree(folder, ignore_errors=True)


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


@pytest.fixture
def s3_bucket(s3_endpoint, monkeypatch):
    """A new, empty bucket; the AWS_* variables an operator would set point at it."""
    import uuid

    name = f"nbshare-{uuid.uuid4().hex[:12]}"
    assert httpx.put(f"{s3_endpoint}/{name}", timeout=30).status_code == 200  # CreateBucket
    for key, value in {**S3_ENV, "AWS_ENDPOINT": s3_endpoint}.items():
        monkeypatch.setenv(key, value)
    return f"s3://{name}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One `nbshare serve` for the test module, in an environment without NBSHARE_* settings."""
    live = start_server(tmp_path_factory.mktemp("server"), env=clean_env())
    yield live
    live.stop()


# --- the CLI in process (cli_helpers.AppCli) against the in-process app ----------------


@pytest.fixture
def app_server(tmp_path, renderer) -> Iterator[AppServer]:
    """The in-process app, with the real test server's 5 MB upload limit."""
    settings = Settings(
        data_dir=tmp_path / "app-data",
        public_url=APP_URL,
        allowed_hosts=TEST_HOSTS,
        max_upload_bytes=UPLOAD_LIMIT,
    )
    with TestClient(create_app(settings, renderer=renderer), base_url=APP_URL) as http:
        yield AppServer(APP_URL, settings.data_dir, http)


@pytest.fixture
def cli_columns() -> int:
    """The terminal width the CLI is given (a module overrides this fixture to change it)."""
    return 80


@pytest.fixture
def seen() -> Seen:
    """Where `app_cli` records what it handed the CLI and got back; a module that searches a
    real server's log for secrets overrides this with its own module-wide `Seen`."""
    return Seen()


@pytest.fixture
def app_cli(tmp_path, app_server, cli_columns, seen) -> AppCli:
    return AppCli(tmp_path / "xdg", seen, app_server, columns=cli_columns)
