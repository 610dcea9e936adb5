# ruff: noqa: S603  (tests run Jupyter from this environment)
"""A real Jupyter Server or JupyterLab with nbshare's extension, for the tests of the
extension: on a free loopback port, with a token, a temporary root folder, and private
Jupyter and nbshare folders (so the history file, settings and workspaces are the test's own).

The extension comes from this checkout: the server extension from the `nbshare` package the
tests import, the labextension from its build (src/nbshare/labextension, `make labextension`),
linked into the private Jupyter data folder as a wheel install puts it into share/jupyter."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

import nbshare
from helpers import clean_env, free_port, stop_process

BUILT = Path(nbshare.__file__).parent / "labextension"
REPO = Path(__file__).resolve().parent.parent
ENABLE_FILE = REPO / "jupyter-config" / "server-config" / "nbshare.json"


def jupyter_env(folder: Path, nbshare_server: str) -> dict[str, str]:
    """Private Jupyter folders that enable nbshare's extensions, and a private history."""
    if not (BUILT / "static" / "style.js").exists():
        raise RuntimeError(f"The labextension is not built ({BUILT}): run `make labextension`.")
    config, data = folder / "jupyter-config", folder / "jupyter-data"
    (config / "jupyter_server_config.d").mkdir(parents=True)
    (config / "jupyter_server_config.d" / "nbshare.json").write_bytes(ENABLE_FILE.read_bytes())
    (data / "labextensions").mkdir(parents=True)
    (data / "labextensions" / "nbshare").symlink_to(BUILT, target_is_directory=True)
    return clean_env(
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_DATA_DIR=str(data),
        JUPYTER_RUNTIME_DIR=str(folder / "jupyter-runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(folder / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(folder / "lab-workspaces"),
        IPYTHONDIR=str(folder / "ipython"),
        XDG_DATA_HOME=str(folder / "xdg-data"),  # the nbshare history: platformdirs' user_data_dir
        XDG_CONFIG_HOME=str(folder / "xdg-config"),  # the nbshare config file: never the user's own
        NBSHARE_SERVER=nbshare_server,
    )


def history_file(env: dict[str, str]) -> Path:
    return Path(env["XDG_DATA_HOME"]) / "nbshare" / "published.json"


def history(env: dict[str, str]) -> list[dict]:
    path = history_file(env)
    return json.loads(path.read_text()) if path.exists() else []


@dataclass
class LiveJupyter:
    url: str  # with the trailing slash of base_url
    token: str
    process: subprocess.Popen
    log_path: Path
    root: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def api(self, timeout: float = 300) -> httpx.Client:
        """An HTTP client authenticated with the token (token requests need no XSRF cookie)."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"token {self.token}"}, timeout=timeout
        )

    def stop(self) -> None:
        stop_process(self.process, timeout=30)


def start_jupyter(
    root: Path, env: dict[str, str], log_path: Path, *, app: str = "jupyter_server"
) -> LiveJupyter:
    """`python -m APP` (jupyter_server, jupyterlab or notebook) serving `root`; returned once
    it answers, stopped if it never does."""
    port, token = free_port(), secrets.token_hex(16)
    args = [
        sys.executable,
        "-m",
        app,
        "--no-browser",
        "--allow-root",  # test machines and containers often run as root
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    live = LiveJupyter(f"http://127.0.0.1:{port}/", token, process, log_path, root)
    deadline = time.monotonic() + 240  # generous: the test machine may be busy
    while time.monotonic() < deadline:
        try:
            with live.api(timeout=5) as http:
                if http.get("api/status").status_code == 200:
                    return live
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{app} exited:\n{live.log()}")
        time.sleep(0.3)
    live.stop()
    raise RuntimeError(f"{app} did not start:\n{live.log()}")


def jupyter_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`jupyter ARGS` from this environment (e.g. `labextension list`), output as text."""
    jupyter = Path(sys.executable).parent / "jupyter"
    return subprocess.run([str(jupyter), *args], env=env, capture_output=True, text=True, timeout=300)
