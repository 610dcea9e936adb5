"""What a crash in the middle of an upload leaves is swept, once old enough (issue 10, item 15).

A real server is killed (os._exit, from a launcher script) while an upload is being stored:
before its first blob is renamed into place, at a blob in the middle, and after its last blob
but before its row goes in. It is restarted on the same data folder. Restarted with its real
clock, the leftovers are young and stay (they could be an upload in progress); restarted
with a clock two hours ahead, they are swept. Each check waits for the start-up sweep to
have run (the launcher writes a line when it has), not merely for the server to answer:
the sweep runs in the background and may finish well after /healthz answers on a busy
machine. The acknowledged shares are untouched throughout."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from helpers import (
    SRC,
    ZIP_TYPE,
    Clock,
    LiveServer,
    free_port,
    minimal_notebook,
    nb_bytes,
    publish_live,
    published,
    zip_of,
)
from nbshare.app import create_app

SWEPT = "test launcher: a sweep finished"

LAUNCHER = f"""
import os, sys
from datetime import UTC, datetime, timedelta


def main():
    kill_at, shift = os.environ["KILL_AT"], float(os.environ["CLOCK_SHIFT_HOURS"])
    writes = 0
    real_replace = os.replace

    def replace(src, dst, **kw):  # a blob is written and fsynced; the crash comes before its rename
        nonlocal writes
        if kill_at.isdigit() and "/.tmp-" in str(src):
            writes += 1
            if writes == int(kill_at):
                os._exit(1)
        real_replace(src, dst, **kw)

    os.replace = replace

    import uvicorn
    from nbshare.app import create_app
    from nbshare.settings import Settings
    from nbshare.shares import ShareService
    from nbshare.store.metadata import MetadataStore

    if kill_at == "row":  # every blob is in place; the crash comes before the row goes in
        MetadataStore.add_share = lambda *args, **kw: os._exit(1)

    real_sweep = ShareService.sweep

    def sweep(self):
        removed = real_sweep(self)
        print("{SWEPT}", removed, flush=True)
        return removed

    ShareService.sweep = sweep

    settings = Settings.from_env(data_dir=sys.argv[1], port=int(sys.argv[2]), render_workers=1)
    app = create_app(settings, clock=lambda: datetime.now(UTC) + timedelta(hours=shift))
    uvicorn.run(app, host="127.0.0.1", port=settings.port, log_level="warning")


if __name__ == "__main__":  # the render pool spawns processes that import this file
    main()
"""


def start(folder: Path, *, kill_at: str = "", shift_hours: float = 0) -> LiveServer:
    """The server of LAUNCHER on `folder`'s data, which a restart finds again. `kill_at`:
    a number n (die before the n-th blob's rename), "row" (die instead of adding the share's
    row) or "" (live)."""
    launcher = folder / "launch.py"
    launcher.write_text(LAUNCHER)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NBSHARE_")},
        "PYTHONPATH": str(SRC),
        "KILL_AT": kill_at,
        "CLOCK_SHIFT_HOURS": str(shift_hours),
        "NBSHARE_PUBLIC_URL": "http://nbshare.test",
    }
    data, log_path = folder / "data", folder / "server.log"
    with log_path.open("ab") as log:  # appended: every start on this folder in one log
        process = subprocess.Popen(
            [sys.executable, str(launcher), str(data), str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return LiveServer(f"http://127.0.0.1:{port}", process, log_path, data).wait_until_serving()


def start_swept(folder: Path, *, shift_hours: float) -> LiveServer:
    """A server as `start`'s, once its start-up sweep has finished (generous deadline)."""
    log_path = folder / "server.log"
    seen = log_path.read_text(errors="replace").count(SWEPT) if log_path.exists() else 0
    server = start(folder, shift_hours=shift_hours)
    deadline = time.monotonic() + 180  # generous: the test machine may be busy
    while server.log().count(SWEPT) <= seen:
        if time.monotonic() > deadline or server.process.poll() is not None:
            server.stop()
            raise AssertionError(f"the start-up sweep did not finish:\n{server.log()}")
        time.sleep(0.2)
    return server


def bundle(seed: int) -> bytes:
    """A notebook and a few files that do not compress: several blobs, a few MB."""
    rng = random.Random(seed)  # noqa: S311 - test data
    parts = {f"data/part{n}.bin": rng.randbytes(700_000) for n in range(4)}
    return zip_of({"analysis.ipynb": nb_bytes(minimal_notebook()), **parts})


def leftovers(data: Path) -> list[str]:
    return sorted(p.relative_to(data).as_posix() for p in (data / "blobs").rglob("*") if p.is_file())


def blob_count(data: Path, share_id: str) -> int:
    return sum(1 for p in (data / "blobs" / "shares" / share_id).rglob("*") if p.is_file())


@pytest.mark.parametrize("kill_point", ["before the first blob", "at a middle blob", "before the row"])
def test_a_crash_while_an_upload_is_stored_leaves_nothing_after_an_hour(tmp_path, kill_point):
    server = start(tmp_path)
    try:
        acknowledged = {  # each answered 201
            "nb": publish_live(server, nb_bytes(minimal_notebook()), "a.ipynb"),
            "bundle": publish_live(server, bundle(1), "b.zip", content_type=ZIP_TYPE),
        }
    finally:
        server.stop()
    kept = leftovers(server.data_dir)
    blobs = blob_count(server.data_dir, acknowledged["bundle"]["id"])  # the crashed upload's too
    assert blobs >= 4, kept
    kill_at = {"before the first blob": "1", "at a middle blob": str(blobs // 2 + 1), "before the row": "row"}

    server = start(tmp_path, kill_at=kill_at[kill_point])
    with pytest.raises(httpx.HTTPError):  # the server dies in the middle of storing it
        publish_live(server, bundle(2), "c.zip", content_type=ZIP_TYPE)
    assert server.process.wait(timeout=60) == 1
    crashed = sorted(set(leftovers(server.data_dir)) - set(kept))
    cut_short = [path for path in crashed if "/.tmp-" in path]
    if kill_point == "before the row":  # every blob whole, none cut short
        assert (len(crashed), cut_short) == (blobs, []), crashed
    else:  # a version's blobs are written at once: those still being written are cut short
        assert len(crashed) >= int(kill_at[kill_point]) and len(cut_short) >= 1, crashed

    for shift_hours, expected in ((0, crashed), (2, [])):  # young leftovers stay; old ones go
        server = start_swept(tmp_path, shift_hours=shift_hours)
        try:
            assert sorted(set(leftovers(server.data_dir)) - set(kept)) == expected
            assert set(kept) <= set(leftovers(server.data_dir))
            assert httpx.get(f"{server.url}/n/{acknowledged['nb']['id']}.ipynb").content == nb_bytes(
                minimal_notebook()
            )
            assert httpx.get(f"{server.url}/n/{acknowledged['bundle']['id']}.zip").status_code == 200
        finally:
            server.stop()
    assert not [p for p in (server.data_dir / "blobs").rglob("*") if p.is_dir() and not any(p.iterdir())]


@pytest.mark.parametrize("backend", ["file", "obstore-memory"])
def test_the_purge_sweeps_blobs_without_a_row_once_an_hour_old(settings, renderer, backend):
    from nbshare.store import FileBlobStore, ObjectBlobStore

    blobs = FileBlobStore(settings.blob_dir) if backend == "file" else ObjectBlobStore.memory()
    clock = Clock()
    app = create_app(settings, renderer=renderer, blobs=blobs, clock=clock)
    with TestClient(app) as client:
        live = published(client, nb_bytes(minimal_notebook()), "a.ipynb")["id"]
        kept = sorted(blobs.keys())
        # What crashes leave: a share whose row never came, and a version of a live share
        # whose row never came (an update cut short).
        blobs.put("shares/orphanorphanorphan0000/v1/page.html", b"x")
        blobs.put(f"shares/{live}/v7/original.ipynb", b"y")
        service = app.state.service
        assert service.sweep() == 0  # young: they could be an upload in progress
        assert len(list(blobs.keys())) == len(kept) + 2
        clock.now += timedelta(hours=2)
        service.purge()  # the purge sweeps too
        assert sorted(blobs.keys()) == kept
        assert client.get(f"/n/{live}.ipynb").content == nb_bytes(minimal_notebook())
