"""nbconvert's HTML exporter, adjusted for pages nbshare stores and serves.

Differences from `jupyter nbconvert --to html`:
- CSS, MathJax, require.js and the widget manager are loaded from nbshare's own
  /static/ instead of CDNs or inlined copies, so pages work offline and stay small;
- every markdown heading gets a unique readable anchor (see headings.py), every cell a
  permalink, and the table of contents is returned beside the HTML;
- plotly figures render from their JSON with a local plotly.js, and Vega / Vega-Lite
  specs (altair) with a local vega-embed, as in JupyterLab; altair's HTML output gets
  the same local vega through require.js;
- images load lazily with their size reserved (images.py), and the frame follows the
  reader's light or dark system theme;
- a markdown image pointing at a missing attachment renders as a broken image instead
  of failing the whole notebook;
- a markdown cell that takes mistune too long (budget.py) is shown as its source text;
- leaner than HTMLExporter (issue 14), with the same page: alt text and tabindex come
  from the template (a11y.py) instead of a BeautifulSoup pass over the finished page,
  highlighted code is not run through bleach (pygments writes only spans with
  classes; the sandbox contains the page anyway), the notebook is validated once, on
  upload (notebook.py), not again after each preprocessor, it is copied once instead
  of four times, and pygments lexers and formatters are made once per process.
  `ShareExporter(lean=False)` keeps nbconvert's steps, for the test that compares both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from html import escape as html_escape
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbformat import NotebookNode
from traitlets.config import Config

from .a11y import accessible, focusable
from .budget import markdown_seconds, within_budget
from .files_prefix import strip_files_prefix
from .headings import HeadingIndex, explicit_ids
from .highlight import CachedHighlighter
from .images import image_size, lazy_images

TEMPLATE_DIR = Path(__file__).parent / "templates"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
# The Vega-Lite and Vega versions JupyterLab renders, and v6. Altair 6 names its mime
# type `application/vnd.vegalite.v6.json`, without the `+`; both spellings are read.
_ENDINGS = ("+json", ".json")
VEGA_MIMES = {
    **{f"application/vnd.vegalite.v{v}{end}": "vega-lite" for v in (3, 4, 5, 6) for end in _ENDINGS},
    **{f"application/vnd.vega.v{v}{end}": "vega" for v in (5, 6) for end in _ENDINGS},
}


WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"


def normalize_widget_state(metadata: NotebookNode) -> None:
    """Give `metadata.widgets` the one shape nbconvert reads, or remove it.

    nbconvert indexes metadata.widgets[WIDGET_STATE_MIME]["state"] and fails the whole
    render with a KeyError on the other shapes real notebooks have: the ipywidgets 5/6
    era `{"state": {...}, "version": "1.2.0"}` (view positions only, no models: nothing
    to render) and Colab's models saved without the `{"state": ...}` wrapper. Without
    usable models the key is dropped, so no widget manager is loaded for nothing and
    widget outputs show their text/plain fallback.
    """
    if "widgets" not in metadata:
        return
    widgets = metadata["widgets"]
    saved = widgets.get(WIDGET_STATE_MIME) if isinstance(widgets, dict) else None
    if isinstance(saved, dict) and isinstance(saved.get("state"), dict):
        return
    if (
        isinstance(saved, dict)
        and saved
        and all(isinstance(model, dict) and "model_name" in model for model in saved.values())
    ):
        metadata["widgets"] = {WIDGET_STATE_MIME: {"version_major": 2, "version_minor": 0, "state": saved}}
    else:
        del metadata["widgets"]


def notebook_ids(nb: NotebookNode) -> set[str]:
    """Ids the notebook's own HTML already uses, which heading anchors must avoid."""
    found: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type in ("markdown", "raw") and isinstance(cell.get("source"), str):
            found |= explicit_ids(cell.source)
        for output in cell.get("outputs", []):
            data = output.get("data") if isinstance(output, dict) else None
            for mime in ("text/html", "text/markdown", "image/svg+xml"):
                value = data.get(mime) if isinstance(data, dict) else None
                if isinstance(value, str):
                    found |= explicit_ids(value)
    return found


def uses_vega(nb: NotebookNode) -> bool:
    """True if a page needs nbshare's vega: a spec to draw, or HTML (altair's "html"
    renderer, its default) that asks require.js for vega-embed."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data") if isinstance(output, dict) else None
            if not isinstance(data, dict):
                continue
            html = data.get("text/html")
            if any(mime in VEGA_MIMES for mime in data) or (isinstance(html, str) and "vega-embed" in html):
                return True
    return False


def script_json(value: Any) -> str:
    """JSON to put inside a <script> element: no `<`, `>` or `&` survive, so neither
    `</script>` nor `<!--<script>` (which keeps the element open) can occur."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def vega_embed(output: NotebookNode, mime: str) -> str:
    """What content.js passes to vega-embed for one output, as JupyterLab's vega
    extension does: the spec, the mode its mime type implies, and the embed options
    the output's metadata may carry."""
    metadata = output.get("metadata", {}).get(mime)
    options = metadata.get("embed_options") if isinstance(metadata, dict) else None
    return script_json(
        {
            "mode": VEGA_MIMES[mime],
            "spec": output.data[mime],
            "options": options if isinstance(options, dict) else {},
        }
    )


class _LenientRenderer(IPythonRenderer):
    def _embed_image_or_attachment(self, src: str) -> str:
        name = src[len("attachment:") :] if src.startswith("attachment:") else None
        if name is not None and name not in self.attachments:
            # mistune percent-encodes the URL first: `image 1.png` arrives as `image%201.png`.
            if unquote(name) not in self.attachments:
                return src
            src = "attachment:" + unquote(name)
        return super()._embed_image_or_attachment(src)


def cell_anchor(cell: NotebookNode, index: int) -> str:
    """The fragment that links to a cell: nbformat's cell id where present."""
    cell_id = cell.get("id")
    return f"cell-id={cell_id}" if isinstance(cell_id, str) and cell_id else f"cell-{index + 1}"


def _unchanged(html: str) -> str:
    return html


class ShareExporter(HTMLExporter):
    """Renders one notebook to (html, resources); resources["toc"] lists its headings."""

    def __init__(self, static_url: str, *, lean: bool = True, **kw: Any):
        self.lean = lean
        super().__init__(
            template_name="nbshare",
            extra_template_basedirs=[str(TEMPLATE_DIR)],
            **kw,
        )
        static_url = static_url.rstrip("/")
        self.static_url = static_url
        self.require_js_url = f"{static_url}/vendor/require.js"
        self.mathjax_url = f"{static_url}/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
        self.widget_renderer_url = f"{static_url}/vendor/html-manager-embed-amd.js"
        self.embed_images = False  # never read files next to the server process
        self.sanitize_html = False  # notebook HTML is contained by the sandbox, not edited
        self.exclude_output_stdin = False  # input() prompts and answers, shown as in JupyterLab
        self._headings = HeadingIndex()

    @property
    def default_config(self) -> Config:
        config: Config = super().default_config
        priority = config.NbConvertBase.display_data_priority
        config.NbConvertBase.display_data_priority = [PLOTLY_MIME, *VEGA_MIMES, *priority]
        return config

    def default_filters(self) -> Iterator[tuple[str, Callable[..., Any]]]:
        yield from super().default_filters()
        yield ("strip_files_prefix", strip_files_prefix)  # nbconvert's is quadratic
        yield ("nbs_image_size", image_size)
        yield ("nbs_vega_embed", vega_embed)
        yield ("nbs_script_json", script_json)
        yield ("nbs_focusable", focusable if self.lean else _unchanged)
        yield ("nbs_accessible", accessible if self.lean else _unchanged)

    @pass_context
    def markdown2html(self, context: Any, source: str) -> str:
        cell = context.get("cell", {})
        renderer = _LenientRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=False,
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=True,  # HeadingIndex adds ids and links itself
            **self.lexer_options,
        )
        rendered = within_budget(
            markdown_seconds(len(source)), lambda: MarkdownWithMath(renderer=renderer).render(source)
        )
        if rendered is None:
            return f'<pre class="nbs-markdown-source">{html_escape(source)}</pre>'
        html = lazy_images(self._headings.annotate(rendered))
        return accessible(html) if self.lean else html

    def _preprocess(self, nb: NotebookNode, resources: Any) -> tuple[NotebookNode, Any]:
        """nbconvert's preprocessors on the copy Exporter.from_notebook_node already made.

        nbconvert copies the notebook twice more here, normalises it (a third copy, and
        random ids for cells without one, which nbshare's anchors replace) and validates
        it after every preprocessor. notebook.parse validated the upload once; nbconvert's
        preprocessors keep a notebook valid."""
        if not self.lean:
            return super()._preprocess(nb, resources)  # type: ignore[no-any-return]
        for preprocessor in self._preprocessors:
            nb, resources = preprocessor(nb, resources)
        return nb, resources

    def _render(self, nb: NotebookNode, resources: dict[str, Any], **kw: Any) -> tuple[str, dict[str, Any]]:
        """HTMLExporter.from_notebook_node without its BeautifulSoup pass (see a11y.py)."""
        if not self.lean:
            return super().from_notebook_node(nb, resources, **kw)  # type: ignore[no-any-return]
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        resources = self._init_resources(resources)
        self._nb_metadata.clear()  # nbconvert keeps every notebook's metadata (widget state) forever
        self.register_filter("highlight_code", CachedHighlighter(pygments_lexer=lexer, parent=self))
        self.register_filter(
            "filter_data_type",
            WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources),
        )
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)  # type: ignore[no-any-return]

    def from_notebook_node(  # type: ignore[override]
        self, nb: NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        anchors = []
        for index, cell in enumerate(nb.cells):
            anchor = cell_anchor(cell, index)
            # The template puts the anchor on a wrapper; drop the id so nbconvert's
            # own `id="cell-id=..."` is not emitted a second time.
            cell.pop("id", None)
            cell.metadata["nbshare_anchor"] = anchor
            anchors.append(anchor)
        self._headings = HeadingIndex(reserved=set(anchors) | notebook_ids(nb))
        normalize_widget_state(nb.metadata)
        resources = dict(resources or {})
        resources["nbshare"] = {
            "static_url": self.static_url,
            "vega": uses_vega(nb),
            "vega_mimes": VEGA_MIMES,
            "lean": self.lean,
        }
        html, resources = self._render(nb, resources, **kw)
        resources["toc"] = self._headings.entries
        return html, resources
