"""Page weight: nbshare's stored page against nbconvert's single-file HTML, same notebook.

nbshare takes images and embedded downloads above `inline_file_bytes` out of a public
share's page and serves them as cached, content-addressed files (images lazily). This
prints, per notebook, the HTML a reader must fetch before the page can be shown, for
`jupyter nbconvert --to html` (HTMLExporter, everything inline) and for nbshare, and the
ratio; plus the time the extraction pass adds to a render.

    .venv/bin/python bench/page_weight_bench.py            # corpus notebooks + synthetic ones
    .venv/bin/python bench/page_weight_bench.py --quick    # synthetic only, smaller
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import time
import warnings
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def synthetic(plots: int, download_mb: int) -> dict[str, bytes]:
    import nbformat
    import numpy as np
    from matplotlib.figure import Figure
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from nbshare import download_link

    cells = [new_markdown_cell(f"# {plots} plots")]
    for i in range(plots):
        fig = Figure()  # matplotlib's default size at 100 dpi, as Jupyter shows plots
        walk = np.random.default_rng(i).normal(size=200).cumsum()
        fig.add_subplot().plot(walk)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        cells.append(
            new_code_cell(
                f"plot({i})",
                outputs=[
                    new_output(
                        "display_data",
                        data={
                            "image/png": base64.b64encode(buffer.getvalue()).decode(),
                            "text/plain": "<Figure>",
                        },
                    )
                ],
            )
        )
    found = {f"{plots} matplotlib plots": nbformat.writes(new_notebook(cells=cells)).encode()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        link = download_link(os.urandom(download_mb * 1024 * 1024), "table.bin")
    found[f"{download_mb} MB download_link"] = nbformat.writes(
        new_notebook(
            cells=[
                new_markdown_cell("# Export"),
                new_code_cell(
                    "download_link(df)",
                    outputs=[
                        new_output(
                            "display_data", data={"text/html": link._repr_html_(), "text/plain": "link"}
                        )
                    ],
                ),
            ]
        )
    ).encode()
    return found


def corpus(limit: int) -> dict[str, bytes]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        return {}
    # The corpus notebooks heaviest in images are where the page weight is.
    paths = sorted(CORPUS.rglob("*.ipynb"), key=lambda p: p.stat().st_size, reverse=True)[:limit]
    return {f"corpus: {p.name[:40]}": p.read_bytes() for p in paths}


def measure(name: str, data: bytes) -> tuple:
    import nbformat
    from nbconvert import HTMLExporter

    from nbshare.render.assets import AssetPolicy
    from nbshare.render.page import render_page

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference, _ = HTMLExporter().from_notebook_node(nbformat.reads(data.decode(), as_version=4))
        start = time.perf_counter()
        render_page(data, filename="n.ipynb", static_url="/static")
        plain_s = time.perf_counter() - start
        start = time.perf_counter()
        page = render_page(
            data, filename="n.ipynb", static_url="/static", assets=AssetPolicy(4 * 1024, "/n/x/v/1")
        )
        extract_s = time.perf_counter() - start
    out = [f for f in page.files if f.role == "image" or len(f.data) > 4 * 1024]
    return (name, len(data), len(reference.encode()), len(page.html), len(out), plain_s, extract_s)


def mb(n: int) -> str:
    return f"{n / 1024 / 1024:.2f} MB" if n >= 100 * 1024 else f"{n / 1024:.0f} KB"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10 plots and a 2 MB download, no corpus")
    parser.add_argument("--corpus", type=int, default=4, help="how many of the largest corpus notebooks")
    args = parser.parse_args()
    notebooks = synthetic(10, 2) if args.quick else {**synthetic(100, 20), **corpus(args.corpus)}
    rows = [measure(name, data) for name, data in notebooks.items()]

    from rich.console import Console
    from rich.table import Table

    table = Table(title="Page weight: nbconvert single-file HTML vs nbshare's stored page")
    for column in (
        "notebook",
        ".ipynb",
        "nbconvert HTML",
        "nbshare page",
        "page / nbconvert",
        "files taken out",
        "render",
        "render + extraction",
    ):
        table.add_column(column, justify="left" if column == "notebook" else "right")
    for name, size, reference, page, files, plain_s, extract_s in rows:
        table.add_row(
            name,
            mb(size),
            mb(reference),
            mb(page),
            f"{page / reference:.1%}",
            str(files),
            f"{plain_s:.2f} s",
            f"{extract_s:.2f} s",
        )
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
