"""`--infer-env`: a requirements.txt guessed from what the notebooks and scripts import.

The versions are the ones installed where the CLI runs, which is the sender's machine, where
the analysis last ran. It is a guess and says so: imports that match no installed distribution
are listed for the person to add by hand rather than guessed at from PyPI.

Only what came from a package index is pinned: a distribution installed from a local folder
(editable or not), a local wheel or a URL (origin.py reads PEP 610's direct_url.json) is on
no index under that version, and a pin would stop the recipient's install. One from a public
https URL is referred to by that URL; the others are left out and named in a comment. That
covers nbshare itself while it is installed from a checkout; once installed from PyPI it is
pinned like anything else. `nbshare clone` installs the recipient's own nbshare when the
notebooks import it and the requirements do not provide it.
"""

from __future__ import annotations

import ast
import datetime
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata

from .origin import Origin, editable_provider, origin_of

# Cell magics whose body is still Python run in the kernel, so its imports count.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture"})
NOT_THIRD_PARTY = frozenset(sys.stdlib_module_names) | {"__main__"}

# `x = !ls` and `x = %who_ls`: an assignment from IPython syntax.
_ASSIGNED_MAGIC = re.compile(r"^\s*[\w.,\s\[\]()*]+=\s*[!%]")
_IMPORT = re.compile(r"^\s*import\s+(.+)")
_FROM = re.compile(r"^\s*from\s+([\w.]+)\s+import\b")


@dataclass(frozen=True)
class Requirement:
    distribution: str
    version: str
    modules: tuple[str, ...]  # the imported names this distribution provides
    reference: str | None = None  # "name @ URL", for one installed from a URL, not an index

    @property
    def line(self) -> str:
        return self.reference or f"{self.distribution}=={self.version}"


@dataclass(frozen=True)
class NotPinned:
    """An imported distribution installed from where no index can give it: left out."""

    distribution: str
    version: str
    modules: tuple[str, ...]
    origin: Origin

    @property
    def why(self) -> str:
        return f"{self.distribution} {self.version}, installed from {self.origin.described}"


@dataclass(frozen=True)
class Inferred:
    requirements: list[Requirement]
    python_version: str  # "3.11"
    unresolved: list[str]  # imported, not in the bundle, not installed here
    local: list[str]  # provided by the bundle's own .py files or packages
    stdlib: list[str]
    not_pinned: list[NotPinned] = field(default_factory=list)


# ---- imports in one piece of code


def imports_in_code(source: str) -> set[str]:
    """Top-level names imported by a notebook cell (IPython syntax allowed); relative imports excluded."""
    return _imports(strip_ipython(source))


def strip_ipython(source: str) -> str:
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)
        if not magic or magic[0] not in PYTHON_CELL_MAGICS:
            return ""  # %%bash, %%html, %%sql...: not Python at all
        lines = lines[1:]
    # Keep the line with `pass` at its indent, so a magic alone in a block leaves it valid.
    return "\n".join(_indent(line) + "pass" if _is_ipython(line) else line for line in lines)


def _is_ipython(line: str) -> bool:
    stripped = line.strip()
    return (
        stripped.startswith(("%", "!", "?"))
        or (stripped.endswith("?") and not stripped.startswith("#"))
        or bool(_ASSIGNED_MAGIC.match(line))
    )


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _imports(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        # One broken line must not hide the imports on the others.
        return _imports_line_by_line(source)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _imports_line_by_line(source: str) -> set[str]:
    names: set[str] = set()
    for line in source.splitlines():
        if match := _FROM.match(line):
            if not match[1].startswith("."):  # relative: the bundle's own code
                names.add(match[1].split(".")[0])
        elif match := _IMPORT.match(line):
            for item in match[1].split("#")[0].split(","):
                words = item.strip().strip("()\\").split()
                if words and words[0].split(".")[0].isidentifier():
                    names.add(words[0].split(".")[0])
    return names


# ---- a whole bundle


def notebook_code(raw: bytes) -> list[str]:
    """The source of each code cell, or nothing for a notebook that is not Python or not JSON."""
    try:
        notebook = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(notebook, dict):
        return []
    meta = notebook.get("metadata") or {}
    language = (meta.get("kernelspec") or {}).get("language") or (meta.get("language_info") or {}).get("name")
    if isinstance(language, str) and language.lower() not in ("python", "python3", "ipython"):
        return []
    cells = notebook.get("cells")
    if not isinstance(cells, list):  # nbformat 3 kept cells in worksheets
        cells = [cell for sheet in notebook.get("worksheets") or [] for cell in sheet.get("cells") or []]
    sources = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", cell.get("input", ""))
            sources.append("".join(source) if isinstance(source, list) else str(source))
    return sources


def local_modules(bundle_paths: Iterable[str], code_paths: Iterable[str]) -> set[str]:
    """Modules the bundle provides itself, importable from any folder holding a notebook or script."""
    paths = list(bundle_paths)
    folders = {path.rsplit("/", 1)[0] if "/" in path else "" for path in code_paths}
    names: set[str] = set()
    for folder in folders:
        prefix = folder + "/" if folder else ""
        for path in paths:
            if not path.startswith(prefix) or not path.endswith(".py"):
                continue
            parts = path[len(prefix) :].split("/")
            # x.py beside the notebook, or any folder x/ holding Python (a package, namespace or not)
            names.add(parts[0].removesuffix(".py") if len(parts) == 1 else parts[0])
    return names


def imported_modules(
    notebooks: Mapping[str, bytes], python_files: Mapping[str, bytes], bundle_paths: Iterable[str]
) -> tuple[set[str], set[str], set[str]]:
    """(third-party, local, standard library): the top-level names the code imports, sorted by
    where they come from (local: the bundle's own modules)."""
    imported: set[str] = set()
    for raw in notebooks.values():
        for source in notebook_code(raw):
            imported |= imports_in_code(source)
    for raw in python_files.values():
        imported |= _imports(raw.decode("utf-8", errors="replace"))
    local = local_modules(bundle_paths, [*notebooks, *python_files]) & imported
    stdlib = (imported & NOT_THIRD_PARTY) - local
    return imported - local - stdlib, local, stdlib


def infer_requirements(
    notebooks: Mapping[str, bytes], python_files: Mapping[str, bytes], bundle_paths: Iterable[str]
) -> Inferred:
    third_party, local, stdlib = imported_modules(notebooks, python_files, bundle_paths)

    providers = metadata.packages_distributions()
    modules_of: dict[str, set[str]] = {}
    unresolved = []
    for module in third_party:
        distributions = set(providers.get(module, ()))
        if not distributions and (editable := editable_provider(module)):
            distributions = {editable}
        if not distributions:
            unresolved.append(module)
        for provider in distributions:
            modules_of.setdefault(provider, set()).add(module)
    requirements: list[Requirement] = []
    not_pinned: list[NotPinned] = []
    for name, modules in modules_of.items():
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            unresolved.extend(modules)
            continue
        version, origin = distribution.version, origin_of(distribution)
        if origin.from_index or origin.reference:
            requirements.append(Requirement(name, version, tuple(sorted(modules)), origin.reference))
        else:
            not_pinned.append(NotPinned(name, version, tuple(sorted(modules)), origin))
    return Inferred(
        requirements=sorted(requirements, key=lambda req: req.distribution.lower()),
        python_version=f"{sys.version_info.major}.{sys.version_info.minor}",
        unresolved=sorted(set(unresolved)),
        local=sorted(local),
        stdlib=sorted(stdlib),
        not_pinned=sorted(not_pinned, key=lambda item: item.distribution.lower()),
    )


# ---- the files written into the bundle


def requirements_txt(inferred: Inferred, *, today: datetime.date | None = None) -> str:
    today = today or datetime.date.today()
    lines = [
        f"# Inferred by nbshare on {today.isoformat()} from the imports in the notebooks and scripts,",
        "# pinned to the versions installed where they were published. Check it before relying on it.",
    ]
    if inferred.unresolved:
        lines.append("# Imported but not installed there, so left out: " + ", ".join(inferred.unresolved))
    if inferred.not_pinned:
        lines.append("# Installed there from elsewhere than a package index, so left out (no index has it):")
        lines += [f"#   {item.why}{_instead(item)}" for item in inferred.not_pinned]
    if any(req.reference for req in inferred.requirements):
        lines.append("# Installed there from a URL, so named by it (nbshare clone asks before using it).")
    lines += [req.line for req in inferred.requirements]
    return "\n".join(lines) + "\n"


def _instead(item: NotPinned) -> str:
    if item.distribution.lower() == "nbshare":
        return "; `nbshare clone` installs the recipient's own nbshare instead"
    return "; add where to get it by hand"


def runtime_txt(inferred: Inferred) -> str:
    return f"python-{inferred.python_version}\n"
