"""nbshare: share Jupyter notebooks by link.

Importing this package stays light (no server, no nbconvert, not even the HTTP client), so
notebooks can use its helpers cheaply: each name below is imported on first use.

    import nbshare
    share = nbshare.publish("analysis.ipynb", expires="7d")
    print(share.url)

In IPython or Jupyter, `%load_ext nbshare` adds the `%nbshare` magic.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbshare.api import Share, delete, publish, shares, update
    from nbshare.config import ConfigError
    from nbshare.download import download_bytes, download_link
    from nbshare.errors import NbshareError
    from nbshare.publishing import (
        HistoryUnreadable,
        NoEarlierShare,
        NoSuchPath,
        NotAnNbshareServer,
        NotebookUnknown,
        NotInHistory,
        PublishError,
        ServerRefused,
        ServerUnreachable,
        ShareNotFound,
        UploadTooLarge,
    )

__version__ = "0.1.0"

# Loaded on first use, so `import nbshare` costs nothing for the CLI and the server.
_LAZY = {
    "download_link": "nbshare.download",
    "download_bytes": "nbshare.download",
    "publish": "nbshare.api",
    "update": "nbshare.api",
    "delete": "nbshare.api",
    "shares": "nbshare.api",
    "Share": "nbshare.api",
    "NbshareError": "nbshare.errors",
    "ConfigError": "nbshare.config",
    **dict.fromkeys(
        (
            "PublishError",
            "ServerUnreachable",
            "NotAnNbshareServer",
            "ServerRefused",
            "UploadTooLarge",
            "ShareNotFound",
            "NoSuchPath",
            "NoEarlierShare",
            "HistoryUnreadable",
            "NotInHistory",
            "NotebookUnknown",
        ),
        "nbshare.publishing",
    ),
}
__all__ = [
    "ConfigError",
    "HistoryUnreadable",
    "NbshareError",
    "NoEarlierShare",
    "NoSuchPath",
    "NotAnNbshareServer",
    "NotInHistory",
    "NotebookUnknown",
    "PublishError",
    "ServerRefused",
    "ServerUnreachable",
    "Share",
    "ShareNotFound",
    "UploadTooLarge",
    "__version__",
    "delete",
    "download_bytes",
    "download_link",
    "load_ipython_extension",
    "publish",
    "shares",
    "update",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'nbshare' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext nbshare`: registers the `%nbshare` magic."""
    from nbshare.magic import register

    register(ipython)
