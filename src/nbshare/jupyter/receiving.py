"""Open in my Jupyter, apart from HTTP: a share fetched with `nbshare clone`'s own steps
(bundle/incoming.py: the description, the unlock, the download checked against the server's
SHA-256, the distrustful archive reader) into a new folder under Jupyter's root.

No environment is built and nothing that came with the share runs: the person opens the
files in JupyterLab, and `nbshare clone` stays the way to rebuild the environment.

The share is written into a hidden staging folder inside the root first, then renamed into
place in one step under a name nothing else holds: a failed or refused fetch leaves nothing
behind, and an existing file or folder is never overwritten.

Blocking (httpx, files): the handler runs `receive` in a thread.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..bundle import workingcopy
from ..bundle.incoming import Cloned, default_folder, fetch, open_share
from ..client import ClientError, NbshareClient, server_of, share_id_from
from ..errors import NbshareError
from .sharing import TIMEOUT, ShareError

MAX_CLASHES = 1000  # "name-2" ... "name-1000": past that, something is wrong with the root
README = re.compile(r"readme(\.(md|markdown|ipynb|txt|rst))?", re.IGNORECASE)
STAGING_PREFIX = ".nbshare-open-"


class NeedsPassword(Exception):
    """The share is protected and no password was given: the handler shows the form."""


@dataclass(frozen=True)
class Opened:
    folder: str  # the new folder, a name in the root
    path: str  # what to open in JupyterLab, a contents path ("folder/notebook.ipynb")
    title: str


def share_location(url: str) -> tuple[str, str]:
    """The nbshare server and the share id of a share link; anything else is refused in words."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ShareError(f"{url[:200]!r} is not an http(s) link to an nbshare share (https://.../n/ID).")
    try:
        share_id = share_id_from(url.strip())
    except ClientError:
        raise ShareError(
            f"{url[:200]!r} is not a link to an nbshare share (expected https://.../n/ID)."
        ) from None
    return server_of(url.strip()), share_id


def receive(url: str, password: str | None, root: Path) -> Opened:
    """Fetch the share at `url` into a new folder of `root`. Raises NeedsPassword when the
    share is protected and `password` is None, ShareError for anything to say in words."""
    server, share_id = share_location(url)
    client = NbshareClient(server, timeout=TIMEOUT)
    try:
        info, grant = open_share(client, share_id, lambda: _given(password))
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
        try:
            cloned = fetch(client, info, grant, staging / "copy")
            workingcopy.record(cloned.dest, complete=True, opened_in="jupyter")
            folder = place(cloned.dest, root, default_folder(info))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except ClientError as exc:
        raise _said(exc) from None
    except NbshareError as exc:  # a checksum that does not match, an unsafe archive
        raise ShareError(exc.message, 502, exc.code) from None
    except OSError as exc:  # the root is read-only, the disk is full: the staging folder is gone
        raise ShareError(f"Could not write the share into {root}: {exc.strerror or exc}", 500) from None
    finally:
        client.close()
    title = info.get("title")
    return Opened(
        folder=folder,
        path=f"{folder}/{to_open(cloned)}".rstrip("/"),
        title=title if isinstance(title, str) else share_id,
    )


def _given(password: str | None) -> str:
    if password is None:
        raise NeedsPassword
    return password


def _said(exc: ClientError) -> ShareError:
    """The nbshare server's refusal, with the status to answer: its own for what the person
    can act on (a wrong password, a share gone), 502 for a server that failed or was not reached."""
    status = exc.status if exc.status is not None and 400 <= exc.status < 500 else 502
    return ShareError(str(exc), status, exc.code)


def place(copy: Path, root: Path, name: str) -> str:
    """Move `copy` to `root/name`, or "name-2", "name-3"... : the first name nothing holds.
    The name is claimed by making an empty folder (which fails if anything is there, a link
    included), then replaced by the copy in one rename."""
    for n in range(1, MAX_CLASHES + 1):
        candidate = name if n == 1 else f"{name}-{n}"
        target = root / candidate
        try:
            os.mkdir(target)
        except FileExistsError:
            continue
        os.rename(copy, target)  # onto the empty folder just made: nothing else is replaced
        return candidate
    raise ShareError(f"{root} already holds {name} and {MAX_CLASHES - 1} numbered copies of it.", 409)


def to_open(cloned: Cloned) -> str:
    """The notebook, or a bundle's top README, else its first notebook (shallowest first),
    else its folder (""): a path inside the new folder."""
    files = sorted(cloned.files, key=lambda p: (p.count("/"), p.casefold()))
    for path in files:
        if README.fullmatch(path):
            return path
    notebooks = [p for p in files if p.lower().endswith(".ipynb")]
    return notebooks[0] if notebooks else ""
