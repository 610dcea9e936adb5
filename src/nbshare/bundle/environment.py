"""Build an environment for a cloned share, from the environment files it declares.

The rules follow repo2docker's where they overlap (requirements.txt, pyproject.toml,
environment.yml, runtime.txt), with one difference in spirit: what cannot be reproduced on
this computer is not an error but a line in the report, so the person knows what to expect.
Nothing here writes outside `dest`: the kernelspec lives inside the environment.

Two steps: `plan_environment` reads the files and decides (pure, no processes), then
`build_environment` runs the plan. Every command is an argv list (no shell) whose output is
streamed to `echo`; pip's own environment variables (PIP_INDEX_URL, PIP_FIND_LINKS,
PIP_NO_INDEX, ...) reach pip because the environment is inherited.

Nothing that came with the files runs unless the person agrees (see trust.py): the tools run
with `python -I` from an empty folder of their own, so a share's `venv/__main__.py`,
`pip/__init__.py` or `ipykernel/__main__.py` is never imported in their place, and steps that
would run the share's own code (`pip install -e .`, local paths in requirements files) are
put to `consent` first and skipped when it says no. pip and conda never read the share's own
requirements or environment files: they are given copies, written in that empty folder, of
the lines nbshare vetted (and of those the person agreed to). The registered kernel starts
without the notebook's folder on its path, so a share's `ipykernel_launcher.py` does not run
when a notebook is opened; the folder is put back once the kernel is loaded, as IPython does.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..errors import NbshareError
from .trust import (
    LocalStep,
    RequirementsScan,
    absolute_paths,
    is_conda_package,
    is_named_requirement,
    names_packages_only,
    scan_conda_spec,
    scan_requirements,
)

VENV_DIR = ".venv"
CONDA_DIR = ".conda-env"
TAIL_LINES = 25
NO_ENVIRONMENT = "The share declares no environment: this one only has what notebooks need to run."

Echo = Callable[[str], None]
Consent = Callable[[list[LocalStep]], bool]
SKIPPED = "skipped: it would run code that came with the share (agree on a terminal, or use --trust)"
Kind = Literal["venv", "conda"]
Tool = Literal["uv", "pip", "conda", "mamba", "micromamba"]

# Files repo2docker reads that nbshare does not act on, and why.
NOT_REPRODUCED = {
    "apt.txt": "system (apt) packages are not installed by nbshare; install them yourself",
    "postBuild": "a script the author ran after building; nbshare never runs it (read it first)",
    "start": "a script the author ran at start-up; nbshare never runs it",
    "install.R": "R packages are not installed by nbshare",
    "DESCRIPTION": "R packages are not installed by nbshare",
    "Project.toml": "Julia environments are not reproduced by nbshare",
    "JuliaProject.toml": "Julia environments are not reproduced by nbshare",
    "Manifest.toml": "Julia environments are not reproduced by nbshare",
    "REQUIRE": "Julia environments are not reproduced by nbshare",
    "Dockerfile": "Docker images are not built by nbshare; build it with docker if you trust it",
    "default.nix": "Nix environments are not reproduced by nbshare",
    "Pipfile": "Pipenv environments are not reproduced by nbshare; run `pipenv install` there",
    "Pipfile.lock": "Pipenv environments are not reproduced by nbshare; run `pipenv install` there",
}
CONDA_TOOLS: tuple[Tool, ...] = ("conda", "mamba", "micromamba")

# Conda packages that are not Python packages (or are the interpreter itself), so pip cannot
# stand in for them; and conda names whose PyPI name differs. Deliberately short: anything
# else is tried with pip, and a failure is reported rather than fatal.
_CONDA_ONLY = frozenset(
    {
        "r",
        "r-base",
        "nodejs",
        "cudatoolkit",
        "cudnn",
        "mkl",
        "openblas",
        "blas",
        "compilers",
        "gcc",
        "gxx",
        "gfortran",
        "cmake",
        "make",
        "git",
        "graphviz",
        "ffmpeg",
        "openjdk",
        "julia",
        "nb_conda_kernels",
    }
)
_CONDA_ONLY_PREFIXES = ("r-", "lib", "_", "cuda-")
_CONDA_TO_PYPI = {
    "pytorch": "torch",
    "matplotlib-base": "matplotlib",
    "pytables": "tables",
    "python-graphviz": "graphviz",
    "py-opencv": "opencv-python",
    "msgpack-python": "msgpack",
}


class EnvironmentFailed(NbshareError):
    code = "environment_failed"


@dataclass
class EnvReport:
    """What was built, from what, and what could not be reproduced (file, reason)."""

    kind: Kind
    path: Path
    python: Path
    tool: Tool
    installed_from: list[str]
    not_reproduced: list[tuple[str, str]]
    kernel_name: str
    open_command: str
    notes: list[str] = field(default_factory=list)
    refused: list[LocalStep] = field(default_factory=list)  # steps not run: no consent

    @property
    def kernels_dir(self) -> Path:
        return self.path / "share" / "jupyter" / "kernels"


@dataclass
class Plan:
    """What `build_environment` will do, decided from the files alone."""

    kind: Kind
    tool: Tool
    env_dir: str
    conda_file: str | None = None
    python_request: tuple[str, str] | None = None  # (version "3.X", the file that asks)
    pip_args: list[str] = field(default_factory=list)  # must install
    best_effort: list[tuple[str, str]] = field(default_factory=list)  # (pip spec, conda spec)
    installed_from: list[str] = field(default_factory=list)
    not_reproduced: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    local: list[LocalStep] = field(default_factory=list)  # run only with consent
    # Requirements files, vetted: pip gets a copy of their safe lines (and of the rest, with consent).
    scans: list[RequirementsScan] = field(default_factory=list)
    conda_spec: dict[str, Any] | None = None  # the environment.yml conda gets: vetted lines only
    conda_agreed: dict[str, Any] | None = None  # ... and with the lines the person agreed to
    conda_error: str | None = None  # why the environment.yml could not be read
    # Lines naming nbshare, taken out of the main install: shares published from a checkout
    # pinned versions no index has, and one missing pin must not stop the whole environment.
    nbshare_specs: list[str] = field(default_factory=list)


def _refuse(steps: list[LocalStep]) -> bool:
    return False


def build_environment(
    dest: Path,
    *,
    env_files: list[str],
    echo: Echo = print,
    extra_packages: Sequence[str] = ("ipykernel",),
    quiet: bool = False,
    consent: Consent = _refuse,
    own_nbshare: bool = False,
) -> EnvReport:
    """Create an environment in `dest` for the files `env_files` (paths relative to `dest`).

    `own_nbshare`: the share's code imports nbshare; when the environment cannot import it
    once built, the running nbshare is installed into it (see own_nbshare.py).

    Steps that would run code that came with the files are put to `consent` (once, all
    together, before anything runs); without it they are skipped and listed in the report's
    `refused`. Raises EnvironmentFailed, with the failing command and its last lines of
    output, when a step that matters fails. `quiet` prints the commands but not their output.
    """
    dest = dest.resolve()
    plan = plan_environment(dest, env_files, which=shutil.which)
    env = dest / plan.env_dir
    if env.exists():
        raise EnvironmentFailed(
            f"{env} already exists. nbshare creates the environment itself and will not run "
            "one that came with the files; remove it and try again."
        )
    for note in plan.notes:
        echo(note)
    agreed = bool(plan.local) and consent(plan.local)
    refused = [] if agreed else plan.local
    plan.not_reproduced += [(step.source, SKIPPED) for step in refused]
    with tempfile.TemporaryDirectory(prefix="nbshare-build-") as neutral:
        # The tools start in an empty folder: nothing of the share is on their path or read
        # as their configuration (uv reads uv.toml and pyproject.toml from where it starts).
        run = _Runner(echo=echo, quiet=quiet, cwd=Path(neutral))
        pip_args = _pip_args(plan, agreed, Path(neutral))
        # pip reads relative paths in requirements files ("-e .") from where it runs.
        install_cwd = dest if agreed else Path(neutral)
        if plan.kind == "conda":
            python = _build_conda(run, plan, dest, env, extra_packages, pip_args, agreed, install_cwd)
        else:
            python = _build_venv(run, plan, env, extra_packages, pip_args, install_cwd)
        _install_best_effort(run, plan, python)
        if plan.nbshare_specs or own_nbshare:
            _add_nbshare(run, plan, python, own=own_nbshare)
        _check_python_version(plan, python, Path(neutral))
        kernel_name = _kernel_name(dest)
        run(
            [
                str(python),
                "-I",
                "-m",
                "ipykernel",
                "install",
                "--prefix",
                str(env),
                "--name",
                kernel_name,
                "--display-name",
                f"Python ({dest.name}, nbshare)",
            ]
        )
        kernel_json = env / "share" / "jupyter" / "kernels" / kernel_name / "kernel.json"
        unsafe = _launch_outside_the_folder(kernel_json)
        if unsafe:
            echo(unsafe)
            plan.notes.append(unsafe)
    return EnvReport(
        kind=plan.kind,
        path=env,
        python=python,
        tool=plan.tool,
        installed_from=plan.installed_from,
        not_reproduced=plan.not_reproduced,
        kernel_name=kernel_name,
        open_command=open_command(dest, env),
        notes=plan.notes,
        refused=refused,
    )


def _pip_args(plan: Plan, agreed: bool, folder: Path) -> list[str]:
    """What pip installs: the plan's named packages and a copy, in `folder`, of each
    requirements file's vetted lines; with consent, the share's own code and the lines the
    person was shown too. pip never reads the share's own requirements files, so a line it
    would read differently from nbshare's scanner never reaches it unseen."""
    args = list(plan.pip_args)
    if agreed:
        args += [arg for step in plan.local for arg in step.pip_args]
    for number, scan in enumerate(plan.scans):
        lines = [*scan.requirements, *(scan.agreed["requirements"] if agreed else [])]
        constraints = [*scan.constraints, *(scan.agreed["constraints"] if agreed else [])]
        if constraints:
            path = folder / f"{number}-constraints.txt"
            path.write_text("\n".join(constraints) + "\n", encoding="utf-8")
            lines.append(shlex.join(["-c", str(path)]))
        if not lines:
            continue
        requirements = folder / f"{number}-requirements.txt"
        requirements.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        args += ["-r", str(requirements)]
    return args


def plan_environment(dest: Path, env_files: Sequence[str], *, which: Callable[[str], str | None]) -> Plan:
    """Decide how to build the environment; `which` is `shutil.which` (a parameter for tests)."""
    by_name: dict[str, list[str]] = {}
    for rel in env_files:
        by_name.setdefault(PurePosixPath(rel).name, []).append(rel)
    conda_files = by_name.pop("environment.yml", []) + by_name.pop("environment.yaml", [])
    conda_tool = next((tool for tool in CONDA_TOOLS if which(tool)), None)
    if conda_files and conda_tool:
        plan = Plan(kind="conda", tool=conda_tool, env_dir=CONDA_DIR, conda_file=conda_files[0])
        plan.installed_from.append(conda_files[0])
        _plan_conda_local(plan, dest, conda_files[0])
        plan.not_reproduced += [(rel, f"only {conda_files[0]} is used") for rel in conda_files[1:]]
    else:
        plan = Plan(kind="venv", tool="uv" if which("uv") else "pip", env_dir=VENV_DIR)
        for rel in conda_files:
            _plan_conda_fallback(plan, dest, rel)
    for rel in by_name.pop("runtime.txt", []):
        _plan_runtime(plan, dest, rel)
    for name in ("requirements.txt", "pyproject.toml", "setup.py"):
        for rel in by_name.pop(name, []):
            _plan_pip_file(plan, dest, rel)
    for name, rels in sorted(by_name.items()):
        reason = NOT_REPRODUCED.get(name, "nbshare does not know this kind of environment file")
        plan.not_reproduced.extend((rel, reason) for rel in rels)
    if not env_files:
        plan.notes.append(NO_ENVIRONMENT)
    _set_nbshare_apart(plan)
    return plan


def _set_nbshare_apart(plan: Plan) -> None:
    """Move the named requirements on nbshare out of the main install into `nbshare_specs`."""
    plan.nbshare_specs += [spec for spec in plan.pip_args if _names_nbshare(spec)]
    plan.pip_args = [spec for spec in plan.pip_args if not _names_nbshare(spec)]
    for scan in plan.scans:
        plan.nbshare_specs += [line for line in scan.requirements if _names_nbshare(line)]
        scan.requirements = [line for line in scan.requirements if not _names_nbshare(line)]


def _names_nbshare(line: str) -> bool:
    try:  # a requirement, perhaps followed by per-line options (" --hash=...")
        name = Requirement(line.split(" -", 1)[0].strip()).name
    except InvalidRequirement:
        return False
    return canonicalize_name(name) == "nbshare"


def _plan_pip_file(plan: Plan, dest: Path, rel: str) -> None:
    path = dest / rel
    if path.name == "requirements.txt":
        _plan_requirements(plan, dest, rel)
    elif path.name == "setup.py":
        if not any(str(path.parent) in step.pip_args for step in plan.local):  # pyproject.toml did
            _install_project(plan, path.parent, rel, f"runs {rel}, the project's own code")
            plan.notes.append(f"{rel}: installing the project itself (pip install -e).")
    else:
        _plan_pyproject(plan, path, rel)


def _plan_requirements(plan: Plan, dest: Path, rel: str) -> None:
    path = dest / rel
    try:
        scan = scan_requirements(path, dest)
    except OSError as e:
        plan.not_reproduced.append((rel, f"could not read it: {e}"))
        return
    plan.installed_from.append(rel)
    plan.scans.append(scan)
    if scan.local:  # what the person agrees to is in the scan: `scan.agreed`
        plan.local.append(LocalStep(rel, [f"{rel}: {line}" for line in scan.local]))


def _install_project(plan: Plan, root: Path, rel: str, what: str) -> None:
    """`pip install -e` of the share itself: its build code runs, so only with consent."""
    plan.local.append(LocalStep(rel, [f"pip install -e {root}: {what}"], ["-e", str(root)]))
    plan.installed_from.append(rel)


def _plan_pyproject(plan: Plan, path: Path, rel: str) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        plan.not_reproduced.append((rel, f"could not read it: {e}"))
        return
    project = data["project"] if isinstance(data.get("project"), dict) else {}
    dependencies = project.get("dependencies") or []
    if "build-system" in data and _looks_like_package(path.parent, project.get("name")):
        build = data["build-system"] if isinstance(data["build-system"], dict) else {}
        backend = build.get("build-backend")
        _install_project(
            plan,
            path.parent,
            rel,
            f"runs its build backend ({backend or 'setuptools'}) on the project's own code",
        )
        plan.notes.append(f"{rel}: installing the project itself and its dependencies (pip install -e).")
    elif isinstance(dependencies, list) and dependencies:
        named = [str(dep) for dep in dependencies if is_named_requirement(str(dep))]
        local = [str(dep) for dep in dependencies if not is_named_requirement(str(dep))]
        plan.pip_args += named
        if local:
            plan.local.append(LocalStep(rel, [f"{rel}: {dep}" for dep in local], local))
        plan.installed_from.append(rel)
        plan.notes.append(f"{rel}: installing its [project].dependencies (it is not a package to install).")
    elif "poetry" in data.get("tool", {}):
        plan.not_reproduced.append((rel, "its dependencies are declared for Poetry; run `poetry install`"))
    elif "dependencies" in project.get("dynamic", []):
        plan.not_reproduced.append((rel, "its dependencies are computed by its build backend, not listed"))
    else:
        plan.notes.append(f"{rel}: declares no [project].dependencies; nothing to install from it.")


def _looks_like_package(root: Path, name: object) -> bool:
    """True when `pip install -e` would find code to install, not only notebooks."""
    if (root / "src").is_dir() or (root / "setup.py").is_file():
        return True
    if not isinstance(name, str):
        return False
    module = re.sub(r"[-.]+", "_", name).lower()
    return (root / module / "__init__.py").is_file() or (root / f"{module}.py").is_file()


def _plan_runtime(plan: Plan, dest: Path, rel: str) -> None:
    try:
        text = (dest / rel).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        plan.not_reproduced.append((rel, f"could not read it: {e}"))
        return
    match = re.fullmatch(r"python-(\d+\.\d+)(\.\d+)?", text)
    if match:
        plan.python_request = (match.group(1), rel)
    else:
        plan.not_reproduced.append((rel, f"asks for {text[:40]!r}; nbshare only reads python-3.X"))


def _plan_conda_fallback(plan: Plan, dest: Path, rel: str) -> None:
    """No conda here: install with pip what pip can, and say what that leaves out."""
    import yaml  # only needed for this file type

    try:
        spec = yaml.safe_load((dest / rel).read_text(encoding="utf-8")) or {}
        dependencies = spec.get("dependencies") or []
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError) as e:
        plan.not_reproduced.append((rel, f"could not read it: {e}"))
        return
    plan.installed_from.append(rel)
    plan.notes.append(f"{rel}: conda, mamba and micromamba are not installed; installing what pip can.")
    conda_only, unknown = [], []
    pip_section = RequirementsScan(dest / rel)
    plan.scans.append(pip_section)
    for dep in dependencies:
        if isinstance(dep, dict):
            for line in dep.get("pip") or []:
                _plan_pip_line(plan, pip_section, rel, str(line), (dest / rel).parent)
            continue
        name, pip_spec = _conda_to_pip(str(dep))
        if not is_conda_package(str(dep)) or not is_named_requirement(name + pip_spec):
            unknown.append(str(dep))  # "-e.", "-fwheels", a path: never handed to pip
        elif name == "python":
            version = re.match(r"\d+\.\d+", pip_spec.lstrip("=<>!~ "))
            if version:
                plan.python_request = plan.python_request or (version.group(0), rel)
        elif name == "pip":
            continue
        elif name in _CONDA_ONLY or name.startswith(_CONDA_ONLY_PREFIXES):
            conda_only.append(str(dep))
        else:
            plan.best_effort.append((name + pip_spec, str(dep)))
    if conda_only:
        plan.not_reproduced.append((rel, "conda packages pip cannot install: " + ", ".join(conda_only)))
    if unknown:
        plan.not_reproduced.append((rel, "not conda package names, not installed: " + ", ".join(unknown)))


def _plan_pip_line(plan: Plan, scan: RequirementsScan, rel: str, line: str, folder: Path) -> None:
    """A line of an environment.yml's pip section: a named package (pip gets it in a copy of
    the vetted lines), or the share's own files (its paths made absolute, with consent)."""
    if names_packages_only(line):
        scan.requirements.append(line)
    else:
        plan.local.append(LocalStep(rel, [f"{rel} (pip): {line}"], absolute_paths(line, folder)))


def _plan_conda_local(plan: Plan, dest: Path, rel: str) -> None:
    """conda installs the pip section itself, running `python -m pip` from the folder of the
    file it is given: so it is always given a copy, written outside the share, of the vetted
    lines (with consent, also of the others, their paths made absolute)."""
    import yaml

    try:
        spec = yaml.safe_load((dest / rel).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        plan.conda_error = f"{rel} could not be read: {e}"
        return
    if not isinstance(spec, dict):
        plan.conda_error = f"{rel} is not an environment file (a mapping with dependencies)"
        return
    scan = scan_conda_spec(spec, (dest / rel).parent)
    plan.conda_spec, plan.conda_agreed = scan.vetted, scan.agreed
    if scan.local:
        plan.local.append(LocalStep(rel, [f"{rel} {line}" for line in scan.local]))


def _conda_to_pip(dep: str) -> tuple[str, str]:
    """A conda match spec as (PyPI name, pip version spec): "numpy=1.26" -> ("numpy", "==1.26.*")."""
    dep = dep.split("::")[-1].strip()  # drop a channel ("conda-forge::numpy")
    match = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", dep)
    name, version = (match.group(1).lower(), match.group(2).replace(" ", "")) if match else (dep, "")
    name = _CONDA_TO_PYPI.get(name, name)
    if version.startswith("=="):
        return name, "==" + version[2:].split("=")[0]
    if version[:1] in ("", "<", ">", "!", "~"):
        return name, version
    # conda "=1.2" and "1.2" both mean 1.2.*; a second "=" adds a build string pip has no use for
    version = version.lstrip("=").split("=")[0].removesuffix("*").removesuffix(".")
    return name, f"=={version}.*" if version else ""


class _Runner:
    """Runs one command, streaming its output; raises EnvironmentFailed when it fails."""

    def __init__(self, *, echo: Echo, quiet: bool, cwd: Path):
        self.echo, self.quiet, self.cwd = echo, quiet, cwd

    def __call__(self, argv: list[str], *, check: bool = True, cwd: Path | None = None) -> bool:
        self.echo("$ " + shlex.join(argv))
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        try:
            # argv lists only, never a shell; the programs are the environment tools themselves.
            proc = subprocess.Popen(  # noqa: S603
                argv,
                cwd=cwd or self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
        except OSError as e:
            raise EnvironmentFailed(f"Could not run {argv[0]}: {e}") from e
        with proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                tail.append(line.rstrip())
                if not self.quiet:
                    self.echo("  " + line.rstrip())
        if proc.returncode == 0:
            return True
        if not check:
            return False
        output = "\n".join("  " + line for line in tail)
        raise EnvironmentFailed(
            f"Building the environment failed (exit status {proc.returncode}) at:\n"
            f"  $ {shlex.join(argv)}\nLast lines of its output:\n{output}"
        )


def _build_venv(
    run: _Runner, plan: Plan, env: Path, extra: Sequence[str], pip_args: list[str], install_cwd: Path
) -> Path:
    python = env / "bin" / "python"
    if plan.tool == "uv":
        uv = shutil.which("uv") or "uv"
        version = ["--python", plan.python_request[0]] if plan.python_request else []
        run([uv, "venv", *version, str(env)])
    else:
        run([sys.executable, "-I", "-m", "venv", str(env)])
    run([*_installer(plan, python), *pip_args, *extra], cwd=install_cwd)
    return python


def _installer(plan: Plan, python: Path) -> list[str]:
    """The start of an install command for `python`'s environment."""
    if plan.tool == "uv":
        uv = shutil.which("uv") or "uv"
        return [uv, "pip", "install", "--python", str(python), *_uv_index_options()]
    return [str(python), "-I", "-m", "pip", "install", "--disable-pip-version-check"]


def _uv_index_options() -> list[str]:
    # uv ignores pip's variables on purpose (astral-sh/uv#1450); pass the common ones as flags.
    options = []
    if os.environ.get("PIP_INDEX_URL"):
        options += ["--index-url", os.environ["PIP_INDEX_URL"]]
    for url in os.environ.get("PIP_EXTRA_INDEX_URL", "").split():
        options += ["--extra-index-url", url]
    for link in os.environ.get("PIP_FIND_LINKS", "").split():
        options += ["--find-links", link]
    if os.environ.get("PIP_NO_INDEX", "").lower() in {"1", "true", "yes", "on"}:
        options.append("--no-index")
    return options


def _build_conda(
    run: _Runner,
    plan: Plan,
    dest: Path,
    env: Path,
    extra: Sequence[str],
    pip_args: list[str],
    agreed: bool,
    install_cwd: Path,
) -> Path:
    import yaml

    tool = shutil.which(plan.tool) or plan.tool
    spec = plan.conda_agreed if agreed else plan.conda_spec
    if spec is None:
        raise EnvironmentFailed(plan.conda_error or "the environment file could not be read")
    # Never the share's own file: conda runs pip from the folder of the file it is given.
    file = str(run.cwd / "environment.yml")
    Path(file).write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    if plan.tool == "micromamba":
        run([tool, "create", "--prefix", str(env), "--file", file, "--yes"])
    else:
        yes = ["--yes"] if plan.tool == "mamba" else []  # `conda env create` never asks
        run([tool, "env", "create", "--prefix", str(env), "--file", file, *yes])
    if extra:
        channel = ["--channel", "conda-forge"] if plan.tool == "micromamba" else []
        run([tool, "install", "--prefix", str(env), "--yes", *channel, *extra])
    python = env / "bin" / "python"
    if pip_args:
        run([*_installer(plan, python), *pip_args], cwd=install_cwd)
    return python


def _install_best_effort(run: _Runner, plan: Plan, python: Path) -> None:
    """Conda packages installed with pip: all at once, else one by one, reporting each failure."""
    if not plan.best_effort:
        return
    install = _installer(plan, python)
    if run([*install, *(spec for spec, _ in plan.best_effort)], check=False):
        return
    run.echo("Installing them together failed; trying each one.")
    failed = [conda for spec, conda in plan.best_effort if not run([*install, spec], check=False)]
    if failed:
        source = next((f for f in plan.installed_from if "environment.y" in f), "environment.yml")
        plan.not_reproduced.append((source, "pip could not install the conda packages " + ", ".join(failed)))


def _add_nbshare(run: _Runner, plan: Plan, python: Path, *, own: bool) -> None:
    """The nbshare the share asks for, if the index has it; else, when the share's code
    imports nbshare (`own`) and the environment lacks it, the running nbshare: by name from
    the index when it came from one, else a wheel of the running package."""
    from . import own_nbshare

    if plan.nbshare_specs:
        # A file of its own: a line may carry options (--hash) that are not part of a spec.
        asked = run.cwd / "nbshare-requirements.txt"
        asked.write_text("".join(line + "\n" for line in plan.nbshare_specs), encoding="utf-8")
        if run([*_installer(plan, python), "-r", str(asked)], check=False):
            return
        reason = f"it asks for {', '.join(plan.nbshare_specs)}, which could not be installed"
        stands_in = own and not _imports(python, own_nbshare.NAME, run.cwd)
        plan.not_reproduced.append(
            ("nbshare", reason + ("; the nbshare running here stands in" if stands_in else ""))
        )
    if not own or _imports(python, own_nbshare.NAME, run.cwd):
        return
    install = _installer(plan, python)
    version = own_nbshare.nbshare.__version__
    by_name = own_nbshare.from_index()
    if by_name:
        run.echo(f"The notebooks import nbshare and the share's environment lacks it: installing {by_name}.")
        if run([*install, by_name], check=False):
            plan.notes.append(f"nbshare: the notebooks import it; installed {by_name}, the one running here.")
            return
    folder = own_nbshare.package_folder()
    run.echo(
        "The notebooks import nbshare and the share's environment lacks it: installing the nbshare "
        f"running here ({version}, from {folder}), without its dependencies."
    )
    wheel = own_nbshare.write_wheel(run.cwd)
    if run([*install, "--no-deps", str(wheel)], check=False):
        plan.notes.append(
            f"nbshare: the notebooks import it; installed the nbshare running here ({version}, from "
            f"{folder}) without its dependencies: download_link works; its CLI would need them."
        )
    else:
        plan.not_reproduced.append(("nbshare", "the notebooks import it and it could not be installed"))


def _imports(python: Path, module: str, cwd: Path) -> bool:
    """Whether `python` can import `module`, from a neutral folder (not the share's)."""
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    done = subprocess.run(  # noqa: S603 - the environment's own interpreter
        [str(python), "-I", "-c", probe], capture_output=True, check=False, cwd=cwd
    )
    return done.returncode == 0


def _check_python_version(plan: Plan, python: Path, cwd: Path) -> None:
    if not plan.python_request:
        return
    wanted, source = plan.python_request
    found = subprocess.run(  # noqa: S603 - the environment's own interpreter
        [str(python), "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    ).stdout.strip()
    if found != wanted:
        reason = f"{source} asks for Python {wanted}; this environment uses {found}"
        plan.not_reproduced.append((source, reason))


# The kernel's start-up, run with `python -c`, where Python puts the notebook's folder first
# on sys.path before any import: it is taken off before ipykernel is imported (else a share's
# ipykernel_launcher.py, ipykernel/, or the debugpy.py and psutil.py ipykernel imports while
# starting would run instead). IPython's own init_path() puts the folder back, before
# site-packages, just before the shell starts, so cells can import the share's modules, as
# in Jupyter. (Recent IPython leaves it off under `python -P`, so -P alone would break those.)
KERNEL_LAUNCHER = """\
import sys
if sys.path and sys.path[0] == "" and not getattr(sys.flags, "safe_path", False):
    del sys.path[0]
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


def _launch_outside_the_folder(kernel_json: Path) -> str | None:
    """Make the registered kernel start with KERNEL_LAUNCHER instead of `-m ipykernel_launcher`,
    which Python looks for in the notebook's folder first; a note when that cannot be done."""
    if not kernel_json.is_file():
        return None
    spec = json.loads(kernel_json.read_text(encoding="utf-8"))
    argv = list(spec.get("argv") or [])
    # [python, (interpreter options such as -Xfrozen_modules=off), -m, ipykernel_launcher, -f, ...]
    at = next((i for i in range(1, len(argv) - 1) if argv[i : i + 2] == ["-m", "ipykernel_launcher"]), None)
    if at is None:
        return (
            f"The kernel starts with {' '.join(argv[1:3])!r}, which nbshare does not know: opening "
            "a notebook may run a file of that name in the notebook's folder."
        )
    spec["argv"] = [*argv[:at], "-c", KERNEL_LAUNCHER, *argv[at + 2 :]]
    kernel_json.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    return None


def _kernel_name(dest: Path) -> str:
    # Jupyter accepts letters, digits, "-", "." and "_" in kernel names.
    slug = re.sub(r"[^a-z0-9._-]+", "-", dest.name.lower()).strip("-.") or "share"
    return f"nbshare-{slug}"


def open_command(dest: Path, env: Path) -> str:
    """The one shell command that opens the notebooks with this environment's kernel.

    The environment's own Jupyter, when it has one, sees the kernel and the packages with no
    set-up. Otherwise the person's own Jupyter is used, and JUPYTER_PATH adds the environment's
    data folder for that one run, so the kernel shows up without touching their configuration.
    """
    rel = env.relative_to(dest) if env.is_relative_to(dest) else env
    cd = f"cd {shlex.quote(str(dest))} && "
    for program, command in (("jupyter-lab", "lab"), ("jupyter-notebook", "notebook")):
        if (env / "bin" / program).exists():
            return cd + f"{shlex.quote(str(rel / 'bin' / 'jupyter'))} {command}"
    return cd + f"JUPYTER_PATH={shlex.quote(str(rel / 'share' / 'jupyter'))} jupyter lab"


def describe(report: EnvReport) -> str:
    """Plain text for a person: what was built, what was not reproduced, how to open it."""
    lines = [f"Environment: {report.path} ({report.kind}, built with {report.tool})"]
    if report.installed_from:
        lines.append("Installed from: " + ", ".join(report.installed_from))
    lines += [f"  {note}" for note in report.notes]
    if report.not_reproduced:
        lines.append("Not reproduced:")
        lines += [f"  {file}: {reason}" for file, reason in report.not_reproduced]
    lines.append(f"Kernel: {report.kernel_name} (registered inside the environment only)")
    lines.append(f"Open the notebooks with:\n  {report.open_command}")
    return "\n".join(lines)
