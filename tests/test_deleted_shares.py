"""What a deleted share leaves behind in the data folder: nothing readable (issue 10, item 10).

Every file under the data folder (the database, its -wal and -shm files, the blobs) is read
as raw bytes after the share is gone: its title must not be in any of them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from helpers import Clock, minimal_notebook, nb_bytes, published
from nbshare.app import create_app

TITLE = "Okapi-Zq81-deleted-title"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def client(settings, renderer, clock):
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
