"""The lean render path (issue 14) makes the same page as nbconvert's own steps.

ShareExporter skips three costly steps of nbconvert's HTMLExporter: the BeautifulSoup
pass over the finished page (alt text, tabindex), bleach on every highlighted code cell,
and nbformat validation after each preprocessor. `ShareExporter(lean=False)` keeps them.
Each notebook is rendered both ways and what a reader gets is compared: the cells and
their anchors, the outputs, the highlighted code, every id, the table of contents, the
alt text of every image and every tabindex. Both pages are read with the parser
nbconvert's pass used (html.parser), so markup that only differs in spelling (quotes,
entities, `<br>` vs `<br/>`) compares equal; random element ids (`uuid4()` in
nbconvert's JavaScript outputs, nbformat's made-up cell ids) are normalised.
"""

from __future__ import annotations

import copy
import re

import pytest
from bs4 import BeautifulSoup

from helpers import (
    CORPUS,
    b64,
    code,
    corpus_notebooks,
    html_cell,
    markdown,
    needs_corpus,
    notebook,
    output_cell,
    png,
)
from nbshare.errors import BadNotebook
from nbshare.notebook import parse
from nbshare.render.a11y import NO_ALT
from nbshare.render.exporter import ShareExporter

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def exporters() -> tuple[ShareExporter, ShareExporter]:
    return ShareExporter(static_url="/static"), ShareExporter(static_url="/static", lean=False)


def render(exporter: ShareExporter, data: bytes) -> tuple[BeautifulSoup, list]:
    node, _ = parse(data, max_depth=64)
    html, resources = exporter.from_notebook_node(copy.deepcopy(node), {"metadata": {"name": "nb"}})
    soup = BeautifulSoup(UUID.sub("UUID", html), features="html.parser")
    for cell in soup.select("div.jp-Cell[id]"):
        # nbformat's normalize() gives cells without an id a random one; nbshare's anchor
        # is on the .nbs-cell around it.
        del cell["id"]
    return soup, [e.as_dict() for e in resources["toc"]]


def facts(soup: BeautifulSoup) -> dict[str, list]:
    """What a reader gets from a page, each as a list to compare."""

    def classes(el) -> str:
        return " ".join(el.get("class") or []) if el is not None else ""

    return {
        "cells": [(el.get("id"), classes(el.find("div"))) for el in soup.select("div.nbs-cell")],
        "outputs": [
            (classes(el), el.get("data-mime-type")) for el in soup.select("div.jp-OutputArea-output")
        ],
        "highlighted code": [str(el) for el in soup.select("div.highlight")],
        "ids": [el["id"] for el in soup.find_all(id=True)],
        "images": [(el.get("alt"), (el.get("src") or "")[:60]) for el in soup.find_all("img")],
        "tabindex": [
            (el.name, classes(el), el["tabindex"]) for el in soup.find_all(attrs={"tabindex": True})
        ],
    }


def assert_equivalent(exporters: tuple[ShareExporter, ShareExporter], data: bytes) -> BeautifulSoup:
    lean, stock = exporters
    lean_page, lean_toc = render(lean, data)
    stock_page, stock_toc = render(stock, data)
    assert lean_toc == stock_toc
    lean_facts, stock_facts = facts(lean_page), facts(stock_page)
    for name in stock_facts:
        assert lean_facts[name] == stock_facts[name], name
    # Everything else too: the whole page, as html.parser reads it.
    assert str(lean_page) == str(stock_page)
    return lean_page


IMG = b64(png(4, 3))
FIXTURES = {
    "images without alt text": notebook(
        markdown(
            "# Pictures\n\n![described](a.png) and ![](b.png)\n\n"
            '<img src="c.png"> <IMG SRC=d.png/> <img alt="" src="e.png"> <img src="f.png" />\n\n'
            "<!-- <img src='in-a-comment.png'> -->",
            "md",
        ),
        html_cell(
            '<p>Plot</p><img src="data:image/png;base64,' + IMG + '"><img alt=kept src=g.png>'
            '<script>var s = "<img src=in-a-script.png>";</script><style>img{}</style>',
            "html",
        ),
        output_cell({"text/markdown": "<img src='from-markdown-output.png'>", "text/plain": "md"}, "mdout"),
        {
            "cell_type": "raw",
            "id": "raw",
            "metadata": {"raw_mimetype": "text/html"},
            "source": "<img src=raw.png>",
        },
        output_cell({"image/png": IMG, "text/plain": "png"}, "png"),
        output_cell({"image/jpeg": IMG, "text/plain": "jpeg"}, "jpeg"),
        output_cell(
            {"image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg'/>", "text/plain": "svg"}, "svg"
        ),
    ),
    "nbconvert's classes inside outputs": notebook(
        html_cell(
            '<div class="jp-Cell-inputWrapper">'
            '<div class="x jp-OutputArea-output" tabindex="-1">in</div></div>'
            "<span class='jp-OutputArea-output'>not a div</span>",
            "nested",
        ),
        markdown('<div class="jp-OutputArea-output">in markdown</div>', "md"),
    ),
    "every kind of output": notebook(
        markdown("# Outputs\n\n## Second `heading` & more\n\nText with $x^2$ math.", "intro"),
        code(
            "print('<b> & \"quoted\"')",
            "stream",
            [
                {"output_type": "stream", "name": "stdout", "text": "out <b>\n"},
                {"output_type": "stream", "name": "stderr", "text": "\x1b[31mred\x1b[0m\n"},
            ],
        ),
        code(
            "1/0",
            "error",
            [
                {
                    "output_type": "error",
                    "ename": "ZeroDivisionError",
                    "evalue": "division by zero",
                    "traceback": ["\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"],
                }
            ],
        ),
        code(
            "x",
            "result",
            [
                {
                    "output_type": "execute_result",
                    "execution_count": 2,
                    "metadata": {},
                    "data": {"text/plain": "42"},
                }
            ],
            execution_count=2,
        ),
        output_cell({"text/latex": "$\\alpha < 1$", "text/plain": "alpha"}, "latex"),
        output_cell({"application/javascript": "element.textContent = 'js';", "text/plain": "js"}, "js"),
        code("", "empty"),
        code("%%bash\necho 'hi' > /dev/null\nls <dir>", "magic"),
        code("def f(a: int) -> str:\n    return f'{a!r}' + \"<&>\"  # comment", "python"),
        {"cell_type": "raw", "id": "rawtext", "metadata": {}, "source": "raw <text>"},
    ),
    "another language": notebook(
        code("library(ggplot2)\nx <- c(1, 2) # 'quote' & <tag>", "r"),
        language_info={"name": "R", "pygments_lexer": "r"},
        kernelspec={"name": "ir", "display_name": "R", "language": "R"},
    ),
    "an unknown lexer": notebook(code("some <code> here", "u"), language_info={"name": "no-such-language"}),
}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_lean_render_matches_nbconverts_steps(exporters, name):
    assert_equivalent(exporters, FIXTURES[name])


def test_the_fixtures_exercise_what_the_lean_path_replaces(exporters):
    page = assert_equivalent(exporters, FIXTURES["images without alt text"])
    alts = [img.get("alt") for img in page.find_all("img")]
    assert alts.count(NO_ALT) == 6  # c, d, f, the HTML output's data: image, markdown output, raw
    assert "" in alts and "kept" in alts and "described" in alts
    nested = assert_equivalent(exporters, FIXTURES["nbconvert's classes inside outputs"])
    inner = nested.select_one("div.x")
    assert inner is not None and inner["tabindex"] == "0"
    code_page = assert_equivalent(exporters, FIXTURES["every kind of output"])
    assert code_page.select("div.jp-Cell-inputWrapper[tabindex='0']")
    assert len(code_page.select("div.jp-OutputArea-output[tabindex='0']")) >= 6


CORPUS_NOTEBOOKS = [p.relative_to(CORPUS).as_posix() for p in corpus_notebooks()]


@needs_corpus
@pytest.mark.corpus
@pytest.mark.parametrize("rel", CORPUS_NOTEBOOKS)
def test_lean_render_matches_nbconverts_steps_on_the_corpus(exporters, rel):
    data = (CORPUS / rel).read_bytes()
    try:
        parse(data, max_depth=64)
    except BadNotebook:
        pytest.skip("refused at upload (test_corpus.py checks the message)")
    assert_equivalent(exporters, data)
