"""What this user has published, with owner tokens, in a private file (mode 0600)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from platformdirs import user_data_dir


def default_path() -> Path:
    return Path(user_data_dir("nbshare", appauthor=False)) / "published.json"


@dataclass
class Published:
    id: str
    url: str
    server: str
    manage_url: str
    owner_token: str
    title: str
    filename: str
    path: str  # absolute path of the file that was published, to offer updates later
    created_at: str


class History:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else default_path()

    def load(self) -> list[Published]:
        try:
            raw = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"Cannot read {self.path}: {exc}") from None
        return [Published(**{k: item.get(k, "") for k in Published.__dataclass_fields__}) for item in raw]

    def save(self, entries: list[Published]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".published-")
        try:
            os.fchmod(fd, 0o600)  # owner tokens are secrets
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump([asdict(e) for e in entries], f, indent=2)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def add(self, entry: Published) -> None:
        self.save([*self.load(), entry])

    def find(self, share_id: str) -> Published | None:
        return next((e for e in self.load() if e.id == share_id), None)

    def remove(self, share_id: str) -> None:
        self.save([e for e in self.load() if e.id != share_id])
