"""Files inside a rendered page: embedded downloads, big images, and links into a bundle.

Notebooks carry files as `data:` URIs: images nbconvert inlines, and download links
(`<a download href="data:...">`, what `nbshare.download_link` writes). Inline they cost
4/3 of their size on every page load, so payloads above a threshold are taken out of
the page, stored once as blobs named by their content, and referred to by URL. Every
embedded download is also listed as a file of the notebook, whatever its size.

Relative links (`data/x.csv`, `other.ipynb#results`, `![](img/plot.png)`) make sense
inside a bundle; a `resolve` callback turns those that point into it into URLs.

Only start tags are rewritten: text, comments and <script>/<style> contents (plotly
and widget JSON) pass through untouched, byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import mimetypes
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

from .. import urls
from ..download import clean_filename


@dataclass(frozen=True)
class Payload:
    """A file found in a notebook. `role`: "download" (an embedded download link),
    "attachment" (a markdown cell attachment) or "image" (an image taken out of the page)."""

    data: bytes
    media_type: str
    name: str
    role: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class AssetPolicy:
    """How a page treats its payloads (plain data: it travels to render processes).

    `inline_limit`: payloads larger than this many bytes leave the page (None: all stay,
    as for protected shares, whose page is sealed whole). Payloads that leave are served
    under `base` (the version's path, `/n/{id}/v/{n}`)."""

    inline_limit: int | None
    base: str

    def file_url(self, sha256: str, name: str) -> str:
        return urls.embedded_file_path(self.base, sha256, name)


@dataclass(frozen=True)
class BundleLinks:
    """What a page inside a bundle may link to: the bundle's paths, resolved against the
    folder of the file being rendered. Images are served from the bundle, or for sealed
    pages (which load nothing without the reader's grant) inlined from `inline_images`."""

    base: str  # the version's path, /n/{id}/v/{n}
    page_base: str  # the share's path for pages people open, /n/{id}
    here: str  # folder of the notebook being rendered, "" for the root
    files: frozenset[str]
    notebooks: frozenset[str]
    inline_images: dict[str, tuple[str, bytes]] | None = None

    def resolve(self, url: str, kind: str) -> str | None:
        found = resolve_relative(url, self.here)
        if found is None:
            return None
        path, fragment = found
        if kind == "link" and path in self.notebooks:
            return f"{urls.notebook_path(self.page_base, path)}{fragment}"
        if path not in self.files:
            return None
        if kind == "image" and self.inline_images is not None:
            inline = self.inline_images.get(path)
            if inline is None:
                return None
            media_type, data = inline
            return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"
        return f"{urls.bundle_file_path(self.base, path)}{fragment}"


Attrs = list[tuple[str, str | None]]  # a start tag's attributes, as HTMLParser gives them
DATA_URI_RE = re.compile(r"^data:([^,]*?),", re.IGNORECASE | re.DOTALL)
# RFC 6838 section 4.2: type "/" subtype, each a restricted-name of ASCII letters, digits
# and ! # $ & - ^ _ . + (not first), at most 127 characters. A type is stored and later
# sent as a Content-Type header: anything else (a CR LF and a header of its own, a
# non-Latin-1 letter) would break or forge the answer.
_RESTRICTED_NAME = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
MEDIA_TYPE_RE = re.compile(rf"{_RESTRICTED_NAME}/{_RESTRICTED_NAME}", re.ASCII | re.IGNORECASE)
UNKNOWN_TYPE = "application/octet-stream"
# Elements whose data: URIs are shown on the page, and which of their attributes hold them.
MEDIA_TAGS = {"video": ("src", "poster"), "audio": ("src",), "source": ("src",)}


def valid_media_type(value: str) -> str:
    """`value` lower-cased when it is a media type by RFC 6838 (without parameters),
    else application/octet-stream."""
    value = value.strip()
    return value.lower() if MEDIA_TYPE_RE.fullmatch(value) else UNKNOWN_TYPE


def decode_data_uri(uri: str) -> tuple[str, bytes] | None:
    """(media type, bytes) of a data: URI, or None when it is not one or is malformed.
    The type's parameters are dropped; a type that is not valid becomes
    application/octet-stream, and none at all text/plain (RFC 2397's default)."""
    match = DATA_URI_RE.match(uri)
    if not match:
        return None
    params = [p.strip() for p in match.group(1).split(";")]
    media_type = valid_media_type(params[0]) if "/" in params[0] else "text/plain"
    body = uri[match.end() :]
    if any(p.lower() == "base64" for p in params[1:]):
        try:
            return media_type, base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            return None
    return media_type, unquote(body).encode("utf-8", "surrogateescape")


def safe_name(name: str | None, media_type: str, fallback: str = "download") -> str:
    """The sender's file name kept as they wrote it ("Q1 & Q2, final.csv"), without path
    parts, control or bidi characters, or what Windows refuses; the same rules as
    download_link's. Quoting is left to where the name goes (HTML, URL, header)."""
    # Some common types are only known by their old x- names (audio/wav as audio/x-wav).
    extension = mimetypes.guess_extension(media_type) or mimetypes.guess_extension(
        media_type.replace("/", "/x-", 1)
    )
    default = fallback + (extension or "")
    return clean_filename(name, default)


def is_relative(url: str) -> bool:
    parts = urlsplit(url)
    return not (parts.scheme or parts.netloc or url.startswith(("/", "#", "?")) or not parts.path)


def resolve_relative(url: str, base_dir: str) -> tuple[str, str] | None:
    """("dir/file.csv", "#frag") for a relative URL seen in a file in `base_dir`, or None
    when it is not relative or climbs out of the bundle."""
    if not is_relative(url):
        return None
    parts = urlsplit(url)
    path = posixpath.normpath(posixpath.join(base_dir, unquote(parts.path)))
    if path.startswith("../") or path == ".." or path.startswith("/"):
        return None
    return path, (f"#{parts.fragment}" if parts.fragment else "")


class _Rewriter(HTMLParser):
    def __init__(
        self, html: str, policy: AssetPolicy | None, resolve: Callable[[str, str], str | None] | None
    ):
        super().__init__(convert_charrefs=True)
        self.html = html
        self.policy = policy
        self.resolve = resolve
        self.payloads: dict[tuple[str, str, str], Payload] = {}
        self.edits: list[tuple[int, int, str]] = []
        self.line_starts = [0]
        for match in re.finditer("\n", html):
            self.line_starts.append(match.end())

    def handle_starttag(self, tag: str, attrs: Attrs) -> None:
        self._tag(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: Attrs) -> None:
        self._tag(tag, attrs, closed=True)

    def _tag(self, tag: str, attrs: Attrs, closed: bool) -> None:
        if tag == "a":
            changed = self._link(attrs)
        elif tag == "img":
            changed = self._image(attrs)
        elif tag in MEDIA_TAGS:
            changed = self._media(tag, attrs)
        else:
            return
        if not changed:
            return
        raw = self.get_starttag_text() or ""
        line, col = self.getpos()
        start = self.line_starts[line - 1] + col
        parts = [f"<{tag}"]
        for name, value in attrs:
            parts.append(f" {name}" if value is None else f' {name}="{escape(value, quote=True)}"')
        parts.append(" />" if closed else ">")
        self.edits.append((start, start + len(raw), "".join(parts)))

    def _set(self, attrs: Attrs, name: str, value: str) -> None:
        for i, (key, _) in enumerate(attrs):
            if key == name:
                attrs[i] = (name, value)
                return
        attrs.append((name, value))

    def _link(self, attrs: Attrs) -> bool:
        values = dict(attrs)
        href = values.get("href") or ""
        if href[:5].lower() == "data:":
            decoded = decode_data_uri(href)
            if decoded is None:
                return False
            media_type, data = decoded
            name = safe_name(values.get("download") or values.get("data-nbshare-download"), media_type)
            payload = self._keep(Payload(data, media_type, name, "download"))
            changed = False
            if "download" not in values:
                # Browsers refuse to navigate to a data: URL; as a download it works.
                attrs.append(("download", name))
                changed = True
            if self._leaves_page(payload):
                assert self.policy is not None
                self._set(attrs, "href", self.policy.file_url(payload.sha256, name))
                changed = True
            return changed
        if self.resolve is not None and href:
            url = self.resolve(href, "link")
            if url is not None:
                self._set(attrs, "href", url)
                return True
        return False

    def _image(self, attrs: Attrs) -> bool:
        src = dict(attrs).get("src") or ""
        if src[:5].lower() == "data:":
            return self._take_out(attrs, "src", "image")
        if self.resolve is not None and src:
            url = self.resolve(src, "image")
            if url is not None:
                self._set(attrs, "src", url)
                return True
        return False

    def _media(self, tag: str, attrs: Attrs) -> bool:
        """Videos and sounds embedded as data: URIs (matplotlib's to_html5_video, IPython's
        Audio): like images, shown on the page, so they leave it the same way."""
        changed = False
        for name in MEDIA_TAGS[tag]:
            fallback = "poster" if name == "poster" else ""
            changed = self._take_out(attrs, name, fallback) or changed
        return changed

    def _take_out(self, attrs: Attrs, name: str, fallback: str) -> bool:
        """Point attribute `name`, a data: URI of something shown on the page, at the file it
        becomes when it is over the inline limit. `fallback` names the file ("" for the
        media type's own kind: "video", "audio")."""
        uri = dict(attrs).get(name) or ""
        if uri[:5].lower() != "data:" or self.policy is None:
            return False
        decoded = decode_data_uri(uri)
        if decoded is None:
            return False
        media_type, data = decoded
        if not self._leaves_page(Payload(data, media_type, "", "image")):
            return False
        file_name = safe_name(None, media_type, fallback=fallback or media_type.split("/")[0] or "media")
        payload = self._keep(Payload(data, media_type, file_name, "image"))
        self._set(attrs, name, self.policy.file_url(payload.sha256, payload.name))
        return True

    def _leaves_page(self, payload: Payload) -> bool:
        limit = self.policy.inline_limit if self.policy else None
        return limit is not None and len(payload.data) > limit

    def _keep(self, payload: Payload) -> Payload:
        key = (payload.sha256, payload.name, payload.role)
        return self.payloads.setdefault(key, payload)

    def result(self) -> str:
        out, last = [], 0
        for start, end, text in self.edits:
            out.append(self.html[last:start])
            out.append(text)
            last = end
        out.append(self.html[last:])
        return "".join(out)


def rewrite_page(
    html: str, *, policy: AssetPolicy | None = None, resolve: Callable[[str, str], str | None] | None = None
) -> tuple[str, list[Payload]]:
    """The page with big payloads taken out and bundle links resolved, and every payload
    found: embedded downloads (all of them) and the images that left the page.

    `resolve(url, kind)` ("link" or "image") returns a replacement URL or None to leave
    the URL as it is."""
    if policy is None and resolve is None:
        return html, []
    parser = _Rewriter(html, policy, resolve)
    parser.feed(html)
    parser.close()
    return parser.result(), list(parser.payloads.values())
