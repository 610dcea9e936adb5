#!/usr/bin/env python
"""Benchmarks nbshare's render-once design against the obvious alternatives, in one run.

1. Publishing: nbshare's warm RenderPool versus `jupyter nbconvert --to html --stdout`
   started as a subprocess per upload; plus the pool's throughput with 2 uploads at once.
2. Reading: GET /n/{id}/content from a real `nbshare serve` process on 127.0.0.1 (the
   stored page) versus rendering with nbconvert's HTMLExporter on every request.
3. Page weight: nbshare's stored page versus nbconvert's single-file HTML.

Both sides of every comparison are measured in the same run, interleaved where it is
cheap, so the ratios hold up on a busy machine even when absolute times do not.
No timings are asserted anywhere; see bench/README.md for how to read the tables.

    .venv/bin/python bench/render_bench.py              # ~2-3 minutes on 2 cores
    .venv/bin/python bench/render_bench.py --quick      # smoke run, one tiny notebook
    .venv/bin/python bench/render_bench.py --repeat 5 --requests 100 --notebooks 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import logging
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from nbshare.errors import NbshareError
from nbshare.render.pool import RenderPool

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"  # the same place tests/conftest.py looks
STATIC_URL = "/static"  # what `nbshare serve` uses when the public URL has no path
LOOPBACK = "127.0.0.1"

# Varied sizes and shapes; --notebooks N takes the first N. Each notebook adds ~25-30 s
# (mostly the nbconvert CLI's start-up, paid on every run), so 4 by default keep the run
# under ~3 minutes on a busy 2-core machine.
DEFAULT_PICKS = (
    "pdsh/00.00-Preface.ipynb",  # 12 KB, 9 cells of prose
    "pdsh/03.05-Hierarchical-Indexing.ipynb",  # 71 KB, 96 cells, HTML tables
    "pdsh/05.11-K-Means.ipynb",  # 1.8 MB, 13 images
    "handson-ml2/tools_matplotlib.ipynb",  # 3.6 MB, 44 images, 110 cells
    "pdsh/04.14-Visualization-With-Seaborn.ipynb",  # 0.9 MB, 17 images (--notebooks 5)
)
DEFAULT_COUNT = 4
QUICK_PICK = FIXTURES / "headings.ipynb"

TITLES = {
    "publish": "1a. Publishing one notebook: warm RenderPool vs nbconvert subprocess per upload",
    "throughput": "1b. Publishing throughput: the same notebooks back to back",
    "read": "2. Read path: stored page over HTTP vs rendering on every request",
    "weight": "3. Page weight: nbshare's stored page vs nbconvert's single-file HTML",
}

out = Console(width=None if sys.stdout.isatty() else 112, highlight=False)
err = Console(stderr=True, highlight=False)


@dataclass
class Notebook:
    path: Path
    label: str
    data: bytes
    cells: int
    failed: str = ""
    pool_s: list[float] = field(default_factory=list)
    nbconvert_s: list[float] = field(default_factory=list)
    nbconvert_bytes: int = 0
    stored_bytes: int = 0
    share_id: str = ""
    served_s: list[float] = field(default_factory=list)
    served_wall: float = 0.0
    on_request_s: list[float] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.data)


# ---------------------------------------------------------------------------- helpers


def human(n: float) -> str:
    """Decimal units, as MANIFEST.tsv's byte counts read (1 MB = 1,000,000 bytes)."""
    for unit in ("B", "KB", "MB"):
        if n < 1000 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}es" if word.endswith("s") else f"{n} {word}s"


def secs(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def ratio(x: float) -> str:
    return f"{x:.1f}×" if x < 100 else f"{x:.0f}×"


def count_cells(data: bytes) -> int:
    nb = json.loads(data)
    if "worksheets" in nb:  # nbformat 3
        return sum(len(ws.get("cells", [])) for ws in nb["worksheets"])
    return len(nb.get("cells", []))


def load_notebooks(args) -> list[Notebook]:
    if args.notebook:
        paths = [Path(p) for p in args.notebook]
    elif args.quick:
        paths = [QUICK_PICK]
    elif args.corpus.is_dir():
        paths = [args.corpus / p for p in DEFAULT_PICKS if (args.corpus / p).is_file()]
        paths = paths[: args.notebooks]
    else:
        err.print(f"[yellow]{args.corpus} is absent: using tests/fixtures/*.ipynb[/]")
        paths = sorted(FIXTURES.glob("*.ipynb"))[: args.notebooks]
    if not paths:
        sys.exit("no notebooks to benchmark")
    notebooks = []
    for path in paths:
        data = path.read_bytes()
        try:
            label = str(path.relative_to(args.corpus))
        except ValueError:
            label = path.name
        notebooks.append(Notebook(path, label, data, count_cells(data)))
    return notebooks


def quiet_nbconvert() -> None:
    warnings.simplefilter("ignore")
    logging.getLogger("traitlets").setLevel(logging.ERROR)


def versions() -> str:
    from importlib.metadata import version

    names = ("nbshare", "nbconvert", "nbformat", "fastapi", "uvicorn", "httpx")
    return ", ".join(f"{n} {version(n)}" for n in names)


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def load_avg() -> str:
    with contextlib.suppress(OSError, AttributeError):
        return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return "load average unknown"


def busy() -> bool:
    with contextlib.suppress(OSError, AttributeError):
        return os.getloadavg()[0] > usable_cores() / 2
    return False


def usable_cores() -> int:
    with contextlib.suppress(AttributeError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def table(title: str, *columns: str) -> Table:
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for i, name in enumerate(columns):
        t.add_column(name, justify="left" if i == 0 else "right", no_wrap=i == 0)
    return t


def note(text: str) -> None:
    out.print(f"[dim]{text}[/]")


STARTED = time.perf_counter()


def progress(text: str) -> None:
    err.print(f"[dim]{time.perf_counter() - STARTED:5.1f}s … {text}[/]")


# ------------------------------------------------------------------ 1. publishing


def run_nbconvert(nbconvert: str, path: Path) -> tuple[float, bytes]:
    start = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - fixed argv, our own files
        [nbconvert, "--to", "html", "--stdout", str(path)],
        capture_output=True,
        timeout=600,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
        raise RuntimeError(f"nbconvert exited {done.returncode}: {tail[0]}")
    return elapsed, done.stdout


def preimport() -> None:
    import nbconvert  # noqa: F401
    import nbformat  # noqa: F401


def warm_up(pool: RenderPool) -> None:
    """pool.warm_up, waiting until every worker has imported nbconvert."""
    if "wait" in inspect.signature(pool.warm_up).parameters:
        pool.warm_up(STATIC_URL, wait=True)
    else:  # older pools always waited
        pool.warm_up(STATIC_URL)


async def pool_render(pool: RenderPool, nb: Notebook) -> float:
    start = time.perf_counter()
    await pool.render(nb.data, filename=nb.path.name, static_url=STATIC_URL, max_depth=64)
    return time.perf_counter() - start


async def throughput(pool: RenderPool, jobs: list[Notebook], concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(nb: Notebook) -> None:
        async with gate:
            await pool_render(pool, nb)

    start = time.perf_counter()
    await asyncio.gather(*(one(nb) for nb in jobs))
    return time.perf_counter() - start


async def bench_publish(notebooks: list[Notebook], args, server: Server) -> None:
    pool = RenderPool(workers=args.workers, timeout=600)
    try:
        # Set-up, none of it timed, overlapped to keep the run short: the server starts
        # and stores the notebooks while the pool's workers import nbconvert. Nothing
        # else runs once the measurements begin; the server then sits idle until part 2.
        progress(f"starting the render pool ({args.workers} workers) and `nbshare serve`")
        warming = asyncio.create_task(asyncio.to_thread(warm_up, pool))
        await asyncio.to_thread(preimport)  # for render-on-every-request in part 2
        await asyncio.to_thread(server.wait_ready)
        await asyncio.to_thread(server.upload, notebooks)
        await warming
        progress("set-up done")
        # Whatever warm_up leaves undone shows up as a slow first render in each worker.
        smallest = min(notebooks, key=lambda nb: (bool(nb.failed), nb.size))
        try:
            first = await asyncio.gather(pool_render(pool, smallest), pool_render(pool, smallest))
        except NbshareError as exc:  # reported with the timed renders below
            first = [0.0]
            smallest.failed = str(exc)

        for r in range(args.repeat):
            for nb in notebooks:
                if nb.failed:
                    continue
                progress(f"publish {nb.label} ({r + 1}/{args.repeat})")
                try:
                    nb.pool_s.append(await pool_render(pool, nb))
                    elapsed, html = await asyncio.to_thread(run_nbconvert, args.nbconvert, nb.path)
                except (NbshareError, RuntimeError, subprocess.TimeoutExpired) as exc:
                    nb.failed = str(exc)
                    continue
                nb.nbconvert_s.append(elapsed)
                nb.nbconvert_bytes = len(html)

        t = table(
            TITLES["publish"], "notebook", "size", "cells", "RenderPool", "nbconvert CLI", "pool faster by"
        )
        for nb in notebooks:
            if nb.failed:
                t.add_row(nb.label, human(nb.size), str(nb.cells), "failed", "", nb.failed[:40])
                continue
            p, c = statistics.median(nb.pool_s), statistics.median(nb.nbconvert_s)
            t.add_row(nb.label, human(nb.size), str(nb.cells), secs(p), secs(c), ratio(c / p))
        out.print(t)
        note(
            f"Median of {plural(args.repeat, 'upload')} each, alternating pool and subprocess. "
            f"After warm_up(), the first render in each worker ({smallest.label}) still took "
            f"{secs(max(first))} vs {secs(statistics.median(smallest.pool_s or [0]))} later "
            f"(one-time lazy set-up that warm_up did not reach)."
        )
        out.print()

        ok = [nb for nb in notebooks if not nb.failed]
        if not ok:
            return
        # Largest first, so neither worker is left with one big notebook at the end.
        jobs = sorted(ok, key=lambda nb: nb.size, reverse=True)
        mb = sum(nb.size for nb in jobs) / 1e6
        walls: dict[int, list[float]] = {1: [], 2: []}
        for r in range(args.rounds):  # 1,2 then 2,1 (ABBA): drift in load hits both alike
            for concurrency in (1, 2) if r % 2 == 0 else (2, 1):
                progress(f"throughput: {len(jobs)} uploads, {concurrency} at a time ({r + 1}/{args.rounds})")
                walls[concurrency].append(await throughput(pool, jobs, concurrency))
        one_at_a_time, two_at_a_time = min(walls[1]), min(walls[2])
        cli = sum(statistics.median(nb.nbconvert_s) for nb in jobs)
        t = table(
            TITLES["throughput"], "renderer", "uploads", "wall time", "uploads/s", "MB/s", "vs nbconvert CLI"
        )
        for name, wall in (
            ("nbconvert CLI, 1 at a time (*)", cli),
            ("RenderPool, 1 at a time", one_at_a_time),
            ("RenderPool, 2 at a time", two_at_a_time),
        ):
            t.add_row(
                name,
                str(len(jobs)),
                secs(wall),
                f"{len(jobs) / wall:.2f}",
                f"{mb / wall:.2f}",
                ratio(cli / wall),
            )
        out.print(t)
        note(
            f"Each notebook once per pass, largest first; best of "
            f"{plural(args.rounds, 'pass')} per row. (*) sum of the medians in table 1a. "
            f"2 at a time vs 1 at a time: "
            f"{ratio(one_at_a_time / two_at_a_time)} ({args.workers} pool workers, "
            f"{usable_cores()} cores, shared with whatever else runs)."
        )
        out.print()
    finally:
        pool.close()


# --------------------------------------------------------------------- 2. reading


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


class Server:
    """`nbshare serve` on 127.0.0.1 in its own process group; `with` always stops it."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log_path = tmp / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("NBSHARE_")}
        env["NBSHARE_RENDER_WORKERS"] = "1"  # it renders only the uploads below
        argv = [
            sys.executable,
            "-m",
            "nbshare",
            "serve",
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--data-dir",
            str(tmp / "server-data"),
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv
                argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        stop(self.process)

    def client(self):
        import httpx

        return httpx.Client(base_url=self.url, timeout=600, trust_env=False)

    def wait_ready(self, timeout: float = 180) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        with self.client() as client:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/healthz", timeout=2).status_code == 200:
                        return
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"nbshare serve did not start:\n{log}")
                time.sleep(0.2)

    def upload(self, notebooks: list[Notebook]) -> None:
        with self.client() as client:
            for nb in notebooks:
                r = client.post(
                    "/api/v1/shares",
                    params={"filename": nb.path.name},
                    content=nb.data,
                    headers={"Content-Type": "application/x-ipynb+json"},
                )
                if r.status_code == 201:
                    nb.share_id = r.json()["id"]
                else:
                    nb.failed = f"upload answered {r.status_code}: {r.text[:100]}"


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    # The server's render workers share its process group (start_new_session above).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def stylesheets(html: str) -> list[str]:
    """The /static/ stylesheets a stored page links to."""
    found = []
    for tag in re.findall(r"<link\b[^>]*>", html):
        href = re.search(r'href="(/static/[^"]+)"', tag)
        if href and re.search(r'rel="stylesheet"', tag):
            found.append(href.group(1))
    return found


def bench_read(notebooks: list[Notebook], args, server: Server, tmp: Path) -> int:
    """Returns the bytes of CSS a stored page loads from /static (for table 3)."""
    import nbformat
    from nbconvert import HTMLExporter

    css_bytes = 0
    with server.client() as client:
        for nb in notebooks:
            if nb.failed or not nb.share_id:
                continue
            progress(f"GET the stored page of {nb.label}")
            path = f"/n/{nb.share_id}/content"
            for _ in range(2):  # connection set up, page cache
                client.get(path).raise_for_status()
            start = time.perf_counter()
            for _ in range(args.requests):
                t0 = time.perf_counter()
                r = client.get(path)
                nb.served_s.append(time.perf_counter() - t0)
                r.raise_for_status()
            nb.served_wall = time.perf_counter() - start
            nb.stored_bytes = len(r.content)
            if not css_bytes:
                for href in stylesheets(r.text):
                    css_bytes += len(client.get(href).raise_for_status().content)

    # What a service without a render-once store does on each GET: read the stored
    # .ipynb, parse it, run nbconvert's HTMLExporter (the one `--to html` uses).
    exporter = HTMLExporter()
    originals = tmp / "originals"
    originals.mkdir()

    def render_on_request(path: Path) -> bytes:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        html, _ = exporter.from_notebook_node(nb)
        return html.encode("utf-8")

    ok = [nb for nb in notebooks if not nb.failed and nb.served_s]
    for nb in ok:
        (originals / nb.path.name).write_bytes(nb.data)
    if ok:
        render_on_request(originals / min(ok, key=lambda nb: nb.size).path.name)  # warm up
    for nb in ok:
        progress(f"render-per-request {nb.label}")
        start = time.perf_counter()
        while len(nb.on_request_s) < args.requests and (
            len(nb.on_request_s) < args.min_render_requests
            or time.perf_counter() - start < args.render_budget
        ):
            t0 = time.perf_counter()
            render_on_request(originals / nb.path.name)
            nb.on_request_s.append(time.perf_counter() - t0)

    t = table(
        TITLES["read"],
        "notebook",
        "stored: median",
        "req/s",
        "render each: median",
        "req/s",
        "stored faster by",
    )
    for nb in notebooks:
        if nb.failed or not nb.served_s:
            continue
        served_rps = len(nb.served_s) / nb.served_wall
        render_rps = len(nb.on_request_s) / sum(nb.on_request_s)
        t.add_row(
            nb.label,
            secs(statistics.median(nb.served_s)),
            f"{served_rps:.1f}",
            secs(statistics.median(nb.on_request_s)),
            f"{render_rps:.2f}",
            ratio(served_rps / render_rps),
        )
    out.print(t)
    note(
        f"Stored: {args.requests} sequential GET /n/{{id}}/content per notebook from a real "
        f"`nbshare serve` over loopback HTTP (keep-alive). Render each: in process, no HTTP "
        f"(which flatters it), up to {args.requests} requests or {args.render_budget:g} s per "
        f"notebook, at least {args.min_render_requests}; "
        f"{', '.join(str(len(nb.on_request_s)) for nb in ok)} were run."
    )
    out.print()
    return css_bytes


# ----------------------------------------------------------------- 3. page weight


def report_weight(notebooks: list[Notebook], css_bytes: int) -> None:
    t = table(
        TITLES["weight"],
        "notebook",
        ".ipynb",
        "nbshare page",
        "nbconvert single file",
        "nbconvert larger by",
        "nbshare + its CSS",
    )
    for nb in notebooks:
        if nb.failed or not nb.stored_bytes or not nb.nbconvert_bytes:
            continue
        t.add_row(
            nb.label,
            human(nb.size),
            human(nb.stored_bytes),
            human(nb.nbconvert_bytes),
            ratio(nb.nbconvert_bytes / nb.stored_bytes),
            human(nb.stored_bytes + css_bytes),
        )
    out.print(t)
    note(
        f"nbshare pages link {human(css_bytes)} of CSS from /static (cached by the browser for a "
        f"day, shared by every notebook); nbconvert inlines its CSS into every file. Both load "
        f"MathJax/require.js separately (nbconvert from a CDN), not counted. Images over 4 KB "
        f"leave nbshare's page as cached files loaded lazily (not counted; see "
        f"page_weight_bench.py); smaller ones, and data inside scripts, stay inline."
    )
    out.print()


# ----------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument(
        "--notebooks",
        type=int,
        default=DEFAULT_COUNT,
        help=f"how many of the default corpus notebooks (1-{len(DEFAULT_PICKS)})",
    )
    p.add_argument(
        "--notebook", action="append", metavar="PATH", help="benchmark this notebook instead (repeatable)"
    )
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder")
    p.add_argument("--repeat", type=int, default=3, help="uploads per notebook and renderer")
    p.add_argument(
        "--rounds", type=int, default=2, help="passes over the notebooks per row of the throughput test"
    )
    p.add_argument("--requests", type=int, default=50, help="GETs per notebook on the read path")
    p.add_argument(
        "--render-budget",
        type=float,
        default=4.0,
        help="seconds per notebook for render-on-every-request (it is slow)",
    )
    p.add_argument("--min-render-requests", type=int, default=3)
    p.add_argument("--workers", type=int, default=2, help="RenderPool workers (the server's default is 2)")
    p.add_argument("--nbconvert", default=None, help="jupyter-nbconvert executable")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: one tiny fixture notebook, 2 repeats, 5 requests, 1 worker",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.repeat, args.requests, args.render_budget, args.min_render_requests = 2, 5, 0.0, 2
        args.workers, args.rounds = 1, 1
    if args.nbconvert is None:
        beside = Path(sys.executable).parent / "jupyter-nbconvert"
        args.nbconvert = str(beside) if beside.exists() else shutil.which("jupyter-nbconvert")
    if not args.nbconvert:
        p.error("jupyter-nbconvert not found; pass --nbconvert")
    counts = (args.repeat, args.requests, args.rounds, args.notebooks, args.min_render_requests, args.workers)
    if min(counts) < 1:
        p.error("counts must be at least 1")
    return args


def header(notebooks: list[Notebook], args) -> None:
    out.print(f"[bold]nbshare render benchmark[/] — {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    out.print(
        f"machine: {usable_cores()} usable cores ({os.cpu_count()} online), {cpu_model()}, "
        f"{platform.system()} {platform.release()}, {load_avg()} at start"
    )
    out.print(f"python {platform.python_version()}; {versions()}")
    out.print(f"nbconvert CLI: {args.nbconvert}")
    out.print(
        f"notebooks: {len(notebooks)} ({human(sum(nb.size for nb in notebooks))}); "
        f"repeat {args.repeat}, requests {args.requests}"
    )
    if busy():
        out.print(
            "[yellow]other processes are using the CPU: absolute times are noisy, "
            "ratios (both sides measured in the same run) hold up better[/]"
        )
    out.print()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_nbconvert()
    # SIGTERM runs the same clean-up as Ctrl-C: finally blocks stop the server, pools, temp dirs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    notebooks = load_notebooks(args)
    header(notebooks, args)
    started = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nbshare-bench-")))
            server = stack.enter_context(Server(tmp))
            asyncio.run(bench_publish(notebooks, args, server))
            css_bytes = bench_read(notebooks, args, server, tmp)
            report_weight(notebooks, css_bytes)
    except BaseException:
        # Render workers still busy (Ctrl-C mid-render): stop the ones this script started.
        for child in multiprocessing.active_children():
            child.kill()
        raise
    for nb in notebooks:
        if nb.failed:
            out.print(f"[red]{nb.label}: {nb.failed}[/]")
    note(f"total {time.perf_counter() - started:.0f} s; {load_avg()} at end")
    return 1 if all(nb.failed for nb in notebooks) else 0


if __name__ == "__main__":
    sys.exit(main())
