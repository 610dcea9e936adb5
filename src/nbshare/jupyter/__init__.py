"""nbshare inside Jupyter: a Jupyter Server extension that shares notebooks, files and folders
from JupyterLab and Notebook 7 (the buttons and the dialog are the labextension built from
labextension/ and shipped in the wheel).

Jupyter enables it as the module `nbshare.jupyter` (etc/jupyter/jupyter_server_config.d/
nbshare.json). Importing this module stays light: tornado and jupyter_server load with the
handlers, when the server loads the extension.
"""

from __future__ import annotations

from typing import Any

from .. import __version__  # shown by `jupyter server extension list`

__all__ = ["__version__"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbshare.jupyter"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    # For `jupyter labextension develop`: the built frontend next to this package.
    return [{"src": "../labextension", "dest": "nbshare"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from .handlers import add_handlers

    add_handlers(serverapp.web_app)
    serverapp.log.info(
        "nbshare: share endpoints under %snbshare/ (api/, open)", serverapp.web_app.settings["base_url"]
    )
