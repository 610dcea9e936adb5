"""An upload turned into a version: rendered pages, files and the manifest, nothing stored yet.

A notebook upload gives one page plus the files found in it (embedded downloads, cell
attachments, images taken out of the page). A bundle (a .zip) gives a page per notebook,
the README's page, the bundle's own files and its environment files. Every page is
rendered before anything is stored, so a notebook that fails to render refuses the
whole upload and leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import mimetypes
import posixpath
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import urls
from .bundle.archive import Limits, Member, read_zip, write_zip
from .bundle.envfiles import find_env_files
from .errors import NbshareError
from .manifest import EnvEntry, FileEntry, Manifest, NotebookEntry, Readme
from .protection import VersionContent
from .render import RenderedPage
from .render.assets import AssetPolicy, BundleLinks, Payload
from .settings import Settings
from .store import VersionRow

README_NAMES = ("readme.md", "readme.markdown", "readme.txt", "readme")
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml", "image/avif"}
ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class Prepared:
    """What a version will be: its row (manifest without blob keys yet) and its bytes."""

    version: VersionRow
    content: VersionContent
    info: dict[str, Any] = field(default_factory=dict)


def is_bundle(data: bytes, filename: str | None) -> bool:
    return data[:4] == ZIP_MAGIC or (filename or "").lower().endswith(".zip")


def media_type_of(path: str) -> str:
    if path.lower().endswith(".ipynb"):
        return "application/x-ipynb+json"
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed or "application/octet-stream"


def limits_of(settings: Settings) -> Limits:
    return Limits(
        max_files=settings.max_bundle_files,
        max_total_bytes=settings.max_bundle_bytes,
        max_file_bytes=settings.max_bundle_file_bytes,
    )


def _file_entry(payload: Payload, notebook: str | None) -> FileEntry:
    return FileEntry(
        payload.name, payload.media_type, len(payload.data), payload.sha256, payload.role, notebook
    )


def _collect(
    files: list[FileEntry], blobs: dict[str, bytes], page: RenderedPage, notebook: str | None
) -> None:
    for payload in page.files:
        files.append(_file_entry(payload, notebook))
        blobs.setdefault(payload.sha256, payload.data)


def pick_title(explicit: str | None, *candidates: str | None) -> str:
    for candidate in (explicit, *candidates):
        if candidate and candidate.strip():
            return " ".join(candidate.split())[:300]
    return "Untitled notebook"


def readme_notebook(text: str) -> bytes:
    """A README shown through the notebook renderer: headings get anchors, math renders,
    relative links resolve, and its HTML stays inside the sandbox like any notebook's."""
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [{"cell_type": "markdown", "id": "readme", "metadata": {}, "source": text}],
        }
    ).encode("utf-8")


class Preparer:
    """Renders uploads for one share version; `render` is the render pool's method."""

    def __init__(self, settings: Settings, render: Callable[..., Awaitable[RenderedPage]], static_url: str):
        self.settings = settings
        self._render = render
        self.static_url = static_url

    def _policy(self, base: str, sealed: bool) -> AssetPolicy:
        # A sealed page is read in a frame whose requests carry no grant, so it keeps
        # every file inline (and is sealed whole).
        return AssetPolicy(None if sealed else self.settings.inline_file_bytes, base)

    async def render(
        self, data: bytes, filename: str, *, base: str, sealed: bool, links: BundleLinks | None = None
    ) -> RenderedPage:
        return await self._render(
            data,
            filename=filename,
            static_url=self.static_url,
            max_depth=self.settings.max_json_depth,
            assets=self._policy(base, sealed),
            links=links,
        )

    async def notebook(
        self,
        share_id: str,
        number: int,
        data: bytes,
        *,
        filename: str,
        title: str | None,
        sealed: bool,
        now: datetime,
    ) -> Prepared:
        base = urls.page_base(self.settings.frame_url, share_id, number)
        page = await self.render(data, filename, base=base, sealed=sealed)
        files: list[FileEntry] = []
        content = VersionContent(original=data, html=page.html)
        _collect(files, content.files, page, None)
        version = VersionRow(
            share_id=share_id,
            number=number,
            created_at=now,
            filename=filename,
            title=pick_title(title, page.info.title, page.first_heading, filename.removesuffix(".ipynb")),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            nbformat=page.info.nbformat,
            kernel_name=page.info.kernel_name,
            language=page.info.language,
            cell_count=page.info.cell_count,
            toc=[entry.as_dict() for entry in page.toc],
            original_key="",
            page_key="",
            kind="notebook",
            manifest=Manifest(files=tuple(files)).to_json(),
        )
        return Prepared(version, content)

    async def bundle(
        self,
        share_id: str,
        number: int,
        data: bytes,
        *,
        filename: str,
        title: str | None,
        sealed: bool,
        now: datetime,
    ) -> Prepared:
        # Decompressing (up to max_bundle_bytes) and recompressing are CPU work: in a thread,
        # so one big upload does not stall every other request on the event loop.
        members = await asyncio.to_thread(read_zip, data, limits_of(self.settings))
        if not members:
            raise NbshareError("The archive holds no files.", code="empty_bundle")
        by_path = {m.path: m for m in members}
        notebooks = sorted(p for p in by_path if p.lower().endswith(".ipynb"))
        readme = _find_readme(by_path)
        base = urls.page_base(self.settings.frame_url, share_id, number)
        inline = None
        if sealed:
            inline = {
                p: (media_type_of(p), m.data) for p, m in by_path.items() if media_type_of(p) in IMAGE_TYPES
            }

        def links(path: str) -> BundleLinks:
            return BundleLinks(
                base=base,
                page_base=urls.page_base(self.settings.frame_url, share_id),
                here=posixpath.dirname(path),
                files=frozenset(by_path),
                notebooks=frozenset(notebooks),
                inline_images=inline,
            )

        async def render_one(path: str) -> RenderedPage:
            try:
                return await self.render(
                    by_path[path].data, posixpath.basename(path), base=base, sealed=sealed, links=links(path)
                )
            except NbshareError as exc:
                raise type(exc)(f"{path}: {exc.message}", code=exc.code, status=exc.status) from None

        pages = await asyncio.gather(*(render_one(p) for p in notebooks))
        readme_page = None
        if readme is not None:
            text = by_path[readme].data.decode("utf-8", "replace")
            readme_page = await self.render(
                readme_notebook(text), "README.ipynb", base=base, sealed=sealed, links=links(readme)
            )

        archive = await asyncio.to_thread(write_zip, [(m.path, m.data) for m in members])
        content = VersionContent(original=archive, html=readme_page.html if readme_page else b"")
        files: list[FileEntry] = []
        for member in members:
            digest = hashlib.sha256(member.data).hexdigest()
            files.append(
                FileEntry(member.path, media_type_of(member.path), len(member.data), digest, "bundle", None)
            )
            content.files.setdefault(digest, member.data)
        notebook_entries: list[NotebookEntry] = []
        for index, (path, page) in enumerate(zip(notebooks, pages, strict=True)):
            name = f"nb-{index}"
            content.pages[name] = page.html
            _collect(files, content.files, page, path)
            notebook_entries.append(
                NotebookEntry(
                    path=path,
                    page=name,
                    title=pick_title(
                        None,
                        page.info.title,
                        page.first_heading,
                        posixpath.basename(path).removesuffix(".ipynb"),
                    ),
                    toc=[entry.as_dict() for entry in page.toc],
                    cell_count=page.info.cell_count,
                    kernel_name=page.info.kernel_name,
                    language=page.info.language,
                    nbformat=page.info.nbformat,
                )
            )
        if readme_page is not None:
            content.pages["readme"] = readme_page.html
            _collect(files, content.files, readme_page, readme)
        manifest = Manifest(
            files=tuple(files),
            notebooks=tuple(notebook_entries),
            readme=Readme(readme, "readme") if readme is not None and readme_page is not None else None,
            env=tuple(EnvEntry(e.path, e.kind, e.description) for e in find_env_files(by_path)),
            bundle=True,
        )
        first = notebook_entries[0] if notebook_entries else None
        version = VersionRow(
            share_id=share_id,
            number=number,
            created_at=now,
            filename=filename,
            title=pick_title(
                title,
                readme_page.first_heading if readme_page else None,
                first.title if first and len(notebook_entries) == 1 else None,
                filename.removesuffix(".zip"),
            ),
            size=sum(len(m.data) for m in members),
            sha256=hashlib.sha256(archive).hexdigest(),
            nbformat=first.nbformat if first else "",
            kernel_name=first.kernel_name if first else "",
            language=first.language if first else "",
            cell_count=sum(n.cell_count for n in notebook_entries),
            toc=[entry.as_dict() for entry in readme_page.toc] if readme_page else [],
            original_key="",
            page_key="",
            kind="bundle",
            manifest=manifest.to_json(),
        )
        return Prepared(version, content)


def _find_readme(by_path: dict[str, Member]) -> str | None:
    top = {p.lower(): p for p in by_path if "/" not in p}
    return next((top[name] for name in README_NAMES if name in top), None)
