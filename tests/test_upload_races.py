"""Uploads that race each other or the sweep never lose an acknowledged version (issue 10,
reliability: "no acknowledged upload is lost; never a row without its blobs").

Every upload writes blobs under names of its own (a random part per upload), so an upload
that loses a race, and the sweep of crash leftovers, remove only what nobody references."""

from __future__ import annotations

import asyncio
import io
import json
import os
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from fastapi.testclient import TestClient

from helpers import (
    ZIP_TYPE,
    Clock,
    markdown,
    minimal_notebook,
    nb_bytes,
    published,
    serve_in_thread,
    update,
)
from nbshare.app import create_app
from nbshare.protection import VersionMeta, version_blob_keys
from nbshare.views.common import PASSWORD_HEADER


def notebook_saying(text: str) -> bytes:
    nb = minimal_notebook()
    nb["cells"].append(markdown(text, "body"))
    return nb_bytes(nb)


class GatedRenderer:
    """The shared render pool, with a gate: once armed, each render waits until `parties`
    renders have finished, so racing uploads all reach the storing step together."""

    def __init__(self, pool, parties: int = 2):
        self.pool, self.parties = pool, parties
        self.armed = False

    def __getattr__(self, name):
        return getattr(self.pool, name)

    async def render(self, *args, **kwargs):
        page = await self.pool.render(*args, **kwargs)
        if self.armed:
            if not hasattr(self, "gate"):  # made in the server's event loop
                self.gate = asyncio.Barrier(self.parties)
            async with asyncio.timeout(120):  # generous: a busy machine; a hang fails the test
                await self.gate.wait()
        return page


def blob_names(app) -> set[str]:
    return set(app.state.service.blobs.keys())


def test_two_concurrent_updates_one_wins_whole_and_the_other_leaves_nothing(settings, renderer):
    gated = GatedRenderer(renderer)
    app = create_app(settings, renderer=gated)
    contents = {"A": notebook_saying("UPDATE-A " * 2000), "B": notebook_saying("UPDATE-B")}
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=180) as client:
        share = published(client, notebook_saying("orig"), "a.ipynb")
        share_id = share["id"]
        before = blob_names(app)
        gated.armed = True

        def put(which: str) -> tuple[str, int]:
            with httpx.Client(base_url=url, timeout=180) as one:
                return which, update(one, share, contents[which], filename="a.ipynb").status_code

        with ThreadPoolExecutor(2) as pool:
            outcomes = dict(pool.map(put, "AB"))
        assert sorted(outcomes.values()) == [200, 409], outcomes
        winner = next(w for w, status in outcomes.items() if status == 200)

        assert client.get(f"/n/{share_id}.ipynb").content == contents[winner]
        page = client.get(f"/n/{share_id}/content")
        assert page.status_code == 200 and f"UPDATE-{winner}" in page.text
        # Only the winner's version was added: the loser left no blob behind.
        service = app.state.service
        v2 = service.metadata.get_version(share_id, 2)
        assert blob_names(app) - before == set(version_blob_keys(v2, VersionMeta.of(v2)))


def test_the_sweep_removes_an_old_crashed_update_but_not_its_retry(settings, renderer, monkeypatch):
    """A crashed update left blobs under v2; its retry (also v2) writes while the sweep runs:
    between the sweep's listing of blob ages and its reading of rows. The retry is whole
    afterwards, and the leftovers are gone, including names the retry did not write again."""
    app = create_app(settings, renderer=renderer)
    client = TestClient(app, base_url="http://testserver")  # no lifespan: no purge of its own
    body = published(client, notebook_saying("orig"), "a.ipynb")
    share_id = body["id"]
    service = app.state.service
    kept = blob_names(app)

    # What a server killed during an update left: names from before per-upload names, and
    # names from an upload with its own random part.
    crashed = [
        f"shares/{share_id}/v2/{name}"
        for name in (
            "original.ipynb",
            "page.html",
            "files/" + "ab" * 32,
            "original.ipynb.0123456789abcdef",
            "page.html.0123456789abcdef",
        )
    ]
    three_hours_ago = time.time() - 3 * 3600
    for key in crashed:
        service.blobs.put(key, b"left by a crash")
        os.utime(service.blobs._path(key), (three_hours_ago, three_hours_ago))

    retry_stored, sweep_done = threading.Event(), threading.Event()
    real_modified, real_add_version = service.blobs.modified, service.metadata.add_version

    def modified(prefix=""):
        yield from real_modified(prefix)
        assert retry_stored.wait(120)  # the retry's blobs are written, its row not yet

    def add_version(*args, **kwargs):
        retry_stored.set()
        assert sweep_done.wait(120)
        return real_add_version(*args, **kwargs)

    monkeypatch.setattr(service.blobs, "modified", modified)
    monkeypatch.setattr(service.metadata, "add_version", add_version)
    retry = notebook_saying("RETRY")
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(update, client, body, retry, filename="a.ipynb")
        try:
            swept = service.sweep()
        finally:
            sweep_done.set()
        assert answer.result().status_code == 200

    assert swept == len(crashed)
    assert client.get(f"/n/{share_id}.ipynb").content == retry
    assert "RETRY" in client.get(f"/n/{share_id}/content").text
    v2 = service.metadata.get_version(share_id, 2)
    assert blob_names(app) == kept | set(version_blob_keys(v2, VersionMeta.of(v2)))


def bundle() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.ipynb", notebook_saying("# A"))
        archive.writestr("data.csv", "a,b\n1,2\n")
        archive.writestr("README.md", "# Read me")
    return buffer.getvalue()


def test_the_sweep_never_touches_what_a_live_version_references(settings, renderer):
    """Old blobs of live versions stay, public or sealed (a sealed version's file names are
    only in its sealed metadata), and whether stored before or after per-upload names."""

    clock = Clock()
    app = create_app(settings, renderer=renderer, clock=clock)
    client = TestClient(app, base_url="http://testserver")
    data = bundle()

    def upload(**headers) -> dict:
        return published(client, data, "b.zip", content_type=ZIP_TYPE, headers=headers)

    public, sealed, legacy = upload(), upload(**{PASSWORD_HEADER: "correct horse"}), upload()
    service = app.state.service
    # A share as stored before per-upload names: its clear blobs' names have no random part.
    row = service.metadata.get_version(legacy["id"], 1)
    tag = row.page_key.removeprefix(f"shares/{legacy['id']}/v1/page.html")
    for key in version_blob_keys(row, VersionMeta.of(row)):
        service.blobs.put(key.removesuffix(tag), service.blobs.get(key))
        if tag:
            service.blobs.delete(key)
    service.metadata.update_share(
        legacy["id"],
        {
            1: {
                "original_key": row.original_key.removesuffix(tag),
                "page_key": row.page_key.removesuffix(tag),
                "manifest": json.loads(json.dumps(row.manifest).replace(tag, "")),
            }
        },
        updated_at=clock.now,
    )
    kept = blob_names(app)
    assert any("/files/" in k and k.endswith(".sealed") for k in kept)  # sealed files to keep
    assert any(k.startswith(f"shares/{legacy['id']}/v1/files/") for k in kept)

    clock.now += timedelta(days=2)
    assert service.sweep() == 0
    assert blob_names(app) == kept
    for share in (public, legacy):
        assert client.get(f"/n/{share['id']}.zip").status_code == 200
        assert client.get(f"/n/{share['id']}/files/data.csv").content == b"a,b\n1,2\n"
    assert (
        client.post(f"/api/v1/shares/{sealed['id']}/unlock", json={"password": "correct horse"}).status_code
        == 200
    )
    assert client.get(f"/n/{sealed['id']}/files/data.csv").content == b"a,b\n1,2\n"
