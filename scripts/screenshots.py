"""Screenshots of nbshare's main views, for the README: python scripts/screenshots.py

Starts `nbshare serve` on a free port with a temporary data folder, publishes a small
demo notebook, and saves PNGs in docs/screenshots/ with Debian's chromium driven by
Playwright (set CHROMIUM to use another binary)."""

from __future__ import annotations

import base64
import io
import json
import math
import os
import shutil
import struct
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from conftest import CHROMIUM_ARGS, start_server  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def chart_png(width: int = 560, height: int = 240) -> str:
    """A small line chart drawn pixel by pixel (no imaging library needed)."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            curve = height / 2 - math.sin(x / 40) * height / 3 * math.exp(-x / 900)
            on_curve = abs(y - curve) < 2.2
            grid = x % 70 == 0 or y % 60 == 0
            row += bytes((31, 119, 180) if on_curve else (225, 228, 232) if grid else (255, 255, 255))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(data).decode()


def demo_notebook() -> bytes:
    table = (
        "<table class='dataframe'><thead><tr><th></th><th>city</th><th>visits</th><th>share</th></tr></thead><tbody>"
        + "".join(
            f"<tr><th>{i}</th><td>{c}</td><td>{v}</td><td>{v / 1234:.1%}</td></tr>"
            for i, (c, v) in enumerate([("Lisbon", 412), ("Oslo", 301), ("Nairobi", 288), ("Lima", 233)])
        )
        + "</tbody></table>"
    )

    def md(n, text):
        return {"cell_type": "markdown", "id": f"m{n}", "metadata": {}, "source": text}

    def code(n, text, outputs):
        return {
            "cell_type": "code",
            "id": f"c{n}",
            "metadata": {},
            "execution_count": n,
            "source": text,
            "outputs": outputs,
        }

    cells = [
        md(
            1,
            "# Visitor analysis\n\nWhere readers came from in March, and how the traffic decayed "
            "after the launch post. Every heading and cell has a permalink.",
        ),
        md(2, "## Loading the data"),
        code(
            1,
            'import pandas as pd\n\nvisits = pd.read_csv("visits.csv", parse_dates=["day"])\n'
            'by_city = visits.groupby("city")["visits"].sum().sort_values(ascending=False)\nby_city.head(4)',
            [
                {
                    "output_type": "execute_result",
                    "execution_count": 1,
                    "metadata": {},
                    "data": {"text/html": table, "text/plain": "table"},
                }
            ],
        ),
        md(
            3,
            "## Traffic over time\n\nThe launch spike fades within two weeks: $v(t) \\approx v_0 e^{-t/\\tau}$.",
        ),
        code(
            2,
            'ax = visits.resample("D", on="day")["visits"].sum().plot()\nax.set_ylabel("visits per day")',
            [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"image/png": chart_png(), "text/plain": "<Figure size 560x240>"},
                }
            ],
        ),
        md(4, "### Weekly pattern\n\nWeekdays carry most of the reading."),
        code(
            3,
            'for day, n in visits.groupby(visits.day.dt.day_name())["visits"].mean().items():\n    print(f"{day:<10} {n:6.1f}")',
            [
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": "Monday      48.2\nTuesday     51.7\nWednesday   50.9\nThursday    47.3\nFriday      39.8\nSaturday    21.4\nSunday      19.6\n",
                }
            ],
        ),
        md(
            5,
            "## Conclusions\n\n- Lisbon leads.\n- Traffic halves every five days after a post.\n\n### Next steps\n\nRepeat for April.",
        ),
    ]
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "cells": cells,
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"},
            },
        }
    ).encode()


def publish(url: str, data: bytes, **headers) -> dict:
    r = httpx.post(
        f"{url}/api/v1/shares",
        params={"filename": "visitors.zip" if data[:2] == b"PK" else "visitors.ipynb"},
        content=data,
        headers={"Content-Type": "application/x-ipynb+json", **headers},
        timeout=120,
    )
    r.raise_for_status()
    return r.json()


def demo_bundle() -> bytes:
    """A small analysis: the demo notebook, its data, a helper, an environment, a README."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("visitors.ipynb", demo_notebook())
        rows = "".join(f"{d},{100 + d * 7}\n" for d in range(60))
        archive.writestr("data/visits.csv", "day,visits\n" + rows)
        archive.writestr("helpers.py", "def weekly(rows):\n    return rows\n")
        archive.writestr("requirements.txt", "pandas==2.2.3\nmatplotlib==3.9.2\n")
        archive.writestr("README.md", "# Visitors, autumn 2026\n\nStart with [the analysis](visitors.ipynb);"
                         " the raw counts are in [data/visits.csv](data/visits.csv).\n")
    return buffer.getvalue()


def ready(page) -> None:
    frame = page.frame(name="notebook")
    frame.wait_for_function("() => document.readyState === 'complete'")
    page.wait_for_timeout(800)  # MathJax


def main() -> None:
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    OUT.mkdir(parents=True, exist_ok=True)
    server = start_server(Path(tempfile.mkdtemp(prefix="nbshare-shots-")))
    try:
        share = publish(server.url, demo_notebook())
        locked = publish(server.url, demo_notebook(), **{"X-Nbshare-Password": "demo"})
        bundle = publish(server.url, demo_bundle(), **{"Content-Type": "application/zip"})
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            wide = {"viewport": {"width": 1280, "height": 800}}
            phone = {
                "viewport": {"width": 390, "height": 844},
                "device_scale_factor": 2,
                "is_mobile": True,
                "has_touch": True,
            }

            context = browser.new_context(**wide)
            page = context.new_page()
            page.goto(server.url)
            page.screenshot(path=OUT / "home.png", full_page=True)
            page.goto(share["manage_url"])
            page.locator("#owner-tools").wait_for(state="visible")
            page.locator("#versions li").first.wait_for()
            page.screenshot(path=OUT / "manage.png", full_page=True)
            page.goto(share["url"] + "#traffic-over-time")
            ready(page)
            page.screenshot(path=OUT / "share-wide.png")
            page.goto(locked["url"])
            page.screenshot(path=OUT / "unlock.png")
            page.goto(bundle["url"])
            ready(page)
            page.screenshot(path=OUT / "bundle.png", full_page=True)
            context.close()

            context = browser.new_context(**phone)
            page = context.new_page()
            page.goto(share["url"])
            ready(page)
            page.locator("#toc-toggle").click()
            page.screenshot(path=OUT / "share-phone-menu.png")
            context.close()

            context = browser.new_context(color_scheme="dark", **wide)
            page = context.new_page()
            page.goto(share["url"] + "#loading-the-data")
            ready(page)
            page.screenshot(path=OUT / "share-dark.png")
            context.close()
            browser.close()
    finally:
        server.stop()
    for path in sorted(OUT.glob("*.png")):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
