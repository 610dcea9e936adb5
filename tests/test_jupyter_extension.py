"""The Jupyter Server extension's REST contract (docs/jupyter.md), against a real
`jupyter server` with the extension enabled and a real `nbshare serve`: what the dialog sends
and what it gets back, the history it writes, and the errors it answers in words."""

from __future__ import annotations

import json
import threading
import zipfile
from io import BytesIO

import httpx
import pytest

from helpers import free_port, markdown, notebook, start_server
from jupyter_helpers import history, jupyter_env, start_jupyter

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nbshare_server(tmp_path_factory):
    live = start_server(tmp_path_factory.mktemp("nbshare"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory, nbshare_server):
    folder = tmp_path_factory.mktemp("jupyter")
    root = folder / "root"
    (root / "analysis" / "data").mkdir(parents=True)
    (root / "report.ipynb").write_bytes(notebook(markdown("# Quarterly report")))
    (root / "analysis" / "churn.ipynb").write_bytes(notebook(markdown("# Churn")))
    (root / "analysis" / "data" / "rows.csv").write_text("a,b\n1,2\n")
    (folder / "secret.txt").write_text("outside the root")
    env = jupyter_env(folder, nbshare_server.url)
    live = start_jupyter(root, env, folder / "jupyter.log")
    live.env = env  # type: ignore[attr-defined]
    yield live
    live.stop()


def test_publish_answers_the_share_and_keeps_the_owner_token_in_the_history(jupyter, nbshare_server):
    with jupyter.api() as http:
        r = http.post("nbshare/api/publish", json={"path": "report.ipynb", "expires": "7d"})
        assert r.status_code == 200, r.text
        share = r.json()
        assert share["url"].startswith(f"{nbshare_server.url}/n/{share['id']}")
        assert share["version"] == 1 and share["updated"] is False and share["expires_at"]
        assert share["manage_url"] == f"/nbshare/manage/{share['id']}"
        entry = next(e for e in history(jupyter.env) if e["id"] == share["id"])
        assert entry["owner_token"] not in r.text  # the token stays in the history file
        assert entry["path"] == str((jupyter.root / "report.ipynb").resolve())  # the CLI's key
        # The rendered page, and the .ipynb byte for byte as saved.
        assert "Quarterly report" in httpx.get(share["url"], timeout=60).text
        download = httpx.get(f"{nbshare_server.url}/n/{share['id']}.ipynb", timeout=60)
        assert download.content == (jupyter.root / "report.ipynb").read_bytes()
        # The manage link is reached through Jupyter, which redirects to it.
        manage = http.get(share["manage_url"].lstrip("/"), follow_redirects=False)
        assert manage.status_code == 302 and manage.headers["location"] == entry["manage_url"]

        # The dialog learns of the earlier share and what the server allows...
        about = http.get("nbshare/api/info", params={"path": "report.ipynb"}).json()
        assert about["server"] == nbshare_server.url and about["error"] is None
        assert about["earlier"]["id"] == share["id"] and "owner_token" not in about["earlier"]
        assert "7d" in [x["value"] for x in about["limits"]["lifetimes"]]
        # ... and updates it: same link, next version, the history follows.
        (jupyter.root / "report.ipynb").write_bytes(notebook(markdown("# Quarterly report, v2")))
        again = http.post("nbshare/api/publish", json={"path": "report.ipynb", "update": True}).json()
        assert (again["id"], again["version"], again["updated"]) == (share["id"], 2, True)
        assert "v2" in httpx.get(share["url"], timeout=60).text


def test_the_server_and_a_new_shares_defaults_come_from_the_users_nbshare_config(tmp_path, nbshare_server):
    """The extension resolves settings as the CLI does: no NBSHARE_SERVER, the config file's."""
    env = jupyter_env(tmp_path, "unused")
    del env["NBSHARE_SERVER"]
    config = tmp_path / "xdg-config" / "nbshare" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'server = "{nbshare_server.url}"\nexpires = "7d"\nmax_views = 5\n')
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "a.ipynb").write_bytes(notebook(markdown("# From the config")))
    live = start_jupyter(tmp_path / "root", env, tmp_path / "jupyter.log")
    try:
        with live.api() as http:
            about = http.get("nbshare/api/info", params={"path": "a.ipynb"}).json()
            assert about["server"] == nbshare_server.url and about["error"] is None
            assert about["defaults"] == {"expires": "7d", "max_views": 5, "password": False}
            share = http.post("nbshare/api/publish", json={"path": "a.ipynb"}).json()
            assert share["server"] == nbshare_server.url and share["url"].startswith(nbshare_server.url)
            assert share["expires_at"] and share["max_views"] == 5  # the user's defaults applied
            # What the dialog sets wins over the file.
            other = http.post("nbshare/api/publish", json={"path": "a.ipynb", "max_views": 2}).json()
            assert other["max_views"] == 2
            # A broken config file is said in words, naming the file.
            config.write_text("max_views = 'many'\n")
            broken = http.get("nbshare/api/info", params={"path": "a.ipynb"})
            assert broken.status_code == 400 and str(config) in broken.json()["message"]
    finally:
        live.stop()


def test_a_folder_is_shared_as_a_bundle(jupyter, nbshare_server):
    with jupyter.api() as http:
        share = http.post("nbshare/api/publish", json={"paths": ["analysis"]}).json()
        archive = httpx.get(f"{nbshare_server.url}/n/{share['id']}.zip", timeout=60)
        assert archive.status_code == 200, archive.text
        names = set(zipfile.ZipFile(BytesIO(archive.content)).namelist())
        assert {"churn.ipynb", "data/rows.csv"} <= names
        info = http.get("nbshare/api/info", params=[("path", "analysis")]).json()
        assert info["earlier"]["id"] == share["id"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"path": "../secret.txt"}, 400, "not a path inside Jupyter's root"),
        ({"path": "/etc/passwd"}, 404, "No such file or folder"),
        ({"path": "nothing.ipynb"}, 404, "No such file or folder"),
        ({}, 400, "Name what to share"),
        ({"path": "report.ipynb", "max_views": 0}, 400, "max_views"),
        ({"path": "report.ipynb", "expires": "soon"}, 400, "soon"),
        (
            {"path": "report.ipynb", "update": True, "paths": ["analysis/data/rows.csv"]},
            400,
            "no earlier share",
        ),
    ],
)
def test_bad_requests_get_a_message(jupyter, body, status, words):
    with jupyter.api() as http:
        r = http.post("nbshare/api/publish", json=body)
    assert r.status_code == status, r.text
    assert words.lower() in r.json()["message"].lower()
    assert "Traceback" not in r.text


def test_the_endpoints_need_jupyters_authentication_and_xsrf(jupyter):
    anonymous = httpx.post(f"{jupyter.url}nbshare/api/publish", json={"path": "report.ipynb"}, timeout=60)
    assert anonymous.status_code == 403
    assert httpx.get(f"{jupyter.url}nbshare/api/info?path=report.ipynb", timeout=60).status_code == 403
    # A browser session (cookie) without the XSRF token is refused, as by Jupyter's own APIs.
    with httpx.Client(base_url=jupyter.url, timeout=60) as browser:
        browser.get(f"login?token={jupyter.token}")  # sets the login cookie
        assert browser.get("nbshare/api/info", params={"path": "report.ipynb"}).status_code == 200
        assert browser.post("nbshare/api/publish", json={"path": "report.ipynb"}).status_code == 403


def test_a_server_down_or_not_nbshare_is_said_in_words(tmp_path, jupyter):
    down = f"http://127.0.0.1:{free_port()}"
    for server, words in ((down, "Cannot reach the nbshare server"), (jupyter.url, "nbshare server")):
        env = jupyter_env(tmp_path / str(len(words)), server)
        (tmp_path / str(len(words)) / "root").mkdir()
        (tmp_path / str(len(words)) / "root" / "a.ipynb").write_bytes(notebook(markdown("x")))
        live = start_jupyter(tmp_path / str(len(words)) / "root", env, tmp_path / f"{len(words)}.log")
        try:
            with live.api() as http:
                r = http.post("nbshare/api/publish", json={"path": "a.ipynb"})
                assert r.status_code == 502, r.text
                assert words in r.json()["message"] and "Traceback" not in r.text
                assert words in http.get("nbshare/api/info", params={"path": "a.ipynb"}).json()["error"]
        finally:
            live.stop()


def test_progress_is_reported_while_a_share_goes_up(jupyter):
    """What the dialog polls: the bytes sent of the total, then rendering, then nothing."""
    cells = [markdown(f"## Part {i}\n\n" + "Some words to render. " * 400, f"m{i}") for i in range(300)]
    (jupyter.root / "long.ipynb").write_bytes(notebook(*cells))
    seen: list[dict] = []
    done = threading.Event()

    def poll() -> None:
        with jupyter.api() as http:
            while not done.is_set():
                seen.append(http.get("nbshare/api/progress/dialog-0001").json())

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        with jupyter.api() as http:
            r = http.post("nbshare/api/publish", json={"path": "long.ipynb", "progress_id": "dialog-0001"})
    finally:
        done.set()
        poller.join()
    assert r.status_code == 200, r.text
    size = (jupyter.root / "long.ipynb").stat().st_size
    assert {"state": "rendering", "sent": size, "total": size} in seen  # the server renders a while
    with jupyter.api() as http:
        assert http.get("nbshare/api/progress/dialog-0001").json()["state"] == "unknown"  # forgotten


def test_a_folder_is_collected_by_the_clis_rules(jupyter, nbshare_server):
    """What the CLI would leave out of a bundle stays out when it is shared from Jupyter: what
    .gitignore excludes, environments, and links out of the folder (or back into it)."""
    project, outside = jupyter.root / "project", jupyter.root / "outside"
    (project / "node_modules" / "pkg").mkdir(parents=True)
    outside.mkdir()
    (project / "study.ipynb").write_bytes(notebook(markdown("# Study")))
    (project / ".gitignore").write_text("secret.csv\n")
    (project / "secret.csv").write_text("password,hunter2\n")
    (project / "node_modules" / "pkg" / "index.js").write_text("x")
    (outside / "creds.txt").write_text("token")
    (project / "link").symlink_to(outside, target_is_directory=True)
    (project / "again").symlink_to(project, target_is_directory=True)
    (project / "a").symlink_to(project, target_is_directory=True)
    with jupyter.api() as http:
        r = http.post("nbshare/api/publish", json={"path": "project"})
        assert r.status_code == 200, r.text
    archive = httpx.get(f"{nbshare_server.url}/n/{r.json()['id']}.zip", timeout=60)
    names = set(zipfile.ZipFile(BytesIO(archive.content)).namelist())
    assert "study.ipynb" in names
    assert not {n for n in names if "secret" in n or "node_modules" in n or "creds" in n}, names
    assert not {n for n in names if n.startswith(("again/", "a/", "link/"))}, names


def test_a_link_loop_and_odd_options_get_a_message_not_a_500(jupyter):
    (jupyter.root / "l1").symlink_to(jupyter.root / "l2")
    (jupyter.root / "l2").symlink_to(jupyter.root / "l1")
    with jupyter.api() as http:
        for r in (
            http.post("nbshare/api/publish", json={"path": "l1"}),
            http.get("nbshare/api/info", params={"path": "l1"}),
            http.post("nbshare/api/publish", json={"path": "report.ipynb", "title": "t" * 100_000}),
        ):
            assert 400 <= r.status_code < 500, r.text
            assert r.json()["message"] and "Traceback" not in r.text
        # A progress id that is not a string is ignored, not a failure after the share is made.
        odd = http.post("nbshare/api/publish", json={"path": "report.ipynb", "progress_id": ["x"]})
        assert odd.status_code == 200, odd.text


def test_too_large_is_said_in_words(jupyter):
    big = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "x" * (6 * 1024 * 1024)}]}
    (jupyter.root / "big.ipynb").write_text(
        json.dumps({**big, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    with jupyter.api() as http:
        r = http.post("nbshare/api/publish", json={"path": "big.ipynb"})
    assert r.status_code == 413, r.text
    assert "MB" in r.json()["message"]
