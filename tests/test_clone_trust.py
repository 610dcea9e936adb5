"""`nbshare clone` runs nothing that came with the share unless the person agrees (issue 10,
item 1). A hostile bundle written here carries `venv/`, `pip/` and `ipykernel/` packages and a
`setup.py`, each of which writes a marker file when run; it is published to a real server and
cloned, offline, from the wheelhouse."""

from __future__ import annotations

import ensurepip
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import clean_env, start_server
from nbshare.bundle.environment import build_environment, plan_environment
from nbshare.bundle.trust import filtered_conda_spec, names_packages_only, scan_requirements
from nbshare.client import NbshareClient
from test_cli_private import Terminal

WHEELHOUSE = Path(__file__).resolve().parents[1] / ".cache" / "wheelhouse"
# setuptools for pip's isolated build of the share's setup.py, offline (only with --trust).
BUNDLED = Path(ensurepip.__file__).parent / "_bundled"
NOTEBOOK = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})
TOOLS = ("venv/__main__.py", "venv/__init__.py", "pip/__init__.py", "pip/__main__.py",
         "ipykernel/__init__.py", "ipykernel/__main__.py")


def marker_code(markers: Path, name: str) -> str:
    return f"import pathlib\npathlib.Path({str(markers / name)!r}).write_text('ran')\n"


def hostile_bundle(root: Path, markers: Path, *, setup_py: bool) -> Path:
    project = root / "hostile"
    project.mkdir()
    (project / "a.ipynb").write_text(NOTEBOOK)
    for path in TOOLS:
        (project / path).parent.mkdir(exist_ok=True)
        (project / path).write_text(marker_code(markers, path.replace("/", "-")))
    if setup_py:
        (project / "hostilepkg.py").write_text("ANSWER = 42\n")
        setup = ("from setuptools import setup\n"
                 "setup(name='hostilepkg', version='1.0', py_modules=['hostilepkg'])\n")
        (project / "setup.py").write_text(marker_code(markers, "setup.py") + setup)
        # setuptools' own backend, so pip needs no `wheel` from the index to build it offline
        (project / "pyproject.toml").write_text(
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n')
    return project


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not any(WHEELHOUSE.glob("ipykernel-*.whl")):
        pytest.skip("no wheelhouse: run scripts/wheelhouse.sh (make test does)")
    live = start_server(tmp_path_factory.mktemp("trust-server"), env=clean_env())
    yield live
    live.stop()


def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(XDG_DATA_HOME=str(tmp_path / "xdg"), PIP_NO_INDEX="1",
                     PIP_FIND_LINKS=f"{WHEELHOUSE} {BUNDLED}", PIP_DISABLE_PIP_VERSION_CHECK="1",
                     JUPYTER_DATA_DIR=str(tmp_path / "jupyter"))


def nbshare(tmp_path: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbshare", *map(str, args)], cwd=tmp_path, text=True,
                          capture_output=True, timeout=900, stdin=subprocess.DEVNULL, env=env(tmp_path))


def publish(server, tmp_path: Path, *, setup_py: bool) -> tuple[str, Path]:
    markers = tmp_path / "markers"
    markers.mkdir()
    project = hostile_bundle(tmp_path, markers, setup_py=setup_py)
    archive = tmp_path / "hostile.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(project.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(project).as_posix())
    # Sent with the client alone: the CLI's `publish` leaves out venv/ folders, a hostile sender need not.
    client = NbshareClient(server.url)
    try:
        return client.publish(archive)["url"], markers
    finally:
        client.close()


@pytest.mark.slow
def test_a_share_without_an_environment_runs_none_of_its_files(server, tmp_path):
    url, markers = publish(server, tmp_path, setup_py=False)
    r = nbshare(tmp_path, "clone", url, tmp_path / "copy")
    assert r.returncode == 0, r.stderr
    assert "declares no environment" in r.stderr
    assert (tmp_path / "copy" / ".venv" / "bin" / "python").exists()
    assert (tmp_path / "copy" / "venv" / "__main__.py").exists()  # the files are there, unrun
    assert sorted(p.name for p in markers.iterdir()) == []


@pytest.mark.slow
def test_setup_py_is_refused_without_a_terminal_and_runs_with_trust(server, tmp_path):
    url, markers = publish(server, tmp_path, setup_py=True)
    refused = nbshare(tmp_path, "clone", url, tmp_path / "refused")
    assert refused.returncode == 1, refused.stderr
    assert "would run code that came with the share" in refused.stderr
    assert f"pip install -e {tmp_path / 'refused'}: runs its build backend" in refused.stderr
    assert "no terminal to ask on (add --trust" in refused.stderr
    assert (tmp_path / "refused" / ".venv" / "bin" / "python").exists()  # built without it
    assert sorted(p.name for p in markers.iterdir()) == []

    trusted = nbshare(tmp_path, "clone", url, tmp_path / "trusted", "--trust")
    assert trusted.returncode == 0, trusted.stderr
    python = tmp_path / "trusted" / ".venv" / "bin" / "python"
    code = "import hostilepkg; print(hostilepkg.ANSWER)"
    assert subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, check=True).stdout.strip() == "42"
    # The share's setup.py ran, as agreed; the tools were still never replaced by its files.
    assert sorted(p.name for p in markers.iterdir()) == ["setup.py"]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_on_a_terminal_answering_no_runs_nothing(server, tmp_path):
    url, markers = publish(server, tmp_path, setup_py=True)
    terminal = Terminal([sys.executable, "-m", "nbshare", "clone", url, str(tmp_path / "copy"), "--check"],
                        env=env(tmp_path))
    terminal.expect(f"pip install -e {tmp_path / 'copy'}: runs its build backend", timeout=300)
    terminal.expect("--check runs the notebooks afterwards in any case")
    terminal.expect("Run them?")
    terminal.type("n")
    code, output = terminal.finish(timeout=900)
    assert code == 1, output
    assert "skipped 1 install step(s)" in output
    assert sorted(p.name for p in markers.iterdir()) == []


# --- what counts as the share's own code (fast) -------------------------------------------


@pytest.mark.parametrize(("line", "harmless"), [
    ("numpy", True),
    ("numpy>=1.26,<2 ; python_version > '3.9'", True),
    ("requests[socks]==2.32 --hash=sha256:abc", True),
    ("--index-url https://pypi.example.org/simple", True),
    ("--find-links=https://wheels.example.org/", True),
    ("--only-binary :all:", True),
    (".", False),
    ("./pkg", False),
    ("-e .", False),
    ("--editable=./tools", False),
    ("pkg @ file:///home/me/pkg", False),
    ("https://example.org/pkg-1.0.tar.gz", False),
    ("hostile-1.0-py3-none-any.whl", False),
    ("--find-links ./wheels", False),
    ("--index-url file:///tmp/index", False),
    ("--no-such-option", False),
])
def test_lines_that_name_packages_on_an_index_are_the_only_harmless_ones(line, harmless):
    assert names_packages_only(line) is harmless


def test_nested_requirement_files_are_read_and_split(tmp_path):
    (tmp_path / "binder").mkdir()
    (tmp_path / "binder" / "requirements.txt").write_text(
        "numpy  # comment\n-r more.txt\n-c pins.txt\n-e ..\n-r ../../outside.txt\n")
    (tmp_path / "binder" / "more.txt").write_text("pandas\\\n>=2\n./local\n")
    (tmp_path / "binder" / "pins.txt").write_text("numpy<2\n")
    scan = scan_requirements(tmp_path / "binder" / "requirements.txt", tmp_path)
    assert scan.requirements == ["numpy", "pandas >=2"]
    assert scan.constraints == ["numpy<2"]
    assert scan.local == ["./local", "-e ..", "-r ../../outside.txt"]


def test_without_consent_pip_gets_only_the_named_packages_and_starts_outside_the_share(tmp_path, monkeypatch):
    from nbshare.bundle import environment

    (tmp_path / "requirements.txt").write_text("traitlets\n-e .\n")
    (tmp_path / "setup.py").write_text("raise SystemExit('never run')\n")
    calls: list[tuple[list[str], Path]] = []
    written: list[str] = []

    def record(self, argv, check=True, cwd=None):
        calls.append((argv, cwd or self.cwd))
        written.extend(Path(a).read_text() for a in argv if a.endswith(".txt") and Path(a).exists())
        return True

    monkeypatch.setattr(environment.shutil, "which", lambda name: None)
    monkeypatch.setattr(environment._Runner, "__call__", record)
    asked: list = []
    report = build_environment(tmp_path, env_files=["requirements.txt", "setup.py"], echo=lambda s: None,
                               consent=lambda steps: asked.append(steps) or False)
    assert [step.source for step in asked[0]] == ["requirements.txt", "setup.py"]
    assert [step.source for step in report.refused] == ["requirements.txt", "setup.py"]
    install = next(argv for argv, _ in calls if "install" in argv and "pip" in argv)
    assert install[1:3] == ["-I", "-m"] and "-e" not in install and str(tmp_path) not in install
    assert written == ["traitlets\n"]
    for argv, cwd in calls:
        assert not cwd.resolve().is_relative_to(tmp_path.resolve()), argv
        if argv[0].endswith("python") or argv[0] == sys.executable:
            assert argv[1] == "-I", argv


def test_a_conda_file_loses_its_local_lines_without_consent():
    spec = {"channels": ["conda-forge", "./my-channel", "file:///srv/ch"],
            "dependencies": ["numpy", {"pip": ["requests", "-e .", "./pkg"]}]}
    kept, local = filtered_conda_spec(spec)
    assert kept == {"channels": ["conda-forge"], "dependencies": ["numpy", {"pip": ["requests"]}]}
    assert local == ["channels: ./my-channel", "channels: file:///srv/ch", "pip: -e .", "pip: ./pkg"]


def test_a_package_in_pyproject_is_the_shares_own_code(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[build-system]\nrequires = ["hatchling"]\n'
                                            'build-backend = "hatchling.build"\n[project]\nname = "p"\n')
    (tmp_path / "src").mkdir()
    plan = plan_environment(tmp_path, ["pyproject.toml"], which=lambda name: None)
    assert plan.pip_args == []
    assert plan.local[0].what == [f"pip install -e {tmp_path}: runs its build backend (hatchling.build) "
                                  "on the project's own code"]
