"""The recipient's own nbshare, put into a clone's environment when the share needs it.

A notebook that calls `from nbshare import download_link` needs `import nbshare` to work in
its kernel. The share's requirements may not provide it: `--infer-env` leaves nbshare out
when the sender's copy came from a checkout (no index has that version), and older shares
pin a version no index has. So when the share's code imports nbshare and the new
environment cannot import it, clone installs the nbshare that is running the clone:

- installed from a package index here: `nbshare==<this version>` from your index, by name,
  with its (light, client-only) dependencies, as `pip install nbshare` would;
- installed any other way (a checkout, editable or not, a local wheel, a URL), or when the
  index has no such version: a wheel nbshare writes of its own running package, installed
  without dependencies. `download_link` needs only the standard library, and
  `nbshare/__init__.py` imports nothing else until asked, so `from nbshare import
  download_link` works; the rest of the package (the CLI, the API) would need
  `pip install nbshare` there.

This is never the share's code: what is installed is chosen by the running client alone,
and the share can only cause its installation by importing nbshare. So it needs no consent.
"""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import nbshare

from .infer import imported_modules
from .origin import origin_of

NAME = "nbshare"
MAX_SOURCE_BYTES = 20 * 1024 * 1024  # a notebook or script larger than this is not read for imports


def share_imports_nbshare(dest: Path, paths: Iterable[str]) -> bool:
    """Whether the share's notebooks or .py files import nbshare (and it is not a module of theirs)."""
    paths = list(paths)
    notebooks: dict[str, bytes] = {}
    scripts: dict[str, bytes] = {}
    for rel in paths:
        file = dest / rel
        kind = notebooks if rel.lower().endswith(".ipynb") else scripts if rel.endswith(".py") else None
        if kind is None or not file.is_file() or file.is_symlink():
            continue
        if file.stat().st_size <= MAX_SOURCE_BYTES:
            kind[rel] = file.read_bytes()
    third_party, _local, _stdlib = imported_modules(notebooks, scripts, paths)
    return NAME in third_party


def from_index() -> str | None:
    """`nbshare==VERSION` when the running nbshare is the one installed here from an index."""
    try:
        installed = metadata.distribution(NAME)
    except metadata.PackageNotFoundError:
        return None
    # The running package must be that distribution's (not a checkout on PYTHONPATH).
    files = installed.files or []
    init = next((f for f in files if str(f).replace("\\", "/") == f"{NAME}/__init__.py"), None)
    if init is None or Path(str(installed.locate_file(init))).resolve() != Path(nbshare.__file__).resolve():
        return None
    if installed.version != nbshare.__version__ or not origin_of(installed).from_index:
        return None
    return f"{NAME}=={installed.version}"


def package_folder() -> Path:
    return Path(nbshare.__file__).resolve().parent


def write_wheel(folder: Path) -> Path:
    """A pure-Python wheel of the running nbshare package (no dependencies declared), in `folder`."""
    version = nbshare.__version__
    dist_info = f"{NAME}-{version}.dist-info"
    wheel = folder / f"{NAME}-{version.replace('-', '_')}-py3-none-any.whl"
    metadata_text = (
        f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {version}\n"
        "Summary: The nbshare that ran `nbshare clone`, copied without its dependencies\n"
    )
    wheel_text = "Wheel-Version: 1.0\nGenerator: nbshare clone\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, data: bytes) -> None:
            archive.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(data)}")

        root = package_folder()
        for current, dirs, names in os.walk(root):  # symlinks are not followed
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(names):
                path = Path(current) / name
                if name.endswith((".pyc", ".pyo")) or path.is_symlink() or not path.is_file():
                    continue
                add(f"{NAME}/{path.relative_to(root).as_posix()}", path.read_bytes())
        add(f"{dist_info}/METADATA", metadata_text.encode())
        add(f"{dist_info}/WHEEL", wheel_text.encode())
        record.append(f"{dist_info}/RECORD,,")
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return wheel
