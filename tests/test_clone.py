"""A whole analysis, end to end: `nbshare publish FOLDER`, then `nbshare clone URL DIR --check`
on a real server, building a real environment offline from the wheelhouse that
scripts/wheelhouse.sh fills during `make test`'s set-up."""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import httpx
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import WHEELHOUSE, clean_env

pytestmark = pytest.mark.slow


def run(
    *args,
    cwd: Path,
    input: str | None = None,
    offline_pip: bool = False,
    wheels: Path | None = None,
    timeout: int = 600,
    **env: str,
) -> subprocess.CompletedProcess:
    extra = dict(env)
    if offline_pip:
        links = f"{WHEELHOUSE} {wheels}" if wheels else str(WHEELHOUSE)
        extra.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=links, PIP_DISABLE_PIP_VERSION_CHECK="1")
    return subprocess.run(
        [sys.executable, "-m", "nbshare", *map(str, args)],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(XDG_DATA_HOME=str(cwd / "xdg"), **extra),
        stdin=None if input is not None else subprocess.DEVNULL,
    )


def executed(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def build_wheel(root: Path) -> Path:
    """A wheel of `churnstats`, a package nothing else installs: the clone can only import it
    if the environment was really built from the bundle's requirements.txt."""
    source = root / "churnstats-src"
    source.mkdir()
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "churnstats"\nversion = "1.0"\n'
    )
    (source / "churnstats.py").write_text("RATE = 0.25\n")
    wheels = root / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(source)],
        check=True,
        env=clean_env(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(WHEELHOUSE)),
    )
    return wheels


def write_analysis(root: Path) -> Path:
    """Two notebooks reading a data file and a helper module, with a requirements.txt naming
    the packages the sender's notebooks import (python-dateutil from the wheelhouse, and
    churnstats, built here)."""
    project = root / "churn"
    (project / "data").mkdir(parents=True)
    (project / "data" / "customers.csv").write_text("name,months\nada,12\nbob,30\n")
    (project / "helpers.py").write_text("def total(rows):\n    return sum(int(r[1]) for r in rows)\n")
    (project / "requirements.txt").write_text("python-dateutil\nchurnstats==1.0\n")
    (project / "README.md").write_text("# Churn\n\nStart with [the analysis](analysis.ipynb).\n")
    (project / ".ipynb_checkpoints").mkdir()
    (project / ".ipynb_checkpoints" / "analysis-checkpoint.ipynb").write_text("{}")
    (project / ".gitignore").write_text("scratch/\n")
    (project / "scratch").mkdir()
    (project / "scratch" / "notes.txt").write_text("not shared")
    analysis = executed(
        [
            new_markdown_cell(
                "# Analysis\nSee [the report](report.ipynb) and [the data](data/customers.csv)."
            ),
            new_code_cell(
                "import csv\nfrom helpers import total\n"
                "rows = list(csv.reader(open('data/customers.csv')))[1:]\nprint(total(rows))",
                execution_count=1,
                outputs=[new_output("stream", name="stdout", text="42\n")],
            ),
        ]
    )
    report = executed(
        [
            new_markdown_cell("# Report"),
            new_code_cell(
                "from dateutil.relativedelta import relativedelta\nrelativedelta(months=+1).months",
                execution_count=1,
                outputs=[new_output("execute_result", data={"text/plain": "1"}, execution_count=1)],
            ),
            new_code_cell(
                "import churnstats\nchurnstats.RATE",
                execution_count=2,
                outputs=[new_output("execute_result", data={"text/plain": "0.25"}, execution_count=2)],
            ),
        ]
    )
    nbformat.write(analysis, project / "analysis.ipynb")
    nbformat.write(report, project / "report.ipynb")
    return project


def test_publish_a_folder_then_clone_build_and_check_it(server, tmp_path):
    if not (WHEELHOUSE / "ipykernel").exists() and not list(WHEELHOUSE.glob("ipykernel-*.whl")):
        pytest.skip("no wheelhouse: run scripts/wheelhouse.sh (make test does)")
    project = write_analysis(tmp_path)

    shown = run("publish", project, "--server", server.url, "--json", cwd=tmp_path)
    assert shown.returncode != 0 and "--yes" in shown.stderr  # not a terminal: it will not guess
    published = run("publish", project, "--server", server.url, "--json", "--yes", cwd=tmp_path)
    assert published.returncode == 0, published.stderr
    for line in ("analysis.ipynb", "report.ipynb", "data/customers.csv", "helpers.py", "requirements.txt"):
        assert line in published.stderr  # the table of what goes up
    assert "scratch" not in published.stderr and "checkpoint" not in published.stderr
    answer = json.loads(published.stdout)
    info = httpx.get(f"{server.url}/api/v1/shares/{answer['id']}", timeout=30).json()
    assert info["kind"] == "bundle"
    assert sorted(f["name"] for f in info["files"]) == [
        ".gitignore",
        "README.md",
        "analysis.ipynb",
        "data/customers.csv",
        "helpers.py",
        "report.ipynb",
        "requirements.txt",
    ]
    assert [e["path"] for e in info["environment"]] == ["requirements.txt"]
    index = httpx.get(answer["url"], timeout=30).text
    assert f"nbshare clone {answer['url']}" in index

    wrong = run("clone", answer["url"], tmp_path / "x", "--no-env", "--check", cwd=tmp_path)
    assert wrong.returncode != 0 and "choose one" in wrong.stderr

    dest = tmp_path / "copy"
    cloned = run(
        "clone",
        answer["url"],
        dest,
        "--check",
        "--timeout",
        "120",
        cwd=tmp_path,
        offline_pip=True,
        wheels=build_wheel(tmp_path),
    )
    assert cloned.returncode == 0, cloned.stderr + cloned.stdout
    assert "checksum verified" in cloned.stderr
    for name in ("data/customers.csv", "helpers.py", "requirements.txt"):
        assert (dest / name).read_bytes() == (project / name).read_bytes()
    for name in ("analysis.ipynb", "report.ipynb"):  # the same, but for the kernel they open on
        copy, original = nbformat.read(dest / name, 4), nbformat.read(project / name, 4)
        assert copy.metadata.pop("kernelspec")["name"] == "nbshare-copy"
        original.metadata.pop("kernelspec")
        assert copy == original
    assert not (dest / "scratch").exists()
    assert (dest / ".venv" / "bin" / "python").exists()
    assert "2 of 2 notebooks reproduce" in cloned.stderr
    # It ends with the one command that opens the notebooks, on stdout.
    assert cloned.stdout.strip().splitlines()[-1].startswith("cd ")
    assert "jupyter" in cloned.stdout

    again = run("clone", answer["url"], dest, "--no-env", cwd=tmp_path)
    assert again.returncode == 1 and "holds an earlier clone" in again.stderr  # never writes over one


def test_check_reports_cells_that_fail_or_differ(server, tmp_path):
    if not list(WHEELHOUSE.glob("ipykernel-*.whl")):
        pytest.skip("no wheelhouse: run scripts/wheelhouse.sh (make test does)")
    project = tmp_path / "p"
    project.mkdir()
    nb = executed(
        [
            new_code_cell(
                "print(6 * 7)", execution_count=1, outputs=[new_output("stream", name="stdout", text="41\n")]
            ),
            new_code_cell("{}['missing']", execution_count=2, outputs=[]),
        ]
    )
    nbformat.write(nb, project / "broken.ipynb")
    (project / "requirements.txt").write_text("")
    published = run("publish", project, "--server", server.url, "--json", "--yes", cwd=tmp_path)
    assert published.returncode == 0, published.stderr
    url = json.loads(published.stdout)["url"]
    cloned = run("clone", url, tmp_path / "copy", "--check", cwd=tmp_path, offline_pip=True)
    assert cloned.returncode == 1, cloned.stderr
    assert "KeyError" in cloned.stderr
    assert "41" in cloned.stderr and "42" in cloned.stderr  # the differing output, both ways
    assert "0 of 1 notebooks reproduce" in cloned.stderr


def test_infer_env_pins_the_installed_version_of_imported_packages(server, tmp_path):
    project = tmp_path / "solo"
    project.mkdir()
    nb = executed(
        [
            new_code_cell(
                "import os, json\nimport httpx\nfrom click import echo\nimport localmod\n"
                "%matplotlib inline\n!pip list"
            ),
        ]
    )
    nbformat.write(nb, project / "fetch.ipynb")
    (project / "localmod.py").write_text("import rich\n")
    published = run(
        "publish",
        project / "fetch.ipynb",
        project / "localmod.py",
        "--infer-env",
        "--yes",
        "--server",
        server.url,
        "--json",
        cwd=tmp_path,
    )
    assert published.returncode == 0, published.stderr
    assert f"httpx=={version('httpx')}" in published.stderr  # shown to the sender first
    info = httpx.get(json.loads(published.stdout)["url"].replace("/n/", "/api/v1/shares/"), timeout=30).json()
    requirements = httpx.get(
        next(f["url"] for f in info["files"] if f["name"] == "requirements.txt"), timeout=30
    ).text
    pins = {line for line in requirements.splitlines() if line and not line.startswith("#")}
    assert pins == {f"httpx=={version('httpx')}", f"click=={version('click')}", f"rich=={version('rich')}"}
    runtime = httpx.get(next(f["url"] for f in info["files"] if f["name"] == "runtime.txt"), timeout=30).text
    assert runtime.strip() == f"python-{sys.version_info.major}.{sys.version_info.minor}"
    assert {e["path"] for e in info["environment"]} == {"requirements.txt", "runtime.txt"}


@pytest.mark.skipif(not shutil.which("script"), reason="needs util-linux `script` for a pseudo-terminal")
def test_on_a_terminal_publish_offers_to_infer_the_environment(server, tmp_path):
    project = tmp_path / "offer"
    project.mkdir()
    nbformat.write(executed([new_code_cell("import httpx")]), project / "a.ipynb")
    argv = [sys.executable, "-m", "nbshare", "publish", str(project), "--server", server.url, "--json"]
    out = tmp_path / "stdout.txt"
    # Answers typed at the prompts: yes to inferring, yes to uploading.
    tty = subprocess.run(
        ["script", "-qec", f"{shlex.join(argv)} > {shlex.quote(str(out))}", "/dev/null"],
        input="y\ny\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(XDG_DATA_HOME=str(tmp_path / "xdg")),
    )
    assert tty.returncode == 0, tty.stdout
    assert "inferred from the notebooks' imports" in tty.stdout
    assert f"httpx=={version('httpx')}" in tty.stdout
    info = httpx.get(json.loads(out.read_text())["url"].replace("/n/", "/api/v1/shares/"), timeout=30).json()
    assert {e["path"] for e in info["environment"]} == {"requirements.txt", "runtime.txt"}


def test_clone_a_protected_single_notebook_asks_for_the_password(server, tmp_path):
    nb = executed([new_markdown_cell("# Secret")])
    path = tmp_path / "secret.ipynb"
    nbformat.write(nb, path)
    published = run(
        "publish",
        path,
        "--server",
        server.url,
        "--json",
        "--password-stdin",
        cwd=tmp_path,
        input="hunter2 but longer\n",
    )
    assert published.returncode == 0, published.stderr
    url = json.loads(published.stdout)["url"]

    refused = run("clone", url, tmp_path / "a", "--no-env", cwd=tmp_path)
    assert refused.returncode == 1 and "--password-stdin" in refused.stderr
    wrong = run("clone", url, tmp_path / "b", "--no-env", "--password-stdin", cwd=tmp_path, input="nope\n")
    assert wrong.returncode == 1 and "not right" in wrong.stderr
    assert not (tmp_path / "b").exists()
    cloned = run(
        "clone",
        url,
        tmp_path / "c",
        "--no-env",
        "--password-stdin",
        cwd=tmp_path,
        input="hunter2 but longer\n",
    )
    assert cloned.returncode == 0, cloned.stderr
    assert (
        hashlib.sha256((tmp_path / "c" / "secret.ipynb").read_bytes()).digest()
        == hashlib.sha256(path.read_bytes()).digest()
    )


def download_link_analysis(root: Path) -> Path:
    """A folder whose notebook only needs nbshare, for download_link, run for real so its
    outputs are the ones the clone's --check compares with."""
    from nbclient import NotebookClient

    project = root / "links"
    project.mkdir()
    nb = executed(
        [
            new_markdown_cell("# Results to download"),
            new_code_cell(
                "from nbshare import download_link\nlink = download_link(b'a,b\\n1,2\\n', 'table.csv')"
            ),
            new_code_cell("link"),
            new_code_cell("print(type(link).__name__)"),
        ]
    )
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(project)}}
    ).execute()
    assert "table.csv" in nb.cells[2].outputs[0]["data"]["text/plain"]
    nbformat.write(nb, project / "links.ipynb")
    return project


def test_a_download_link_notebook_published_with_infer_env_clones_and_checks(server, tmp_path):
    """Issue 12's case: nbshare is installed from a checkout here, so --infer-env must not pin
    it (no index has it), and clone must still give the notebook an environment where
    `from nbshare import download_link` works, then open the notebook on that kernel."""
    if not list(WHEELHOUSE.glob("ipykernel-*.whl")):
        pytest.skip("no wheelhouse: run scripts/wheelhouse.sh (make test does)")
    project = download_link_analysis(tmp_path)
    original = json.loads((project / "links.ipynb").read_text())

    published = run(
        "publish", project, "--infer-env", "--yes", "--server", server.url, "--json", cwd=tmp_path
    )
    assert published.returncode == 0, published.stderr
    assert "Not pinned: nbshare 0.1.0, installed from a local folder (editable)" in published.stderr
    url = json.loads(published.stdout)["url"]
    info = httpx.get(url.replace("/n/", "/api/v1/shares/"), timeout=30).json()
    requirements = httpx.get(
        next(f["url"] for f in info["files"] if f["name"] == "requirements.txt"), timeout=30
    ).text
    assert [line for line in requirements.splitlines() if not line.startswith("#")] == []
    assert "nbshare 0.1.0, installed from a local folder (editable)" in requirements

    dest = tmp_path / "copy"
    cloned = run("clone", url, dest, "--check", "--timeout", "120", cwd=tmp_path, offline_pip=True)
    assert cloned.returncode == 0, cloned.stderr + cloned.stdout
    assert "installing the nbshare running here (0.1.0" in cloned.stderr
    assert "1 of 1 notebooks reproduce" in cloned.stderr
    python = dest / ".venv" / "bin" / "python"
    # -I: not through this test's PYTHONPATH; the clone's own environment has it.
    imported = subprocess.run(
        [python, "-I", "-c", "from nbshare import download_link; import fastapi"],
        capture_output=True,
        text=True,
    )
    assert "No module named 'fastapi'" in imported.stderr  # nbshare imported; no server packages came with it

    # The copy opens on the clone's kernel, and says so; only the kernelspec changed.
    copy = json.loads((dest / "links.ipynb").read_text())
    assert copy["metadata"]["kernelspec"] == {
        "name": "nbshare-copy",
        "display_name": "Python (copy, nbshare)",
        "language": "python",
    }
    assert "Set the kernel of 1 notebook to 'Python (copy, nbshare)' (nbshare-copy)" in cloned.stderr
    assert {**copy, "metadata": {}} == {**original, "metadata": {}}
    assert copy["metadata"]["language_info"] == original["metadata"]["language_info"]
    marker = json.loads((dest / ".nbshare-clone").read_text())
    assert marker["complete"] is True and marker["url"] == url
    assert marker["kernelspecs_before"] == {"links.ipynb": original["metadata"]["kernelspec"]}
    assert "JUPYTER_PATH=.venv/share/jupyter jupyter lab" in cloned.stdout


def test_a_failed_clone_is_redone_with_force_and_nothing_else_is_replaced(server, tmp_path):
    if not list(WHEELHOUSE.glob("ipykernel-*.whl")):
        pytest.skip("no wheelhouse: run scripts/wheelhouse.sh (make test does)")
    project = tmp_path / "p"
    project.mkdir()
    nbformat.write(executed([new_code_cell("1 + 1")]), project / "a.ipynb")
    (project / "requirements.txt").write_text("surely-not-in-the-wheelhouse==1.0\n")
    published = run("publish", project, "--server", server.url, "--json", "--yes", cwd=tmp_path)
    assert published.returncode == 0, published.stderr
    url = json.loads(published.stdout)["url"]

    dest = tmp_path / "copy"
    failed = run("clone", url, dest, cwd=tmp_path, offline_pip=True)
    assert failed.returncode == 1 and "--force" in failed.stderr, failed.stderr
    assert (dest / ".venv").exists() and not json.loads((dest / ".nbshare-clone").read_text())["complete"]
    again = run("clone", url, dest, "--no-env", cwd=tmp_path)
    assert again.returncode == 1 and "holds an earlier clone; add --force" in again.stderr
    (dest / "scratch.txt").write_text("made in the clone")
    redone = run("clone", url, dest, "--no-env", "--force", cwd=tmp_path)
    assert redone.returncode == 0, redone.stderr
    assert "Replaced the earlier clone" in redone.stderr
    assert sorted(p.name for p in dest.iterdir()) == [".nbshare-clone", "a.ipynb", "requirements.txt"]

    # A folder nbshare did not make is never emptied, --force or not.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    refused = run("clone", url, mine, "--no-env", "--force", cwd=tmp_path)
    assert refused.returncode == 1
    assert "--force only replaces a folder nbshare clone made" in refused.stderr
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]


def test_a_share_that_pinned_an_unreleased_nbshare_still_clones(server, tmp_path):
    """What --infer-env wrote before: `nbshare==0.1.0`, which no index has. That line alone
    fails; the rest of the environment is built, and the notebook gets the recipient's nbshare."""
    if not list(WHEELHOUSE.glob("ipykernel-*.whl")):
        pytest.skip("no wheelhouse: run scripts/wheelhouse.sh (make test does)")
    project = download_link_analysis(tmp_path)
    (project / "requirements.txt").write_text("nbshare==0.1.0\npython-dateutil\n")
    published = run("publish", project, "--yes", "--server", server.url, "--json", cwd=tmp_path)
    assert published.returncode == 0, published.stderr
    dest = tmp_path / "old"
    cloned = run(
        "clone", json.loads(published.stdout)["url"], dest, "--check", cwd=tmp_path, offline_pip=True
    )
    assert cloned.returncode == 0, cloned.stderr + cloned.stdout
    failed_pin = "Not reproduced: nbshare: it asks for nbshare==0.1.0, which could not be installed"
    assert failed_pin + "; the nbshare running here stands in" in cloned.stderr
    assert "installing the nbshare running here" in cloned.stderr
    assert "1 of 1 notebooks reproduce" in cloned.stderr
    python = dest / ".venv" / "bin" / "python"
    assert subprocess.run([python, "-I", "-c", "import dateutil, nbshare"], check=False).returncode == 0
