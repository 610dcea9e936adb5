"""The service as it scales out: two app instances sharing one PostgreSQL database (a
real server, see conftest's `postgres_url`) and one blob store, a shared folder or an S3
bucket. A share made on one is read, unlocked, updated, counted and purged through the
other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from helpers import (
    PUBLIC_URL,
    S3_ENV,
    TEST_HOSTS,
    Clock,
    as_owner,
    clean_env,
    fresh_postgres_database,
    minimal_notebook,
    nb_bytes,
    start_server,
)
from nbshare.app import create_app
from nbshare.settings import Settings
from nbshare.views.common import GRANT_HEADER, PASSWORD_HEADER

MARKER = "pg-marker-6d2f"


@pytest.fixture(params=["shared folder", "s3"])
def instances(request, postgres_url, renderer, tmp_path):
    url = fresh_postgres_database(postgres_url)
    clock = Clock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    apps = []
    for n in range(2):
        if request.param == "s3":  # nothing shared on disk: each instance has its own folder
            place = {"data_dir": tmp_path / f"instance-{n}", "blob_url": request.getfixturevalue("s3_bucket")}
        else:
            place = {"data_dir": tmp_path / "shared"}
        settings = Settings(
            public_url=PUBLIC_URL, allowed_hosts=TEST_HOSTS, database_url=url, secret_key="5e" * 32, **place
        )
        apps.append(create_app(settings, renderer=renderer, clock=clock))  # same secret_key on each
    with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
        yield a, b, clock


def marked_notebook() -> bytes:
    nb = minimal_notebook(title=f"Notes {MARKER}")
    nb["cells"][0]["source"] = f"# Heading {MARKER}"
    return nb_bytes(nb)


def test_a_share_made_on_one_instance_is_served_by_the_other(instances):
    a, b, _ = instances
    data = marked_notebook()
    share = a.post("/api/v1/shares", params={"filename": "n.ipynb"}, content=data).json()
    assert b.get(f"/n/{share['id']}.ipynb").content == data
    assert MARKER in b.get(f"/n/{share['id']}/content").text
    assert b.get(f"/api/v1/shares/{share['id']}").json()["toc"][0]["text"] == f"Heading {MARKER}"
    owner = as_owner(share)
    updated = b.put(
        f"/api/v1/shares/{share['id']}",
        params={"filename": "n.ipynb"},
        headers=owner,
        content=nb_bytes(minimal_notebook(title="Second")),
    )
    assert updated.status_code == 200 and updated.json()["version"] == 2
    assert a.get(f"/api/v1/shares/{share['id']}").json()["title"] == "Second"
    assert a.delete(f"/api/v1/shares/{share['id']}", headers=owner).status_code == 204
    assert b.get(f"/n/{share['id']}").status_code == 404
    settings = a.app.state.settings
    if settings.blob_url:  # with an object store, no byte of a share lands on the local disk
        assert not settings.blob_dir.exists()


def test_a_grant_from_one_instance_opens_the_share_on_the_other(instances):
    a, b, _ = instances
    share = a.post(
        "/api/v1/shares",
        params={"filename": "n.ipynb"},
        content=marked_notebook(),
        headers={PASSWORD_HEADER: "correct horse battery"},
    ).json()
    assert b.get(f"/n/{share['id']}/content").status_code == 401
    grant = a.post(f"/api/v1/shares/{share['id']}/unlock", json={"password": "correct horse battery"})
    page = b.get(f"/n/{share['id']}/content", headers={GRANT_HEADER: grant.json()["grant"]})
    assert page.status_code == 200 and MARKER in page.text
    assert b.post(f"/api/v1/shares/{share['id']}/unlock", json={"password": "wrong"}).status_code == 401


def test_view_limits_and_expiry_hold_across_instances(instances):
    a, b, clock = instances
    burn = a.post("/api/v1/shares", params={"max_views": 3}, content=marked_notebook()).json()
    served = []
    for client in (a, b, a, b):
        client.cookies.clear()  # a new reader each time: a view grant would make it one view
        served.append(client.get(f"/n/{burn['id']}/content").status_code)
    assert served == [200, 200, 200, 404]  # the third view, on either instance, was the last
    doomed = a.post("/api/v1/shares", params={"expires": "1h"}, content=marked_notebook()).json()
    kept = a.post("/api/v1/shares", content=marked_notebook()).json()
    assert b.app.state.service.purge() == 0  # the burnt share's last view has not ended
    clock.now += timedelta(hours=1)
    assert b.app.state.service.purge() == 2  # the expired share and the burnt one
    assert a.get(f"/n/{doomed['id']}").status_code == 404
    assert a.get(f"/n/{kept['id']}").status_code == 200
    blobs = a.app.state.service.blobs
    assert not list(blobs.keys(f"shares/{doomed['id']}")) and not list(blobs.keys(f"shares/{burn['id']}"))
    assert list(blobs.keys(f"shares/{kept['id']}"))


@pytest.mark.slow
def test_nbshare_serve_on_postgresql_and_s3(postgres_url, s3_bucket, s3_endpoint, tmp_path):
    """The scaled-out configuration as an operator writes it: environment variables only."""
    import httpx

    env = clean_env(
        NBSHARE_DATABASE_URL=fresh_postgres_database(postgres_url),
        NBSHARE_BLOB_URL=s3_bucket,
        NBSHARE_SECRET_KEY="a7" * 32,
        AWS_ENDPOINT=s3_endpoint,
        **S3_ENV,
    )
    live = start_server(tmp_path, env=env)
    try:
        data = marked_notebook()
        share = httpx.post(f"{live.url}/api/v1/shares", content=data, timeout=60).json()
        assert httpx.get(f"{share['url'].replace(PUBLIC_URL, live.url)}.ipynb", timeout=30).content == data
        assert not (live.data_dir / "blobs").exists() and not (live.data_dir / "nbshare.db").exists()
        assert "blobs in s3://" in live.log()
    finally:
        live.stop()


def test_a_blob_url_obstore_cannot_use_is_one_line(tmp_path):
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "nbshare", "serve", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(NBSHARE_BLOB_URL="nosuchscheme://bucket"),
    )
    assert r.returncode != 0 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: NBSHARE_BLOB_URL 'nosuchscheme://bucket': "), lines


def test_instances_count_wrong_passwords_together(instances):
    """The guessing throttle is not N times as lenient with N instances."""
    a, b, _ = instances
    share = a.post(
        "/api/v1/shares",
        params={"filename": "n.ipynb"},
        content=marked_notebook(),
        headers={PASSWORD_HEADER: "correct horse battery"},
    ).json()
    answers = [
        c.post(f"/api/v1/shares/{share['id']}/unlock", json={"password": "wrong"}).status_code
        for c in (a, b, a, b, a, b)
    ]
    assert answers == [401] * 5 + [429]  # unlock_attempts is 5 per client, counted on both
