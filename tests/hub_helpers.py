# ruff: noqa: S603  (tests run JupyterHub from this environment)
"""A real JupyterHub on loopback with nbshare as its managed service, for test_jupyterhub.py.

JupyterHub from PyPI (the `test` extra), its proxy configurable-http-proxy from the npm
registry (tests/hub/, installed by `make test`), the dummy authenticator (any password) and
the simple local process spawner: each user's JupyterLab is a process here, with nbshare's
extension from this checkout and a home folder of its own. nbshare is started by the Hub
with the Hub's service variables, exactly as docs/operating.md's snippet runs it.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from helpers import clean_env, free_port, stop_process
from jupyter_helpers import BUILT, ENABLE_FILE, REPO

PROXY = REPO / "tests" / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
PASSWORD = "any password"  # noqa: S105 - the dummy authenticator takes it for every user
USERS = ("alice", "bob", "carol")
GROUPS = {"physics": ["carol"]}
WAIT = 300  # seconds: the Hub, the proxy, nbshare and JupyterLab start on a busy machine


@dataclass
class LiveHub:
    url: str  # the public URL, no trailing slash
    process: subprocess.Popen
    log_path: Path
    folder: Path
    admin_token: str  # a service token of the test's own, to make tokens and start servers

    @property
    def nbshare(self) -> str:
        return f"{self.url}/services/nbshare"

    def home(self, user: str) -> Path:
        return self.folder / "home" / user

    def log(self) -> str:
        """The Hub's log, with the proxy's, nbshare's and the users' servers' output in it."""
        return self.log_path.read_text(errors="replace")

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/hub/api/",
            headers={"Authorization": f"token {self.admin_token}"},
            timeout=60,
        )

    def token(self, user: str, scopes: list[str] | None = None) -> str:
        """A new API token of `user`, by default with access to nbshare only."""
        body = {
            "scopes": scopes if scopes is not None else ["access:services!service=nbshare"],
            "note": "test",
        }
        with self.api() as api:
            answer = api.post(f"users/{user}/tokens", json=body)
        answer.raise_for_status()
        return answer.json()["token"]

    def start_server(self, user: str) -> None:
        """Start `user`'s JupyterLab and wait until the Hub says it is ready."""
        with self.api() as api:
            started = api.post(f"users/{user}/server")
            assert started.status_code in (201, 202, 400), started.text  # 400: already running
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:
                model = api.get(f"users/{user}").json()
                server = model.get("servers", {}).get("")
                if server and server.get("ready"):
                    return
                time.sleep(0.5)
        raise RuntimeError(f"{user}'s server did not start:\n{self.log()}")

    def stop(self) -> None:
        stop_process(self.process, timeout=60)  # the Hub stops its service and the proxy


def start_hub(folder: Path, attempts: int = 3) -> LiveHub:
    """The Hub, once nbshare answers through its proxy. JupyterHub gives a managed service
    10 s to answer and exits when it does not; on a very busy machine nbshare's start can
    take longer, so a Hub that gave up on it is started again (in a fresh folder)."""
    for attempt in range(1, attempts + 1):
        try:
            return _start_hub(folder / f"try-{attempt}")
        except HubGaveUp:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


class HubGaveUp(RuntimeError):
    """The Hub exited because nbshare did not answer within its 10 seconds."""


def _start_hub(folder: Path) -> LiveHub:
    folder.mkdir(parents=True)
    if not PROXY.exists():
        raise RuntimeError(f"configurable-http-proxy is not installed ({PROXY}): run `make test`.")
    port, hub_port, proxy_api, service_port = free_port(), free_port(), free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    admin_token = secrets.token_hex(32)
    jupyter = folder / "jupyter"
    (jupyter / "config" / "jupyter_server_config.d").mkdir(parents=True)
    (jupyter / "config" / "jupyter_server_config.d" / "nbshare.json").write_bytes(ENABLE_FILE.read_bytes())
    (jupyter / "data" / "labextensions").mkdir(parents=True)
    (jupyter / "data" / "labextensions" / "nbshare").symlink_to(BUILT, target_is_directory=True)
    for user in USERS:
        (folder / "home" / user).mkdir(parents=True)
    config = folder / "jupyterhub_config.py"
    config.write_text(
        CONFIG.format(
            **{
                k: repr(v)
                for k, v in {
                    "url": url,
                    "port": port,
                    "hub_port": hub_port,
                    "proxy": str(PROXY),
                    "proxy_api": f"http://127.0.0.1:{proxy_api}",
                    "folder": str(folder),
                    "python": sys.executable,
                    "service_url": f"http://127.0.0.1:{service_port}",
                    "admin_token": admin_token,
                    "password": PASSWORD,
                    "users": list(USERS),
                    "groups": {name: {"users": members} for name, members in GROUPS.items()},
                    "jupyter_config": str(jupyter / "config"),
                    "jupyter_data": str(jupyter / "data"),
                }.items()
            }
        )
    )
    log_path = folder / "jupyterhub.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=clean_env(),
        )
    hub = LiveHub(url, process, log_path, folder, admin_token)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{hub.nbshare}/readyz", timeout=5).status_code == 200:
                return hub
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            gave_up = "Cannot connect to nbshare service" in hub.log()
            raise (HubGaveUp if gave_up else RuntimeError)(f"JupyterHub exited:\n{hub.log()}")
        time.sleep(0.5)
    hub.stop()
    raise RuntimeError(f"JupyterHub or nbshare did not start:\n{hub.log()}")


# docs/operating.md's snippet, plus what a test Hub needs: loopback ports, the dummy
# authenticator, local processes for users' servers, and a token for the test itself.
CONFIG = """
import os
c = get_config()  # noqa: F821

c.JupyterHub.bind_url = {url}
c.JupyterHub.public_url = {url}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.command = [{proxy}]
c.ConfigurableHTTPProxy.api_url = {proxy_api}
c.ConfigurableHTTPProxy.pid_file = os.path.join({folder}, "proxy.pid")
c.JupyterHub.db_url = "sqlite:///" + os.path.join({folder}, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join({folder}, "cookie_secret")
c.JupyterHub.cleanup_servers = True

c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password}
c.Authenticator.allowed_users = set({users})
c.JupyterHub.load_groups = {groups}

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join({folder}, "home", "{{username}}")
c.Spawner.cmd = [{python}, "-m", "jupyterhub.singleuser"]
c.Spawner.args = ["--allow-root"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300
c.Spawner.environment = {{
    "JUPYTER_CONFIG_DIR": {jupyter_config},
    "JUPYTER_DATA_DIR": {jupyter_data},
    "NBSHARE_SERVER": {url} + "/services/nbshare",
    # each user's nbshare history and settings in their own home
    "XDG_DATA_HOME": lambda spawner: os.path.join({folder}, "home", spawner.user.name, ".local", "share"),
    "XDG_CONFIG_HOME": lambda spawner: os.path.join({folder}, "home", spawner.user.name, ".config"),
}}
# The users' servers' own token identifies them to nbshare too (the Share button).
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    "access:services!service=nbshare",
]

c.JupyterHub.services = [
    {{
        "name": "nbshare",
        "url": {service_url},
        "command": [{python}, "-m", "nbshare", "serve"],
        "environment": {{
            "NBSHARE_HUB_AUTH": "true",
            "NBSHARE_DATA_DIR": os.path.join({folder}, "nbshare-data"),
            "NBSHARE_JUPYTER_URL": {url} + "/hub/user-redirect",
            "NBSHARE_RENDER_WORKERS": "1",
            "NBSHARE_ACCESS_LOG": "json",
        }},
        "oauth_no_confirm": True,
    }},
    {{"name": "tester", "api_token": {admin_token}}},
]
c.JupyterHub.load_roles = [
    {{"name": "user", "scopes": ["self", "access:services!service=nbshare"]}},
    {{"name": "tester", "scopes": ["admin:users", "admin:servers", "tokens"], "services": ["tester"]}},
]
"""
