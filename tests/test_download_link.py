"""download_link (issue #6): every supported value round-trips through the link's data: URI,
names are made safe, big files warn or are refused, and `import nbshare` stays light."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from matplotlib.figure import Figure

from nbshare import download, download_bytes, download_link
from nbshare.download import DownloadTooLargeError, LargeDownloadWarning, MissingDependencyError


def parse(link) -> tuple[str, str, bytes, object]:
    """(download name, media type, file bytes, the <a> tag) from a link's HTML."""
    soup = BeautifulSoup(link._repr_html_(), "html.parser")
    tags = soup.find_all(True)
    assert len(tags) == 1 and tags[0].name == "a", link.html
    anchor = tags[0]
    assert anchor["class"] == ["nbshare-download"]
    assert anchor["data-nbshare-download"] == anchor["download"]
    head, _, payload = anchor["href"].partition(",")
    assert head.startswith("data:") and head.endswith(";base64")
    return anchor["download"], head[5:-7], base64.b64decode(payload, validate=True), anchor


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"name": ["a", "é", "c"], "value": [1.5, 2.0, -3.25]}, index=pd.Index([10, 20, 30], name="id")
    )


@pytest.mark.parametrize("obj", [b"\x00\x01raw", bytearray(b"\x00\x01raw"), memoryview(b"\x00\x01raw")])
def test_bytes_like(obj):
    name, media, data, _ = parse(download_link(obj))
    assert (name, media, data) == ("download.bin", "application/octet-stream", b"\x00\x01raw")


def test_bytes_media_type_is_guessed_from_the_name():
    assert download_bytes(b"\x89PNG", "plot.png") == (b"\x89PNG", "plot.png", "image/png")


def test_text_is_utf8():
    name, media, data, _ = parse(download_link("héllo ✓\n"))
    assert (name, media, data.decode("utf-8")) == ("download.txt", "text/plain", "héllo ✓\n")
    assert download_bytes("x", "notes")[1] == "notes.txt"
    assert download_bytes("a,b\n", "t.csv")[2] == "text/csv"


def test_str_naming_a_file_downloads_the_file(tmp_path, monkeypatch):
    (tmp_path / "report.csv").write_bytes(b"a,b\n1,2\n")
    monkeypatch.chdir(tmp_path)
    assert download_bytes("report.csv") == (b"a,b\n1,2\n", "report.csv", "text/csv")
    assert download_bytes(str(tmp_path / "report.csv"), "renamed.txt")[1:] == ("renamed.txt", "text/plain")


def test_path_is_always_a_file(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(b"\xff" * 5)
    assert download_bytes(path) == (b"\xff" * 5, "blob", "application/octet-stream")
    with pytest.raises(FileNotFoundError, match="no such file: .*missing.csv"):
        download_link(tmp_path / "missing.csv")
    with pytest.raises(IsADirectoryError):
        download_link(tmp_path)


def test_dict_and_list_are_json():
    obj = {"ville": "Zürich", "n": [1, 2, {"x": None}]}
    name, media, data, _ = parse(download_link(obj))
    assert (name, media) == ("data.json", "application/json")
    assert json.loads(data) == obj
    assert "Zürich".encode() in data and b"\n  " in data  # ensure_ascii=False, indented
    assert json.loads(download_bytes([1, "two"], "list.json")[0]) == [1, "two"]


def test_dataframe_is_csv_with_its_index():
    name, media, data, _ = parse(download_link(frame()))
    assert (name, media) == ("data.csv", "text/csv")
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(data), index_col="id"), frame())


def test_series_is_csv():
    series = pd.Series([1, 2, 3], name="count", index=pd.Index(["x", "y", "z"], name="key"))
    data, name, _ = download_bytes(series, "counts")
    assert name == "counts.csv"
    back = pd.read_csv(io.BytesIO(data), index_col="key")["count"]
    pd.testing.assert_series_equal(back, series, check_index_type=False)


def test_dataframe_subclass_is_recognised():
    class Tagged(pd.DataFrame):
        pass

    assert download_bytes(Tagged(frame()))[2] == "text/csv"


def test_dataframe_xlsx():
    data, name, media = download_bytes(frame(), "out.xlsx")
    assert media == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert data[:2] == b"PK"
    pd.testing.assert_frame_equal(pd.read_excel(io.BytesIO(data), index_col="id"), frame(), check_dtype=False)


def test_dataframe_parquet():
    data, _, media = download_bytes(frame(), "out.parquet")
    assert media == "application/vnd.apache.parquet"
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(data)), frame())


def test_dataframe_json_and_tsv():
    data, _, media = download_bytes(frame(), "out.json")
    assert media == "application/json"
    assert json.loads(data)["name"] == {"10": "a", "20": "é", "30": "c"}
    data, _, media = download_bytes(frame(), "out.tsv")
    assert media == "text/tab-separated-values"
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(data), sep="\t", index_col="id"), frame())


def test_unknown_extension_is_refused():
    with pytest.raises(ValueError, match=r"'\.xls'.*\.csv"):
        download_link(frame(), "old.xls")


@pytest.mark.parametrize(
    ("fmt", "missing", "package"),
    [
        ("xlsx", ["openpyxl"], "openpyxl"),
        ("parquet", ["pyarrow", "fastparquet"], "pyarrow or fastparquet"),
    ],
)
def test_missing_optional_library(monkeypatch, fmt, missing, package):
    for name in missing:
        monkeypatch.setitem(sys.modules, name, None)  # import now raises ImportError
    with pytest.raises(MissingDependencyError, match=f"needs {package}.*pip install {missing[0]}") as info:
        download_link(frame(), f"out.{fmt}")
    assert isinstance(info.value, ImportError)


def test_numpy_array_is_npy():
    array = np.arange(12, dtype=np.int16).reshape(3, 4)
    name, media, data, _ = parse(download_link(array))
    assert (name, media) == ("array.npy", "application/octet-stream")
    np.testing.assert_array_equal(np.load(io.BytesIO(data), allow_pickle=False), array)


def test_numpy_object_array_is_not_pickled():
    with pytest.raises(ValueError, match="allow_pickle"):
        download_bytes(np.array([{}, []], dtype=object))


def figure() -> Figure:
    # A bare Figure needs no pyplot and so no GUI backend: savefig uses Agg for PNG.
    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1], [1, 0])
    return fig


def test_figure_png_svg_pdf():
    name, media, data, _ = parse(download_link(figure()))
    assert (name, media, data[:8]) == ("figure.png", "image/png", b"\x89PNG\r\n\x1a\n")
    data, _, media = download_bytes(figure(), "plot.svg")
    assert media == "image/svg+xml"
    assert ET.fromstring(data).tag.endswith("svg")  # noqa: S314 (our own output)
    data, _, media = download_bytes(figure(), "plot.PDF")
    assert (media, data[:5]) == ("application/pdf", b"%PDF-")


def test_unsupported_type():
    with pytest.raises(TypeError, match="cannot make a file from object"):
        download_link(object())


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("a\\b.csv", "b.csv"),
        ("C:\\Users\\me\\data.csv", "data.csv"),
        (".bashrc", "bashrc"),
        ("re\x00po\nrt\x1b.csv", "report.csv"),
        ("evil\u202etxt.exe", "eviltxt.exe"),
        ('my "report": Q1?.csv', "my _report__ Q1_.csv"),
        ("", "download.bin"),
        ("...", "download.bin"),
        ("../", "download.bin"),
    ],
)
def test_filename_is_made_safe(given, expected):
    assert parse(download_link(b"x", given))[0] == expected


def test_long_filename_keeps_its_extension():
    name = parse(download_link("x", "é" * 300 + ".csv"))[0]
    assert name.endswith(".csv") and len(name.encode()) <= download.MAX_NAME_BYTES


def test_markup_in_name_and_label_is_escaped():
    link = download_link("x", '"><script>alert(1)</script>.txt', label="<b>click</b> & go")
    name, _, _, anchor = parse(link)  # parse asserts the <a> is the only element
    assert "<script" not in link.html and "<b>" not in link.html
    assert anchor.get_text() == "<b>click</b> & go"
    assert name.endswith(".txt") and "/" not in name


def test_default_label_and_repr():
    link = download_link(b"12345", "five.bin")
    assert parse(link)[3].get_text() == "Download five.bin (5 bytes)"
    assert link.data == b"12345" and link.filename == "five.bin"
    assert "five.bin" in repr(link)


def test_large_file_warns(monkeypatch):
    monkeypatch.setattr(download, "WARN_BYTES", 10)
    with pytest.warns(LargeDownloadWarning, match=r"adds .* to the notebook.*nbshare publish") as caught:
        download_link(b"x" * 11, "big.bin")
    assert caught[0].filename == __file__  # points at the caller's line


def test_over_the_limit_is_refused_unless_forced(monkeypatch):
    monkeypatch.setattr(download, "WARN_BYTES", 10)
    monkeypatch.setattr(download, "MAX_BYTES", 20)
    with pytest.raises(DownloadTooLargeError, match="over the .* limit.*force=True") as info:
        download_link(b"x" * 21, "huge.bin")
    assert isinstance(info.value, ValueError)
    with pytest.warns(LargeDownloadWarning):
        link = download_link(b"x" * 21, "huge.bin", force=True)
    assert parse(link)[2] == b"x" * 21


def run_python(code: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_stays_light(tmp_path):
    out = run_python(
        """
        import sys
        import nbshare
        nbshare.download_link
        nbshare.download_link({"a": 1})
        heavy = ["nbconvert", "nbformat", "fastapi", "starlette", "sqlalchemy", "pandas", "numpy",
                 "matplotlib", "IPython", "nbshare.app"]
        print([name for name in heavy if name in sys.modules])
    """,
        tmp_path,
    )
    assert out.strip() == "[]"


def test_shown_once_in_ipython(tmp_path):
    pytest.importorskip("IPython")
    out = run_python(
        """
        import os, json
        os.environ["IPYTHONDIR"] = os.getcwd()
        from IPython.core.interactiveshell import InteractiveShell
        from IPython.utils.capture import capture_output
        shell = InteractiveShell.instance()
        shell.run_cell("from nbshare import download_link", store_history=True)
        cells = ["download_link(b'x')", "link = download_link(b'y')", "link", "download_link(b'z'); 1"]
        for cell in cells:
            with capture_output() as cap:
                shell.run_cell(cell, store_history=True)
            html = [o.data["text/html"] for o in cap.outputs]
            print(json.dumps([cell, html, cap.stdout.split(":", 1)[-1].strip()]))
    """,
        tmp_path,
    )
    results = [json.loads(line) for line in out.splitlines()]
    # Each cell shows the link exactly once, whether or not it is the cell's last expression.
    assert [len(html) for _, html, _ in results] == [1, 1, 1, 1]
    assert all('class="nbshare-download"' in html[0] for _, html, _ in results)
    assert [result for _, _, result in results] == ["", "", "", "1"]
