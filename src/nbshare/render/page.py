"""The pure function at the heart of rendering: uploaded bytes in, a page out."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from typing import TYPE_CHECKING

from ..errors import BadNotebook, RenderFailed
from ..notebook import NotebookInfo, parse
from .assets import AssetPolicy, BundleLinks, Payload, decode_data_uri, rewrite_page, safe_name
from .headings import TocEntry

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from .exporter import ShareExporter


@dataclass(frozen=True)
class RenderedPage:
    html: bytes
    info: NotebookInfo
    toc: list[TocEntry] = field(default_factory=list)
    # Embedded downloads, cell attachments, and the images taken out of `html`.
    files: list[Payload] = field(default_factory=list)

    @property
    def first_heading(self) -> str:
        return self.toc[0].text if self.toc else ""


@lru_cache(maxsize=4)
def _exporter(static_url: str) -> ShareExporter:
    # Imported here so `import nbshare` (for example in a notebook) stays light.
    from .exporter import ShareExporter

    return ShareExporter(static_url=static_url)


def attachments_of(node: NotebookNode) -> list[Payload]:
    """Every markdown cell attachment, as the files it is."""
    found: list[Payload] = []
    for cell in node.cells:
        for name, bundle in (cell.get("attachments") or {}).items():
            for media_type, value in (bundle or {}).items():
                if not isinstance(value, str):
                    continue
                decoded = decode_data_uri(f"data:{media_type};base64,{value}")
                if decoded is not None:  # the type as checked, not as the notebook wrote it
                    found.append(Payload(decoded[1], decoded[0], safe_name(name, decoded[0]), "attachment"))
                break
    return found


def render_page(
    data: bytes,
    *,
    filename: str,
    static_url: str,
    max_depth: int = 64,
    assets: AssetPolicy | None = None,
    links: BundleLinks | None = None,
) -> RenderedPage:
    """Validate and render a notebook. Raises BadNotebook or RenderFailed.

    `assets` takes big embedded files out of the page; `links` resolves relative links
    into the bundle the notebook belongs to (see assets.py)."""
    node, info = parse(data, max_depth=max_depth)
    attachments = attachments_of(node)
    exporter = _exporter(static_url)
    try:
        stem = filename.removesuffix(".ipynb")
        # The exporter works on a copy of its own (nbconvert's Exporter makes one).
        html, resources = exporter.from_notebook_node(node, {"metadata": {"name": stem}})
    except BadNotebook:
        raise
    except RecursionError:
        raise BadNotebook("The notebook is nested too deeply to render.", code="too_deep") from None
    except Exception as exc:  # nbconvert raises many kinds; the uploader needs the gist
        raise RenderFailed(f"The notebook could not be rendered: {type(exc).__name__}: {exc}") from None
    toc = list(resources["toc"])
    if not info.title and toc:
        # nbconvert titles the page after the file; the first heading says more.
        html = html.replace(f"<title>{escape(stem)}</title>", f"<title>{escape(toc[0].text)}</title>", 1)
    html, payloads = rewrite_page(html, policy=assets, resolve=links.resolve if links else None)
    return RenderedPage(html=html.encode("utf-8"), info=info, toc=toc, files=attachments + payloads)
