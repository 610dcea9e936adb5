"""Files inside a notebook: `download_link` outputs and cell attachments are listed and
downloadable from the share page, big payloads leave the page for content-addressed
blobs, and pages full of plots stay a small fraction of nbconvert's single-file HTML."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
from html import escape
from urllib.parse import unquote

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import PUBLIC_URL, published
from nbshare import download_link
from nbshare.views.pages import served_type

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")
matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402


def link_output(obj, filename=None) -> dict:
    return output_of(download_link(obj, filename))


def output_of(link) -> dict:
    return new_output(
        "display_data", data={"text/html": link._repr_html_(), "text/plain": repr(link.filename)}
    )


def notebook_bytes(cells: list) -> bytes:
    return nbformat.writes(new_notebook(cells=cells)).encode()


def figure(seed: int) -> Figure:
    """A plot as Jupyter shows one: matplotlib's default size (6.4 x 4.8 in) at 100 dpi,
    which matplotlib-inline uses since 0.1.7."""
    fig = Figure()
    axes = fig.add_subplot()
    walk = np.random.default_rng(seed).normal(size=200).cumsum()
    axes.plot(walk, label="walk")
    axes.scatter(range(0, 200, 10), walk[::10], s=12, color="tab:orange", label="sampled")
    axes.set(title=f"Random walk {seed}", xlabel="step", ylabel="position")
    axes.legend()
    return fig


FRAME = pd.DataFrame({"city": ["Zürich", "Oslo", "Lyon"], "rain_mm": [1.5, 0.0, 7.25]})
ARRAY = np.arange(12, dtype=np.float32).reshape(3, 4)


def objects() -> list[tuple[object, str | None]]:
    return [
        (FRAME, "rain.csv"),
        (FRAME, "rain.xlsx"),
        (FRAME, "rain.parquet"),
        (FRAME, "rain.json"),
        (FRAME["rain_mm"], "series.csv"),
        (b"\x00\x01binary\xff" * 1000, "blob.bin"),
        ("plain text ✓", "note.txt"),
        (ARRAY, "array.npy"),
        ({"a": [1, 2], "ü": None}, "data.json"),
        ([1, "two"], "list.json"),
        (figure(1), "plot.png"),
        (figure(2), "plot.svg"),
        (figure(3), "plot.pdf"),
    ]


def share_of(client, cells: list) -> dict:
    return published(client, notebook_bytes(cells))


def test_every_supported_type_round_trips_through_the_page_to_identical_bytes(client, tmp_path):
    expected = {}
    cells = []
    report = tmp_path / "report.html"
    report.write_bytes("<h1>Quarterly ✓</h1>".encode() * 500)
    for i, (obj, name) in enumerate([*objects(), (report, None), (str(report), "copy of report.html")]):
        # (SVG and PDF carry a fresh timestamp or id each time: compare with what was embedded.)
        link = download_link(obj, name)
        expected[link.filename] = (link.data, link.media_type)
        cells.append(new_code_cell(f"download_link(x{i})", outputs=[output_of(link)]))
    share = share_of(client, cells)
    listed = {f["name"]: f for f in share["files"] if f["role"] == "download"}
    assert set(listed) == set(expected)

    page = BeautifulSoup(client.get(f"/n/{share['id']}").text, "html.parser")
    rows = page.select("#files tbody tr")
    assert len(rows) == len(expected)
    for row in rows:
        link = row.find("a")
        name = link.get_text()
        r = client.get(link["href"].removeprefix(PUBLIC_URL))
        assert r.status_code == 200, name
        data, media_type = expected[name]
        assert r.content == data, name
        # (Active text, such as the HTML report, is served as plain text: see served_type.)
        assert r.headers["content-type"].split(";")[0] == served_type(media_type).split(";")[0], name
        assert name in r.headers["content-disposition"]
    # The links inside the rendered notebook itself, inline data: URIs and moved-out files alike.
    frame = BeautifulSoup(client.get(f"/n/{share['id']}/content").text, "html.parser")
    links = frame.select("a[download]")
    assert sorted(a["download"] for a in links) == sorted(expected)
    for a in links:
        data, media_type = expected[a["download"]]
        if a["href"].startswith("data:"):
            head, _, body = a["href"].partition(",")
            assert head.removeprefix("data:").split(";")[0] == media_type, a["download"]
            assert base64.b64decode(body) == data, a["download"]
        else:
            r = client.get(a["href"].removeprefix(PUBLIC_URL))
            assert r.content == data
            assert r.headers["content-type"].split(";")[0] == served_type(media_type).split(";")[0]
            assert a["download"] in unquote(r.headers["content-disposition"]), a["download"]

    # The DataFrame's CSV compared by content, as a reader would; the same for the others.
    def fetched(name: str) -> bytes:
        return client.get(listed[name]["url"].removeprefix(PUBLIC_URL)).content

    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(fetched("rain.csv")), index_col=0), FRAME)
    pd.testing.assert_frame_equal(pd.read_excel(io.BytesIO(fetched("rain.xlsx")), index_col=0), FRAME)
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(fetched("rain.parquet"))), FRAME)
    np.testing.assert_array_equal(np.load(io.BytesIO(fetched("array.npy"))), ARRAY)
    assert json.loads(fetched("data.json")) == {"a": [1, 2], "ü": None}
    assert fetched("plot.png").startswith(b"\x89PNG") and fetched("plot.pdf").startswith(b"%PDF")
    assert fetched("note.txt").decode() == "plain text ✓"
    assert fetched("report.html") == fetched("copy of report.html") == report.read_bytes()


def test_small_links_stay_inline_and_big_ones_leave_the_page(client):
    small, big = b"s" * 100, os.urandom(50_000)
    share = share_of(
        client,
        [
            new_code_cell("small", outputs=[link_output(small, "small.bin")]),
            new_code_cell("big", outputs=[link_output(big, "big.bin")]),
        ],
    )
    html = client.get(f"/n/{share['id']}/content").text
    soup = BeautifulSoup(html, "html.parser")
    links = {a["download"]: a["href"] for a in soup.select("a[download]")}
    assert links["small.bin"].startswith("data:")  # still works offline, from the .html alone
    sha = hashlib.sha256(big).hexdigest()
    assert links["big.bin"] == f"/n/{share['id']}/v/1/f/{sha}/big.bin"
    assert base64.b64encode(big).decode()[:1000] not in html
    r = client.get(links["big.bin"])
    assert r.content == big and r.headers["cache-control"] == "no-cache"
    assert r.headers["content-disposition"].startswith("attachment")
    # The original is still the exact upload, payloads and all.
    original = client.get(f"/n/{share['id']}.ipynb").content
    assert base64.b64encode(big).decode() in original.decode()


def test_the_same_file_twice_is_stored_once(client):
    payload = os.urandom(30_000)
    share = share_of(
        client, [new_code_cell(str(i), outputs=[link_output(payload, f"copy{i}.bin")]) for i in range(3)]
    )
    blobs = [k for k in client.app.state.service.blobs.keys() if "/files/" in k and share["id"] in k]
    assert len(blobs) == 1
    assert len([f for f in share["files"] if f["role"] == "download"]) == 3


def test_names_are_kept_as_the_sender_wrote_them(client):
    """Punctuation and accents survive; only what no file system takes is changed."""
    names = [
        "Q1 & Q2, final.csv",
        "rapport d'été #3.csv",
        "x=1;y.txt",
        "a" * 190 + ".csv",
        'bad<>:"|?*name.txt',
    ]
    share = share_of(
        client,
        [
            new_code_cell(
                str(i),
                outputs=[
                    new_output(
                        "display_data",
                        data={
                            "text/html": f'<a download="{escape(name)}" href="data:text/csv;base64,'
                            f'{base64.b64encode(os.urandom(5000 + i)).decode()}">x</a>'
                        },
                    )
                ],
            )
            for i, name in enumerate(names)
        ],
    )
    served = {}
    for f in share["files"]:
        r = client.get(f["url"].removeprefix(PUBLIC_URL))
        assert r.status_code == 200
        served[f["name"]] = r.headers["content-disposition"]
    assert set(served) >= {"Q1 & Q2, final.csv", "rapport d'été #3.csv", "x=1;y.txt", "bad_______name.txt"}
    long_name = next(n for n in served if n.startswith("aaa"))
    assert long_name.endswith(".csv") and len(long_name.encode()) <= 200
    assert "filename*=UTF-8''rapport%20d%27%C3%A9t%C3%A9%20%233.csv" in served["rapport d'été #3.csv"]


def test_the_same_bytes_under_two_names_download_under_each_name(client):
    """One blob, two manifest entries: each link answers with its own name and media type."""
    payload = os.urandom(10_000)
    share = share_of(
        client,
        [
            new_code_cell("a", outputs=[link_output(payload, "first.bin")]),
            new_code_cell("b", outputs=[link_output(payload, "second.csv")]),
        ],
    )
    frame = BeautifulSoup(client.get(f"/n/{share['id']}/content").text, "html.parser")
    hrefs = {a["download"]: a["href"] for a in frame.select("a[download]")}
    assert hrefs["first.bin"] != hrefs["second.csv"]
    for name, media_type in [("first.bin", "application/octet-stream"), ("second.csv", "text/csv")]:
        r = client.get(hrefs[name].removeprefix(PUBLIC_URL))
        assert r.content == payload
        assert r.headers["content-type"].split(";")[0] == media_type
        assert f'filename="{name}"' in r.headers["content-disposition"]


def test_cell_attachments_are_listed_and_downloadable(client):
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    cell = new_markdown_cell("![diagram](attachment:diagram.png)")
    cell["attachments"] = {"diagram.png": {"image/png": base64.b64encode(png).decode()}}
    share = share_of(client, [cell])
    attachment = next(f for f in share["files"] if f["role"] == "attachment")
    assert attachment["name"] == "diagram.png" and attachment["size"] == len(png)
    assert client.get(attachment["url"].removeprefix(PUBLIC_URL)).content == png
    page = client.get(f"/n/{share['id']}").text
    assert "diagram.png" in page and "cell attachment" in page


def test_hostile_file_names_are_made_safe(client):
    html = '<a download="../../etc/&quot;&gt;&lt;script&gt;x.sh" href="data:text/plain;base64,aGk=">x</a>'
    share = share_of(
        client,
        [
            new_code_cell(
                "x", outputs=[new_output("display_data", data={"text/html": html, "text/plain": "x"})]
            )
        ],
    )
    name = next(f["name"] for f in share["files"] if f["role"] == "download")
    assert "/" not in name and "<" not in name and '"' not in name
    page = client.get(f"/n/{share['id']}").text
    assert "<script>" not in page


def test_password_added_later_puts_files_back_inside_the_sealed_page(client):
    big = os.urandom(40_000)
    plot = figure(7)
    buffer = io.BytesIO()
    plot.savefig(buffer, format="png")
    share = share_of(
        client,
        [
            new_code_cell("big", outputs=[link_output(big, "big.bin")]),
            new_code_cell(
                "plot",
                outputs=[
                    new_output(
                        "display_data",
                        data={"image/png": base64.b64encode(buffer.getvalue()).decode(), "text/plain": "fig"},
                    )
                ],
            ),
        ],
    )
    sid, token = share["id"], share["owner_token"]
    assert f"/n/{sid}/v/1/f/" in client.get(f"/n/{sid}/content").text
    r = client.patch(
        f"/api/v1/shares/{sid}", json={"password": "now secret"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200, r.text
    grant = client.post(f"/api/v1/shares/{sid}/unlock", json={"password": "now secret"}).json()["grant"]
    client.cookies.clear()
    html = client.get(f"/n/{sid}/content", headers={"X-Nbshare-Grant": grant}).text
    assert f"/n/{sid}/v/1/f/" not in html  # the frame's requests carry no grant: all inline
    assert base64.b64encode(big).decode() in html
    assert base64.b64encode(buffer.getvalue()).decode() in html
    keys = [k for k in client.app.state.service.blobs.keys() if sid in k]
    assert all(k.endswith(".sealed") for k in keys)
    listed = client.get(f"/api/v1/shares/{sid}", headers={"X-Nbshare-Grant": grant}).json()["files"]
    big_url = next(f["url"] for f in listed if f["name"] == "big.bin")
    assert client.get(big_url.removeprefix(PUBLIC_URL), headers={"X-Nbshare-Grant": grant}).content == big


def nbconvert_size(data: bytes) -> int:
    html, _ = HTMLExporter().from_notebook_node(nbformat.reads(data.decode(), as_version=4))
    return len(html.encode())


def published_small(client, data: bytes) -> tuple[dict, bytes]:
    """(the share, its page) of `data`, once the page is found under 5 % of nbconvert's."""
    share = published(client, data)
    page = client.get(f"/n/{share['id']}/content").content
    reference = nbconvert_size(data)
    assert len(page) < 0.05 * reference, (len(page), reference)
    return share, page


def test_a_20_mb_embedded_download_leaves_a_page_under_5_percent_of_nbconvert(client):
    payload = os.urandom(20 * 1024 * 1024)
    with pytest.warns(UserWarning, match="MB"):
        link = download_link(payload, "table.bin")
    data = notebook_bytes(
        [
            new_markdown_cell("# Export"),
            new_code_cell(
                "download_link(df)",
                outputs=[
                    new_output("display_data", data={"text/html": link._repr_html_(), "text/plain": "link"})
                ],
            ),
        ]
    )
    share, _ = published_small(client, data)
    url = next(f["url"] for f in share["files"] if f["name"] == "table.bin")
    assert client.get(url.removeprefix(PUBLIC_URL)).content == payload


def test_100_plots_leave_a_page_under_5_percent_of_nbconvert(client):
    cells = [new_markdown_cell("# A hundred plots")]
    images = []
    for i in range(100):
        buffer = io.BytesIO()
        figure(i).savefig(buffer, format="png", dpi=100)
        images.append(buffer.getvalue())
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
    data = notebook_bytes(cells)
    share, page = published_small(client, data)
    soup = BeautifulSoup(page, "html.parser")
    sources = [img["src"] for img in soup.select(".jp-OutputArea img")]
    assert len(sources) == 100
    assert all(img.get("loading") == "lazy" for img in soup.select(".jp-OutputArea img"))
    for src, expected in zip(sources, images, strict=True):
        r = client.get(src)
        assert r.status_code == 200 and r.content == expected
        assert r.headers["content-type"] == "image/png" and r.headers["cache-control"] == "no-cache"
    # Images are not "files in this notebook": the list is for downloads and attachments.
    assert not [f for f in share["files"] if f["role"] not in ("download", "attachment")]


def test_download_link_notebook_executes_to_the_same_page_files(client):
    """The helper works as a notebook's last expression too (its _repr_html_)."""
    link = download_link({"k": "v"}, "k.json")
    assert json.loads(base64.b64decode(link._repr_html_().split("base64,")[1].split('"')[0])) == {"k": "v"}
