"""The clone's folder as the recipient's working copy: the marker that says nbshare made it,
redoing a failed clone in it (`--force`), and its notebooks pointed at its own kernel.

The marker, `.nbshare-clone` (JSON), is the first thing written into the folder, so a clone
that failed or was interrupted at any later point can be recognised and redone. `--force`
only ever empties a folder holding that marker (or an empty one): any other folder is
refused, however it was asked, because it may be the person's own work.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ..errors import NbshareError

MARKER = ".nbshare-clone"


def is_clone(dest: Path) -> bool:
    """Whether `dest` holds a clone's marker (a file of JSON that says so)."""
    marker = dest / MARKER
    if marker.is_symlink() or not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text(encoding="utf-8")).get("made_by") == "nbshare clone"
    except (OSError, ValueError, AttributeError):
        return False


def check_folder(dest: Path, *, force: bool) -> None:
    """Refuse a folder that is a file, or not empty, unless --force and an earlier clone."""
    if dest.is_symlink() and not dest.exists():
        raise NbshareError(f"{dest} is a broken link; choose another folder.", code="clone_exists")
    if not dest.exists():
        return
    if not dest.is_dir():
        raise NbshareError(f"{dest} is a file; choose another folder.", code="clone_exists")
    if not any(dest.iterdir()):
        return
    if is_clone(dest):
        if force:
            return
        raise NbshareError(
            f"{dest} holds an earlier clone; add --force to replace it (everything in it, "
            "your changes too), or choose another folder.",
            code="clone_exists",
        )
    raise NbshareError(
        f"{dest} already exists and is not empty; choose another folder"
        + (" (--force only replaces a folder nbshare clone made)." if force else "."),
        code="clone_exists",
    )


def start(dest: Path, info: dict[str, Any], *, force: bool) -> bool:
    """Make `dest` an empty folder holding only the marker; True when an earlier clone was removed."""
    check_folder(dest, force=force)  # again: the folder may have changed during the download
    replaced = dest.is_dir() and any(dest.iterdir())
    if replaced:
        for child in list(dest.iterdir()):
            # A link is removed, never followed: what it points to is not the clone's.
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    dest.mkdir(parents=True, exist_ok=True)
    record(dest, made_by="nbshare clone", url=info.get("url"), id=info.get("id"), complete=False)
    return replaced


def record(dest: Path, **fields: Any) -> None:
    """Add `fields` to the marker."""
    marker = dest / MARKER
    try:
        data = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else {}
    except (OSError, ValueError):
        data = {}
    data.update(fields)
    marker.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def use_kernel(dest: Path, notebooks: list[str], kernel_name: str, display_name: str) -> dict[str, Any]:
    """Point each Python notebook's metadata.kernelspec at the clone's kernel, so Jupyter opens
    it there. Only that key changes (written back as Jupyter writes notebooks); non-Python
    notebooks and unreadable ones are left alone. Returns {path: the kernelspec it had}."""
    before = {}
    for rel in notebooks:
        path = dest / rel
        try:
            notebook = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        if not isinstance(notebook, dict) or notebook.get("nbformat") != 4:
            continue
        meta = notebook.setdefault("metadata", {})
        if not isinstance(meta, dict):
            continue
        spec: dict[str, Any] = meta["kernelspec"] if isinstance(meta.get("kernelspec"), dict) else {}
        info: dict[str, Any] = meta["language_info"] if isinstance(meta.get("language_info"), dict) else {}
        language = spec.get("language") or info.get("name") or "python"
        if not isinstance(language, str) or language.lower() not in ("python", "python3", "ipython"):
            continue
        before[rel] = meta.get("kernelspec")
        meta["kernelspec"] = {**spec, "name": kernel_name, "display_name": display_name, "language": "python"}
        text = json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"  # as nbformat writes
        path.write_text(text, encoding="utf-8")
    return before


def kernel_display_name(kernels_dir: Path, kernel_name: str) -> str:
    try:
        spec = json.loads((kernels_dir / kernel_name / "kernel.json").read_text(encoding="utf-8"))
        return str(spec["display_name"])
    except (OSError, ValueError, KeyError, TypeError):
        return kernel_name
