"""Which notebook a running kernel belongs to, for `nbshare.publish()` without a path.

Jupyter Server starts a kernel with JPY_SESSION_NAME (ipykernel copies it to `__session__`):
the notebook's absolute path when the frontend named the file (JupyterLab and Notebook 7
do), else its path relative to the server's root. VS Code puts `__vsc_ipynb_file__` in the
user's namespace. Both name the file as it was when the kernel started."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .publishing import NotebookUnknown

HOW = 'pass its path, as in nbshare.publish("analysis.ipynb") or %nbshare analysis.ipynb'


def user_namespace() -> Mapping[str, Any]:
    """The running IPython's user namespace, or {} outside IPython."""
    import sys

    if "IPython" not in sys.modules:  # never import IPython just to learn it is not running
        return {}
    from IPython import get_ipython

    shell = get_ipython()
    return shell.user_ns if shell is not None else {}


def current_notebook(
    namespace: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """The notebook file this kernel runs, or NotebookUnknown saying what to do instead."""
    namespace = user_namespace() if namespace is None else namespace
    environ = os.environ if environ is None else environ
    named = (
        namespace.get("__vsc_ipynb_file__") or environ.get("JPY_SESSION_NAME") or namespace.get("__session__")
    )
    if not named or not isinstance(named, str):
        raise NotebookUnknown(
            "Cannot tell which notebook this kernel runs (Jupyter sets JPY_SESSION_NAME, VS Code "
            f"__vsc_ipynb_file__; neither is set here): {HOW}."
        )
    found = _find(Path(named).expanduser())
    if found is None:
        raise NotebookUnknown(
            f"This kernel's notebook, {named}, is not there (renamed or moved since the kernel "
            f"started?): {HOW}."
        )
    return found


def _find(named: Path) -> Path | None:
    if named.suffix.lower() != ".ipynb":  # a console's or a script's session: no notebook
        return None
    if named.is_absolute():
        return named if named.is_file() else None
    # Relative to the server's root, which the kernel is not told: the kernel starts in the
    # notebook's folder, so the root is that folder or one above it.
    here = Path.cwd()
    for root in (here, *here.parents):
        if (root / named).is_file():
            return (root / named).resolve()
    return None
