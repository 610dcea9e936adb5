"""nbshare: share Jupyter notebooks by link.

Importing this package stays light (no server, no nbconvert), so notebooks can use
its helpers cheaply.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbshare.download import download_bytes, download_link

__version__ = "0.1.0"
__all__ = ["__version__", "download_bytes", "download_link"]

# Loaded on first use, so `import nbshare` costs nothing for the CLI and the server.
_LAZY = {"download_link": "nbshare.download", "download_bytes": "nbshare.download"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'nbshare' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
