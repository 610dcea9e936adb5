"""`pip install nbshare` is the light client: what a user puts in a kernel's environment.

nbshare's wheel is built from this tree and installed, without the `server` extra, into a
fresh virtual environment, offline, from the wheelhouse scripts/wheelhouse.sh fills during
`make test`'s set-up. That environment must hold none of the service's packages, must say what
to install when asked to serve, and must publish to a server run from the full install."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest

from api_helpers import api_ok, nbshare_env, notebook_of, outputs_of, run_api, run_in_kernel
from cli_helpers import share_url_re
from helpers import WHEELHOUSE, clean_env, code, markdown, notebook

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# What the issue names, and what pulls them in: none may come with the client.
SERVER_ONLY = (
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "obstore",
    "argon2-cffi",
    "psycopg",
    "psycopg-binary",
    "nbconvert",
    "prometheus-client",
)
INSTALL_TIMEOUT = 900  # building a wheel and installing ~40 packages on a busy machine


class LightEnv:
    """A virtual environment holding nbshare without the server extra (plus ipykernel, as a
    kernel's environment would have), and how to run things in it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.python = folder / "bin" / "python"
        self.nbshare = folder / "bin" / "nbshare"

    def run(self, *argv: str | Path, env: dict[str, str], stdin: str | None = None):
        return subprocess.run(
            [str(a) for a in argv], capture_output=True, text=True, env=env, input=stdin, timeout=300
        )

    def distributions(self) -> set[str]:
        listing = self.run(
            self.python,
            "-c",
            "import importlib.metadata as m, json; "
            "print(json.dumps([d.metadata['Name'] for d in m.distributions()]))",
            env=offline_env(),
        )
        assert listing.returncode == 0, listing.stderr
        return {canonical(name) for name in json.loads(listing.stdout)}


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def light_env(home: Path, **extra: str) -> dict[str, str]:
    """nbshare_env (private history and config) for the light venv: no PYTHONPATH, so nothing
    of this checkout's source is importable there."""
    env = nbshare_env(home, **extra)
    env.pop("PYTHONPATH", None)
    return env


def offline_env(**extra: str) -> dict[str, str]:
    """pip sees only the wheelhouse; no PYTHONPATH leaks this checkout's source into the venv."""
    env = clean_env(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(WHEELHOUSE), PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def light(tmp_path_factory) -> LightEnv:
    if not any(WHEELHOUSE.glob("httpx-*.whl")):
        pytest.skip("no offline wheels: run scripts/wheelhouse.sh once (it needs PyPI)")
    base = tmp_path_factory.mktemp("light")
    wheels = base / "wheels"

    def pip(python: Path | str, *argv: str | Path) -> None:
        done = subprocess.run(
            [str(python), "-m", "pip", *map(str, argv)],
            capture_output=True,
            text=True,
            env=offline_env(),
            timeout=INSTALL_TIMEOUT,
        )
        assert done.returncode == 0, f"pip {argv[0]} failed:\n{done.stdout}\n{done.stderr}"

    # The wheel a user would get from PyPI, built from this tree with its declared build system.
    pip(sys.executable, "wheel", "--no-deps", "--wheel-dir", wheels, ROOT)
    (built,) = wheels.glob("nbshare-*.whl")
    env = LightEnv(base / "venv")
    venv.EnvBuilder(with_pip=True).create(env.folder)
    pip(env.python, "install", built, "ipykernel")
    return env


def test_the_install_puts_the_jupyter_extensions_where_jupyter_finds_them(light):
    """`pip install nbshare` is all a Jupyter user does: the prebuilt labextension and the
    server extension's enable file come with the wheel, no `jupyter lab build`."""
    extension = light.folder / "share" / "jupyter" / "labextensions" / "nbshare"
    assert json.loads((extension / "package.json").read_text())["name"] == "nbshare"
    assert json.loads((extension / "install.json").read_text())["packageName"] == "nbshare"
    assert list((extension / "static").glob("remoteEntry.*.js")), "the federated build is missing"
    enable = light.folder / "etc" / "jupyter" / "jupyter_server_config.d" / "nbshare.json"
    assert json.loads(enable.read_text()) == {"ServerApp": {"jpserver_extensions": {"nbshare.jupyter": True}}}


def test_the_client_install_holds_none_of_the_service_packages(light):
    installed = light.distributions()
    assert "nbshare" in installed
    assert not installed & set(SERVER_ONLY), f"the light client pulled in {installed & set(SERVER_ONLY)}"
    # ...and everything a client does imports without them.
    imported = light.run(
        light.python,
        "-c",
        "import nbshare, nbshare.cli, nbshare.client, nbshare.history, nbshare.bundle.outgoing, "
        "nbshare.bundle.incoming, nbshare.bundle.environment, nbshare.bundle.check; "
        "from nbshare import download_link; print('ok')",
        env=offline_env(),
    )
    assert imported.returncode == 0 and imported.stdout.strip() == "ok", imported.stderr


@pytest.mark.parametrize("command", ["serve", "purge"])
def test_the_service_commands_say_what_to_install(light, command, tmp_path):
    done = light.run(light.nbshare, command, "--data-dir", tmp_path / "data", env=offline_env())
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # one line, no traceback
    assert f"nbshare {command} needs the server packages" in lines[0]
    assert "pip install 'nbshare[server]'" in lines[0]
    assert not (tmp_path / "data").exists()  # nothing was created


def test_the_light_cli_publishes_to_a_server_run_from_the_full_install(light, server, tmp_path):
    sent = notebook(markdown("# Light client\n\nSent without the server installed."), code("1 + 1", "c"))
    path = tmp_path / "light.ipynb"
    path.write_bytes(sent)
    env = offline_env(XDG_DATA_HOME=str(tmp_path / "xdg"))
    published = light.run(light.nbshare, "publish", path, "--server", server.url, "--json", env=env)
    assert published.returncode == 0, published.stderr
    share = json.loads(published.stdout)
    page = httpx.get(share["url"], timeout=60)
    assert page.status_code == 200 and "Light client" in page.text
    assert httpx.get(share["url"] + ".ipynb", timeout=60).content == sent
    listed = light.run(light.nbshare, "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert [entry["id"] for entry in json.loads(listed.stdout)] == [share["id"]]


def sent_notebook(folder: Path, title: str) -> tuple[Path, bytes]:
    sent = notebook(markdown(f"# {title}"), code("2 * 21", "c"))
    path = folder / "sent.ipynb"
    path.write_bytes(sent)
    return path, sent


def test_the_light_python_api_publishes_to_a_full_server(light, server, tmp_path):
    path, sent = sent_notebook(tmp_path, "From the light API")
    env = light_env(tmp_path / "home")
    # The nbshare that runs is the venv's, not this checkout's.
    where = run_api(str(light.python), "import sys; print(nbshare.__file__, file=sys.stderr)", env)
    assert where["stderr"].strip().startswith(str(light.folder)), where
    share = api_ok(str(light.python), f"return nbshare.publish({str(path)!r}, server={server.url!r})", env)
    assert share["url"].startswith(f"{server.url}/n/") and share["version"] == 1
    assert "From the light API" in httpx.get(share["url"], timeout=60).text
    assert httpx.get(share["url"] + ".ipynb", timeout=60).content == sent
    assert [s["id"] for s in api_ok(str(light.python), "return nbshare.shares()", env)] == [share["id"]]


def test_the_light_magic_publishes_from_a_kernel(light, server, tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    path, sent = sent_notebook(folder, "From the light magic")
    nb = notebook_of(
        "import nbshare; print(nbshare.__file__)",
        "%load_ext nbshare",
        f"%nbshare {path} --server {server.url}",
    )
    ran = run_in_kernel(str(light.python), nb, folder, light_env(tmp_path / "home"))
    _, text = outputs_of(ran.cells[0])
    assert text.strip().startswith(str(light.folder)), text  # the kernel runs the light client
    html, text = outputs_of(ran.cells[2])
    url = re.search(share_url_re(server.url), text).group(0)
    assert f'href="{url}"' in html
    assert "From the light magic" in httpx.get(url, timeout=60).text
    assert httpx.get(url + ".ipynb", timeout=60).content == sent
