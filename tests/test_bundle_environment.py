"""Building an environment for a cloned share: the plan from each kind of file (fast), and one
real build, offline, from the wheels scripts/wheelhouse.sh downloads (slow)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import WHEELHOUSE, code, notebook
from nbshare.bundle import environment
from nbshare.bundle.environment import EnvironmentFailed, build_environment, open_command, plan_environment

OTHER_PYTHON = f"3.{sys.version_info.minor - 1}"
BUILD_SYSTEM = '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'


def no_tools(name: str) -> str | None:
    """`shutil.which` on a machine with neither uv nor conda, whatever this one has."""
    return None


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    """pip sees only the wheelhouse and a folder of local wheels; Jupyter's user dir is a tmp one."""
    if not any(WHEELHOUSE.glob("ipykernel-*.whl")):
        pytest.skip("no offline wheels: run scripts/wheelhouse.sh once (it needs PyPI)")
    local = tmp_path_factory.mktemp("wheels")
    source = write(
        tmp_path_factory.mktemp("helperpkg"),
        {
            "pyproject.toml": BUILD_SYSTEM + '[project]\nname = "helperpkg"\nversion = "1.0"\n',
            "helperpkg.py": "ANSWER = 42\n",
        },
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIP_NO_INDEX", "1")
        mp.setenv("PIP_FIND_LINKS", f"{WHEELHOUSE} {local}")
        mp.setenv("JUPYTER_DATA_DIR", str(tmp_path_factory.mktemp("jupyter-user")))
        mp.setattr(environment.shutil, "which", no_tools)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(local), str(source)],
            check=True,
        )
        yield mp


@pytest.fixture(scope="module")
def built(offline, tmp_path_factory):
    """One share with every kind of file at once, built once for the module."""
    dest = write(
        tmp_path_factory.mktemp("clone") / "my analysis",
        {
            "requirements.txt": "helperpkg\n",
            "pyproject.toml": BUILD_SYSTEM + '[project]\nname = "sharedpkg"\nversion = "0.1"\n',
            "src/sharedpkg/__init__.py": "NAME = 'shared'\n",
            "binder/environment.yml": "dependencies:\n  - python=3.11\n  - r-base\n  - traitlets\n"
            "  - no-such-conda-pkg-nbshare=1.0\n  - pip:\n    - helperpkg\n",
            "runtime.txt": f"python-{OTHER_PYTHON}\n",
            "apt.txt": "libgl1\n",
            "postBuild": "#!/bin/sh\necho 'never run'\n",
        },
    )
    lines: list[str] = []
    files = ["requirements.txt", "pyproject.toml", "binder/environment.yml", "runtime.txt", "apt.txt"]
    files.append("postBuild")
    # The share's own package (pyproject.toml) is installed: the person agreed.
    report = build_environment(dest, env_files=files, echo=lines.append, consent=lambda steps: True)
    return dest, report, lines


@pytest.mark.slow
def test_requirements_pyproject_and_pip_section_are_installed_in_a_venv(built):
    dest, report, _ = built
    assert (report.kind, report.tool, report.path) == ("venv", "pip", dest / ".venv")
    code = "import helperpkg, sharedpkg, traitlets; print(helperpkg.ANSWER, sharedpkg.NAME)"
    out = subprocess.run([str(report.python), "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["42", "shared"]
    assert report.installed_from == ["binder/environment.yml", "requirements.txt", "pyproject.toml"]
    assert any("installing the project itself" in note for note in report.notes)


@pytest.mark.slow
def test_the_kernelspec_lives_inside_the_environment(built, offline, tmp_path):
    dest, report, _ = built
    spec = json.loads((report.kernels_dir / report.kernel_name / "kernel.json").read_text())
    assert report.kernel_name == "nbshare-my-analysis"
    assert spec["argv"][0] == str(report.python)
    user_kernels = Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels"
    assert not user_kernels.exists()


@pytest.mark.slow
def test_opening_a_notebook_runs_no_launcher_from_its_folder_yet_cells_import_its_modules(built, tmp_path):
    from nbshare.bundle.check import check_notebooks

    dest, report, _ = built
    marker = tmp_path / "launcher-ran"
    (dest / "localhelper.py").write_text("X = 7\n")
    # Jupyter starts the kernel in the notebook's folder: `python -m ipykernel_launcher` would
    # run this one (which then starts the real kernel, so only the marker tells).
    (dest / "ipykernel_launcher.py").write_text(
        f"import os, pathlib, sys\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        "sys.path[:] = [p for p in sys.path if p not in ('', os.getcwd())]\n"
        "from ipykernel import kernelapp\nkernelapp.launch_new_instance()\n"
    )
    cell = code(
        "import localhelper\nprint(localhelper.X)",
        "c1",
        [{"output_type": "stream", "name": "stdout", "text": "7\n"}],
    )
    (dest / "local_import.ipynb").write_bytes(notebook(cell))
    # ipykernel imports these while it starts, after the launcher has run: they must not
    # come from the folder either (the folder is back on the path only for the cells).
    for module in ("debugpy", "psutil"):
        (dest / f"{module}.py").write_text(
            f"import pathlib\npathlib.Path({str(marker)!r} + '-{module}').write_text('ran')\n"
            "raise ImportError('a share module, not the real one')\n"
        )
    result = check_notebooks(dest, ["local_import.ipynb"], env=report, timeout=120, echo=lambda line: None)
    assert result.ok, result
    assert sorted(p.name for p in tmp_path.glob("launcher-ran*")) == []


@pytest.mark.slow
def test_what_could_not_be_reproduced_is_reported(built):
    _, report, _ = built
    reasons = dict(report.not_reproduced)
    assert reasons["runtime.txt"] == f"runtime.txt asks for Python {OTHER_PYTHON}; this environment uses 3.11"
    assert "apt" in reasons["apt.txt"]
    assert "never runs it" in reasons["postBuild"]
    conda = [reason for file, reason in report.not_reproduced if file == "binder/environment.yml"]
    assert conda == [
        "conda packages pip cannot install: r-base",
        "pip could not install the conda packages no-such-conda-pkg-nbshare=1.0",
    ]


@pytest.mark.slow
def test_commands_and_their_output_are_echoed(built):
    dest, report, lines = built
    assert "$ " + shlex.join([sys.executable, "-I", "-m", "venv", str(dest / ".venv")]) in lines
    assert any(line.startswith("  ") and "Successfully installed" in line for line in lines)
    assert report.open_command == f"cd '{dest}' && JUPYTER_PATH=.venv/share/jupyter jupyter lab"


@pytest.mark.slow
def test_a_failing_install_names_the_command_and_shows_its_output(offline, tmp_path):
    dest = write(tmp_path / "share", {"requirements.txt": "no-such-package-nbshare-test==1.0\n"})
    with pytest.raises(EnvironmentFailed) as caught:
        build_environment(dest, env_files=["requirements.txt"], echo=lambda line: None, quiet=True)
    message = caught.value.message
    assert message.startswith("Building the environment failed (exit status 1) at:\n  $ ")
    assert "-m pip install" in message and "requirements.txt" in message
    assert "no-such-package-nbshare-test" in message.split("Last lines of its output:")[1]


def test_an_environment_shipped_with_the_files_is_never_used(tmp_path):
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    with pytest.raises(EnvironmentFailed, match="will not run one that came with the files"):
        build_environment(tmp_path, env_files=[], echo=lambda line: None)


def test_environment_yml_without_conda_plans_a_venv_with_what_pip_can_install(tmp_path):
    write(
        tmp_path,
        {
            "binder/environment.yml": """
name: demo
channels: [conda-forge]
dependencies:
  - python=3.10
  - numpy=1.26
  - conda-forge::pandas>=2
  - scipy ==1.11.2=py310h
  - pytorch
  - libgdal
  - pip
  - pip:
    - helperpkg==1.0
    - -e ./tools
    - -r extra.txt
    - https://example.org/pkg.whl
"""
        },
    )
    plan = plan_environment(tmp_path, ["binder/environment.yml"], which=no_tools)
    assert (plan.kind, plan.tool, plan.env_dir) == ("venv", "pip", ".venv")
    assert plan.python_request == ("3.10", "binder/environment.yml")
    binder = tmp_path / "binder"
    assert plan.pip_args == [] and [scan.requirements for scan in plan.scans] == [["helperpkg==1.0"]]
    # The rest names files of the share (or a URL): installed only with the person's consent.
    assert [step.pip_args for step in plan.local] == [
        ["-e", str(binder / "tools")],
        ["-r", str(binder / "extra.txt")],
        ["https://example.org/pkg.whl"],
    ]
    assert [spec for spec, _ in plan.best_effort] == ["numpy==1.26.*", "pandas>=2", "scipy==1.11.2", "torch"]
    assert plan.not_reproduced == [("binder/environment.yml", "conda packages pip cannot install: libgdal")]
    assert "conda, mamba and micromamba are not installed" in plan.notes[0]


def test_runtime_txt_is_asked_of_uv(tmp_path):
    write(tmp_path, {"runtime.txt": "python-3.10.4\n", "requirements.txt": "x\n"})
    plan = plan_environment(tmp_path, ["runtime.txt", "requirements.txt"], which={"uv": "/bin/uv"}.get)
    assert (plan.tool, plan.python_request) == ("uv", ("3.10", "runtime.txt"))


def test_pyproject_that_is_not_a_package_installs_its_dependencies(tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nname = "notebooks"\ndependencies = ["traitlets>=5"]\n'})
    plan = plan_environment(tmp_path, ["pyproject.toml"], which=no_tools)
    assert plan.pip_args == ["traitlets>=5"]
    assert "[project].dependencies" in plan.notes[0]


def test_a_pin_on_nbshare_is_installed_apart_from_the_rest(tmp_path):
    """Shares published from a checkout pinned an nbshare no index has: that one line must
    not stop the environment (the recipient's own nbshare can stand in for it)."""
    write(
        tmp_path,
        {
            "requirements.txt": "NBShare==0.1.0 --hash=sha256:ab\ntraitlets\nnbshare-extras\n",
            "pyproject.toml": '[project]\nname = "x"\ndependencies = ["nbshare>=0.1", "httpx"]\n',
        },
    )
    plan = plan_environment(tmp_path, ["requirements.txt", "pyproject.toml"], which=no_tools)
    assert plan.nbshare_specs == ["nbshare>=0.1", "NBShare==0.1.0 --hash=sha256:ab"]
    assert plan.pip_args == ["httpx"]
    assert plan.scans[0].requirements == ["traitlets", "nbshare-extras"]


def test_no_environment_files_is_said(tmp_path):
    plan = plan_environment(tmp_path, [], which=no_tools)
    assert plan.pip_args == [] and plan.not_reproduced == []
    assert plan.notes == [environment.NO_ENVIRONMENT]


def test_files_nbshare_does_not_reproduce(tmp_path):
    files = ["apt.txt", "install.R", "Project.toml", "default.nix", "Pipfile", "binder/start", "Dockerfile"]
    unknown = "conda-lock.yml"
    plan = plan_environment(tmp_path, [*files, unknown], which=no_tools)
    assert sorted(file for file, _ in plan.not_reproduced) == sorted([*files, unknown])
    assert dict(plan.not_reproduced)[unknown] == "nbshare does not know this kind of environment file"


def test_with_conda_the_environment_is_a_conda_prefix(tmp_path, monkeypatch):
    write(tmp_path, {"environment.yml": "dependencies: [numpy]\n", "requirements.txt": "helperpkg\n"})
    commands: list[list[str]] = []
    monkeypatch.setattr(environment.shutil, "which", {"conda": "/opt/conda/bin/conda"}.get)
    monkeypatch.setattr(
        environment._Runner, "__call__", lambda self, argv, check=True, cwd=None: commands.append(argv)
    )
    files = ["environment.yml", "requirements.txt"]
    report = build_environment(tmp_path, env_files=files, echo=lambda s: None)
    conda, prefix = "/opt/conda/bin/conda", str(tmp_path / ".conda-env")
    python = f"{prefix}/bin/python"
    kernel = f"nbshare-{tmp_path.name.lower()}"
    # Copies of the files, in the empty folder the tools start in (see test_clone_trust.py).
    neutral = Path(commands[0][-1]).parent
    assert commands == [
        [conda, "env", "create", "--prefix", prefix, "--file", str(neutral / "environment.yml")],
        [conda, "install", "--prefix", prefix, "--yes", "ipykernel"],
        [
            python,
            "-I",
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-r",
            str(neutral / "0-requirements.txt"),
        ],
        [
            python,
            "-I",
            "-m",
            "ipykernel",
            "install",
            "--prefix",
            prefix,
            "--name",
            kernel,
            "--display-name",
            f"Python ({tmp_path.name}, nbshare)",
        ],
    ]
    assert (report.kind, report.tool, report.installed_from) == ("conda", "conda", files)


def test_uv_is_given_pips_index_settings_as_flags(monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "/a /b")
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    assert environment._uv_index_options() == ["--find-links", "/a", "--find-links", "/b", "--no-index"]


@pytest.mark.parametrize(
    ("conda", "pip"),
    [
        ("numpy", ("numpy", "")),
        ("numpy=1.26", ("numpy", "==1.26.*")),
        ("numpy 1.26.*", ("numpy", "==1.26.*")),
        ("numpy==1.26.4=py311h", ("numpy", "==1.26.4")),
        ("conda-forge::pandas >=2,<3", ("pandas", ">=2,<3")),
        ("matplotlib-base=3.8", ("matplotlib", "==3.8.*")),
    ],
)
def test_conda_specs_become_pip_specs(conda, pip):
    assert environment._conda_to_pip(conda) == pip


def test_open_command_prefers_the_environments_own_jupyter(tmp_path):
    dest = tmp_path / "it's here"
    (dest / ".venv" / "bin").mkdir(parents=True)
    without = open_command(dest, dest / ".venv")
    assert without.endswith(" && JUPYTER_PATH=.venv/share/jupyter jupyter lab")
    assert without.startswith("cd '") and "it'\"'\"'s here" in without
    (dest / ".venv" / "bin" / "jupyter-notebook").touch()
    assert open_command(dest, dest / ".venv").endswith(" && .venv/bin/jupyter notebook")
    (dest / ".venv" / "bin" / "jupyter-lab").touch()
    assert open_command(dest, dest / ".venv").endswith(" && .venv/bin/jupyter lab")
