"""The sender's side of a bundle: what goes up, the inferred environment, the .zip sent.

Pure apart from reading the files named; the CLI shows the plan and asks before sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .archive import Limits, write_zip
from .collect import BundleFile, collect
from .envfiles import EnvFile, binder_folder, find_env_files
from .infer import Inferred, infer_requirements, requirements_txt, runtime_txt


@dataclass
class Outgoing:
    name: str  # the bundle's file name, e.g. "analysis.zip"
    files: list[BundleFile]
    env: list[EnvFile]
    inferred: Inferred | None = None
    added: list[str] = field(default_factory=list)  # files nbshare wrote (inferred environment)

    @property
    def total(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def notebooks(self) -> list[str]:
        return [f.path for f in self.files if f.path.lower().endswith(".ipynb")]

    def archive(self) -> bytes:
        return write_zip((f.path, f.read()) for f in self.files)


def bundle_name(paths: Sequence[Path]) -> str:
    """A file name for the bundle: the folder's or archive's name, else the first file's."""
    first = Path(paths[0]).resolve()
    if len(paths) == 1 and first.suffix.lower() == ".zip":
        return first.name
    if len(paths) == 1 and first.is_dir():
        return f"{first.name or 'bundle'}.zip"
    return f"{first.stem or 'bundle'}.zip"


def plan(
    paths: Sequence[Path],
    *,
    excludes: Sequence[str] = (),
    infer_env: bool = False,
    limits: Limits | None = None,
) -> Outgoing:
    """The files to send for `paths`, with an inferred requirements.txt and runtime.txt
    when asked and the bundle has no environment of its own."""
    files = collect(list(paths), excludes=excludes, limits=limits or Limits())
    outgoing = Outgoing(bundle_name(paths), files, find_env_files(f.path for f in files))
    if infer_env and not outgoing.env:
        notebooks = {f.path: f.read() for f in files if f.path.lower().endswith(".ipynb")}
        modules = {f.path: f.read() for f in files if f.path.endswith(".py")}
        inferred = infer_requirements(notebooks, modules, [f.path for f in files])
        outgoing.inferred = inferred
        # Where repo2docker and `nbshare clone` look: binder/ (or .binder/) when the bundle
        # has one, since then the root is not read, else the root.
        folder = binder_folder(f.path for f in files)
        prefix = folder + "/" if folder else ""
        for path, text in (
            (prefix + "requirements.txt", requirements_txt(inferred)),
            (prefix + "runtime.txt", runtime_txt(inferred)),
        ):
            data = text.encode("utf-8")
            files.append(BundleFile(path=path, size=len(data), data=data))
            outgoing.added.append(path)
        files.sort(key=lambda f: f.path)
        outgoing.env = find_env_files(f.path for f in files)
    return outgoing
