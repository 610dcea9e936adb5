"""The password-guessing throttle where it can be fooled: behind a real `nbshare serve`
(forged X-Forwarded-For, trusted proxies, forged Host) and across instances sharing a
database."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import PUBLIC_URL, TEST_HOSTS, clean_env, minimal_notebook, nb_bytes, start_server
from nbshare.app import create_app
from nbshare.settings import Settings
from nbshare.views.common import PASSWORD_HEADER

PASSWORD = "right-Pw9!horse"  # noqa: S105
WRONG = "wrong-guess-1"


def protected_share(url: str) -> str:
    r = httpx.post(f"{url}/api/v1/shares", params={"filename": "n.ipynb"}, timeout=120,
                   content=nb_bytes(minimal_notebook()), headers={PASSWORD_HEADER: PASSWORD})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def guess(url: str, share_id: str, password: str, forwarded_for: str) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/shares/{share_id}/unlock", json={"password": password},
                      headers={"X-Forwarded-For": forwarded_for}, timeout=120)


@pytest.fixture
def serve(tmp_path):
    started = []

    def start(**env: str):
        folder = tmp_path / f"s{len(started)}"
        folder.mkdir()
        server = start_server(folder, env=clean_env(), NBSHARE_UNLOCK_ATTEMPTS="2", **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_a_forged_x_forwarded_for_does_not_escape_the_throttle(serve):
    server = serve()
    share_id = protected_share(server.url)
    answers = [guess(server.url, share_id, WRONG, f"203.0.113.{n}").status_code for n in range(4)]
    assert answers == [401, 401, 429, 429]  # one client, whatever the header says
    refused = guess(server.url, share_id, PASSWORD, "198.51.100.1")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    # A DNS-rebinding page reaching the same loopback server is refused outright.
    evil = httpx.get(f"{server.url}/n/{share_id}", headers={"Host": "evil.example"}, timeout=60)
    assert evil.status_code == 400


def test_behind_a_trusted_proxy_x_forwarded_for_names_the_client(serve):
    server = serve(NBSHARE_TRUSTED_PROXIES="127.0.0.1")
    share_id = protected_share(server.url)
    # Many clients behind the proxy, each guessing once: throttled one by one, none for another.
    assert [guess(server.url, share_id, WRONG, f"203.0.113.{n}").status_code for n in range(4)] == [401] * 4
    assert [guess(server.url, share_id, WRONG, "203.0.113.0").status_code for _ in range(2)] == [401, 429]
    assert guess(server.url, share_id, PASSWORD, "198.51.100.1").status_code == 200


def test_instances_sharing_a_database_share_the_counts(tmp_path, renderer):
    """Two app instances on one SQLite file (see test_postgres.py for PostgreSQL)."""
    settings = Settings(data_dir=tmp_path, public_url=PUBLIC_URL, allowed_hosts=TEST_HOSTS,
                        unlock_attempts=3, secret_key="5e" * 32)
    one, two = (create_app(settings, renderer=renderer) for _ in range(2))
    with TestClient(one, client=("10.0.0.1", 1)) as a, TestClient(two, client=("10.0.0.1", 2)) as b:
        created = a.post("/api/v1/shares", params={"filename": "n.ipynb"},
                         content=nb_bytes(minimal_notebook()), headers={PASSWORD_HEADER: PASSWORD})
        share_id = created.json()["id"]
        answers = [c.post(f"/api/v1/shares/{share_id}/unlock", json={"password": WRONG}).status_code
                   for c in (a, b, a, b)]
        assert answers == [401, 401, 401, 429]
