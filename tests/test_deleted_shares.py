"""What a deleted share leaves behind in the data folder: nothing readable (issue 10, item 10).

Every file under the data folder (the database, its -wal and -shm files, the blobs) is read
as raw bytes after the share is gone: its title must not be in any of them.

Many SQLite builds (Debian's among them) turn secure_delete on by default, so these tests
make every new SQLite connection start with it off: what they see is what the store
itself turns on, on any build."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from helpers import Clock, minimal_notebook, nb_bytes, published
from nbshare.app import create_app
from nbshare.store import MetadataStore

TITLE = "Okapi-Zq81-deleted-title"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def secure_delete_off_by_default(monkeypatch):
    """Every SQLite connection opened from here on starts with PRAGMA secure_delete=OFF, as
    on a build without SQLITE_SECURE_DELETE. (SQLAlchemy's driver calls sqlite3.dbapi2's
    connect when it opens a connection.)"""
    real_connect = sqlite3.dbapi2.connect

    def connect(*args, **kwargs):
        connection = real_connect(*args, **kwargs)
        connection.execute("PRAGMA secure_delete=OFF")
        return connection

    monkeypatch.setattr(sqlite3.dbapi2, "connect", connect)
    monkeypatch.setattr(sqlite3, "connect", connect)


@pytest.fixture
def client(settings, renderer, clock, secure_delete_off_by_default):
    app = create_app(settings, renderer=renderer, clock=clock)
    with TestClient(app) as c:
        yield c


def create(client, title: str = TITLE, **params) -> dict:
    return published(client, nb_bytes(minimal_notebook()), f"{title}.ipynb", title=title, **params)


def holders(folder: Path) -> list[str]:
    """The files under `folder` whose raw bytes still hold the title."""
    return [str(p) for p in Path(folder).rglob("*") if p.is_file() and TITLE.encode() in p.read_bytes()]


def test_a_deleted_share_leaves_its_title_in_no_file(client, settings):
    keep = create(client, title="Another share")  # the database keeps living pages beside the freed ones
    body = create(client)
    assert holders(settings.data_dir)  # the test can see it while the share lives
    owner = {"Authorization": f"Bearer {body['owner_token']}"}
    r = client.delete(f"/api/v1/shares/{body['id']}", headers=owner)
    assert r.status_code == 204, r.text
    assert holders(settings.data_dir) == []
    assert client.get(f"/n/{keep['id']}/content").status_code == 200


def test_an_expired_and_purged_share_leaves_its_title_in_no_file(client, settings, clock):
    create(client, title="Another share", expires="never")
    create(client, expires="1h")
    assert holders(settings.data_dir)
    clock.now += timedelta(hours=2)
    assert client.app.state.service.purge() == 1
    assert holders(settings.data_dir) == []


def test_the_store_turns_secure_delete_on_itself(tmp_path, secure_delete_off_by_default):
    plain = sqlite3.connect(tmp_path / "plain.db")
    assert plain.execute("PRAGMA secure_delete").fetchone() == (0,)  # the default is off here
    plain.close()
    store = MetadataStore(f"sqlite:///{tmp_path / 'nbshare.db'}")
    try:
        store.migrate()
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    finally:
        store.close()
