"""`%nbshare`: in a real kernel driven by nbclient, and (for --password, which a kernel asks
through the frontend) in IPython's own shell with getpass answered. Against a real server."""

from __future__ import annotations

import json
import re
import sys

import httpx
import nbformat

from api_helpers import history_file, magic_in_shell, nbshare_env, notebook_of, outputs_of, run_in_kernel
from cli_helpers import NOTEBOOK, share_url_re

PY = sys.executable


def test_the_magic_publishes_in_a_kernel(server, tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    nb = notebook_of(
        "%load_ext nbshare",
        f"%nbshare {NOTEBOOK} --server {server.url} --expires 7d",
        f"%nbshare --server {server.url}",
        f"%nbshare {NOTEBOOK} --server {server.url} --update",
        f"%nbshare nowhere.ipynb --server {server.url}",
    )
    own = folder / "this.ipynb"
    nbformat.write(nb, own)
    env = nbshare_env(tmp_path / "home", JPY_SESSION_NAME=str(own))
    ran = run_in_kernel(PY, nb, folder, env)
    link = share_url_re(server.url)

    html, text = outputs_of(ran.cells[1])
    url = re.search(link, text).group(0)
    assert f'href="{url}"' in html and ">Copy</button>" in html and "navigator.clipboard.writeText" in html
    assert f"nbshare delete {url}" in text and "Published." in text  # how to manage it
    share_id = url.rsplit("/", 1)[1]
    assert httpx.get(f"{server.url}/api/v1/shares/{share_id}", timeout=60).json()["expires_at"]
    # Without a path: the kernel's own notebook, as saved (with a note saying so).
    html, text = outputs_of(ran.cells[2])
    own_url = re.search(link, text).group(0)
    assert own_url != url and "unsaved changes are not included" in text
    history = json.loads(history_file(tmp_path / "home").read_text())
    assert [e["path"] for e in history] == [str(NOTEBOOK), str(own)]
    # --update: the same link, a new version.
    html, text = outputs_of(ran.cells[3])
    assert url in text and "Updated: version 2, same link." in text
    # An error is one readable line, not a traceback.
    html, text = outputs_of(ran.cells[4])
    assert text.strip() == "UsageError: No such file or folder: nowhere.ipynb", text
    # No owner token (nor manage link) anywhere in the notebook.
    saved = nbformat.writes(ran)
    for entry in history:
        assert entry["owner_token"] not in saved and "#token=" not in saved


def test_password_is_asked_and_never_shown(server, tmp_path):
    env = nbshare_env(tmp_path / "home")
    password = "correct horse battery"  # noqa: S105
    got = magic_in_shell(PY, f"%nbshare {NOTEBOOK} --server {server.url} --password", env, answers=[password])
    assert got["error"] is None and got["asked"] == ["Password for the share: "]
    url = re.search(share_url_re(server.url), got["stdout"] + json.dumps(got["outputs"])).group(0)
    share_id = url.rsplit("/", 1)[1]
    assert httpx.get(f"{server.url}/api/v1/shares/{share_id}", timeout=60).status_code == 401  # protected
    unlocked = httpx.post(
        f"{server.url}/api/v1/shares/{share_id}/unlock", json={"password": password}, timeout=60
    )
    assert unlocked.status_code == 200
    assert password not in json.dumps(got)
    # The config file can ask by default; --no-password does not ask.
    config = tmp_path / "home" / "config" / "nbshare" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("password = true\n")
    got = magic_in_shell(PY, f"%nbshare {NOTEBOOK} --server {server.url} --new", env, answers=["another one"])
    assert got["asked"] and got["error"] is None and "another one" not in json.dumps(got)
    got = magic_in_shell(PY, f"%nbshare {NOTEBOOK} --server {server.url} --new --no-password", env)
    assert not got["asked"] and got["error"] is None
    # An empty answer publishes nothing.
    before = history_file(tmp_path / "home").read_text()
    got = magic_in_shell(PY, f"%nbshare {NOTEBOOK} --server {server.url} --new", env, answers=["  "])
    assert (
        "UsageError: The password cannot be only spaces" in got["stderr"] and "Traceback" not in got["stderr"]
    )
    assert history_file(tmp_path / "home").read_text() == before
