"""A server killed with SIGKILL leaves no render workers behind (issue 10, item 16):
before, the resource tracker and the workers (about 90 MB each) were reparented to PID 1
and lived on."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from helpers import minimal_notebook, nb_bytes, start_server

pytestmark = pytest.mark.slow


def children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(child) for child in (task / "children").read_text().split()}
        except OSError:  # the task ended meanwhile
            continue
    return found


def descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for child in children(todo.pop()) - found:
            found.add(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (a container's PID 1 may never reap what it inherits)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
def test_render_workers_exit_when_the_server_is_killed(tmp_path):
    server = start_server(tmp_path, NBSHARE_RENDER_WORKERS="2")
    workers: set[int] = set()
    try:
        r = httpx.post(
            f"{server.url}/api/v1/shares",
            params={"filename": "nb.ipynb"},
            content=nb_bytes(minimal_notebook()),
            headers={"Content-Type": "application/x-ipynb+json"},
            timeout=120,
        )
        assert r.status_code == 201, r.text
        workers = descendants(server.process.pid)
        assert len(workers) >= 2, workers  # two workers (and multiprocessing's resource tracker)
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=60)
        deadline = time.monotonic() + 60  # generous: the machine may be busy
        while any(running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = {pid for pid in workers if running(pid)}
        assert not left, f"still running after the server was killed: {left}"
    finally:
        if server.process.poll() is None:
            server.stop()
        for pid in workers:
            if running(pid):  # the test failed: leave nothing behind
                os.kill(pid, signal.SIGKILL)
