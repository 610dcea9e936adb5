# ruff: noqa: S603  (tests run this package's own Python API)
"""Publishing from Python and from `%nbshare`, with a given Python: the test's own, or a fresh
virtual environment's (a light client without the server extra). Each step runs in that
Python (a subprocess, or a kernel started from it), against a server URL, in a private
history and config folder (`nbshare_env`), so the same steps serve every install."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import nbformat

from helpers import clean_env

# Prints the returned Share as JSON, or the exception's class name and message.
_WRAPPER = """
import dataclasses, json, warnings
import nbshare
warnings.simplefilter("always")
def main():
{body}
try:
    result = main()
    if dataclasses.is_dataclass(result):
        result = dataclasses.asdict(result)
    elif isinstance(result, list):
        result = [dataclasses.asdict(r) for r in result]
    print(json.dumps({{"ok": result}}))
except nbshare.NbshareError as exc:
    print(json.dumps({{"error": type(exc).__name__, "message": exc.message,
                       "bases": [c.__name__ for c in type(exc).__mro__]}}))
"""


def nbshare_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment without NBSHARE_* settings whose history and config live under `home`."""
    return clean_env(XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"), **extra)


def config_file(home: Path) -> Path:
    """The config file `nbshare_env(home)` points at."""
    return home / "config" / "nbshare" / "config.toml"


def history_file(home: Path) -> Path:
    return home / "data" / "nbshare" / "published.json"


def run_api(python: str, body: str, env: dict[str, str], *, cwd: Path | None = None) -> dict[str, Any]:
    """Run `body` (the body of a function that returns a Share, a list of them, or None) in
    `python`: {"ok": ...} or {"error": class name, "message": ..., "bases": [...]}, plus
    "stderr" (warnings go there)."""
    code = _WRAPPER.format(body=textwrap.indent(textwrap.dedent(body).strip(), "    "))
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["stderr"] = done.stderr
    return result


def api_ok(python: str, body: str, env: dict[str, str], **kw: Any) -> Any:
    result = run_api(python, body, env, **kw)
    assert "ok" in result, result
    return result["ok"]


# --- the magic in a real kernel ------------------------------------------------------------


def kernel_dir(python: str, folder: Path) -> Path:
    """A kernels folder holding one spec, "nbshare-test", that runs `python`'s ipykernel."""
    spec = folder / "kernels" / "nbshare-test"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "test", "language": "python"})
    )
    return spec.parent


def notebook_of(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nb.metadata["kernelspec"] = {"name": "nbshare-test", "display_name": "test", "language": "python"}
    return nb


def run_in_kernel(python: str, nb: nbformat.NotebookNode, folder: Path, env: dict[str, str]) -> Any:
    """Execute `nb` in a kernel of `python` (with `env`, started in `folder`), as Jupyter
    would; returns the executed notebook (errors stay in the cells' outputs)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    specs = KernelSpecManager(kernel_dirs=[str(kernel_dir(python, folder / ".kernel"))])
    # Unix sockets in the test's folder: no TCP port, no warning about plain-text TCP.
    sockets = folder / ".kernel" / "ipc"
    km = KernelManager(
        kernel_name="nbshare-test", kernel_spec_manager=specs, transport="ipc", ip=str(sockets)
    )
    client = NotebookClient(
        nb, km=km, timeout=300, allow_errors=True, resources={"metadata": {"path": str(folder)}}
    )
    try:
        client.execute(env=env, cwd=str(folder))
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    return nb


def outputs_of(cell: Any) -> tuple[str, str]:
    """A cell's outputs: (HTML of its displays, all of its text: plain displays, streams, errors)."""
    html, text = [], []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        html.append(data.get("text/html", ""))
        text.append(data.get("text/plain", ""))
        text.append(out.get("text", ""))
        if out.get("output_type") == "error":
            text.append(f"{out['ename']}: {out['evalue']}")
    return "".join(html), "\n".join(text)


# --- the magic in IPython's own shell (in a Python of its own) -----------------------------

_SHELL = """
import getpass, json, sys
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
answers = json.loads(sys.argv[2])
asked = []
def fake_getpass(prompt="Password: "):
    asked.append(prompt)
    return answers.pop(0)
getpass.getpass = fake_getpass  # what Jupyter's hidden input box would answer
shell = InteractiveShell.instance()
with capture_output() as cap:
    shell.run_line_magic("load_ext", "nbshare")
    result = shell.run_cell(sys.argv[1])
print(json.dumps({
    "outputs": [out.data for out in cap.outputs],
    "stdout": cap.stdout,
    "stderr": cap.stderr,
    "asked": asked,
    "error": repr(result.error_in_exec) if result.error_in_exec else None,
}))
"""


def magic_in_shell(python: str, cell: str, env: dict[str, str], *, answers: list[str] = ()) -> dict[str, Any]:
    """Run `cell` (e.g. "%nbshare nb.ipynb --password") in an IPython shell of `python`, whose
    getpass answers `answers` in turn: its display outputs (mime bundles), stdout, stderr
    (UsageErrors are printed there), the prompts asked, and any exception."""
    done = subprocess.run(
        [python, "-c", _SHELL, cell, json.dumps(list(answers))],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])
