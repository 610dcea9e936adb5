"""Where a share's blobs live: every blob key is built here.

    shares/{id}/v{n}/original.ipynb{tag}    the upload as sent (a bundle: its .zip)
    shares/{id}/v{n}/page.html{tag}         the rendered page (a bundle: its README's)
    shares/{id}/v{n}/meta.json{tag}         a sealed version's metadata
    shares/{id}/v{n}/files/{address}{tag}   a file, named by its content
    shares/{id}/v{n}/pages/{page}.html{tag} a bundle notebook's page

`tag` is the upload's random part (protection.blob_keys says why), ending in `.sealed`
for sealed blobs. A share's blobs share its folder and a version's blobs share the
version's, so deleting either is deleting a prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

ROOT = "shares"


def share_folder(share_id: str) -> str:
    return f"{ROOT}/{share_id}"


def version_folder_of(key: str) -> str:
    """The version folder a blob key lies in, with its trailing slash."""
    return "/".join(key.split("/")[:3]) + "/"


@dataclass(frozen=True)
class VersionKeys:
    share_id: str
    number: int

    @property
    def folder(self) -> str:
        """The version's folder, without its trailing slash (as delete_prefix takes it)."""
        return f"{share_folder(self.share_id)}/v{self.number}"

    def holds(self, key: str) -> bool:
        return key.startswith(f"{self.folder}/")

    def original(self, tag: str) -> str:
        return f"{self.folder}/original.ipynb{tag}"

    def page(self, tag: str) -> str:
        return f"{self.folder}/page.html{tag}"

    def meta(self, tag: str) -> str:
        return f"{self.folder}/meta.json{tag}"

    def file(self, address: str, tag: str) -> str:
        return f"{self.folder}/files/{address}{tag}"

    def extra_page(self, page: str, tag: str) -> str:
        """A page besides the main one: a bundle notebook's, or its README's."""
        return f"{self.folder}/pages/{page}.html{tag}"
