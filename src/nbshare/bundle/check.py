"""Run every notebook of a cloned share in its new environment and compare with the shared outputs.

Each notebook runs from a copy in memory (the person's files are never rewritten), in its own
folder, with the kernel registered inside the environment (never one from the person's Jupyter
set-up). A notebook that cannot run (no kernel, the kernel dies, a cell times out) is a result,
not a crash: the report says so and the other notebooks still run.

Outputs are compared per code cell on their text: stdout, stderr, the `text/plain` of results
and displays, and an error's name and value. Two kinds of noise are removed first, because they
change on every run without the analysis changing: memory addresses (`<Foo object at 0x7f...>`)
and trailing whitespace. Images are compared by presence only (PNG bytes differ between library
versions for the same figure). A cell the author saved without outputs is not compared.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from .environment import EnvReport

IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")
SNIPPET_CHARS = 60

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class FailedCell:
    index: int  # position in the notebook's cells, from 0 (the report counts from 1)
    cell_id: str | None
    ename: str
    evalue: str
    traceback: str  # its first informative line
    expected: bool = False  # the shared notebook shows the same error: it reproduces


@dataclass
class DifferingCell:
    index: int
    cell_id: str | None
    kind: str  # "stdout", "stderr", "result", "display", "error" or "image"
    expected: str
    actual: str


@dataclass
class NotebookResult:
    path: str
    code_cells: int = 0
    seconds: float = 0.0
    failed: list[FailedCell] = field(default_factory=list)
    differing: list[DifferingCell] = field(default_factory=list)
    error: str | None = None  # why the notebook could not run to the end

    @property
    def ran_cleanly(self) -> bool:
        return self.error is None and not self.failed

    @property
    def ok(self) -> bool:
        """It ran to the end and reproduced: errors only where the author had them, same outputs."""
        return self.error is None and not self.differing and all(f.expected for f in self.failed)


@dataclass
class CheckReport:
    notebooks: list[NotebookResult]

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.notebooks)


def check_notebooks(
    dest: Path,
    notebooks: Sequence[str],
    *,
    env: EnvReport,
    timeout: int = 600,
    echo: Callable[[str], None] = print,
) -> CheckReport:
    """Execute each notebook (paths relative to `dest`) with `env`'s kernel; `timeout` is per cell."""
    results = []
    for rel in notebooks:
        echo(f"Running {rel} ...")
        results.append(_check_one(dest, rel, env, timeout))
    return CheckReport(results)


def _check_one(dest: Path, rel: str, env: EnvReport, timeout: int) -> NotebookResult:
    path = dest / rel
    result = NotebookResult(rel)
    try:
        shared = nbformat.read(path, as_version=4)
    except OSError as e:
        result.error = f"could not read it: {e.strerror}"
        return result
    except Exception as e:  # any unreadable notebook is one line in the report
        result.error = f"could not read it: {_first_line(str(e))}"
        return result
    result.code_cells = sum(cell.cell_type == "code" for cell in shared.cells)
    ran = copy.deepcopy(shared)
    started = time.monotonic()
    executed, result.error = _run(ran, path, env, timeout)
    result.seconds = time.monotonic() - started
    for index in executed:
        _compare_cell(result, index, shared.cells[index], ran.cells[index])
    return result


def _run(nb: Any, path: Path, env: EnvReport, timeout: int) -> tuple[list[int], str | None]:
    """Execute `nb` in place: the indexes of the cells that ran, and why it stopped if it did."""
    started: list[int] = []
    executed: list[int] = []
    sockets = Path(tempfile.mkdtemp(prefix="nbshare-kernel-"))
    client = NotebookClient(
        nb,
        km=_kernel_manager(env, sockets),
        timeout=timeout,
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_start=lambda cell, cell_index: started.append(cell_index),
        on_cell_executed=lambda cell, cell_index, execute_reply: executed.append(cell_index),
    )
    error = None
    try:
        _run_to_completion(lambda: _execute(client, env))
    except CellTimeoutError:
        error = f"cell {started[-1] + 1} did not finish within {timeout} s"
    except DeadKernelError:
        error = f"the kernel died while running cell {started[-1] + 1 if started else 1}"
    except Exception as e:  # no kernel, a kernel that does not start: reported, not raised
        error = f"the kernel could not run it: {type(e).__name__}: {_first_line(str(e))}"
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
    return executed, error


def _run_to_completion(make: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """asyncio.run, also when this thread already runs an event loop (a caller inside
    Jupyter or a test using Playwright's sync API): then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(make())
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: asyncio.run(make())).result()


def _kernel_manager(env: EnvReport, sockets: Path) -> AsyncKernelManager:
    # Only the environment's own kernels folder is searched, so the person's Jupyter set-up
    # (their kernels, their JUPYTER_PATH) can neither hide nor replace the one we registered.
    specs = KernelSpecManager(kernel_dirs=[str(env.kernels_dir)], ensure_native_kernel=False)
    # Unix sockets in a private folder rather than TCP ports on localhost: other users of the
    # machine cannot connect, and the kernel has no reason to warn about plain-text TCP.
    return AsyncKernelManager(
        kernel_name=env.kernel_name, kernel_spec_manager=specs, transport="ipc", ip=str(sockets / "kernel")
    )


ISOLATING = {"PYTHONHOME", "PYTHONPATH", "PYTHONUSERBASE"}


async def _execute(client: NotebookClient, env: EnvReport) -> None:
    assert client.km is not None
    km = client.km
    # The kernel sees the environment and nothing of the caller's Python set-up: a PYTHONPATH
    # (a developer's checkout) or user site-packages would let a notebook pass the check here
    # and fail for the next recipient. Its own subprocesses (`!pip`, `!python`) find the
    # environment first.
    kernel_env = {key: value for key, value in os.environ.items() if key not in ISOLATING}
    kernel_env["PYTHONNOUSERSITE"] = "1"
    kernel_env["PATH"] = os.pathsep.join([str(env.path / "bin"), kernel_env.get("PATH", "")])
    kernel_env["VIRTUAL_ENV" if env.kind == "venv" else "CONDA_PREFIX"] = str(env.path)
    try:
        await client.async_execute(env=kernel_env)
    finally:
        # We passed the kernel manager in, so nbclient leaves shutting the kernel down to us.
        if client.kc is not None:
            client.kc.stop_channels()
        if km.has_kernel:
            await ensure_async(km.shutdown_kernel(now=True))  # typed as sync, async on this class


def _compare_cell(result: NotebookResult, index: int, shared: Any, ran: Any) -> None:
    if shared.cell_type != "code":
        return
    cell_id = shared.get("id")
    want, got = _texts(shared.outputs), _texts(ran.outputs)
    if got["error"]:
        error = next(out for out in ran.outputs if out.output_type == "error")
        result.failed.append(
            FailedCell(
                index,
                cell_id,
                error.ename,
                error.evalue,
                _traceback_line(error.get("traceback", [])),
                expected=want["error"] == got["error"],
            )
        )
        if want["error"] != got["error"]:
            return  # what follows from an unexpected error is noise: the failure says it
    if not shared.outputs:
        return
    for kind in ("error", "stdout", "stderr", "result", "display", "image"):
        if want[kind] != got[kind]:
            expected, actual = _snippets(want[kind], got[kind])
            result.differing.append(DifferingCell(index, cell_id, kind, expected, actual))


def _texts(outputs: list[Any]) -> dict[str, str]:
    """One normalised string per kind of output; stream chunks are joined (their split varies)."""
    parts: dict[str, list[str]] = {kind: [] for kind in ("stdout", "stderr", "result", "display", "error")}
    images: set[str] = set()
    for out in outputs:
        if out.output_type == "stream":
            parts.setdefault(out.get("name", "stdout"), []).append(_text(out.get("text", "")))
        elif out.output_type in ("execute_result", "display_data"):
            data = out.get("data", {})
            images.update(mime for mime in IMAGE_TYPES if mime in data)
            if "text/plain" in data:
                kind = "result" if out.output_type == "execute_result" else "display"
                parts[kind].append(_text(data["text/plain"]) + "\n")
        elif out.output_type == "error":
            parts["error"].append(f"{out.get('ename', '')}: {out.get('evalue', '')}")
    texts = {kind: normalise("".join(chunks)) for kind, chunks in parts.items()}
    texts["image"] = ", ".join(sorted(images))
    return texts


def _text(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def normalise(text: str) -> str:
    """Remove what changes on every run: memory addresses and trailing whitespace."""
    text = _ADDRESS.sub("0x...", text)
    return "\n".join(line.rstrip() for line in text.splitlines()).rstrip("\n")


def _snippets(expected: str, actual: str) -> tuple[str, str]:
    """The first line where the two differ, shortened, so the report shows what changed."""
    want, got = expected.splitlines(), actual.splitlines()
    pairs = zip(want, got, strict=False)
    at = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(want), len(got)))
    return _shorten(_line(want, at)), _shorten(_line(got, at))


def _line(lines: list[str], at: int) -> str:
    if at < len(lines):
        return lines[at]
    return "(nothing more)" if lines else "(nothing)"


def _shorten(line: str) -> str:
    return line if len(line) <= SNIPPET_CHARS else line[: SNIPPET_CHARS - 3] + "..."


def _traceback_line(traceback: list[str]) -> str:
    """The first line of a traceback that says something (IPython starts with a rule and a title)."""
    for line in _ANSI.sub("", "\n".join(traceback)).splitlines():
        line = line.strip()
        if line and set(line) != {"-"} and "Traceback (most recent call last)" not in line:
            return _shorten(line)
    return ""


def _first_line(text: str) -> str:
    return _shorten(text.strip().splitlines()[0]) if text.strip() else ""


def format_report(report: CheckReport) -> str:
    """Plain text, one block per notebook, cells counted from 1 as a reader would."""
    lines = []
    for result in report.notebooks:
        lines += _format_notebook(result)
    reproduced = sum(result.ok for result in report.notebooks)
    lines.append(f"{reproduced} of {len(report.notebooks)} notebooks reproduce.")
    return "\n".join(lines)


def _format_notebook(result: NotebookResult) -> list[str]:
    cells = "1 code cell" if result.code_cells == 1 else f"{result.code_cells} code cells"
    stats = f"({cells}, {result.seconds:.1f} s)"
    if result.error:
        head = f"✗ {result.path}: {result.error}" + (f" {stats}" if result.code_cells else "")
    elif not result.ok:
        head = f"✗ {result.path} {stats}"
    else:
        head = f"✓ {result.path} ran cleanly {stats}, outputs match"
        if result.failed:
            head = f"✓ {result.path} ran {stats}; its errors are the author's too, outputs match"
    lines = [head]
    for failed in result.failed:
        where = _where(failed.index, failed.cell_id)
        same = " (as in the shared notebook)" if failed.expected else ""
        lines.append(f"  ✗ {where} failed{same}: {failed.ename}: {_shorten(failed.evalue)}")
        if failed.traceback and not failed.expected:
            lines.append(f"      {failed.traceback}")
    for diff in result.differing:
        where = _where(diff.index, diff.cell_id)
        lines.append(f"  ≠ {where} {diff.kind} differs: expected {diff.expected!r}, got {diff.actual!r}")
    return lines


def _where(index: int, cell_id: str | None) -> str:
    return f"cell {index + 1}" + (f" (id {cell_id})" if cell_id else "")
