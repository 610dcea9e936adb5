"""The client's history of what it published: private, and safe with several `nbshare`
commands running at once."""

from __future__ import annotations

import stat
import subprocess
import sys

import pytest

from nbshare.history import History, HistoryError

WRITER = """
import sys
from nbshare.history import History, Published
history = History(sys.argv[1])
for n in range(15):
    history.add(Published(id=f"{sys.argv[2]}-{n}", url="u", server="s", manage_url="m", owner_token="t",
                          title="", filename="a.ipynb", path="/a.ipynb", created_at=""))
"""


def test_publishes_running_at_once_lose_no_entry(tmp_path):
    path = tmp_path / "nbshare" / "published.json"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"w{i}"]) for i in range(6)]
    assert [w.wait(timeout=120) for w in writers] == [0] * 6
    ids = {entry.id for entry in History(path).load()}
    assert ids == {f"w{i}-{n}" for i in range(6) for n in range(15)}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("content", "why"),
    [("{oops", "Expecting"), ('{"id": "x"}', "not a list"), ("[" * 100_000, "recursion")],
)
def test_an_unreadable_history_is_a_history_error_naming_the_file(tmp_path, content, why):
    """The CLI catches this one error (not any RuntimeError) to say the file is unreadable."""
    path = tmp_path / "published.json"
    path.write_text(content)
    with pytest.raises(HistoryError, match=why) as raised:
        History(path).load()
    assert str(raised.value).startswith(f"Cannot read {path}: ")
