"""Environment files in a bundle, found the way repo2docker (and so Binder) finds them.

repo2docker reads a fixed set of names, only at the top of the repository or, when a
`binder/` or `.binder/` folder exists, only in that folder; it refuses a repository with
both. Following it exactly means what nbshare shows is what Binder would build.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import NbshareError

NOT_CLONED = " — not reproduced by nbshare clone"

# In repo2docker's order of precedence (a Dockerfile wins over everything, and so on).
# environment.yaml is not here on purpose: repo2docker reads environment.yml only.
KINDS: dict[str, str] = {
    "Dockerfile": "Docker image (repo2docker then ignores every other file)" + NOT_CLONED,
    "default.nix": "Nix packages (repo2docker then ignores the other package files)" + NOT_CLONED,
    "environment.yml": "conda environment",
    "Pipfile.lock": "pipenv locked packages (used instead of Pipfile)" + NOT_CLONED,
    "Pipfile": "pipenv packages" + NOT_CLONED,
    "requirements.txt": "pip requirements",
    "setup.py": "Python package, installed with pip",
    "pyproject.toml": "Python project, installed with pip",
    "Project.toml": "Julia environment" + NOT_CLONED,
    "JuliaProject.toml": "Julia environment" + NOT_CLONED,
    "Manifest.toml": "exact Julia package versions" + NOT_CLONED,
    "REQUIRE": "Julia packages (legacy)" + NOT_CLONED,
    "install.R": "R packages" + NOT_CLONED,
    "DESCRIPTION": "R package" + NOT_CLONED,
    "runtime.txt": "language version (python-X.Y, or r-VERSION-DATE)",
    "apt.txt": "system packages (apt)" + NOT_CLONED,
    "postBuild": "script run once after the environment is built" + NOT_CLONED,
    "start": "script run each time the environment starts" + NOT_CLONED,
}
_ORDER = {kind: rank for rank, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class EnvFile:
    path: str  # inside the bundle, e.g. "binder/requirements.txt"
    kind: str  # the file name repo2docker looks for, e.g. "requirements.txt"
    description: str


def binder_folder(paths: Iterable[str]) -> str:
    """The folder repo2docker reads environment files from: "binder", ".binder" or "" (the top)."""
    tops = {path.split("/", 1)[0] for path in paths if "/" in path}
    if "binder" in tops and ".binder" in tops:
        raise NbshareError(
            "The bundle has both a binder/ and a .binder/ folder; repo2docker (and Binder) refuse "
            "that. Keep one of them.",
            code="bundle_binder_conflict",
        )
    return ".binder" if ".binder" in tops else "binder" if "binder" in tops else ""


def find_env_files(paths: Iterable[str]) -> list[EnvFile]:
    """The environment files repo2docker would use, most decisive first."""
    paths = list(paths)
    folder = binder_folder(paths)
    prefix = folder + "/" if folder else ""
    found = []
    for path in paths:
        if not path.startswith(prefix):
            continue
        name = path[len(prefix) :]
        if name in KINDS:  # directly in the folder: repo2docker never looks deeper
            found.append(EnvFile(path, name, KINDS[name]))
    return sorted(found, key=lambda env: _ORDER[env.kind])
