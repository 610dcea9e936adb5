"""`nbshare clone --check`: run each notebook in the share's new environment and compare.

One environment (a share that declares none: ipykernel only, from the offline wheelhouse) is
built for the module; each notebook then starts its own kernel (about a second each).
"""

from __future__ import annotations

import base64
import dataclasses

import nbformat
import pytest
from nbformat import v4

from helpers import WHEELHOUSE
from nbshare.bundle import environment
from nbshare.bundle.check import NotebookResult, _compare_cell, check_notebooks, format_report, normalise
from nbshare.bundle.environment import build_environment

# A 1x1 PNG the kernel displays; the stored output holds different bytes (compared by presence).
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
STORED_PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n the author's figure").decode()
ZERO = "division by zero"
NAMES = ["analysis/clean.ipynb", "broken.ipynb", "teaching.ipynb"]


def stream(text: str, name: str = "stdout"):
    return v4.new_output("stream", name=name, text=text)


def code(source: str, *outputs, cell_id: str | None = None):
    cell = v4.new_code_cell(source, outputs=list(outputs))
    if cell_id:
        cell.id = cell_id
    return cell


def clean_notebook():
    """Runs cleanly and reproduces, once noise is ignored; reads a file from its own folder."""
    return v4.new_notebook(
        cells=[
            v4.new_markdown_cell("# Analysis"),
            code(
                "class Thing:\n    pass\nprint(Thing())\nprint(open('data.txt').read().strip() + '   ')",
                stream("<__main__.Thing object at 0x7f3a2b1c0d90>\nfrom the data file\n"),
            ),
            code(
                f"import base64\nfrom IPython.display import Image, display\n"
                f"display(Image(data=base64.b64decode({PNG!r})))",
                v4.new_output(
                    "display_data",
                    data={"image/png": STORED_PNG, "text/plain": "<IPython.core.display.Image object>"},
                ),
            ),
            code("6 * 7", v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=3)),
            code("print('the author never ran this cell')"),
        ]
    )


def broken_notebook():
    """One changed output, one failing cell, and a cell after it that still runs and matches."""
    return v4.new_notebook(
        cells=[
            code("x = int(open('numbers.txt').read())", cell_id="load"),
            code("print(x + 1)", stream("42\n"), cell_id="plus-one"),
            code("undefined_name", cell_id="oops"),
            code("print('after')", stream("after\n"), cell_id="after"),
        ]
    )


def teaching_notebook():
    """The author shows an error on purpose: it reproduces, so the notebook is fine."""
    error = v4.new_output("error", ename="ZeroDivisionError", evalue=ZERO, traceback=[])
    return v4.new_notebook(cells=[code("1 / 0", error, cell_id="boom")])


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    if not any(WHEELHOUSE.glob("ipykernel-*.whl")):
        pytest.skip("no offline wheels: run scripts/wheelhouse.sh once (it needs PyPI)")
    dest = tmp_path_factory.mktemp("clone")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIP_NO_INDEX", "1")
        mp.setenv("PIP_FIND_LINKS", str(WHEELHOUSE))
        mp.setattr(environment.shutil, "which", lambda name: None)
        report = build_environment(dest, env_files=[], echo=lambda line: None, quiet=True)
    return dest, report


@pytest.fixture(scope="module")
def share(env):
    dest, report = env
    (dest / "analysis").mkdir()
    (dest / "analysis" / "data.txt").write_text("from the data file\n")
    (dest / "numbers.txt").write_text("42")
    nbformat.write(clean_notebook(), dest / "analysis" / "clean.ipynb")
    nbformat.write(broken_notebook(), dest / "broken.ipynb")
    nbformat.write(teaching_notebook(), dest / "teaching.ipynb")
    before = {path: path.read_bytes() for path in dest.glob("**/*.ipynb") if ".venv" not in path.parts}
    lines: list[str] = []
    checked = check_notebooks(dest, NAMES, env=report, timeout=60, echo=lines.append)
    return dest, report, checked, before, lines


@pytest.mark.slow
def test_a_share_without_environment_files_still_gets_a_kernel(env):
    _, report = env
    assert report.notes == [environment.NO_ENVIRONMENT]
    assert (report.kernels_dir / report.kernel_name / "kernel.json").is_file()


@pytest.mark.slow
def test_a_notebook_that_reproduces(share):
    _, _, checked, _, lines = share
    clean = checked.notebooks[0]
    assert (clean.path, clean.error, clean.failed, clean.differing) == ("analysis/clean.ipynb", None, [], [])
    assert clean.ran_cleanly and clean.ok and clean.code_cells == 4
    assert lines == [f"Running {name} ..." for name in NAMES]


@pytest.mark.slow
def test_a_failing_cell_and_a_changed_output_are_reported(share):
    _, _, checked, _, _ = share
    broken = checked.notebooks[1]
    assert not broken.ran_cleanly and not broken.ok and not checked.ok
    [failed] = broken.failed
    assert (failed.index, failed.cell_id, failed.ename, failed.expected) == (2, "oops", "NameError", False)
    assert failed.evalue == "name 'undefined_name' is not defined"
    assert failed.traceback.startswith("Cell In[")
    [differing] = broken.differing
    assert (differing.index, differing.cell_id, differing.kind) == (1, "plus-one", "stdout")
    assert (differing.expected, differing.actual) == ("42", "43")


@pytest.mark.slow
def test_an_error_the_author_had_too_is_not_a_failure_of_the_check(share):
    _, _, checked, _, _ = share
    teaching = checked.notebooks[2]
    assert not teaching.ran_cleanly and teaching.ok
    assert [(f.ename, f.expected) for f in teaching.failed] == [("ZeroDivisionError", True)]


@pytest.mark.slow
def test_the_report_reads_well(share):
    _, _, checked, _, _ = share
    text = format_report(checked)
    lines = text.splitlines()
    assert lines[0].startswith("✓ analysis/clean.ipynb ran cleanly (4 code cells, ")
    assert lines[0].endswith(" s), outputs match")
    assert lines[1].startswith("✗ broken.ipynb (4 code cells, ")
    assert lines[2] == "  ✗ cell 3 (id oops) failed: NameError: name 'undefined_name' is not defined"
    assert lines[3].startswith("      Cell In[")
    assert lines[4] == "  ≠ cell 2 (id plus-one) stdout differs: expected '42', got '43'"
    assert lines[5].startswith("✓ teaching.ipynb ran (1 code cell, ")
    assert lines[6] == "  ✗ cell 1 (id boom) failed (as in the shared notebook): ZeroDivisionError: " + ZERO
    assert lines[-1] == "2 of 3 notebooks reproduce."


@pytest.mark.slow
def test_the_shared_files_are_not_rewritten(share):
    _, _, _, before, _ = share
    assert {path: path.read_bytes() for path in before} == before


@pytest.mark.slow
def test_a_timeout_is_reported_for_its_notebook(env):
    dest, report = env
    nb = v4.new_notebook(cells=[code("print('starting')"), code("import time\ntime.sleep(60)")])
    nbformat.write(nb, dest / "slow.ipynb")
    # 10 s is the cell's allowance, generous for `print` on a busy machine; the 60 s sleep
    # is what proves the check cut the notebook short rather than waiting it out.
    [result] = check_notebooks(dest, ["slow.ipynb"], env=report, timeout=10, echo=lambda line: None).notebooks
    assert result.error == "cell 2 did not finish within 10 s"
    assert not result.ok and result.seconds < 60


@pytest.mark.slow
def test_the_kernel_sees_the_clone_environment_not_the_callers_pythonpath(env, tmp_path, monkeypatch):
    """A check run from a shell with PYTHONPATH set (a developer's checkout, say) must not let
    the share's notebooks import from there: they would pass here and fail for the recipient."""
    dest, report = env
    caller = tmp_path / "caller-site"
    caller.mkdir()
    (caller / "only_on_the_callers_path.py").write_text("VALUE = 1\n")
    monkeypatch.setenv("PYTHONPATH", str(caller))
    nb = v4.new_notebook(
        cells=[
            code(
                "import importlib.util, os\n"
                "print(importlib.util.find_spec('only_on_the_callers_path'), os.environ.get('PYTHONPATH'))",
                stream("None None\n"),
            )
        ]
    )
    nbformat.write(nb, dest / "isolated.ipynb")
    checked = check_notebooks(dest, ["isolated.ipynb"], env=report, timeout=60, echo=lambda line: None)
    [result] = checked.notebooks
    assert result.ok, (result.error, result.failed, result.differing)


@pytest.mark.slow
def test_a_missing_kernel_or_notebook_is_reported_not_raised(env):
    dest, report = env
    nbformat.write(v4.new_notebook(cells=[code("1")]), dest / "one.ipynb")
    gone = dataclasses.replace(report, kernel_name="nbshare-not-there")
    checked = check_notebooks(dest, ["one.ipynb", "nope.ipynb"], env=gone, echo=lambda line: None)
    no_kernel, no_file = checked.notebooks
    assert no_kernel.error is not None and "NoSuchKernel" in no_kernel.error
    assert no_file.error == "could not read it: No such file or directory"
    assert format_report(checked).splitlines()[1] == "✗ nope.ipynb: " + no_file.error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<Foo object at 0x7f3a2b1c0d90>", "<Foo object at 0x...>"),
        ("<function f at 0x10a2b3c4d>\n", "<function f at 0x...>"),
        ("a  \nb\t\n\n", "a\nb"),
        ("0x1f is a small number", "0x1f is a small number"),
        ("  leading space stays", "  leading space stays"),
    ],
)
def test_normalise_removes_addresses_and_trailing_whitespace_only(text, expected):
    assert normalise(text) == expected


def test_images_are_compared_by_presence():
    image = v4.new_output("display_data", data={"image/png": STORED_PNG, "text/plain": "<Figure>"})
    other = v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})
    text_only = v4.new_output("display_data", data={"text/plain": "<Figure>"})
    result = NotebookResult("nb.ipynb")
    _compare_cell(result, 0, code("plot()", image, cell_id="same"), code("plot()", other))
    _compare_cell(result, 1, code("plot()", image, cell_id="gone"), code("plot()", text_only))
    [differing] = result.differing
    assert (differing.cell_id, differing.kind, differing.expected, differing.actual) == (
        "gone",
        "image",
        "image/png",
        "(nothing)",
    )


def test_a_cell_saved_without_outputs_is_not_compared():
    result = NotebookResult("nb.ipynb")
    _compare_cell(result, 0, code("print(1)"), code("print(1)", stream("1\n")))
    assert result.differing == [] and result.failed == []


def test_a_longer_output_shows_where_it_starts_to_differ():
    result = NotebookResult("nb.ipynb")
    _compare_cell(result, 0, code("f()", stream("a\nb\n")), code("f()", stream("a\nb\nc\n")))
    assert [(d.expected, d.actual) for d in result.differing] == [("(nothing more)", "c")]


def test_runs_when_the_caller_already_runs_an_event_loop():
    # The full suite runs Playwright's sync API (an event loop in the main thread) before
    # these tests; `--check` from inside Jupyter is in the same position.
    import asyncio
    import concurrent.futures

    from nbshare.bundle.check import _run_to_completion

    done = []

    async def work():
        await asyncio.sleep(0)
        done.append(True)

    async def caller():
        _run_to_completion(work)

    # In a thread of its own: this test's thread may itself be inside Playwright's loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(caller())).result()
        pool.submit(_run_to_completion, work).result()
    assert done == [True, True]
