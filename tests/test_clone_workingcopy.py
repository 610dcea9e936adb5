"""The clone's folder: its marker, what --force may replace, the notebooks pointed at the
clone's kernel, and when the recipient's own nbshare is needed there."""

from __future__ import annotations

import json
import zipfile

import pytest

import nbshare
from helpers import code, notebook
from nbshare.bundle import own_nbshare, workingcopy
from nbshare.errors import NbshareError


def test_a_new_or_empty_folder_is_fine_and_another_is_refused_even_with_force(tmp_path):
    workingcopy.check_folder(tmp_path / "new", force=False)
    (tmp_path / "empty").mkdir()
    workingcopy.check_folder(tmp_path / "empty", force=False)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    for force in (False, True):
        with pytest.raises(NbshareError, match="not empty") as refused:
            workingcopy.check_folder(mine, force=force)
        assert refused.value.code == "clone_exists"
    # A marker that is not nbshare's (not its JSON, or a link to one) does not make it a clone.
    (mine / workingcopy.MARKER).write_text("hello")
    with pytest.raises(NbshareError, match="only replaces a folder nbshare clone made"):
        workingcopy.check_folder(mine, force=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NbshareError, match="is a file"):
        workingcopy.check_folder(tmp_path / "file", force=True)


def test_force_replaces_an_earlier_clone_without_following_links(tmp_path):
    dest, outside = tmp_path / "clone", tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the clone's")
    info = {"url": "https://nb.example.org/n/x", "id": "x"}
    assert workingcopy.start(dest, info, force=False) is False
    assert workingcopy.is_clone(dest)
    (dest / "a.ipynb").write_text("{}")
    (dest / ".venv" / "bin").mkdir(parents=True)
    (dest / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(NbshareError, match="add --force"):
        workingcopy.start(dest, info, force=False)

    assert workingcopy.start(dest, info, force=True) is True
    assert [p.name for p in dest.iterdir()] == [workingcopy.MARKER]
    assert (outside / "keep.txt").read_text() == "not the clone's"
    marker = json.loads((dest / workingcopy.MARKER).read_text())
    assert marker == {"made_by": "nbshare clone", "url": info["url"], "id": "x", "complete": False}


def test_python_notebooks_are_pointed_at_the_clone_kernel(tmp_path):
    spec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "py.ipynb").write_bytes(notebook(code("1"), kernelspec=spec))
    (tmp_path / "bare.ipynb").write_bytes(notebook(code("1")))
    r_spec = {"name": "ir", "display_name": "R", "language": "R"}
    (tmp_path / "r.ipynb").write_bytes(notebook(code("1"), kernelspec=r_spec))
    (tmp_path / "broken.ipynb").write_text("not json")
    names = ["py.ipynb", "bare.ipynb", "r.ipynb", "broken.ipynb"]

    before = workingcopy.use_kernel(tmp_path, names, "nbshare-x", "Python (x, nbshare)")

    assert before == {"py.ipynb": spec, "bare.ipynb": None}
    new = {"name": "nbshare-x", "display_name": "Python (x, nbshare)", "language": "python"}
    for name in ("py.ipynb", "bare.ipynb"):
        assert json.loads((tmp_path / name).read_text())["metadata"]["kernelspec"] == new
    assert json.loads((tmp_path / "r.ipynb").read_text())["metadata"]["kernelspec"] == r_spec
    assert (tmp_path / "broken.ipynb").read_text() == "not json"


def test_the_share_needs_nbshare_when_its_code_imports_it(tmp_path):
    (tmp_path / "a.ipynb").write_bytes(notebook(code("from nbshare import download_link")))
    (tmp_path / "b.ipynb").write_bytes(notebook(code("import pandas")))
    (tmp_path / "tool.py").write_text("import nbshare\n")
    assert own_nbshare.share_imports_nbshare(tmp_path, ["a.ipynb", "b.ipynb"])
    assert own_nbshare.share_imports_nbshare(tmp_path, ["b.ipynb", "tool.py"])
    assert not own_nbshare.share_imports_nbshare(tmp_path, ["b.ipynb"])
    # A share with its own module called nbshare imports that one, not ours.
    (tmp_path / "nbshare.py").write_text("X = 1\n")
    assert not own_nbshare.share_imports_nbshare(tmp_path, ["a.ipynb", "nbshare.py"])


def test_the_copy_of_the_running_nbshare_is_a_wheel_of_its_package(tmp_path):
    # Installed editable here, so not by name from an index: a wheel of the running package.
    assert own_nbshare.from_index() is None
    wheel = own_nbshare.write_wheel(tmp_path)
    assert wheel.name == f"nbshare-{nbshare.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        record = archive.read(f"nbshare-{nbshare.__version__}.dist-info/RECORD").decode()
    assert "nbshare/__init__.py" in names and "nbshare/download.py" in names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert "Requires-Dist" not in record
    assert {line.split(",")[0] for line in record.splitlines()} == set(names)


def test_publishing_a_clone_leaves_its_marker_out(tmp_path):
    from nbshare.bundle.outgoing import plan

    workingcopy.start(tmp_path, {"url": "https://nb.example.org/n/x", "id": "x"}, force=False)
    (tmp_path / "a.ipynb").write_bytes(notebook(code("1")))
    assert [f.path for f in plan([tmp_path]).files] == ["a.ipynb"]
