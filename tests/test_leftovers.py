"""What a crash in the middle of an upload leaves is swept, once old enough (issue 10, item 15).

A real server is killed (os._exit, from a launcher script that wraps os.replace, the step
that puts a blob in place) while an upload's blobs are being written, and restarted on the
same data folder. Restarted with its real clock, the leftovers are young and stay (they
could be an upload in progress); restarted with a clock two hours ahead, they are swept.
The acknowledged shares are untouched throughout."""

from __future__ import annotations

import os
import random
import subprocess
import sys
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

LAUNCHER = """
import os, sys
from datetime import UTC, datetime, timedelta


def main():
    kill_after, shift = int(os.environ["KILL_AFTER_WRITES"]), float(os.environ["CLOCK_SHIFT_HOURS"])
    writes = 0
    real_replace = os.replace

    def replace(src, dst, **kw):  # a blob is written and fsynced; the crash comes before its rename
        nonlocal writes
        if kill_after and "/.tmp-" in str(src):
            writes += 1
            if writes == kill_after:
                os._exit(1)
        real_replace(src, dst, **kw)

    os.replace = replace

    import uvicorn
    from nbshare.app import create_app
    from nbshare.settings import Settings

    settings = Settings.from_env(data_dir=sys.argv[1], port=int(sys.argv[2]), render_workers=1)
    app = create_app(settings, clock=lambda: datetime.now(UTC) + timedelta(hours=shift))
    uvicorn.run(app, host="127.0.0.1", port=settings.port, log_level="warning")


if __name__ == "__main__":  # the render pool spawns processes that import this file
    main()
"""


def start(folder: Path, *, kill_after: int = 0, shift_hours: float = 0) -> LiveServer:
    """The server of LAUNCHER on `folder`'s data, which a restart finds again."""
    launcher = folder / "launch.py"
    launcher.write_text(LAUNCHER)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NBSHARE_")},
        "PYTHONPATH": str(SRC),
        "KILL_AFTER_WRITES": str(kill_after),
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


def bundle(seed: int) -> bytes:
    """A notebook and a few files that do not compress: several blobs, a few MB."""
    rng = random.Random(seed)  # noqa: S311 - test data
    parts = {f"data/part{n}.bin": rng.randbytes(700_000) for n in range(4)}
    return zip_of({"analysis.ipynb": nb_bytes(minimal_notebook()), **parts})


def leftovers(data: Path) -> list[str]:
    return sorted(p.relative_to(data).as_posix() for p in (data / "blobs").rglob("*") if p.is_file())


@pytest.mark.parametrize("kill_after", [3])  # two whole blobs and one cut short
def test_a_crash_while_blobs_are_written_leaves_nothing_after_an_hour(tmp_path, kill_after):
    server = start(tmp_path)
    try:
        acknowledged = {  # each answered 201
            "nb": publish_live(server, nb_bytes(minimal_notebook()), "a.ipynb"),
            "bundle": publish_live(server, bundle(1), "b.zip", content_type=ZIP_TYPE),
        }
    finally:
        server.stop()
    kept = leftovers(server.data_dir)

    server = start(tmp_path, kill_after=kill_after)
    with pytest.raises(httpx.HTTPError):  # the server dies in the middle of storing it
        publish_live(server, bundle(2), "c.zip", content_type=ZIP_TYPE)
    assert server.process.wait(timeout=60) == 1
    crashed = sorted(set(leftovers(server.data_dir)) - set(kept))
    assert any("/.tmp-" in path for path in crashed), crashed  # a blob cut short, and perhaps whole ones

    for shift_hours, expected in ((0, crashed), (2, [])):  # young leftovers stay; old ones go
        server = start(tmp_path, shift_hours=shift_hours)
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
