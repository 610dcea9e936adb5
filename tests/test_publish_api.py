"""The Python API (`nbshare.publish/update/delete/shares`) against a real server, run in a
Python of its own (api_helpers.run_api), sharing the CLI's history and messages."""

from __future__ import annotations

import contextlib
import http.server
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api_helpers import api_ok, history_file, nbshare_env, run_api
from cli_helpers import NOTEBOOK, Cli, Seen
from helpers import code, free_port, markdown, notebook

PY = sys.executable


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


def cli_in(home: Path) -> Cli:
    """The CLI with the same history and config as `nbshare_env(home)`."""
    return Cli(home / "data", Seen(), config_home=home / "config")


def test_publish_a_notebook_update_and_delete(server, home):
    env = nbshare_env(home)
    share = api_ok(
        PY, f"return nbshare.publish({str(NOTEBOOK)!r}, server={server.url!r}, title='From Python')", env
    )
    assert share["url"].startswith(f"{server.url}/n/") and share["id"] in share["url"]
    assert share["version"] == 1 and share["title"] == "From Python" and not share["updated"]
    assert share["manage_url"].startswith(f"{server.url}/n/{share['id']}/manage#token=")
    assert httpx.get(share["url"], timeout=60).status_code == 200
    # It is in the CLI's history: `nbshare list` shows it.
    listed = cli_in(home).listing()
    assert listed[share["id"]]["status"] == "live" and listed[share["id"]]["title"] == "From Python"
    # Published again: the same share, next version (new=True makes another).
    again = api_ok(PY, f"return nbshare.publish({str(NOTEBOOK)!r}, server={server.url!r})", env)
    assert (again["url"], again["version"], again["updated"]) == (share["url"], 2, True)
    other = api_ok(PY, f"return nbshare.publish({str(NOTEBOOK)!r}, server={server.url!r}, new=True)", env)
    assert other["id"] != share["id"]
    # update() by link, from the recorded path; delete() by Share from shares().
    updated = api_ok(PY, f"return nbshare.update({share['url']!r})", env)
    assert (updated["url"], updated["version"]) == (share["url"], 3)
    assert [s["id"] for s in api_ok(PY, "return nbshare.shares()", env)] == [share["id"], other["id"]]
    api_ok(PY, "s = nbshare.shares()[0]\nnbshare.delete(s)", env)
    assert httpx.get(share["url"], timeout=60).status_code == 404
    assert [e["id"] for e in json.loads(history_file(home).read_text())] == [other["id"]]
    gone = run_api(PY, f"return nbshare.delete({share['url']!r})", env)
    assert gone["error"] == "NotInHistory" and share["id"] in gone["message"]


def test_publish_a_folder_and_a_list_of_files(server, home, tmp_path):
    folder = tmp_path / "analysis"
    folder.mkdir()
    (folder / "report.ipynb").write_bytes(notebook(markdown("# Report"), code("print(1)")))
    (folder / "data.csv").write_text("a,b\n1,2\n")
    env = nbshare_env(home)
    bundle = api_ok(PY, f"return nbshare.publish({str(folder)!r}, server={server.url!r})", env)
    index = httpx.get(bundle["url"], timeout=60)
    assert index.status_code == 200 and "report.ipynb" in index.text and "data.csv" in index.text
    files = [str(folder / "report.ipynb"), str(folder / "data.csv")]
    listed = api_ok(PY, f"return nbshare.publish({files!r}, server={server.url!r})", env)
    assert listed["id"] != bundle["id"] and listed["path"] == " ".join(files)
    assert "data.csv" in httpx.get(listed["url"], timeout=60).text
    again = api_ok(PY, f"return nbshare.publish({files!r}, server={server.url!r})", env)
    assert (again["id"], again["version"]) == (listed["id"], 2)
    assert set(cli_in(home).listing()) == {bundle["id"], listed["id"]}


class _NotNbshare(http.server.BaseHTTPRequestHandler):
    """Some other web server: a page for every request."""

    def _page(self) -> None:
        body = b"<html><body>Welcome</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _page

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def other_web_server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotNbshare)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _same_error_as_the_cli(home: Path, path: Path, server_url: str, kind: str) -> str:
    result = run_api(PY, f"return nbshare.publish({str(path)!r}, server={server_url!r})", nbshare_env(home))
    assert result["error"] == kind and "PublishError" in result["bases"] and "NbshareError" in result["bases"]
    r = cli_in(home)("publish", path, "--server", server_url)
    assert r.returncode == 1 and r.stderr.strip() == f"Error: {result['message']}", (r.stderr, result)
    return result["message"]


def test_typed_errors_carry_the_clis_messages(server, home, tmp_path):
    down = f"http://127.0.0.1:{free_port()}"
    assert "Cannot reach" in _same_error_as_the_cli(home, NOTEBOOK, down, "ServerUnreachable")
    with other_web_server() as other:
        message = _same_error_as_the_cli(home, NOTEBOOK, other, "NotAnNbshareServer")
        assert "an nbshare server" in message
    big = tmp_path / "big.ipynb"
    big.write_bytes(notebook(markdown("x" * (6 * 1024 * 1024))))  # the test server takes 5 MB
    message = _same_error_as_the_cli(home, big, server.url, "UploadTooLarge")
    assert "HTTP 413" in message
    missing = run_api(PY, "return nbshare.publish('nowhere.ipynb')", nbshare_env(home))
    assert missing == {**missing, "error": "NoSuchPath", "message": "No such file or folder: nowhere.ipynb"}
    assert not history_file(home).exists()


def test_without_a_path_it_publishes_the_kernels_notebook(server, home, tmp_path):
    """Jupyter Server names the notebook in JPY_SESSION_NAME: absolute when the frontend
    names the file, else relative to the server's root (where the kernel starts in the
    notebook's folder)."""
    root = tmp_path / "root"
    (root / "work").mkdir(parents=True)
    nb = root / "work" / "mine.ipynb"
    nb.write_bytes(notebook(markdown("# Mine")))
    body = f"return nbshare.publish(server={server.url!r})"
    share = api_ok(PY, body, nbshare_env(home, JPY_SESSION_NAME=str(nb)), cwd=root / "work")
    assert share["path"] == str(nb) and share["filename"] == "mine.ipynb"
    result = run_api(PY, body, nbshare_env(home, JPY_SESSION_NAME="work/mine.ipynb"), cwd=root / "work")
    assert result["ok"]["id"] == share["id"] and result["ok"]["version"] == 2
    assert "unsaved changes are not included" in result["stderr"]
    unknown = run_api(PY, body, nbshare_env(home), cwd=root / "work")
    assert unknown["error"] == "NotebookUnknown" and "JPY_SESSION_NAME" in unknown["message"]
    moved = run_api(PY, body, nbshare_env(home, JPY_SESSION_NAME=str(root / "gone.ipynb")), cwd=root)
    assert moved["error"] == "NotebookUnknown" and "gone.ipynb" in moved["message"]


def test_which_notebook_a_kernel_runs(tmp_path, monkeypatch):
    from nbshare.kernel import current_notebook
    from nbshare.publishing import NotebookUnknown

    nb = tmp_path / "sub" / "a.ipynb"
    nb.parent.mkdir()
    nb.write_text("{}")
    assert current_notebook({"__vsc_ipynb_file__": str(nb)}, {}) == nb  # VS Code
    assert current_notebook({}, {"JPY_SESSION_NAME": str(nb)}) == nb  # Jupyter, absolute
    assert current_notebook({"__session__": str(nb)}, {}) == nb  # ipykernel's copy of it
    monkeypatch.chdir(nb.parent)
    assert current_notebook({}, {"JPY_SESSION_NAME": "sub/a.ipynb"}) == nb  # relative to the root
    with pytest.raises(NotebookUnknown, match="console-1"):
        current_notebook({}, {"JPY_SESSION_NAME": "console-1-abc"})  # a console: no notebook
    with pytest.raises(NotebookUnknown, match="neither is set here"):
        current_notebook({}, {})
