"""Notebooks with JavaScript outputs made the way Jupyter makes them, offline and without
a kernel: the code runs in IPython's InteractiveShell and the display messages it
publishes become nbformat outputs, saved as Jupyter saves them.

Bokeh with INLINE resources carries BokehJS itself (about 4 MB, twice: as
application/javascript and as application/vnd.bokehjs_load.v0+json); altair's charts
are Vega-Lite specs, as a mime bundle ("mimetype" renderer) or as HTML that loads
vega-embed through require.js (the "html" renderer, altair's default)."""

from __future__ import annotations

from functools import lru_cache

import nbformat
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from nbformat import NotebookNode

from helpers import PYTHON_KERNEL, code, markdown, notebook_dict

BOKEH_SOURCE = """\
from bokeh.io import output_notebook, show
from bokeh.plotting import figure
from bokeh.resources import INLINE

output_notebook(INLINE)
plot = figure(width=500, height=320, title="bokeh scatter",
              tools="pan,wheel_zoom,box_zoom,reset,hover", active_scroll="wheel_zoom")
plot.scatter([1, 2, 3, 4], [4, 6, 5, 7], size=14)
show(plot)
"""


def altair_source(renderer: str, title: str, third: str) -> str:
    return f"""\
import altair as alt

alt.renderers.enable({renderer!r})
rows = [{{"fruit": "apples", "count": 3}}, {{"fruit": "pears", "count": 7}},
        {{"fruit": {third!r}, "count": 5}}]
chart = alt.Chart(alt.Data(values=rows), title={title!r}).mark_bar().encode(
    x="fruit:N", y="count:Q", tooltip=["fruit:N", "count:Q"])
display(chart)
"""


def run(source: str) -> list[NotebookNode]:
    """The outputs Jupyter would save for `source`: its displays, then what it printed."""
    shell = InteractiveShell.instance()
    with capture_output() as captured:
        result = shell.run_cell(source, store_history=False)
    result.raise_error()
    if "Traceback" in captured.stdout:  # altair prints the errors of _repr_mimebundle_
        raise RuntimeError(captured.stdout)
    # Not new_output(): it validates, and altair 6's `.v6.json` spec is not a string,
    # which nbformat's schema wants for a mime type without `+json`. Jupyter saves it anyway.
    outputs = [
        nbformat.from_dict(
            {"output_type": "display_data", "data": dict(o.data), "metadata": dict(o.metadata or {})}
        )
        for o in captured.outputs
    ]
    if captured.stdout:
        stream = {"output_type": "stream", "name": "stdout", "text": captured.stdout}
        outputs.append(nbformat.from_dict(stream))
    return outputs


def saved_notebook(
    cells: list[tuple[str, list[NotebookNode]]], heading: str = "# JavaScript outputs"
) -> bytes:
    """A notebook of `cells` (source, outputs) under a heading, as Jupyter saves it."""
    code_cells = [
        code(source, f"code-{n}", outputs, execution_count=n)
        for n, (source, outputs) in enumerate(cells, start=1)
    ]
    nb = nbformat.from_dict(notebook_dict(markdown(heading, "heading"), *code_cells, **PYTHON_KERNEL))
    # What nbformat.writes (and so Jupyter) saves, without the log line it writes about
    # altair 6's specs.
    return nbformat.versions[4].writes_json(nb).encode()


def bokeh_cell() -> tuple[str, list[NotebookNode]]:
    return BOKEH_SOURCE, run(BOKEH_SOURCE)


@lru_cache(maxsize=1)
def bokeh_notebook() -> bytes:
    """A scatter plot with pan, zoom, reset and hover tools (about 8 MB)."""
    return saved_notebook([bokeh_cell()], heading="# Bokeh")


def altair_cell(
    renderer: str = "mimetype", title: str = "altair bars", third: str = "plums"
) -> tuple[str, list[NotebookNode]]:
    """A bar chart; `third` names the third bar (a test puts markup there)."""
    source = altair_source(renderer, title, third)
    return source, run(source)
