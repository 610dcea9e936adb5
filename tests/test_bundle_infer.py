"""`--infer-env`: imports found in notebooks and scripts, pinned to what is installed here."""

from __future__ import annotations

import datetime
import json
import sys
from importlib import metadata
from pathlib import Path

import pytest

from helpers import code, markdown, notebook
from nbshare.bundle.infer import (
    Inferred,
    Requirement,
    imports_in_code,
    infer_requirements,
    requirements_txt,
    runtime_txt,
)
from nbshare.bundle.origin import origin_from_direct_url


def code_notebook(*sources: str, language: str | None = "python") -> bytes:
    """Code cells, their source saved as lines as Jupyter saves it, and markdown that only
    looks like code; `language` is the kernel's."""
    kernel = {"kernelspec": {"name": "k", "display_name": "k", "language": language}} if language else {}
    cells = [code(source.splitlines(keepends=True), f"c{n}") for n, source in enumerate(sources)]
    return notebook(*cells, markdown("import markdown_is_not_code"), **kernel)


def test_plain_imports():
    source = "import a.b.c\nimport d as e, f\nfrom g.h import i\nfrom . import j\nfrom .k import l\n"
    assert imports_in_code(source) == {"a", "d", "f", "g"}


def test_imports_inside_blocks_count():
    source = "try:\n    import fast\nexcept ImportError:\n    import slow\ndef f():\n    from lazy import x\n"
    assert imports_in_code(source) == {"fast", "slow", "lazy"}


def test_ipython_lines_are_stripped():
    source = "\n".join(
        [
            "%matplotlib inline",
            "!pip install shellonly",
            "files = !ls",
            "t = %timeit -o sum([])",
            "np?",
            "?pd",
            "import numpy as np",
            "for i in range(2):",
            "    %time import inner",
            "import pandas as pd",
        ]
    )
    assert imports_in_code(source) == {"numpy", "pandas"}


def test_cell_magics():
    assert imports_in_code("%%bash\nimport notpython\n") == set()
    assert imports_in_code("%%html\n<p>import x</p>\n") == set()
    assert imports_in_code("%%time\nimport timed\n") == {"timed"}
    assert imports_in_code("%%capture out\nimport captured\n") == {"captured"}
    assert imports_in_code("%%timeit -n1\nfrom measured import x\n") == {"measured"}


def test_a_syntax_error_does_not_lose_the_other_imports():
    source = "import first\nthis is not python (\nfrom second.sub import x\n"
    source += "import third as t, fourth\nfrom . import z\n"
    assert imports_in_code(source) == {"first", "second", "third", "fourth"}


def test_infer_requirements_for_a_bundle():
    notebooks = {
        "analysis/clean.ipynb": code_notebook(
            "%matplotlib inline\nimport os, json\nimport pathspec",
            "!pip install something\nfrom helpers import tidy\nimport mypkg.sub",
            "def broken(:\nimport surely_not_installed_xyz",
        ),
        "other.ipynb": code_notebook("import nbformat_is_not_imported_here", language="R"),
    }
    python_files = {"analysis/helpers.py": b"import httpx\nfrom . import sibling\n"}
    bundle = [*notebooks, *python_files, "analysis/mypkg/__init__.py", "analysis/data/x.csv"]
    inferred = infer_requirements(notebooks, python_files, bundle)

    assert inferred.requirements == [
        Requirement("httpx", metadata.version("httpx"), ("httpx",)),
        Requirement("pathspec", metadata.version("pathspec"), ("pathspec",)),
    ]
    assert inferred.stdlib == ["json", "os"]
    assert inferred.local == ["helpers", "mypkg"]
    assert inferred.unresolved == ["surely_not_installed_xyz"]
    assert inferred.python_version == f"{sys.version_info.major}.{sys.version_info.minor}"


def test_notebooks_without_a_language_or_not_json():
    notebooks = {"a.ipynb": code_notebook("import pathspec", language=None), "b.ipynb": b"not json"}
    inferred = infer_requirements(notebooks, {}, notebooks)
    assert [req.distribution for req in inferred.requirements] == ["pathspec"]


def test_local_modules_are_relative_to_the_notebooks_folder():
    notebooks = {"nb/a.ipynb": code_notebook("import util\nimport tools")}
    inferred = infer_requirements(notebooks, {}, [*notebooks, "util.py", "nb/tools/x/y.py"])
    assert inferred.local == ["tools"]
    assert inferred.unresolved == ["util"]


def test_requirements_and_runtime_files():
    inferred = Inferred(
        requirements=[Requirement("httpx", "0.28.1", ("httpx",)), Requirement("PyYAML", "6.0", ("yaml",))],
        python_version="3.11",
        unresolved=["mystery", "secret_sauce"],
        local=[],
        stdlib=["os"],
    )
    text = requirements_txt(inferred, today=datetime.date(2025, 3, 4))
    lines = text.splitlines()
    assert lines[0].startswith("# Inferred by nbshare on 2025-03-04 from the imports")
    assert "# Imported but not installed there, so left out: mystery, secret_sauce" in lines
    assert [line for line in lines if not line.startswith("#")] == ["httpx==0.28.1", "PyYAML==6.0"]
    assert text.endswith("\n")
    assert runtime_txt(inferred) == "python-3.11\n"


def test_inferred_files_go_where_repo2docker_looks(tmp_path):
    """With a binder/ folder repo2docker reads only that folder, so the inferred files go there."""
    from nbshare.bundle.outgoing import plan

    (tmp_path / "binder").mkdir()
    (tmp_path / "binder" / "README.md").write_text("How to run this on Binder.\n")
    (tmp_path / "a.ipynb").write_bytes(code_notebook("import httpx"))
    outgoing = plan([tmp_path], infer_env=True)
    assert outgoing.added == ["binder/requirements.txt", "binder/runtime.txt"]
    assert [e.path for e in outgoing.env] == ["binder/requirements.txt", "binder/runtime.txt"]
    requirements = next(f for f in outgoing.files if f.path == "binder/requirements.txt").read().decode()
    assert f"httpx=={metadata.version('httpx')}" in requirements

    (tmp_path / "binder" / "README.md").unlink()
    (tmp_path / "binder").rmdir()
    assert plan([tmp_path], infer_env=True).added == ["requirements.txt", "runtime.txt"]


# --- what no index has is never pinned


@pytest.mark.parametrize(
    ("direct_url", "kind", "reference"),
    [
        ({"url": "file:///home/ada/lib", "dir_info": {"editable": True}}, "editable", None),
        ({"url": "file:///home/ada/lib", "dir_info": {}}, "folder", None),
        ({"url": "file:///tmp/lib-1.0-py3-none-any.whl", "archive_info": {}}, "file", None),
        (
            {"url": "https://example.org/lib-1.0.tar.gz", "archive_info": {"hashes": {"sha256": "ab12"}}},
            "url",
            "lib @ https://example.org/lib-1.0.tar.gz#sha256=ab12",
        ),
        (
            {"url": "https://example.org/lib.whl", "archive_info": {"hash": "sha256=cd34"}},
            "url",
            "lib @ https://example.org/lib.whl#sha256=cd34",
        ),
        (
            {"url": "https://github.com/ada/lib.git", "vcs_info": {"vcs": "git", "commit_id": "0f1e2d"}},
            "vcs",
            "lib @ git+https://github.com/ada/lib.git@0f1e2d",
        ),
        (
            {
                "url": "https://github.com/ada/mono.git",
                "vcs_info": {"vcs": "git", "commit_id": "0f1e2d"},
                "subdirectory": "python",
            },
            "vcs",
            "lib @ git+https://github.com/ada/mono.git@0f1e2d#subdirectory=python",
        ),
        # Never shared: credentials in the URL, plain http, ssh, a local repository.
        (
            {
                "url": "https://ada:s3cret@git.example.org/lib.git",
                "vcs_info": {"vcs": "git", "commit_id": "0f"},
            },
            "vcs",
            None,
        ),
        ({"url": "http://example.org/lib-1.0.tar.gz", "archive_info": {}}, "url", None),
        (
            {"url": "ssh://git@github.com/ada/lib.git", "vcs_info": {"vcs": "git", "commit_id": "0f"}},
            "vcs",
            None,
        ),
        ({"url": "file:///home/ada/lib", "vcs_info": {"vcs": "git", "commit_id": "0f"}}, "vcs", None),
        ("not json", "unknown", None),
    ],
)
def test_where_a_distribution_came_from(direct_url, kind, reference):
    text = direct_url if isinstance(direct_url, str) else json.dumps(direct_url)
    origin = origin_from_direct_url("lib", text)
    assert (origin.kind, origin.reference) == (kind, reference)
    assert not origin.from_index


def dist_info(site: Path, name: str, version: str, direct_url: dict | None) -> None:
    """An installed distribution, as an installer leaves it: its metadata and the module it provides."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(f"{name}\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))


def test_only_what_came_from_an_index_is_pinned(tmp_path, monkeypatch):
    site = tmp_path / "site"
    dist_info(site, "fromindex", "1.0", None)
    dist_info(site, "mylocal", "0.3", {"url": "file:///home/ada/mylocal", "dir_info": {"editable": True}})
    dist_info(
        site, "mywheel", "2.0", {"url": "file:///home/ada/mywheel-2.0-py3-none-any.whl", "archive_info": {}}
    )
    dist_info(
        site,
        "fromgit",
        "0.1",
        {"url": "https://github.com/ada/fromgit", "vcs_info": {"vcs": "git", "commit_id": "abc"}},
    )
    monkeypatch.syspath_prepend(str(site))
    nb = code_notebook("import fromindex, mylocal, mywheel, fromgit\nfrom nbshare import download_link")
    inferred = infer_requirements({"a.ipynb": nb}, {}, ["a.ipynb"])

    assert [req.line for req in inferred.requirements] == [
        "fromgit @ git+https://github.com/ada/fromgit@abc",
        "fromindex==1.0",
    ]
    # nbshare is installed editable from the checkout here: no index has this version.
    assert metadata.distribution("nbshare").read_text("direct_url.json") is not None
    assert [(item.distribution, item.origin.kind) for item in inferred.not_pinned] == [
        ("mylocal", "editable"),
        ("mywheel", "file"),
        ("nbshare", "editable"),
    ]
    text = requirements_txt(inferred)
    lines = text.splitlines()
    assert [line for line in lines if not line.startswith("#")] == [req.line for req in inferred.requirements]
    assert "#   mylocal 0.3, installed from a local folder (editable); add where to get it by hand" in lines
    assert "#   mywheel 2.0, installed from a local file; add where to get it by hand" in lines
    assert any(
        line.startswith("#   nbshare ") and "installs the recipient's own nbshare" in line for line in lines
    )
    assert "/home/ada" not in text  # a local path says nothing useful elsewhere, and may say too much
