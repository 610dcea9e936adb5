"""`--infer-env`: imports found in notebooks and scripts, pinned to what is installed here."""

from __future__ import annotations

import datetime
import sys
from importlib import metadata

from helpers import code, markdown, notebook
from nbshare.bundle.infer import (
    Inferred,
    Requirement,
    imports_in_code,
    infer_requirements,
    requirements_txt,
    runtime_txt,
)


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
