#!/usr/bin/env python
"""Time-to-link: a real upload to a warm `nbshare serve` versus a bare warm nbconvert.

For every notebook of the corpus (MANIFEST.tsv), alternating, in one run:
- nbshare: POST /api/v1/shares with the file, until the JSON with the link arrives, on a
  warm `nbshare serve` on 127.0.0.1 (one render worker, as one upload at a time needs);
- nbconvert: `HTMLExporter().from_notebook_node(nbformat.read(file))` in another warm
  process, which already rendered a notebook (the time is measured inside it, so it
  includes no pipe or process start-up: nbconvert's best case).
Each notebook's ratio is nbshare's median over nbconvert's. Issue 14 asks for a median
ratio of at most 0.25 and no notebook above 1. No timings are asserted anywhere.

    .venv/bin/python bench/publish_bench.py              # the whole corpus, ~10 minutes
    .venv/bin/python bench/publish_bench.py --quick      # smoke run: two fixture notebooks
    .venv/bin/python bench/publish_bench.py --repeat 5 --notebook pdsh/05.11-K-Means.ipynb
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from render_bench import (
    DEFAULT_CORPUS,
    FIXTURES,
    Server,
    busy,
    cpu_model,
    err,
    human,
    load_avg,
    out,
    progress,
    secs,
    stop,
    table,
    usable_cores,
    versions,
)

QUICK_PICKS = (FIXTURES / "headings.ipynb", FIXTURES / "v3.ipynb")
TITLE = "Publish: time-to-link on a warm `nbshare serve` vs a bare warm nbconvert HTMLExporter()"
SUMMARY_TITLE = "Publish ratios (nbshare time-to-link / nbconvert)"

# The nbconvert side: reads a path per line, answers the seconds it took (or the error).
NBCONVERT_LOOP = """
import json, logging, sys, time, warnings
warnings.simplefilter("ignore")
logging.getLogger("traitlets").setLevel(logging.ERROR)
import nbformat
from nbconvert import HTMLExporter
exporter = HTMLExporter()
print("ready", flush=True)
for line in sys.stdin:
    path = line.rstrip("\\n")
    try:
        start = time.perf_counter()
        html, _ = exporter.from_notebook_node(nbformat.read(path, as_version=4))
        print(json.dumps({"s": time.perf_counter() - start, "bytes": len(html)}), flush=True)
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:200]}), flush=True)
"""


@dataclass
class Notebook:
    path: Path
    label: str
    data: bytes
    failed: str = ""
    nbshare_s: list[float] = field(default_factory=list)
    nbconvert_s: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(self.nbshare_s) / statistics.median(self.nbconvert_s)


class Nbconvert:
    """The warm nbconvert process; `with` always stops it."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", NBCONVERT_LOOP],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the nbconvert process did not start")

    def __enter__(self) -> Nbconvert:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        stop(self.process)

    def render(self, path: Path) -> float:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{path}\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline() or '{"error": "the nbconvert process exited"}')
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return float(answer["s"])


def publish(client, nb: Notebook) -> float:
    start = time.perf_counter()
    r = client.post(
        "/api/v1/shares",
        params={"filename": nb.path.name},
        content=nb.data,
        headers={"Content-Type": "application/x-ipynb+json"},
    )
    elapsed = time.perf_counter() - start
    if r.status_code != 201 or "url" not in r.json():
        raise RuntimeError(f"upload answered {r.status_code}: {r.text[:100]}")
    return elapsed


def load_notebooks(args) -> list[Notebook]:
    if args.quick:
        paths = [(p, p.name) for p in QUICK_PICKS]
    elif args.notebook:
        paths = [(args.corpus / p if not Path(p).exists() else Path(p), p) for p in args.notebook]
    else:
        manifest = args.corpus / "MANIFEST.tsv"
        if not manifest.exists():
            sys.exit(f"no corpus at {args.corpus} (MANIFEST.tsv missing); pass --corpus or --quick")
        with manifest.open(newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        paths = [(args.corpus / row["path"], row["path"]) for row in rows]
    return [Notebook(path, label, path.read_bytes()) for path, label in paths]


def measure(notebooks: list[Notebook], args, server: Server, nbconvert: Nbconvert) -> None:
    with server.client() as client:
        # Warm both sides on the first notebook, untimed: imports, templates, lexers.
        for _ in range(2):
            with contextlib.suppress(RuntimeError):
                publish(client, notebooks[0])
                nbconvert.render(notebooks[0].path)
        for r in range(args.repeat):
            for i, nb in enumerate(notebooks):
                if nb.failed:
                    continue
                progress(f"{nb.label} ({r + 1}/{args.repeat})")
                # Alternate which side goes first, so drift in load hits both alike.
                sides = [
                    ("nbshare", lambda nb=nb: publish(client, nb)),
                    ("nbconvert", lambda nb=nb: nbconvert.render(nb.path)),
                ]
                if (r + i) % 2:
                    sides.reverse()
                for name, run in sides:
                    try:
                        (nb.nbshare_s if name == "nbshare" else nb.nbconvert_s).append(run())
                    except RuntimeError as exc:
                        nb.failed = f"{name}: {exc}"
                        break


def report(notebooks: list[Notebook], args) -> None:
    ok = [nb for nb in notebooks if not nb.failed and nb.nbshare_s and nb.nbconvert_s]
    t = table(TITLE, "notebook", "size", "nbconvert", "nbshare", "ratio")
    for nb in sorted(ok, key=lambda nb: nb.ratio, reverse=True):
        p, c = statistics.median(nb.nbshare_s), statistics.median(nb.nbconvert_s)
        t.add_row(nb.label, human(len(nb.data)), secs(c), secs(p), f"{nb.ratio:.2f}")
    for nb in notebooks:
        if nb not in ok:
            t.add_row(nb.label, human(len(nb.data)), "", "failed", (nb.failed or "?")[:50])
    out.print(t)
    if not ok:
        return
    worst = max(ok, key=lambda nb: nb.ratio)
    summed = sum(statistics.median(nb.nbshare_s) for nb in ok) / sum(
        statistics.median(nb.nbconvert_s) for nb in ok
    )
    s = table(SUMMARY_TITLE, "measure", "value", "goal")
    s.add_row("notebooks", str(len(ok)), "")
    s.add_row("median ratio", f"{statistics.median(nb.ratio for nb in ok):.3f}", "≤ 0.25")
    s.add_row("summed ratio", f"{summed:.3f}", "")
    s.add_row(f"worst ratio ({worst.label})", f"{worst.ratio:.3f}", "≤ 1")
    s.add_row("slower than nbconvert", str(sum(nb.ratio > 1 for nb in ok)), "0")
    out.print(s)
    out.print(
        f"[dim]Median of {args.repeat} per notebook and side, alternating which goes first; "
        f"nbconvert timed inside its own warm process, nbshare from the request to the JSON.[/]"
    )


def header(notebooks: list[Notebook], args) -> None:
    out.print(f"[bold]nbshare publish benchmark[/] — {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    out.print(
        f"machine: {usable_cores()} usable cores ({os.cpu_count()} online), {cpu_model()}, "
        f"{platform.system()} {platform.release()}, {load_avg()} at start"
    )
    out.print(f"python {platform.python_version()}; {versions()}")
    out.print(
        f"notebooks: {len(notebooks)} ({human(sum(len(nb.data) for nb in notebooks))}); repeat {args.repeat}"
    )
    if busy():
        out.print(
            "[yellow]other processes are using the CPU: absolute times are noisy, ratios hold up better[/]"
        )
    out.print()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder (with MANIFEST.tsv)")
    p.add_argument(
        "--notebook", action="append", metavar="PATH", help="only this notebook (corpus-relative; repeatable)"
    )
    p.add_argument("--repeat", type=int, default=3, help="uploads and nbconvert renders per notebook")
    p.add_argument("--quick", action="store_true", help="smoke run: two fixture notebooks, 1 repeat")
    args = p.parse_args(argv)
    if args.quick:
        args.repeat = 1
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    notebooks = load_notebooks(args)
    header(notebooks, args)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nbshare-publish-bench-")))
        server = stack.enter_context(Server(tmp))
        nbconvert = stack.enter_context(Nbconvert())
        server.wait_ready()
        measure(notebooks, args, server, nbconvert)
    report(notebooks, args)
    for nb in notebooks:
        if nb.failed:
            err.print(f"[red]{nb.label}: {nb.failed}[/]")
    out.print(f"[dim]total {time.perf_counter() - started:.0f} s; {load_avg()} at end[/]")
    return 1 if all(nb.failed for nb in notebooks) else 0


if __name__ == "__main__":
    sys.exit(main())
