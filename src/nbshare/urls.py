"""Every public path and URL of a share, in one place, built without a request.

Pages, the API, rendered notebooks (their file and bundle links) and resealed pages all
take their paths from here, so where shares are served is decided once. A path is
absolute from the service's root (`/n/{id}/v/{n}/...`); `Links` puts the configured
public URL (or render URL) in front, never the Host header. Both may have a path (the
service runs under a prefix, such as `/services/nbshare`): `root_path` is that prefix, and
paths stored in rendered pages start with the render URL's (see `page_base`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from .manifest import FileEntry


def root_path(url: str) -> str:
    """The path a configured URL puts in front of every route: "" at the host's root,
    else "/services/nbshare" (no trailing slash)."""
    return urlsplit(url).path.rstrip("/")


def share_path(share_id: str) -> str:
    """The share's own path: its current version, and the base of the paths people open."""
    return f"/n/{share_id}"


def version_path(share_id: str, number: int | None) -> str:
    """The base of a version's paths (None: the current version's, which has no number)."""
    return share_path(share_id) if number is None else f"{share_path(share_id)}/v/{number}"


def page_base(frame_url: str, share_id: str, number: int | None = None) -> str:
    """What rendered pages put in front of their links to a version's files and notebooks:
    the frame loads them, so under the render URL's path, as the page's static URL is."""
    return f"{root_path(frame_url)}{version_path(share_id, number)}"


def notebook_path(base: str, path: str) -> str:
    """The page of a bundle's notebook, by its path in the bundle."""
    return f"{base}/nb/{quote(path)}"


def bundle_files(base: str) -> str:
    """The folder a bundle's files are served from, by their path in the bundle."""
    return f"{base}/files/"


def bundle_file_path(base: str, path: str) -> str:
    return f"{bundle_files(base)}{quote(path)}"


def embedded_files(base: str) -> str:
    """The folder files taken out of pages are served from, by their content address."""
    return f"{base}/f/"


def embedded_file_path(base: str, address: str, name: str) -> str:
    """The name is for people and saved files, the address finds the file."""
    return f"{embedded_files(base)}{address}/{quote(name, safe='')}"


def content_path(base: str, notebook: str | None = None) -> str:
    """What the sandboxed frame loads: the rendered page (of a bundle's notebook)."""
    return f"{base}/content" if notebook is None else f"{base}/content/nb/{quote(notebook)}"


@dataclass(frozen=True)
class Links:
    """Every URL of a share, built from the configured public URL, never the Host header."""

    public_url: str
    frame_url: str
    share_id: str
    version: int | None = None  # None: the current version
    notebook: str | None = None  # a notebook of a bundle, by its path in the bundle

    @property
    def base(self) -> str:
        return version_path(self.share_id, self.version)

    @property
    def share_path(self) -> str:
        return share_path(self.share_id)

    @property
    def root(self) -> str:
        """The service's own path on its public origin ("" at the root)."""
        return root_path(self.public_url)

    @property
    def public_share_path(self) -> str:
        """The share's path as the browser sees it on the public origin."""
        return f"{self.root}{self.share_path}"

    @property
    def index(self) -> str:
        """The share's own page (a bundle's index)."""
        return f"{self.public_url}{self.share_path}"

    @property
    def page(self) -> str:
        """The link to copy for what is being shown."""
        if self.notebook is not None:
            return f"{self.public_url}{notebook_path(self.share_path, self.notebook)}"
        return self.index

    @property
    def here(self) -> str:
        return f"{self.public_url}{self.base}"

    @property
    def download(self) -> str:
        if self.notebook is not None:
            return self.bundle_file(self.notebook)
        return f"{self.public_url}{self.base}.ipynb"

    @property
    def archive(self) -> str:
        return f"{self.public_url}{self.base}.zip"

    @property
    def content(self) -> str:
        return f"{self.frame_url}{content_path(self.base, self.notebook)}"

    def file(self, entry: FileEntry) -> str:
        return f"{self.public_url}{embedded_file_path(self.base, entry.address, entry.name)}"

    def bundle_file(self, path: str) -> str:
        return f"{self.public_url}{bundle_file_path(self.base, path)}"

    def notebook_page(self, path: str) -> str:
        return f"{self.public_url}{notebook_path(self.base, path)}"

    @property
    def unlock(self) -> str:
        return f"{self.public_url}{self.share_path}/unlock"

    @property
    def manage_page(self) -> str:
        """The owner's page, the same for every version and notebook of the share."""
        return f"{self.public_url}{self.share_path}/manage"

    def manage(self, owner_token: str) -> str:
        # In the fragment, which browsers never send to the server or in a Referer.
        return f"{self.manage_page}#token={quote(owner_token)}"


# Hub login (hub.py), when nbshare runs as a JupyterHub service with hub_auth: relative to
# the service's root, as every route is. The callback is the one JupyterHub registers for a
# service by default: {prefix}oauth_callback.
LOGIN = "/login"
LOGOUT = "/logout"
OAUTH_CALLBACK = "/oauth_callback"
MY_SHARES = "/mine"
