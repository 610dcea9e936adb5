"""A CPU-time budget for one markdown cell.

mistune takes time quadratic in some inputs (`a*` repeated: 240 KB cost 9 s here, 1 MB
minutes). A markdown cell gets a budget that grows with its size, generous for real
markdown (about 1 MB/s here); a cell over its budget is shown as its source text, so
the share still works and the render ends soon.

The budget is CPU time (ITIMER_VIRTUAL), not wall time, so a busy machine does not make
an ordinary cell look pathological. It needs the main thread of a process that may use
SIGVTALRM: a render worker, or a test. Elsewhere the cell renders without a budget, and
the render's own timeout still applies.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import NoReturn, TypeVar

T = TypeVar("T")

CELL_FLOOR = 2.0  # CPU seconds any markdown cell may take
CELL_PER_MB = 10.0  # and per megabyte of its source


class OverBudget(BaseException):
    """Raised by the budget's timer: a BaseException, so that no `except Exception` in
    mistune or a plugin catches it and carries on."""


def _on_timer(signum: int, frame: FrameType | None) -> NoReturn:  # noqa: ARG001 (signal handler signature)
    raise OverBudget


def markdown_seconds(size: int) -> float:
    return CELL_FLOOR + CELL_PER_MB * size / 1_000_000


def within_budget(seconds: float, work: Callable[[], T]) -> T | None:
    """work(), or None when it used more than `seconds` of this process's CPU time."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        return work()
    previous = signal.signal(signal.SIGVTALRM, _on_timer)
    try:
        signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
        try:
            return work()
        finally:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
    except OverBudget:
        return None
    finally:
        signal.signal(signal.SIGVTALRM, signal.SIG_DFL if previous is None else previous)
