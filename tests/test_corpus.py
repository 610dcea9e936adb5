"""Every notebook of the shared corpus (../shared/corpus), end to end through the API.

For each notebook: it publishes (201), its rendered page holds every cell, its table of
contents lists exactly its markdown headings with anchors that exist once each in the
page, the share page's nav lists the same anchors, the download is byte-identical, the
features MANIFEST.tsv notes (images, errors, ANSI, raw cells, attachments, widget state)
show up, and the page loads its own assets from /static/ only.

The expected headings are computed here without nbshare's code: markdown-it-py (a
CommonMark parser, where nbconvert uses mistune) renders each markdown cell of the
notebook as nbformat upgrades it to v4 (v3 heading cells become `#` lines), and the <h1>
to <h6> elements of the result are read, which covers raw HTML headings too. Levels must
match exactly and texts after collapsing whitespace; no other normalisation is needed on
this corpus (math stays verbatim on both sides, entities are decoded on both). Two rules
follow nbconvert where it differs from CommonMark, see MATH_RE and LENIENT_ATX_RE.

Everything is skipped when the corpus folder is absent (users' clones); CI has it.
Notebooks are read from there, never copied. Rendering takes most of the time, so one
app serves the whole module, uploads run two at a time (the render pool has two
workers) ahead of the tests that need them, and pages are scanned with the standard
library's HTMLParser rather than a tree builder.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html as htmllib
import json
import re
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from markdown_it import MarkdownIt

from helpers import (
    CORPUS,
    PUBLIC_URL,
    TEST_HOSTS,
    code,
    corpus_notebooks,
    markdown,
    needs_corpus,
    notebook,
    output_cell,
    publish,
    stored_state,
)
from nbshare.app import create_app
from nbshare.settings import Settings


def corpus(test):
    """Marks a test that reads the corpus: skipped where ../shared/corpus is absent."""
    return needs_corpus(pytest.mark.corpus(test))


ALL = [p.relative_to(CORPUS).as_posix() for p in corpus_notebooks()]

# Schema-invalid on purpose (nbformat's own test file): refused with a 422 whose message
# names the problems. Values: fragments the message must contain.
REFUSED = {
    "nbformat-tests/invalid.ipynb": ["cell 1", "'source' is a required property"],
}
NOTEBOOKS = [rel for rel in ALL if rel not in REFUSED]


def read_manifest() -> dict[str, dict]:
    path = CORPUS / "MANIFEST.tsv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as f:
        return {row["path"]: row for row in csv.DictReader(f, delimiter="\t")}


MANIFEST = read_manifest()


def features(rel: str) -> dict[str, str]:
    """MANIFEST's notable_features as {name: value}: 'images:13,raw' -> {'images': '13', 'raw': ''}."""
    items = (MANIFEST.get(rel, {}).get("notable_features") or "").split(",")
    return dict((item.split(":", 1) + [""])[:2] for item in items if item)


# MANIFEST.tsv's `headings` column disagrees with the headings the page really has in
# three notebooks; each checked by hand (nbshare is right in all three):
MANIFEST_HEADING_COUNT_FIXES = {
    # "# Log-Uniform Distribution" is a Python comment inside a ```python fence in a
    # markdown cell (cell 46), not a heading: 19, not 20.
    "bayesian-hackers/Ch5_LossFunctions_TFP.ipynb": 19,
    # Cell 1 is `<h1>Table of Contents<span class="tocSkip"></span></h1>` (written by the
    # toc2 nbextension): a raw HTML heading, which nbshare lists and MANIFEST does not.
    "pandas-bokeh/Documentation.ipynb": 29,
    # `###Bayes Factor for Log Regression/` and `#####Is there really ...` have no space
    # after the hashes. CommonMark (and JupyterLab) render them as text; nbconvert's
    # markdown parser deliberately keeps the classic Notebook's rule and renders them
    # as <h3>/<h5>, so they are headings on the page and nbshare lists them. See
    # LENIENT_ATX_RE below.
    "bayesian-hackers/SpaceShuttleBayesFactor.ipynb": 3,
}


# --- expected headings, computed without nbshare's code ------------------------------

MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

# Math is protected from markdown before parsing, as nbconvert and JupyterLab do, so
# `$a_1 + b_1$` is not read as emphasis: the delimiters nbconvert's MarkdownWithMath knows.
# Inline `$...$` stays within a paragraph (it is an inline rule there), and nothing is
# looked for inside fenced code (see render_markdown).
MATH_RE = re.compile(
    r"(?<!\\)\$\$.+?(?<!\\)\$\$"
    r"|(?<![\\$])\$(?!\$)(?:(?!\n[ \t]*\n).)+?(?<![\\$])\$"
    r"|\\\\\[.*?\\\\\]|\\\\\((?:(?!\n[ \t]*\n).)*?\\\\\)"
    r"|\\begin\{([a-z]*\*?)\}.*?\\end\{\1\}",
    re.DOTALL,
)
PLACEHOLDER_RE = re.compile(r"MATHxPLACEHOLDERx(\d+)x")

# nbconvert (like the classic Notebook) reads `##Title` as a heading; CommonMark needs
# `## Title`. The page shows such lines as headings, so the expectation follows nbconvert:
# a space is inserted after 1-6 leading hashes, outside fenced code blocks.
LENIENT_ATX_RE = re.compile(r"^( {0,3}#{1,6})(?=[^#\s])", re.MULTILINE)
FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def split_fences(source: str) -> list[tuple[bool, str]]:
    """Source -> [(is_fenced_code, text)] runs of lines, in order."""
    runs: list[tuple[bool, list[str]]] = []
    fence = None
    for line in source.split("\n"):
        opened = FENCE_RE.match(line)
        if fence is None and opened:
            fence, in_code = opened.group(1)[0] * 3, True
        elif fence is not None:
            in_code = True
            if line.lstrip().startswith(fence):
                fence = None
        else:
            in_code = False
        if runs and runs[-1][0] == in_code:
            runs[-1][1].append(line)
        else:
            runs.append((in_code, [line]))
    return [(in_code, "\n".join(lines)) for in_code, lines in runs]


def normalize(text: str) -> str:
    """The one normalisation applied to heading text: runs of whitespace become one space."""
    return " ".join(text.split())


def render_markdown(source: str) -> str:
    """Markdown cell source -> HTML by markdown-it-py, math kept verbatim (escaped)."""
    found: list[str] = []

    def protect(match: re.Match) -> str:
        found.append(match.group(0))
        return f"MATHxPLACEHOLDERx{len(found) - 1}x"

    prepared = "\n".join(
        text if in_code else MATH_RE.sub(protect, LENIENT_ATX_RE.sub(r"\1 ", text))
        for in_code, text in split_fences(source)
    )
    rendered = MARKDOWN.render(prepared)
    return PLACEHOLDER_RE.sub(lambda m: htmllib.escape(found[int(m.group(1))], quote=False), rendered)


def markdown_headings(source: str) -> list[tuple[int, str]]:
    soup = BeautifulSoup(render_markdown(source), "html.parser")
    return [(int(tag.name[1]), normalize(tag.get_text())) for tag in soup.find_all(re.compile(r"^h[1-6]$"))]


def expected_headings(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    return [
        heading
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for heading in markdown_headings(cell.source)
    ]


# --- scanning rendered pages ----------------------------------------------------------

TAG_RE = re.compile(r"<[^>]*>")
WORD_RE = re.compile(r"\w{3,}")
ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


def words(text: str) -> set[str]:
    return set(WORD_RE.findall(text))


def html_words(fragment: str) -> set[str]:
    return words(htmllib.unescape(TAG_RE.sub(" ", fragment)))


# Images over inline_file_bytes leave a public share's page for a file of the share.
FILE_URL = re.compile(r"^/n/[\w-]+/v/\d+/f/([0-9a-f]{64})/")


class PageScan(HTMLParser):
    """One pass over a page: ids, <head> assets, images and the cells' positions."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.ids: list[tuple[str, str]] = []  # (tag, id) in document order
        self.page_assets: list[str] = []  # <script src>, <link href> in <head> or after </body>
        self.head_end = 0  # offset of the end of <head>
        self.data_images = 0  # <img src="data:image/..."> or taken out to the share's files
        self.file_images: list[str] = []  # the src of those taken out
        self.cell_starts: list[tuple[str, int]] = []  # (anchor, offset) of each cell wrapper
        self._in_head = self._after_body = False
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.feed(text)
        self.close()

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id") is not None:
            self.ids.append((tag, attrs["id"]))
        if tag == "head" and not self.head_end:
            self._in_head = True
        elif tag == "body" and self._in_head:
            self._in_head, self.head_end = False, self._offset()
        if self._in_head or self._after_body:
            if tag == "script" and attrs.get("src") is not None:
                self.page_assets.append(attrs["src"])
            if tag == "link" and attrs.get("href") is not None:
                self.page_assets.append(attrs["href"])
        src = attrs.get("src") or ""
        if tag == "img" and src.startswith("data:image/"):
            self.data_images += 1
        elif tag == "img" and FILE_URL.match(src):
            self.data_images += 1
            self.file_images.append(src)
        if tag == "div" and (attrs.get("class") or "").split() == ["nbs-cell"]:
            self.cell_starts.append((attrs.get("id") or "", self._offset()))

    def handle_endtag(self, tag):
        if tag == "head" and self._in_head:
            self._in_head, self.head_end = False, self._offset()
        elif tag == "body":
            self._after_body = True


# --- the notebook on disk, read independently -----------------------------------------


@dataclass
class Source:
    rel: str
    data: bytes
    raw: dict  # the JSON as stored
    nb: nbformat.NotebookNode  # upgraded to v4 by nbformat itself
    raw_cells: list[dict] = field(default_factory=list)  # cells as stored (v3: all worksheets)

    @classmethod
    def load(cls, rel: str) -> Source:
        data = (CORPUS / rel).read_bytes()
        text = data.decode("utf-8-sig")
        raw = json.loads(text)
        nb = nbformat.reads(text, as_version=4)
        raw_cells = raw.get("cells") or [c for ws in raw.get("worksheets", []) for c in ws["cells"]]
        return cls(rel, data, raw, nb, raw_cells)

    @property
    def version(self) -> str:
        return f"{self.raw.get('nbformat')}.{self.raw.get('nbformat_minor', 0)}"

    def cell_anchor(self, index: int) -> str:
        """nbformat >= 4.5 cell ids where the file has them, else the cell's position."""
        cell_id = self.raw_cells[index].get("id")
        if self.raw.get("nbformat") == 4 and isinstance(cell_id, str) and cell_id:
            return f"cell-id={cell_id}"
        return f"cell-{index + 1}"

    def outputs(self):
        for cell in self.nb.cells:
            yield from cell.get("outputs", [])

    def output_html_ids(self) -> Counter:
        """How often each id occurs in the HTML the notebook's outputs carry themselves."""
        found: Counter = Counter()
        for output in self.outputs():
            value = output.get("data", {}).get("text/html")
            if isinstance(value, str):
                found.update(re.findall(r"""\sid\s*=\s*["']?([^"'\s>]+)""", value))
        return found


# --- one app for the module, uploads ahead of the tests -------------------------------


@pytest.fixture(scope="module")
def corpus_client(tmp_path_factory, renderer):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("corpus-data"), public_url=PUBLIC_URL, allowed_hosts=TEST_HOSTS
    )
    with TestClient(create_app(settings, renderer=renderer), base_url="http://testserver") as c:
        yield c


@pytest.fixture(scope="module")
def uploads(request, corpus_client, renderer):
    """Publishes every selected notebook in the background, in test order, as many at a
    time as the pool has workers, so rendering overlaps the checks of earlier notebooks."""
    selected = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        rel = callspec.params.get("rel") if callspec else None
        if item.module is request.module and rel in NOTEBOOKS and rel not in selected:
            selected.append(rel)
    futures: dict[str, Future] = {}
    with ThreadPoolExecutor(max(1, renderer.workers), thread_name_prefix="corpus-upload") as pool:
        for rel in selected:
            data = (CORPUS / rel).read_bytes()
            futures[rel] = pool.submit(publish, corpus_client, data, Path(rel).name)
        yield futures
        for future in futures.values():
            future.cancel()


@dataclass
class Published:
    source: Source
    status: int
    body: dict
    share_id: str = ""
    content: str = ""
    scan: PageScan | None = None


@pytest.fixture(scope="module", params=NOTEBOOKS)
def rel(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def shared(rel, uploads, corpus_client) -> Published:
    source = Source.load(rel)
    if rel in uploads:
        response = uploads[rel].result()
    else:
        response = publish(corpus_client, source.data, Path(rel).name)
    published = Published(source, response.status_code, response.json())
    if response.status_code == 201:
        published.share_id = published.body["id"]
        page = corpus_client.get(f"/n/{published.share_id}/content")
        assert page.status_code == 200, page.text[:500]
        published.content = page.text
        published.scan = PageScan(page.text)
    return published


@pytest.fixture
def ok(shared) -> Published:
    if shared.status != 201:
        pytest.fail(f"{shared.source.rel} was not published: {shared.status} {shared.body}")
    return shared


def cell_chunks(p: Published) -> list[str]:
    """The page split at the cells' wrappers: chunk i holds cell i and its outputs."""
    starts = [offset for _, offset in p.scan.cell_starts] + [len(p.content)]
    return [p.content[a:b] for a, b in pairwise(starts)]


# --- the tests --------------------------------------------------------------------------


@corpus
def test_every_corpus_notebook_is_in_the_manifest():
    assert ALL, "the corpus folder has no notebooks"
    assert sorted(MANIFEST) == sorted(ALL)


@corpus
@pytest.mark.parametrize("refused", sorted(REFUSED))
def test_schema_invalid_notebook_is_refused_with_the_problem_named(refused, corpus_client):
    before = stored_state(corpus_client.app)
    r = publish(corpus_client, (CORPUS / refused).read_bytes(), Path(refused).name)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_notebook"
    for fragment in REFUSED[refused]:
        assert fragment in error["message"], error["message"]
    assert stored_state(corpus_client.app) == before, "a refused upload must store nothing"


@corpus
def test_publishes(shared):
    assert shared.status == 201, shared.body
    body, source = shared.body, shared.source
    assert body["url"] == f"{PUBLIC_URL}/n/{body['id']}"
    assert body["size"] == len(source.data)
    assert body["sha256"] == hashlib.sha256(source.data).hexdigest()
    assert body["nbformat"] == source.version
    assert body["cells"] == len(source.nb.cells)
    manifest_cells = MANIFEST.get(source.rel, {}).get("cells")
    if manifest_cells:
        assert body["cells"] == int(manifest_cells)


@corpus
def test_download_is_byte_identical(ok, corpus_client):
    r = corpus_client.get(f"/n/{ok.share_id}.ipynb")
    assert r.status_code == 200
    assert r.content == ok.source.data


@corpus
def test_renders_every_cell(ok):
    """Each cell has its wrapper, in order, and its source shows in it: code exactly (up
    to whitespace), markdown and HTML raw cells word for word."""
    nb, source = ok.source.nb, ok.source
    anchors = [anchor for anchor, _ in ok.scan.cell_starts]
    assert anchors == [source.cell_anchor(i) for i in range(len(nb.cells))]
    for index, (cell, chunk) in enumerate(zip(nb.cells, cell_chunks(ok), strict=True)):
        where = f"cell {index + 1} ({cell.cell_type})"
        if cell.cell_type == "code":
            shown = "".join(htmllib.unescape(TAG_RE.sub("", chunk)).split())
            assert "".join(cell.source.split()) in shown, where
            for output in cell.get("outputs", []):
                if output.output_type == "stream":
                    missing = words(ANSI_RE.sub("", output.text)) - html_words(chunk)
                    assert not missing, f"{where}: stream text missing: {sorted(missing)[:10]}"
        elif cell.cell_type == "markdown":
            expected = html_words(render_markdown(cell.source))
            missing = expected - html_words(chunk)
            assert not missing, f"{where}: words missing: {sorted(missing)[:10]}"
        elif cell.cell_type == "raw" and raw_cell_is_shown(cell):
            missing = html_words(cell.source) - html_words(chunk)
            assert not missing, f"{where}: words missing: {sorted(missing)[:10]}"


def raw_cell_is_shown(cell) -> bool:
    # Like `jupyter nbconvert --to html`, raw cells meant for HTML or for no format in
    # particular are shown; raw LaTeX, reST, Markdown or Python is for other exporters.
    return (cell.metadata.get("raw_mimetype") or "").lower() in ("", "text/html")


@corpus
def test_toc_lists_exactly_the_markdown_headings(ok):
    expected = expected_headings(ok.source.nb)
    assert [(e["level"], normalize(e["text"])) for e in ok.body["toc"]] == expected
    count = MANIFEST_HEADING_COUNT_FIXES.get(ok.source.rel, MANIFEST.get(ok.source.rel, {}).get("headings"))
    if count not in (None, ""):
        assert len(expected) == int(count)


@corpus
def test_toc_anchors_are_unique_heading_ids(ok):
    ids = Counter(i for _, i in ok.scan.ids)
    tags = {i: tag for tag, i in ok.scan.ids}
    for entry in ok.body["toc"]:
        anchor = entry["anchor"]
        assert ids[anchor] == 1, (entry, ids[anchor])
        assert tags[anchor] == f"h{entry['level']}", entry
        assert f'href="#{htmllib.escape(anchor)}"' in ok.content, f"no permalink for {entry}"


@corpus
def test_ids_in_content_are_unique(ok):
    """Ids repeat only where the notebook's own outputs repeat them (bokeh writes
    <span id="1001"> each time output_notebook() runs): never because of nbshare."""
    allowed = ok.source.output_html_ids()
    repeated = {i: n for i, n in Counter(i for _, i in ok.scan.ids).items() if n > 1}
    assert {i: n for i, n in repeated.items() if n > allowed[i]} == {}


@corpus
def test_share_page_nav_lists_the_same_anchors(ok, corpus_client):
    page = corpus_client.get(f"/n/{ok.share_id}")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    links = soup.select("nav.toc a[data-anchor]")
    toc = ok.body["toc"]
    assert [a["data-anchor"] for a in links] == [e["anchor"] for e in toc]
    assert [normalize(a.get_text()) for a in links] == [normalize(e["text"]) for e in toc]
    for a in links:
        assert a["href"] == f"{PUBLIC_URL}/n/{ok.share_id}/content#{a['data-anchor']}"
    if not toc:
        assert soup.select_one("nav.toc") is None


checked_assets: set[str] = set()


@corpus
def test_page_assets_come_from_static(ok, corpus_client):
    """What nbshare's template puts in <head> and after the body (require.js, MathJax,
    CSS, content.js, the widget loader) is served by nbshare. Outputs may link elsewhere;
    that is the notebook's own."""
    assert ok.scan.page_assets, "expected local assets"
    for src in ok.scan.page_assets:
        assert src.startswith("/static/"), src
        path = src.split("?")[0]
        if path not in checked_assets:
            assert corpus_client.get(path).status_code == 200, src
            checked_assets.add(path)
    head = ok.content[: ok.scan.head_end]
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", head, re.IGNORECASE), "CDN in <head>"


@corpus
def test_images_render(ok, corpus_client):
    """Images a notebook shows as images (no HTML or script alternative), and markdown
    attachments, are in the page: as data: URIs, or above inline_file_bytes as files of
    the share."""
    wanted = 0
    for output in ok.source.outputs():
        data = output.get("data", {})
        has_image = any(m in data for m in ("image/png", "image/jpeg", "image/gif", "image/svg+xml"))
        richer = any(
            m in data for m in ("text/html", "text/markdown", "text/latex", "application/javascript")
        )
        richer = richer or any(m.startswith("application/vnd.") for m in data)
        # nbconvert links to metadata.filenames (left by its ExtractOutputPreprocessor)
        # instead of embedding; only nbconvert's injection test notebook has them.
        extracted = bool(output.get("metadata", {}).get("filenames"))
        wanted += has_image and not richer and not extracted
    wanted += attachment_references(ok.source.nb)
    if "images" in features(ok.source.rel):
        assert wanted, "MANIFEST says this notebook has images"
    assert ok.scan.data_images >= wanted
    if wanted:
        assert "<img" in ok.content and ("data:image/" in ok.content or ok.scan.file_images)
    for src in ok.scan.file_images[:3]:  # taken out of the page, served from the share
        r = corpus_client.get(src)
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/"), src
        assert hashlib.sha256(r.content).hexdigest() == FILE_URL.match(src).group(1)


def attachment_references(nb) -> int:
    """Images markdown-it finds pointing at one of their cell's attachments."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.get("attachments"):
            srcs = re.findall(r'<img src="attachment:([^"]*)"', render_markdown(cell.source))
            count += sum(src in cell.attachments for src in srcs)
    return count


def having(feature: str):
    """Runs a test only for the notebooks MANIFEST notes `feature` for."""
    rels = [rel for rel in NOTEBOOKS if feature in features(rel)]
    return pytest.mark.parametrize("rel", rels, indirect=True, scope="module")


@corpus
@having("attachments")
def test_attachments_render_as_data_uris(ok):
    nb = ok.source.nb
    assert attachment_references(nb) > 0
    for cell, chunk in zip(nb.cells, cell_chunks(ok), strict=True):
        for name, bundle in cell.get("attachments", {}).items():
            if f'<img src="attachment:{name}"' not in render_markdown(cell.source):
                continue
            assert f'src="attachment:{name}"' not in chunk
            inline = any(f'src="data:{mime};base64,' in chunk for mime in bundle)
            taken_out = any(
                f"/f/{hashlib.sha256(base64.b64decode(value)).hexdigest()}/" in chunk
                for value in bundle.values()
                if isinstance(value, str)
            )
            assert inline or taken_out, name


@corpus
def test_errors_and_ansi_render(ok):
    """Tracebacks show their exception; ANSI colour codes become classes, never raw ESC."""
    feats = features(ok.source.rel)
    assert "\x1b" not in ok.content
    errors = [o for o in ok.source.outputs() if o.output_type == "error"]
    if "errors" in feats:
        assert len(errors) == int(feats["errors"])
    shown = html_words(ok.content) if errors else set()
    for error in errors:
        assert htmllib.escape(error.ename, quote=False) in ok.content, error.ename
        last_line = ANSI_RE.sub("", error.traceback[-1]) if error.traceback else ""
        assert words(last_line) <= shown, last_line
    if "ansi" in feats:
        assert re.search(r'class="[^"]*\bansi-', ok.content), "no ansi-* classes"


@corpus
@having("raw")
def test_raw_cells_render(ok):
    cells = zip(ok.source.nb.cells, cell_chunks(ok), strict=True)
    raw = [(c, chunk) for c, chunk in cells if c.cell_type == "raw"]
    assert len(raw) == int(features(ok.source.rel)["raw"] or len(raw))
    for cell, chunk in raw:
        if raw_cell_is_shown(cell):
            assert html_words(cell.source) <= html_words(chunk)


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@corpus
@having("widget-state")
def test_widget_state_loads_the_local_widget_manager(ok):
    saved = (ok.source.nb.metadata.get("widgets") or {}).get("application/vnd.jupyter.widget-state+json")
    models = (saved or {}).get("state") if isinstance((saved or {}).get("state"), dict) else saved
    views = [o.data for o in ok.source.outputs() if WIDGET_VIEW in o.get("data", {})]
    if not models:
        # ipywidgets 5/6 saved view positions, not models (or nothing): there is nothing
        # a widget manager could draw, so none is loaded and views show their text.
        assert "html-manager-embed-amd.js" not in ok.content
        assert f'<script type="{WIDGET_VIEW}">' not in ok.content
        shown = html_words(ok.content)
        for view in views:
            assert words(view.get("text/plain", "")) <= shown
        return
    assert "'/static/vendor/html-manager-embed-amd.js'" in ok.content
    assert ok.content.count('<script type="application/vnd.jupyter.widget-state+json">') == 1
    drawn = [v for v in views if v[WIDGET_VIEW]["model_id"] in models]
    assert ok.content.count(f'<script type="{WIDGET_VIEW}">') == len(drawn)


# --- what the corpus found, reproduced without it (these run everywhere) ---------------


def _render(cells: list[dict], **metadata) -> str:
    from nbshare.render import render_page

    return render_page(notebook(*cells, **metadata), filename="t.ipynb", static_url="/static").html.decode()


def _widget_cell(model_id: str) -> dict:
    view = {"version_major": 2, "version_minor": 0, "model_id": model_id}
    return output_cell({WIDGET_VIEW: view, "text/plain": "IntSlider(value=3)"}, "w", source="slider")


def test_old_ipywidgets_state_renders_without_a_widget_manager():
    # pdsh/06.00-Figure-Code.ipynb: ipywidgets 5/6 saved view positions, no models.
    html = _render(
        [_widget_cell("m1")], widgets={"state": {"m1": {"views": [{"cell_index": 0}]}}, "version": "1.2.0"}
    )
    assert "IntSlider(value=3)" in html
    assert "html-manager-embed-amd.js" not in html


def test_colab_widget_state_is_drawn():
    # ml-book/distilbert_finetuning-full.ipynb: Colab saves the models without the
    # {"state": ...} wrapper the widget manager reads.
    model = {
        "model_module": "@jupyter-widgets/controls",
        "model_module_version": "1.5.0",
        "model_name": "IntSliderModel",
        "state": {"value": 3},
    }
    html = _render([_widget_cell("m1")], widgets={"application/vnd.jupyter.widget-state+json": {"m1": model}})
    assert "'/static/vendor/html-manager-embed-amd.js'" in html
    state_re = r'<script type="application/vnd.jupyter.widget-state\+json">\s*(.*?)\s*</script>'
    state = re.search(state_re, html, re.S)
    assert json.loads(state.group(1).replace("\\/", "/"))["state"] == {"m1": model}
    assert '<script type="application/vnd.jupyter.widget-view+json">' in html


def test_heading_anchor_avoids_ids_the_notebook_already_uses():
    # pandas-bokeh/Documentation.ipynb: <p id="lineplot"></p> right above "## Lineplot".
    cells = [
        markdown('<p id="lineplot"></p>\n\n## Lineplot', "a"),
        markdown("## Output", "b"),
        output_cell({"text/html": '<div id="output">x</div>'}, "c"),
    ]
    html = _render(cells)
    ids = Counter(re.findall(r'\sid="([^"]*)"', html))
    assert ids["lineplot"] == 1 and ids["lineplot-1"] == 1 and ids["output-1"] == 1
    assert ids["output"] == 1  # the output's own div
    assert re.search(r'<h2 id="lineplot-1">', html) and re.search(r'<h2 id="output-1">', html)


def test_stdin_stream_is_shown():
    # pypi-nbsphinx/pre-executed.ipynb: input() prompts and the answers typed.
    html = _render(
        [
            code(
                "input('Name?')",
                "c",
                [{"output_type": "stream", "name": "stdin", "text": "Name? Sir Lancelot\n"}],
            )
        ]
    )
    assert "Sir Lancelot" in html
