"""An upload's progress on the terminal: a bar while the bytes go up, then a spinner while
the server renders (it answers only once the pages are stored, which can take seconds)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.progress import ProgressColumn, Task

RENDERING = "rendering_since"  # the task field set once every byte is sent


def _columns() -> tuple[str | ProgressColumn, ...]:
    from rich import filesize
    from rich.progress import BarColumn, DownloadColumn, ProgressColumn, TransferSpeedColumn
    from rich.spinner import Spinner
    from rich.text import Text

    class Phase(ProgressColumn):
        """One column while sending, another once the server is rendering."""

        def __init__(self, sending: ProgressColumn, rendering: ProgressColumn | None = None):
            super().__init__()
            self.sending, self.rendering = sending, rendering

        def render(self, task: Task) -> RenderableType:
            if task.fields.get(RENDERING) is None:
                return self.sending.render(task)
            return self.rendering.render(task) if self.rendering else Text("")

    class Spinning(ProgressColumn):
        """A spinner that keeps turning once the bar is full (rich's SpinnerColumn stops then)."""

        def __init__(self) -> None:
            super().__init__()
            self.spinner = Spinner("dots", style="progress.spinner")

        def render(self, task: Task) -> RenderableType:
            return self.spinner.render(task.get_time())

    class Waited(ProgressColumn):
        """ "4.2 MB sent, 3 s": what went up, and how long the answer has taken since."""

        def render(self, task: Task) -> RenderableType:
            waited = time.monotonic() - task.fields[RENDERING]
            sent = filesize.decimal(int(task.total or 0))  # as DownloadColumn counted it
            return Text(f"{sent} sent, {waited:.0f} s", style="progress.elapsed")

    return (
        "[progress.description]{task.description}",
        Phase(BarColumn(), Spinning()),
        Phase(DownloadColumn(), Waited()),
        Phase(TransferSpeedColumn()),
    )


@contextmanager
def upload_progress(name: str, size: int) -> Iterator[Callable[[int], None]]:
    """Shows the upload of `name` (`size` bytes) on stderr; yields the function to call with
    each chunk's length. The caller checked that stderr is a terminal: stdout carries the link."""
    from rich.console import Console
    from rich.progress import Progress

    with Progress(*_columns(), console=Console(stderr=True), transient=True) as progress:
        not_yet: dict[str, Any] = {RENDERING: None}
        task = progress.add_task(f"Uploading {name}", total=size, **not_yet)

        def advance(n: int) -> None:
            progress.advance(task, n)
            if progress.tasks[0].completed >= size and progress.tasks[0].fields[RENDERING] is None:
                # All sent: the server renders, then answers. Say so, rather than "4.2/4.2 MB".
                now: dict[str, Any] = {RENDERING: time.monotonic()}
                progress.update(task, description=f"Rendering {name} on the server", **now)

        yield advance
