"""bench/render_bench.py still runs: its --quick mode, on one tiny fixture notebook.

Only that it finishes and prints its tables; benchmarks report speed, tests never assert it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts a real `nbshare serve` and nbconvert processes

BENCH = Path(__file__).resolve().parents[1] / "bench" / "render_bench.py"


def test_quick_benchmark_runs_and_prints_every_table():
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard only: ~20 s on an idle 2-core machine
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for header in (
        "1a. Publishing one notebook",
        "1b. Publishing throughput",
        "2. Read path",
        "3. Page weight",
        "RenderPool",
        "nbconvert CLI",
        "headings.ipynb",
    ):
        assert header in done.stdout, header


def test_quick_page_weight_benchmark_runs():
    script = BENCH.parent / "page_weight_bench.py"
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for header in ("nbconvert HTML", "nbshare page", "10 matplotlib plots", "2 MB download_link"):
        assert header in done.stdout, header


def test_quick_slow_inputs_benchmark_runs():
    script = BENCH.parent / "slow_inputs_bench.py"
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for row in ("identical headings", "`[a](` links", "`[`", "\\begin{a}"):
        assert row in done.stdout, row
