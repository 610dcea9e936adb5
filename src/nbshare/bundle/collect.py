"""What `nbshare publish` uploads: the files named on the command line, walked and filtered.

The filter is what people have already said elsewhere (their .gitignore files), plus the
folders no analysis means to share (version control, virtualenvs, caches), plus `--exclude`.
Names are checked with the same rules the server applies, so a refusal comes before the upload.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec

from ..errors import NbshareError
from .archive import Limits, format_size, read_zip
from .paths import check_unique, normalise

# Matched like .gitignore lines against each path inside the bundle.
ALWAYS_EXCLUDED = (
    ".git", ".hg", ".svn", ".venv/", "venv/", "__pycache__/", ".ipynb_checkpoints/",
    ".mypy_cache/", ".pytest_cache/", "node_modules/", ".DS_Store", "*.pyc",
    "/.nbshare-clone",  # the marker `nbshare clone` leaves in its folder (workingcopy.MARKER)
)  # fmt: skip
# A folder holding one of these is a Python environment, whatever it is called (env/, py311/).
ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")


class BundleError(NbshareError):
    status = 400
    code = "bundle_invalid"


@dataclass
class BundleFile:
    path: str  # POSIX, relative: the name inside the bundle
    size: int
    source: Path | None = None
    data: bytes | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.source is not None
        try:
            data = self.source.read_bytes()
        except OSError as exc:
            raise BundleError(f"{self.source} cannot be read ({exc.strerror}).") from exc
        if len(data) != self.size:
            raise BundleError(f"{self.source} changed while it was being published; try again.")
        return data


def collect(paths: Sequence[Path], *, excludes: Sequence[str] = (), limits: Limits) -> list[BundleFile]:
    """The files to upload for the `paths` named on the command line, sorted by bundle path."""
    if not paths:
        raise BundleError("Name at least one notebook, file or folder to publish.")
    for path in paths:
        if not os.path.lexists(path):
            raise BundleError(f"{path} does not exist.", code="bundle_missing_path")
    collector = _Collector(_bundle_root(paths), excludes, limits)
    if len(paths) == 1 and paths[0].suffix.lower() == ".zip" and paths[0].is_file():
        collector.add_zip(paths[0])
    else:
        for path in paths:
            collector.add_argument(path, sole=len(paths) == 1)
    return collector.finish()


def _bundle_root(paths: Sequence[Path]) -> Path:
    absolute = [Path(os.path.abspath(path)) for path in paths]
    if len(absolute) == 1:
        return absolute[0] if absolute[0].is_dir() else absolute[0].parent
    try:
        return Path(os.path.commonpath([path.parent for path in absolute]))
    except ValueError:  # Windows: no common folder across drives
        raise BundleError("The files are on different drives; publish them from one place.") from None


class _Collector:
    def __init__(self, root: Path, excludes: Sequence[str], limits: Limits):
        self.root = root
        self.limits = limits
        self.always = GitIgnoreSpec.from_lines(ALWAYS_EXCLUDED)
        self.excludes = GitIgnoreSpec.from_lines(excludes)
        self.gitignores: dict[str, GitIgnoreSpec | None] = {}
        self.files: dict[str, BundleFile] = {}
        self.origins: dict[str, Path] = {}  # bundle path -> the argument it came from

    # ---- arguments

    def add_argument(self, path: Path, *, sole: bool) -> None:
        absolute = Path(os.path.abspath(path))
        if sole and absolute.is_dir():
            self._walk(absolute, "", path, (os.path.realpath(absolute),))
            return
        rel = absolute.relative_to(self.root).as_posix()
        if absolute.is_dir():
            if not self._excluded(rel, absolute, is_dir=True):
                self._walk(absolute, rel, path, (os.path.realpath(absolute),))
            return
        # A file named on the command line is read even through a symlink, and .gitignore
        # does not apply to it: the person asked for it by name.
        info = os.stat(absolute)
        if not stat.S_ISREG(info.st_mode):
            raise BundleError(f"{path} is not a regular file.")
        if not self._excluded(rel, absolute, is_dir=False, gitignore=False):
            self._add(rel, absolute, info.st_size, path)

    def add_zip(self, path: Path) -> None:
        size = path.stat().st_size
        if size > self.limits.max_total_bytes + 1024 * 1024:  # a zip is never much larger than its contents
            raise BundleError(
                f"{path} is {format_size(size)}; the limit for a bundle is "
                f"{format_size(self.limits.max_total_bytes)}.",
                code="bundle_too_large",
                status=413,
            )
        members = read_zip(path.read_bytes(), self.limits)
        environments = _environment_folders(member.path for member in members)
        for member in members:
            if any(member.path.startswith(env + "/") for env in environments):
                continue
            if self.always.match_file(member.path) or self.excludes.match_file(member.path):
                continue
            self._add(member.path, None, len(member.data), path, data=member.data)

    # ---- walking

    def _walk(self, directory: Path, rel: str, argument: Path, stack: tuple[str, ...]) -> None:
        # `stack` holds the real paths of the folders above: a link back to one of them is a loop.
        walk_root = stack[0]
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError as exc:
            raise BundleError(f"{directory} cannot be read ({exc.strerror}).") from exc
        for entry in entries:
            child_rel = f"{rel}/{entry.name}" if rel else entry.name
            child = Path(entry.path)
            real = os.path.realpath(child)
            if entry.is_symlink() and (not os.path.exists(real) or not _inside(real, walk_root)):
                continue  # dangling, or a way out of the folder being shared
            info = os.stat(real)
            if stat.S_ISDIR(info.st_mode):
                if real not in stack and not self._excluded(child_rel, child, is_dir=True):
                    self._walk(child, child_rel, argument, (*stack, real))
            elif stat.S_ISREG(info.st_mode):  # pipes, sockets and devices are never read
                if not self._excluded(child_rel, child, is_dir=False):
                    self._add(child_rel, child, info.st_size, argument)

    def _excluded(self, rel: str, path: Path, *, is_dir: bool, gitignore: bool = True) -> bool:
        pattern_path = rel + "/" if is_dir else rel
        if self.always.match_file(pattern_path) or self.excludes.match_file(pattern_path):
            return True
        if is_dir and any((path / marker).exists() for marker in ENVIRONMENT_MARKERS):
            return True
        return gitignore and self._gitignored(rel, is_dir)

    def _gitignored(self, rel: str, is_dir: bool) -> bool:
        # Like git: the deepest .gitignore with an opinion on the path decides.
        parts = rel.split("/")
        for depth in range(len(parts) - 1, -1, -1):
            spec = self._gitignore("/".join(parts[:depth]))
            if spec is not None:
                below = "/".join(parts[depth:]) + ("/" if is_dir else "")
                verdict = spec.check_file(below).include
                if verdict is not None:
                    return verdict
        return False

    def _gitignore(self, folder: str) -> GitIgnoreSpec | None:
        if folder not in self.gitignores:
            path = self.root / folder / ".gitignore"
            spec = None
            if path.is_file():
                spec = GitIgnoreSpec.from_lines(
                    path.read_text(encoding="utf-8", errors="replace").splitlines()
                )
            self.gitignores[folder] = spec
        return self.gitignores[folder]

    # ---- adding and checking

    def _add(
        self, rel: str, source: Path | None, size: int, argument: Path, data: bytes | None = None
    ) -> None:
        path = normalise(rel)
        if path in self.files:
            raise BundleError(
                f"{self.origins[path]} and {argument} both give the file {path!r} in the bundle; "
                "name each file once.",
                code="bundle_duplicate",
            )
        if size > self.limits.max_file_bytes:
            raise BundleError(
                f"{path} is {format_size(size)}; the limit for one file is "
                f"{format_size(self.limits.max_file_bytes)}. Leave it out with --exclude {path!r}.",
                code="bundle_too_large",
                status=413,
            )
        if len(self.files) >= self.limits.max_files:
            raise BundleError(
                f"There are more than {self.limits.max_files} files (the limit); leave some out with "
                "--exclude or a .gitignore file.",
                code="bundle_too_many_files",
                status=413,
            )
        self.files[path] = BundleFile(path, size, source, data)
        self.origins[path] = argument

    def finish(self) -> list[BundleFile]:
        if not self.files:
            raise BundleError(
                "Nothing is left to publish once ignored files (.gitignore, --exclude, virtualenvs, "
                "caches) are left out.",
                code="bundle_empty",
            )
        total = sum(file.size for file in self.files.values())
        if total > self.limits.max_total_bytes:
            raise BundleError(
                f"The files add up to {format_size(total)}; the limit for a bundle is "
                f"{format_size(self.limits.max_total_bytes)}. Leave some out with --exclude.",
                code="bundle_too_large",
                status=413,
            )
        check_unique(self.files)
        return sorted(self.files.values(), key=lambda file: file.path)


def _environment_folders(paths: Iterable[str]) -> set[str]:
    folders = set()
    for path in paths:
        parts = path.split("/")
        for depth, part in enumerate(parts[1:], start=1):
            if part in ENVIRONMENT_MARKERS and (part != "pyvenv.cfg" or depth == len(parts) - 1):
                folders.add("/".join(parts[:depth]))
    return folders


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)
