"""Render workers end when the server that started them dies.

A server killed with SIGKILL cannot stop its workers, and they used to live on (about
90 MB each), reparented to PID 1. Two guards, in the worker:

- on Linux, `prctl(PR_SET_PDEATHSIG, SIGKILL)` asks the kernel to kill the worker when
  its parent dies, even while it is stuck in C code. The kernel means the parent *thread*:
  a worker started from a thread that ends would be killed with it, so this is armed only
  for workers started from the server's main thread (where its event loop runs). No
  maintained PyPI package wraps prctl (python-prctl and pyprctl are unmaintained since
  2020-21), and it is one libc call, so it is made through ctypes;
- everywhere, a daemon thread waits on multiprocessing's parent sentinel, a pipe that
  reaches end-of-file when the parent is gone, and ends the worker.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _kill_with_parent() -> bool:
    """Arm PR_SET_PDEATHSIG; False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        status: int = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        return status == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int) -> None:
    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        multiprocessing.connection.wait([parent.sentinel])
    else:  # not started by multiprocessing's spawn: poll for the reparenting instead
        while os.getppid() == parent_pid:
            time.sleep(1.0)
    os._exit(1)  # noqa: SLF001 - no cleanup to do, and no one left to report to


def exit_with_parent(parent_pid: int, *, kernel_signal: bool) -> None:
    """Make this worker process end when process `parent_pid` does (see the module doc)."""
    if kernel_signal:
        _kill_with_parent()
    if os.getppid() != parent_pid:  # it died before we were watching
        os._exit(1)
    threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="nbshare-parent-watch", daemon=True
    ).start()
