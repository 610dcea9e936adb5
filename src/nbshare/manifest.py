"""A version's manifest: its files, and for a bundle its notebooks, README and environment.

The manifest is stored as JSON, in the version's row (in the clear) or inside its sealed
`meta.json`. `to_json` writes exactly the keys, in the order, that versions stored so far
hold, so rows written before these types existed load, and rows written now read the
same to older code. A notebook's manifest has only `files`; a bundle's has all four keys,
even when a list is empty or there is no README. An entry's storage fields (`address`,
`key`, `page_key`) are empty until protection.py stores the version, and are then
written after the others.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
TocJson = list[Json]  # [{"level": 1, "text": "...", "anchor": "..."}], as render/headings.py gives


@dataclass(frozen=True)
class FileEntry:
    """A file of a version. `role`: bundle (a file of the bundle), download (an embedded
    download link), attachment (a markdown cell attachment) or image (an image taken out
    of a page). `notebook`: the bundle notebook it was found in, if any."""

    name: str
    media_type: str
    size: int
    sha256: str
    role: str
    notebook: str | None
    address: str = ""  # its content address, the file's name in URLs (protection.file_address)
    key: str = ""  # its blob

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileEntry:
        return cls(data["name"], data["media_type"], data["size"], data["sha256"], data["role"],
                   data["notebook"], data.get("address", ""), data.get("key", ""))

    def to_json(self) -> Json:
        out: Json = {"name": self.name, "media_type": self.media_type, "size": self.size,
                     "sha256": self.sha256, "role": self.role, "notebook": self.notebook}
        if self.address:
            out.update(address=self.address, key=self.key)
        return out


@dataclass(frozen=True)
class NotebookEntry:
    """A notebook of a bundle, rendered to the page named `page`."""

    path: str
    page: str
    title: str
    toc: TocJson
    cell_count: int
    kernel_name: str
    language: str
    nbformat: str
    page_key: str = ""  # its page's blob

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NotebookEntry:
        return cls(data["path"], data["page"], data["title"], data["toc"], data["cell_count"],
                   data["kernel_name"], data["language"], data["nbformat"], data.get("page_key", ""))

    def to_json(self) -> Json:
        out: Json = {"path": self.path, "page": self.page, "title": self.title, "toc": self.toc,
                     "cell_count": self.cell_count, "kernel_name": self.kernel_name,
                     "language": self.language, "nbformat": self.nbformat}
        if self.page_key:
            out["page_key"] = self.page_key
        return out


@dataclass(frozen=True)
class Readme:
    """A bundle's README, rendered to the page named `page`."""

    path: str
    page: str
    page_key: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Readme:
        return cls(data["path"], data["page"], data.get("page_key", ""))

    def to_json(self) -> Json:
        out: Json = {"path": self.path, "page": self.page}
        if self.page_key:
            out["page_key"] = self.page_key
        return out


@dataclass(frozen=True)
class EnvEntry:
    """An environment file of a bundle (bundle/envfiles.py)."""

    path: str
    kind: str
    description: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EnvEntry:
        return cls(data["path"], data["kind"], data["description"])

    def to_json(self) -> Json:
        return {"path": self.path, "kind": self.kind, "description": self.description}


@dataclass(frozen=True)
class Manifest:
    files: tuple[FileEntry, ...] = ()
    notebooks: tuple[NotebookEntry, ...] = ()
    readme: Readme | None = None
    env: tuple[EnvEntry, ...] = ()
    bundle: bool = False  # a bundle's manifest also lists notebooks, README and environment

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        """Versions stored before manifests existed have `{}`: no files."""
        readme = data.get("readme")
        return cls(
            files=tuple(FileEntry.from_json(f) for f in data.get("files", [])),
            notebooks=tuple(NotebookEntry.from_json(n) for n in data.get("notebooks", [])),
            readme=Readme.from_json(readme) if readme else None,
            env=tuple(EnvEntry.from_json(e) for e in data.get("env", [])),
            bundle="notebooks" in data,
        )

    def to_json(self) -> Json:
        out: Json = {"files": [f.to_json() for f in self.files]}
        if self.bundle:
            out.update(notebooks=[n.to_json() for n in self.notebooks],
                       readme=self.readme.to_json() if self.readme else None,
                       env=[e.to_json() for e in self.env])
        return out

    @property
    def pages(self) -> Iterator[NotebookEntry | Readme]:
        """Every page besides the version's main one: its notebooks', then its README's."""
        yield from self.notebooks
        if self.readme is not None:
            yield self.readme

    def file(self, address: str, name: str | None = None) -> FileEntry | None:
        """The entry for a content address. The same bytes can be embedded under several
        names (and media types): the URL's name picks which one is answered."""
        matches = [f for f in self.files if f.address == address]
        return next((f for f in matches if f.name == name), matches[0] if matches else None)

    def bundle_file(self, path: str) -> FileEntry | None:
        return next((f for f in self.files if f.role == "bundle" and f.name == path), None)

    def notebook(self, path: str) -> NotebookEntry | None:
        return next((n for n in self.notebooks if n.path == path), None)

    def embedded(self, notebook: str | None = None) -> list[FileEntry]:
        """Files found inside a notebook (downloads and cell attachments) for people to
        take; with `notebook`, only that bundle notebook's."""
        return [f for f in self.files if f.role in EMBEDDED and (notebook is None or f.notebook == notebook)]


EMBEDDED = ("download", "attachment")
