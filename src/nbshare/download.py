"""A download link for a value in a notebook: ``download_link(df)`` (issue #6).

The file travels inside the notebook as a base64 ``data:`` URI, so the link works wherever the
output's HTML is shown (JupyterLab, classic Notebook, VS Code, nbconvert HTML, a share page) and
needs no server. This module imports only the standard library: pandas, NumPy and matplotlib
values are recognised by their type's module name, so the helper never pulls those in itself.
"""

from __future__ import annotations

import base64
import html
import importlib
import io
import json
import mimetypes
import os
import sys
import unicodedata
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

MB = 1024 * 1024
# Base64 makes the page 4/3 of the file's size, and every viewer of the share downloads it.
WARN_BYTES = 10 * MB
# 70 MB of file is 93 MB of base64: a notebook carrying it still fits a default nbshare
# server's 100 MB upload limit.
MAX_BYTES = 70 * MB
# Most file systems allow 255 bytes per name; leave room for a browser's " (1)".
MAX_NAME_BYTES = 200
MARKER_CLASS = "nbshare-download"
MARKER_ATTR = "data-nbshare-download"

# Windows and browsers refuse these in file names; replace them rather than let each browser guess.
_RESERVED = str.maketrans({ch: "_" for ch in '<>:"|?*'})


class LargeDownloadWarning(UserWarning):
    """The file is big enough to make the notebook and its share page slow."""


class DownloadTooLargeError(ValueError):
    """The file is over MAX_BYTES and force=True was not given."""


class MissingDependencyError(ImportError):
    """A format needs an optional package that is not installed."""


class DownloadLink:
    """What download_link returns: the link's HTML plus the file it carries."""

    def __init__(self, data: bytes, filename: str, media_type: str, html_text: str) -> None:
        self.data = data
        self.filename = filename
        self.media_type = media_type
        self.html = html_text
        self._echo_skip: int | None = None

    def _repr_html_(self) -> str:
        return self.html

    def _ipython_display_(self) -> None:
        # download_link has already displayed the link; without this, a call on a cell's last
        # line would show it twice (once displayed, once as the cell's result).
        shell = _ipython_shell()
        if shell is not None and self._echo_skip == shell.execution_count:
            self._echo_skip = None
            return
        _display(self)

    def __repr__(self) -> str:
        return f"<DownloadLink {self.filename!r} {_human(len(self.data))} {self.media_type}>"


def download_link(
    obj: object, filename: str | None = None, label: str | None = None, *, force: bool = False
) -> DownloadLink:
    """Show a link that downloads ``obj`` as a file, and return it.

    ``obj`` may be a pandas DataFrame or Series (CSV; .tsv, .xlsx, .parquet or .json by the
    file name), bytes, text, a path to a file, a NumPy array (.npy), a dict or list (.json) or a
    matplotlib Figure (.png; .svg or .pdf by the file name). Files over MAX_BYTES are refused
    unless ``force=True``: attach big files to the share instead.

    Example:
        download_link(df, "results.xlsx")
    """
    data, name, media_type = download_bytes(obj, filename)
    _check_size(len(data), name, force)
    text = label if label is not None else f"Download {name} ({_human(len(data))})"
    link = DownloadLink(data, name, media_type, _anchor(data, name, media_type, text))
    shell = _ipython_shell()
    if shell is not None:
        _display(link)
        link._echo_skip = shell.execution_count
    return link


def download_bytes(obj: object, filename: str | None = None) -> tuple[bytes, str, str]:
    """The file ``download_link`` would offer: ``(data, file name, media type)``."""
    if isinstance(obj, bytes | bytearray | memoryview):
        return _named_bytes(memoryview(obj).tobytes(), filename, "download.bin")
    if isinstance(obj, os.PathLike):
        return _read_file(Path(os.fspath(obj)), filename)
    if isinstance(obj, str):
        if os.path.isfile(obj):
            return _read_file(Path(obj), filename)
        name = _with_default_ext(clean_filename(filename, "download.txt"), ".txt")
        return obj.encode("utf-8"), name, _guess_type(name, "text/plain")
    if isinstance(obj, dict | list | tuple):
        return _dump(obj, filename, "data.json", {".json": ("application/json", _json_bytes)})
    kind = _library_kind(obj)
    if kind is not None:
        default, formats = _FORMATS[kind]
        return _dump(obj, filename, default, formats)
    raise TypeError(
        f"download_link cannot make a file from {type(obj).__name__}: pass a DataFrame or Series, "
        "bytes, str, a file path, a NumPy array, a dict or list, or a matplotlib Figure"
    )


def clean_filename(name: str | None, default: str) -> str:
    """A bare, printable file name: no folders, no control characters, no leading dots."""
    if not name:
        return default
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cf holds the bidi overrides that can make "exe.txt" read as "txt.exe".
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    name = name.translate(_RESERVED).strip().lstrip(".").strip().rstrip(". ")
    if not name:
        return default
    stem, ext = os.path.splitext(name)
    if len(ext.encode()) > 20:
        stem, ext = name, ""
    room = MAX_NAME_BYTES - len(ext.encode())
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(". ")
    return (stem + ext) if stem else default


def _named_bytes(data: bytes, filename: str | None, default: str) -> tuple[bytes, str, str]:
    name = clean_filename(filename, default)
    return data, name, _guess_type(name, "application/octet-stream")


def _read_file(path: Path, filename: str | None) -> tuple[bytes, str, str]:
    if not path.exists():
        raise FileNotFoundError(f"download_link: no such file: {path} (current folder: {Path.cwd()})")
    if not path.is_file():
        raise IsADirectoryError(f"download_link: {path} is not a file; zip a folder first")
    data = path.read_bytes()
    name = clean_filename(filename or path.name, "download.bin")
    return data, name, _guess_type(name, _guess_type(path.name, "application/octet-stream"))


def _guess_type(name: str, default: str) -> str:
    return mimetypes.guess_type(name, strict=False)[0] or default


def _with_default_ext(name: str, ext: str) -> str:
    return name if os.path.splitext(name)[1] else name + ext


Writer = Callable[[Any, str], bytes]
Formats = dict[str, tuple[str, Writer]]


def _dump(obj: object, filename: str | None, default: str, formats: Formats) -> tuple[bytes, str, str]:
    name = _with_default_ext(clean_filename(filename, default), os.path.splitext(default)[1])
    ext = os.path.splitext(name)[1].lower()
    if ext not in formats:
        kinds = ", ".join(sorted(formats))
        raise ValueError(f"download_link cannot write {type(obj).__name__} as {ext!r}; use one of {kinds}")
    media_type, write = formats[ext]
    return write(obj, ext), name, media_type


def _library_kind(obj: object) -> str | None:
    # The module name, not isinstance: checking isinstance would mean importing the library.
    for cls in type(obj).__mro__:
        root = cls.__module__.partition(".")[0]
        if root == "pandas" and cls.__name__ in ("DataFrame", "Series"):
            return "pandas"
        if root == "numpy" and cls.__name__ == "ndarray":
            return "numpy"
        if root == "matplotlib" and cls.__name__ == "Figure":
            return "figure"
    return None


def _require(*packages: str) -> str:
    """The first of ``packages`` that imports; otherwise say how to install one."""
    for package in packages:
        try:
            importlib.import_module(package)
        except ImportError:
            continue
        return package
    names = " or ".join(packages)
    raise MissingDependencyError(
        f"download_link needs {names} for this format: install it with `pip install {packages[0]}` "
        "in the notebook's environment (or `%pip install` in a cell), then restart the kernel"
    )


def _json_bytes(obj: Any, ext: str) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=2).encode("utf-8")


def _pandas_bytes(obj: Any, ext: str) -> bytes:
    if ext in (".csv", ".tsv"):
        return str(obj.to_csv(sep="\t" if ext == ".tsv" else ",")).encode("utf-8")
    if ext == ".json":
        return str(obj.to_json(force_ascii=False, indent=2, date_format="iso")).encode("utf-8")
    buffer = io.BytesIO()
    if ext == ".xlsx":
        obj.to_excel(buffer, engine=_require("openpyxl"))
    else:
        frame = obj.to_frame() if obj.ndim == 1 else obj
        frame.to_parquet(buffer, engine=_require("pyarrow", "fastparquet"))
    return buffer.getvalue()


def _numpy_bytes(obj: Any, ext: str) -> bytes:
    numpy = sys.modules["numpy"]  # loaded already: obj is an ndarray
    buffer = io.BytesIO()
    numpy.save(buffer, obj, allow_pickle=False)
    return buffer.getvalue()


def _figure_bytes(obj: Any, ext: str) -> bytes:
    buffer = io.BytesIO()
    obj.savefig(buffer, format=ext[1:], bbox_inches="tight")
    return buffer.getvalue()


_FORMATS: dict[str, tuple[str, Formats]] = {
    "pandas": (
        "data.csv",
        {
            ".csv": ("text/csv", _pandas_bytes),
            ".tsv": ("text/tab-separated-values", _pandas_bytes),
            ".json": ("application/json", _pandas_bytes),
            ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _pandas_bytes),
            ".parquet": ("application/vnd.apache.parquet", _pandas_bytes),
        },
    ),
    "numpy": ("array.npy", {".npy": ("application/octet-stream", _numpy_bytes)}),
    "figure": (
        "figure.png",
        {
            ".png": ("image/png", _figure_bytes),
            ".svg": ("image/svg+xml", _figure_bytes),
            ".pdf": ("application/pdf", _figure_bytes),
        },
    ),
}


def _check_size(size: int, name: str, force: bool) -> None:
    page = _human(size * 4 // 3)
    advice = f"attach the file to the share instead: nbshare publish notebook.ipynb {name}"
    if size > MAX_BYTES and not force:
        raise DownloadTooLargeError(
            f"{name} is {_human(size)}, over the {_human(MAX_BYTES)} limit for download links "
            f"(the notebook would grow by {page}). Save it and {advice}; "
            "or pass force=True to embed it anyway."
        )
    if size > WARN_BYTES:
        warnings.warn(
            f"{name} is {_human(size)}: the link adds {page} to the notebook and to its share page, "
            f"which every viewer downloads. To keep the page light, save it and {advice}",
            LargeDownloadWarning,
            stacklevel=3,
        )


def _human(size: int) -> str:
    if size < 1024:
        return f"{size} byte{'' if size == 1 else 's'}"
    if size < MB:
        return f"{size / 1024:.1f} KB"
    return f"{size / MB:.1f} MB"


def _anchor(data: bytes, name: str, media_type: str, label: str) -> str:
    safe_name = html.escape(name, quote=True)
    payload = base64.b64encode(data).decode("ascii")
    return (
        f'<a class="{MARKER_CLASS}" {MARKER_ATTR}="{safe_name}" download="{safe_name}" '
        f'href="data:{html.escape(media_type, quote=True)};base64,{payload}">{html.escape(label)}</a>'
    )


def _ipython_shell() -> Any:
    # Only a running IPython shell can show HTML; never import IPython just to find out.
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def _display(link: DownloadLink) -> None:
    from IPython.display import display

    # A raw bundle, not the object, so display() does not call _ipython_display_ back.
    display({"text/html": link.html, "text/plain": repr(link)}, raw=True)
