"""`nbshare clone` runs nothing that came with the share unless the person agrees (issue 10,
item 1). A hostile bundle written here carries `venv/`, `pip/` and `ipykernel/` packages and a
`setup.py`, each of which writes a marker file when run; it is published to a real server and
cloned, offline, from the wheelhouse."""

from __future__ import annotations

import ensurepip
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cli_helpers import Terminal
from helpers import WHEELHOUSE, clean_env, notebook
from nbshare.bundle.environment import build_environment, plan_environment
from nbshare.bundle.trust import logical_lines, names_packages_only, scan_conda_spec, scan_requirements
from nbshare.client import NbshareClient

# setuptools for pip's isolated build of the share's setup.py, offline (only with --trust).
BUNDLED = Path(ensurepip.__file__).parent / "_bundled"
NOTEBOOK = notebook()
TOOLS = (
    "venv/__main__.py",
    "venv/__init__.py",
    "pip/__init__.py",
    "pip/__main__.py",
    "ipykernel/__init__.py",
    "ipykernel/__main__.py",
)


def marker_code(markers: Path, name: str) -> str:
    return f"import pathlib\npathlib.Path({str(markers / name)!r}).write_text('ran')\n"


def hostile_bundle(root: Path, markers: Path, *, setup_py: bool) -> Path:
    project = root / "hostile"
    project.mkdir()
    (project / "a.ipynb").write_bytes(NOTEBOOK)
    for path in TOOLS:
        (project / path).parent.mkdir(exist_ok=True)
        (project / path).write_text(marker_code(markers, path.replace("/", "-")))
    if setup_py:
        (project / "hostilepkg.py").write_text("ANSWER = 42\n")
        setup = (
            "from setuptools import setup\n"
            "setup(name='hostilepkg', version='1.0', py_modules=['hostilepkg'])\n"
        )
        (project / "setup.py").write_text(marker_code(markers, "setup.py") + setup)
        # setuptools' own backend, so pip needs no `wheel` from the index to build it offline
        (project / "pyproject.toml").write_text(
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        )
    return project


# The clones below build their environment offline, from the wheelhouse.
needs_wheelhouse = pytest.mark.skipif(
    not any(WHEELHOUSE.glob("ipykernel-*.whl")),
    reason="no wheelhouse: run scripts/wheelhouse.sh (make test does)",
)


def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(
        XDG_DATA_HOME=str(tmp_path / "xdg"),
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=f"{WHEELHOUSE} {BUNDLED}",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter"),
    )


def nbshare(tmp_path: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nbshare", *map(str, args)],
        cwd=tmp_path,
        text=True,
        capture_output=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
        env=env(tmp_path),
    )


def publish_hostile(server, tmp_path: Path, *, setup_py: bool) -> tuple[str, Path]:
    markers = tmp_path / "markers"
    markers.mkdir()
    project = hostile_bundle(tmp_path, markers, setup_py=setup_py)
    return publish_folder(server, project), markers


def publish_folder(server, project: Path) -> str:
    """`project` zipped as it is and published; the share's URL. Sent with the client alone:
    the CLI's `publish` leaves out venv/ folders, a hostile sender need not."""
    archive = project.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(project.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(project).as_posix())
    client = NbshareClient(server.url)
    try:
        return client.publish(archive)["url"]
    finally:
        client.close()


@pytest.mark.slow
@needs_wheelhouse
def test_a_share_without_an_environment_runs_none_of_its_files(server, tmp_path):
    url, markers = publish_hostile(server, tmp_path, setup_py=False)
    r = nbshare(tmp_path, "clone", url, tmp_path / "copy")
    assert r.returncode == 0, r.stderr
    assert "declares no environment" in r.stderr
    assert (tmp_path / "copy" / ".venv" / "bin" / "python").exists()
    assert (tmp_path / "copy" / "venv" / "__main__.py").exists()  # the files are there, unrun
    assert sorted(p.name for p in markers.iterdir()) == []


@pytest.mark.slow
@needs_wheelhouse
def test_setup_py_is_refused_without_a_terminal_and_runs_with_trust(server, tmp_path):
    url, markers = publish_hostile(server, tmp_path, setup_py=True)
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
    assert (
        subprocess.run(
            [str(python), "-I", "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
        ).stdout.strip()
        == "42"
    )
    # The share's setup.py ran, as agreed; the tools were still never replaced by its files.
    assert sorted(p.name for p in markers.iterdir()) == ["setup.py"]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@needs_wheelhouse
def test_on_a_terminal_answering_no_runs_nothing(server, tmp_path):
    url, markers = publish_hostile(server, tmp_path, setup_py=True)
    terminal = Terminal(
        [sys.executable, "-m", "nbshare", "clone", url, str(tmp_path / "copy"), "--check"], env=env(tmp_path)
    )
    terminal.expect(f"pip install -e {tmp_path / 'copy'}: runs its build backend", timeout=300)
    terminal.expect("--check runs the notebooks afterwards in any case")
    terminal.expect("Run them?")
    terminal.type("n")
    code, output = terminal.finish(timeout=900)
    assert code == 1, output
    assert "skipped 1 install step(s)" in output
    assert sorted(p.name for p in markers.iterdir()) == []


# --- what counts as the share's own code (fast) -------------------------------------------


@pytest.mark.parametrize(
    ("line", "harmless"),
    [
        ("numpy", True),
        ("numpy>=1.26,<2 ; python_version > '3.9'", True),
        ("requests[socks]==2.32 --hash=sha256:abc", True),
        ("--index-url https://pypi.example.org/simple", True),
        ("--find-links=https://wheels.example.org/", True),
        ("--only-binary :all:", True),
        ("--pre --only-binary=:all: -i https://pypi.example.org/simple", True),
        ("-i https://pypi.example.org/simple -e .", False),  # pip reads every option on the line
        ("--find-links https://wheels.example.org/ -fwheels", False),
        ("numpy -e .", False),
        ("numpy --config-settings editable_mode=strict", False),
        ("numpy\t-e .", False),
        ("--trusted-host pypi.example.org", False),  # the sender would choose who may swap packages
        ("--extra-index-url http://pypi.example.org/simple", False),
        ("--extra-index-url https://pypi.example.org/${AWS_SECRET_ACCESS_KEY}/", False),  # pip expands it
        ("--index-url https://pypi.example.org/simple \\", False),
        ("--index", False),
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
    ],
)
def test_lines_that_name_packages_on_an_index_are_the_only_harmless_ones(line, harmless):
    assert names_packages_only(line) is harmless


def test_nested_requirement_files_are_read_and_split(tmp_path):
    (tmp_path / "binder").mkdir()
    (tmp_path / "binder" / "requirements.txt").write_text(
        "numpy  # comment\n-r more.txt\n-c pins.txt\n-e ..\n-r ../../outside.txt\n"
    )
    (tmp_path / "binder" / "more.txt").write_text("pandas\\\n>=2\n./local\n")
    (tmp_path / "binder" / "pins.txt").write_text("numpy<2\n")
    scan = scan_requirements(tmp_path / "binder" / "requirements.txt", tmp_path)
    assert scan.requirements == ["numpy", "pandas>=2"]
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
    report = build_environment(
        tmp_path,
        env_files=["requirements.txt", "setup.py"],
        echo=lambda s: None,
        consent=lambda steps: asked.append(steps) or False,
    )
    assert [step.source for step in asked[0]] == ["requirements.txt", "setup.py"]
    assert [step.source for step in report.refused] == ["requirements.txt", "setup.py"]
    install = next(argv for argv, _ in calls if "install" in argv and "pip" in argv)
    assert install[1:3] == ["-I", "-m"] and "-e" not in install and str(tmp_path) not in install
    assert written == ["traitlets\n"]
    for argv, cwd in calls:
        assert not cwd.resolve().is_relative_to(tmp_path.resolve()), argv
        if argv[0].endswith("python") or argv[0] == sys.executable:
            assert argv[1] == "-I", argv


def test_a_conda_file_loses_its_local_lines_without_consent(tmp_path):
    spec = {
        "channels": ["conda-forge", "./my-channel", "file:///srv/ch"],
        "prefix": "/elsewhere",
        "dependencies": ["numpy", "./pkg-1.0-0.conda", {"pip": ["requests", "-e .", "./pkg"]}],
    }
    scan = scan_conda_spec(spec, tmp_path)
    assert scan.vetted == {"channels": ["conda-forge"], "dependencies": ["numpy", {"pip": ["requests"]}]}
    assert scan.local == [
        "channels: ./my-channel",
        "channels: file:///srv/ch",
        "dependencies: ./pkg-1.0-0.conda",
        "pip: -e .",
        "pip: ./pkg",
    ]
    assert scan.agreed == {
        "channels": ["conda-forge", str(tmp_path / "my-channel"), "file:///srv/ch"],
        "dependencies": [
            "numpy",
            str(tmp_path / "pkg-1.0-0.conda"),
            {"pip": ["requests", f"-e {tmp_path}", str(tmp_path / "pkg")]},
        ],
    }


def test_a_package_in_pyproject_is_the_shares_own_code(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n[project]\nname = "p"\n'
    )
    (tmp_path / "src").mkdir()
    plan = plan_environment(tmp_path, ["pyproject.toml"], which=lambda name: None)
    assert plan.pip_args == []
    assert plan.local[0].what == [
        f"pip install -e {tmp_path}: runs its build backend (hatchling.build) on the project's own code"
    ]


# --- pip and conda read copies of the vetted lines, never the share's files (fast) ---------


def test_a_comment_never_continues_onto_the_next_line_as_in_pip():
    text = "# pinned \\\n--find-links wheels\nipykernel\nnumpy # pins \\\n-e .\npandas\\\n>=2\n"
    # pip joins "numpy # pins " with "-e ." and then drops the comment: both are gone.
    assert logical_lines(text) == ["--find-links wheels", "ipykernel", "numpy", "pandas>=2"]


def fake_runner(monkeypatch, which: dict[str, str]) -> list[tuple[list[str], Path, dict[str, str]]]:
    """Record each command, its folder, and the text of the files it is given (gone after)."""
    from nbshare.bundle import environment

    calls: list[tuple[list[str], Path, dict[str, str]]] = []

    def record(self, argv, check=True, cwd=None):
        files = {a: Path(a).read_text() for a in argv if a.endswith((".txt", ".yml")) and Path(a).is_file()}
        calls.append((argv, cwd or self.cwd, files))
        return True

    monkeypatch.setattr(environment.shutil, "which", which.get)
    monkeypatch.setattr(environment._Runner, "__call__", record)
    return calls


def given_files(calls, dest: Path, word: str) -> list[tuple[Path, str, Path]]:
    """(file, its text, the command's folder) for each file a command containing `word` got."""
    found = [
        (Path(name), text, cwd) for argv, cwd, files in calls if word in argv for name, text in files.items()
    ]
    for name, _, _ in found:
        assert not name.resolve().is_relative_to(dest.resolve()), name
    return found


def test_pip_is_given_a_copy_of_the_vetted_lines_never_the_shares_file(tmp_path, monkeypatch):
    (tmp_path / "requirements.txt").write_text(
        "traitlets  # a comment\n--index-url https://pypi.example.org/simple\n-c pins.txt\n"
    )
    (tmp_path / "pins.txt").write_text("traitlets<9\n")
    calls = fake_runner(monkeypatch, {})
    report = build_environment(tmp_path, env_files=["requirements.txt"], echo=lambda s: None)
    assert report.refused == []
    [(requirements, text, cwd)] = given_files(calls, tmp_path, "pip")
    constraints = requirements.parent / "0-constraints.txt"
    assert text == f"traitlets\n--index-url https://pypi.example.org/simple\n-c {constraints}\n"
    assert not cwd.resolve().is_relative_to(tmp_path.resolve())


def test_with_consent_pip_is_given_the_lines_the_person_was_shown(tmp_path, monkeypatch):
    (tmp_path / "binder" / "wheels").mkdir(parents=True)
    (tmp_path / "binder" / "requirements.txt").write_text("traitlets\n-e .\n--find-links wheels\n")
    calls = fake_runner(monkeypatch, {})
    shown: list[str] = []

    def agree(steps):
        shown.extend(line for step in steps for line in step.what)
        return True

    build_environment(tmp_path, env_files=["binder/requirements.txt"], echo=lambda s: None, consent=agree)
    assert shown == ["binder/requirements.txt: -e .", "binder/requirements.txt: --find-links wheels"]
    [(_, text, cwd)] = given_files(calls, tmp_path, "pip")
    # "-e ." means where pip runs (the share, as agreed); --find-links, the file's own folder.
    assert text == f"traitlets\n-e .\n--find-links {tmp_path / 'binder' / 'wheels'}\n"
    assert cwd == tmp_path.resolve()


@pytest.mark.parametrize("agreed", [False, True])
def test_conda_is_given_a_copy_of_the_environment_file_outside_the_share(tmp_path, monkeypatch, agreed):
    import yaml

    (tmp_path / "environment.yml").write_text(
        "name: x\nprefix: /elsewhere\nchannels: [conda-forge]\ndependencies:\n  - numpy\n"
        "  - pip:\n    - requests\n    - --index-url https://pypi.example.org/simple\n"
        + ("    - -e .\n" if agreed else "")
    )
    calls = fake_runner(monkeypatch, {"conda": "/opt/conda/bin/conda"})
    build_environment(tmp_path, env_files=["environment.yml"], echo=lambda s: None, consent=lambda s: agreed)
    [(_, text, cwd)] = given_files(calls, tmp_path, "create")
    pip = ["requests", "--index-url https://pypi.example.org/simple"] + ([f"-e {tmp_path}"] if agreed else [])
    assert yaml.safe_load(text) == {
        "name": "x",
        "channels": ["conda-forge"],
        "dependencies": ["numpy", {"pip": pip}],
    }
    assert not cwd.resolve().is_relative_to(tmp_path.resolve())


def test_without_conda_dependencies_that_are_not_package_names_never_reach_pip(tmp_path):
    (tmp_path / "environment.yml").write_text(
        "dependencies:\n  - -e.\n  - -fwheels\n  - ./pkg.conda\n  - numpy=1.26\n"
    )
    plan = plan_environment(tmp_path, ["environment.yml"], which=lambda name: None)
    assert [spec for spec, _ in plan.best_effort] == ["numpy==1.26.*"]
    assert (
        "environment.yml",
        "not conda package names, not installed: -e., -fwheels, ./pkg.conda",
    ) in plan.not_reproduced


def ipykernel_wheel(folder: Path, markers: Path) -> None:
    """A wheel named ipykernel 999.0 whose `python -m ipykernel` writes a marker."""
    folder.mkdir()
    info = "ipykernel-999.0.dist-info"
    files = {
        "ipykernel/__init__.py": "",
        "ipykernel/__main__.py": marker_code(markers, "wheel-ipykernel"),
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: ipykernel\nVersion: 999.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: nbshare-test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(folder / "ipykernel-999.0-py3-none-any.whl", "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)


@pytest.mark.slow
@needs_wheelhouse
def test_a_find_links_line_hidden_after_a_comment_is_seen_and_refused(server, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    project = tmp_path / "hidden"
    project.mkdir()
    (project / "a.ipynb").write_bytes(NOTEBOOK)
    # A comment ending in "\" does not continue in pip: pip reads --find-links wheels.
    (project / "requirements.txt").write_text("# pinned \\\n--find-links wheels\nipykernel\n")
    ipykernel_wheel(project / "wheels", markers)
    url = publish_folder(server, project)
    r = nbshare(tmp_path, "clone", url, tmp_path / "copy")
    assert sorted(p.name for p in markers.iterdir()) == []
    assert "requirements.txt: --find-links wheels" in r.stderr
    assert r.returncode == 1, r.stderr
    python = tmp_path / "copy" / ".venv" / "bin" / "python"
    version = subprocess.run(
        [str(python), "-I", "-c", "import ipykernel; print(ipykernel.__version__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert not version.startswith("999")
