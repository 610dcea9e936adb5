"""Access grants: what a visitor gets for the right password, and the owner for the token.

A grant is sealed (AES-256-GCM) under the server's secret key and names one share, one
version, the share's access epoch and an expiry. For a protected share it also carries
the share's data key, so later page loads decrypt without running Argon2 again. The
server keeps no copy: the data key exists in plaintext only while a request is served.

A view grant is the third kind: the counted view of a view-limited share hands it out,
so that view's own frame, files and downloads load without counting more views.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .crypto import DecryptionFailed, b64, open_sealed, seal, unb64

COOKIE_PREFIX = "nbs_grant_"
OWNER_COOKIE_PREFIX = "nbs_owner_"
VIEW_COOKIE_PREFIX = "nbs_view_"


class ServerKey:
    """The service's own secret; its repr never shows the bytes."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise ValueError("the secret key must be 32 bytes (64 hex characters)")
        self._key = key

    def __repr__(self) -> str:
        return "ServerKey('**********')"

    @property
    def bytes(self) -> bytes:
        return self._key

    @classmethod
    def load_or_create(cls, configured: str | None, data_dir: Path) -> ServerKey:
        """NBSHARE_SECRET_KEY when set (needed when several instances share a database),
        else a key kept in DATA_DIR/secret.key (mode 0600), created on first start."""
        if configured:
            return cls(bytes.fromhex(configured))
        path = Path(data_dir) / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(os.urandom(32).hex())
        return cls(bytes.fromhex(path.read_text().strip()))


@dataclass(frozen=True)
class Grant:
    share_id: str
    version: int | None  # None: any version (owner grants)
    epoch: int
    expires: float  # unix time
    data_key: bytes | None
    owner: bool = False
    view: bool = False


def issue(key: ServerKey, grant: Grant) -> str:
    body = {
        "s": grant.share_id,
        "v": grant.version,
        "e": grant.epoch,
        "x": grant.expires,
        "k": b64(grant.data_key) if grant.data_key else None,
        "o": grant.owner,
        "w": grant.view,
    }
    context = _context(grant.share_id, grant.owner, grant.view)
    return b64(seal(key.bytes, json.dumps(body).encode(), context))


def read(
    key: ServerKey, token: str | None, share_id: str, *, owner: bool, now: datetime, view: bool = False
) -> Grant | None:
    """The grant in `token` if it is genuine, for this share, and not expired."""
    if not token:
        return None
    try:
        body = json.loads(open_sealed(key.bytes, unb64(token), _context(share_id, owner, view)))
    except (DecryptionFailed, ValueError, TypeError):
        return None
    # Expired at `x` itself, as shares are at `expires_at` (shares.py, `_expired`).
    if (
        body.get("s") != share_id
        or body.get("o") is not owner
        or body.get("w", False) is not view
        or body.get("x", 0) <= now.timestamp()
    ):
        return None
    return Grant(
        share_id=share_id,
        version=body.get("v"),
        epoch=body.get("e", -1),
        expires=body["x"],
        data_key=unb64(body["k"]) if body.get("k") else None,
        owner=owner,
        view=view,
    )


def _context(share_id: str, owner: bool, view: bool = False) -> str:
    return f"{'owner' if owner else 'view' if view else 'grant'}:{share_id}"


def cookie_name(share_id: str, *, owner: bool = False, view: bool = False) -> str:
    prefix = OWNER_COOKIE_PREFIX if owner else VIEW_COOKIE_PREFIX if view else COOKIE_PREFIX
    return prefix + share_id[:16]
