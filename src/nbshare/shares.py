"""The share service: create, read and delete shares. Handlers call this; it calls storage.

Order of writes on create: render (nothing stored yet) -> blobs, each durable before
`put` returns -> one transaction inserting the rows. A crash can leave blobs without a
row (invisible, removable) but never a row without its blobs.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import anyio

from .errors import Forbidden, NotFound
from .render import RenderedPage
from .render.pool import RenderPool
from .security import tokens
from .settings import Settings
from .store import BlobStore, MetadataStore, ShareRow, VersionRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Share:
    """A share as handlers see it: its row and its current version."""

    row: ShareRow
    version: VersionRow

    @property
    def id(self) -> str:
        return self.row.id


@dataclass(frozen=True)
class CreatedShare:
    share: Share
    owner_token: str  # shown once, to the uploader; only its hash is kept


def clean_filename(name: str | None) -> str:
    """A display/download name: last path part, no control characters, ends in .ipynb."""
    name = (name or "").replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if c.isprintable()).strip().strip(".")[:200]
    if not name:
        name = "notebook.ipynb"
    if not name.lower().endswith(".ipynb"):
        name += ".ipynb"
    return name


def pick_title(explicit: str | None, page: RenderedPage, filename: str) -> str:
    for candidate in (explicit, page.info.title, page.first_heading, filename.removesuffix(".ipynb")):
        if candidate and candidate.strip():
            return " ".join(candidate.split())[:300]
    return "Untitled notebook"


class ShareService:
    def __init__(self, settings: Settings, metadata: MetadataStore, blobs: BlobStore, renderer: RenderPool):
        self.settings = settings
        self.metadata = metadata
        self.blobs = blobs
        self.renderer = renderer
        self.static_url = urlsplit(settings.frame_url).path.rstrip("/") + "/static"

    async def create(self, data: bytes, *, filename: str | None, title: str | None) -> CreatedShare:
        filename = clean_filename(filename)
        page = await self.renderer.render(
            data, filename=filename, static_url=self.static_url, max_depth=self.settings.max_json_depth
        )
        share_id, owner_token = tokens.new_share_id(), tokens.new_owner_token()
        now = datetime.now(UTC)
        prefix = f"shares/{share_id}/v1"
        version = VersionRow(
            share_id=share_id,
            number=1,
            created_at=now,
            filename=filename,
            title=pick_title(title, page, filename),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            nbformat=page.info.nbformat,
            kernel_name=page.info.kernel_name,
            language=page.info.language,
            cell_count=page.info.cell_count,
            toc=[entry.as_dict() for entry in page.toc],
            original_key=f"{prefix}/original.ipynb",
            page_key=f"{prefix}/page.html",
        )
        row = ShareRow(share_id, tokens.hash_token(owner_token), now, now, 1)
        await anyio.to_thread.run_sync(self._store, row, version, data, page.html)
        log.info(
            "created share %s (%d bytes, %d headings)", tokens.redact_id(share_id), len(data), len(page.toc)
        )
        return CreatedShare(Share(row, version), owner_token)

    def _store(self, row: ShareRow, version: VersionRow, original: bytes, html: bytes) -> None:
        try:
            self.blobs.put(version.original_key, original)
            self.blobs.put(version.page_key, html)
            self.metadata.add_share(row, version)
        except BaseException:
            self.blobs.delete_prefix(f"shares/{row.id}")  # leave nothing half-stored
            raise

    async def get(self, share_id: str) -> Share:
        if not tokens.looks_like_id(share_id):
            raise NotFound("No share with this link exists (or it was deleted).")
        found = await anyio.to_thread.run_sync(self.metadata.get_share, share_id)
        if found is None:
            raise NotFound("No share with this link exists (or it was deleted).")
        return Share(*found)

    async def read_blob(self, key: str) -> bytes:
        try:
            return await anyio.to_thread.run_sync(self.blobs.get, key)
        except KeyError:
            log.error("blob %s is missing", key)
            raise NotFound("This share's content is missing from storage.") from None

    async def delete(self, share_id: str, owner_token: str | None) -> None:
        share = await self.get(share_id)
        if not owner_token or not tokens.token_matches(owner_token, share.row.owner_token_hash):
            raise Forbidden("This owner token does not match the share.", code="bad_owner_token")
        await anyio.to_thread.run_sync(self._delete, share_id)
        log.info("deleted share %s", tokens.redact_id(share_id))

    def _delete(self, share_id: str) -> None:
        # Row first: once it is gone the share is unreachable, then its blobs go.
        self.metadata.delete_share(share_id)
        self.blobs.delete_prefix(f"shares/{share_id}")
