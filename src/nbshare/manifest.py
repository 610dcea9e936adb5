"""A version's manifest: its files, and for a bundle its notebooks, README and environment.

The manifest is stored as JSON, in the version's row (in the clear) or inside its sealed
`meta.json`. `to_json` writes exactly the keys, in the order, that versions stored so far
hold, so rows written before these types existed load, and rows written now read the
same to older code. A notebook's manifest has only `files`; a bundle's has all four keys,
even when a list is empty or there is no README. An entry's storage fields (`address`,
`key`, `page_key`) are empty until protection.py stores the version, and are then
written after the others. Versions from before manifests existed hold `{}` (or nothing),
which reads as no files; if such a version is sealed again (its password changes), it is
written back as `{"files": []}`, which every reader takes the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import MISSING, Field, dataclass, fields
from typing import Any, ClassVar, Self

Json = dict[str, Any]
TocJson = list[Json]  # [{"level": 1, "text": "...", "anchor": "..."}], as render/headings.py gives


class Entry:
    """An entry's JSON has its fields, in their order, as keys. A field that defaults to ""
    says where the entry is stored, and is written only once it is set."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data or f.default is MISSING})

    def to_json(self) -> Json:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.default is MISSING or getattr(self, f.name)
        }


@dataclass(frozen=True)
class FileEntry(Entry):
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


@dataclass(frozen=True)
class NotebookEntry(Entry):
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


@dataclass(frozen=True)
class Readme(Entry):
    """A bundle's README, rendered to the page named `page`."""

    path: str
    page: str
    page_key: str = ""


@dataclass(frozen=True)
class EnvEntry(Entry):
    """An environment file of a bundle (bundle/envfiles.py)."""

    path: str
    kind: str
    description: str


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
            out.update(
                notebooks=[n.to_json() for n in self.notebooks],
                readme=self.readme.to_json() if self.readme else None,
                env=[e.to_json() for e in self.env],
            )
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
