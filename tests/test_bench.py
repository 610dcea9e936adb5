"""The benchmarks under bench/ still run: their --quick modes, on tiny inputs.

Only that it finishes and prints its tables; benchmarks report speed, tests never assert it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts a real `nbshare serve` and nbconvert processes

BENCH = Path(__file__).resolve().parents[1] / "bench"

# Each benchmark script, and what its --quick tables must show.
TABLES = {
    "render_bench.py": (
        "1a. Publishing one notebook",
        "1b. Publishing throughput",
        "2. Read path",
        "3. Page weight",
        "RenderPool",
        "nbconvert CLI",
        "headings.ipynb",
    ),
    "publish_bench.py": (
        "Publish: time-to-link",
        "Publish ratios",
        "median ratio",
        "headings.ipynb",
        "v3.ipynb",
    ),
    "page_weight_bench.py": ("nbconvert HTML", "nbshare page", "10 matplotlib plots", "2 MB download_link"),
    "slow_inputs_bench.py": ("identical headings", "`[a](` links", "`[`", "\\begin{a}"),
}


@pytest.mark.parametrize("script", sorted(TABLES))
def test_quick_benchmark_runs_and_prints_every_table(script):
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(BENCH / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard only: ~20 s on an idle 2-core machine
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for header in TABLES[script]:
        assert header in done.stdout, header
