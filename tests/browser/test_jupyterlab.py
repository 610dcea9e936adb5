"""The Jupyter extension as a user meets it: a real JupyterLab 4 (and Notebook 7) on
loopback with nbshare's extension from this checkout, driven in chromium. Sharing saves the
notebook first, so the link shows what the user sees; a folder from the file browser becomes
a bundle. Takes the README's screenshots: into docs/screenshots/ with
NBSHARE_SCREENSHOTS=1 (so a test run leaves the checkout as it was), else a temporary folder."""

from __future__ import annotations

import json
import os
import re
import zipfile
from io import BytesIO
from pathlib import Path

import httpx
import pytest

import nbshare
from helpers import PYTHON_KERNEL, code, markdown, notebook
from jupyter_helpers import REPO, history, jupyter_command, jupyter_env, start_jupyter

SCREENSHOTS = REPO / "docs" / "screenshots"
WAIT = 240_000  # ms: JupyterLab's first load on a busy machine is slow
EDIT = "  # edited in the browser, not saved by hand"


@pytest.fixture(scope="module")
def lab(tmp_path_factory, server):
    folder = tmp_path_factory.mktemp("lab")
    root = folder / "root"
    (root / "churn" / "data").mkdir(parents=True)
    (root / "report.ipynb").write_bytes(
        notebook(markdown("# Quarterly report", "title"), code("total = 41 + 1", "sum"), **PYTHON_KERNEL)
    )
    (root / "churn" / "analysis.ipynb").write_bytes(notebook(markdown("# Churn analysis"), **PYTHON_KERNEL))
    (root / "churn" / "data" / "customers.csv").write_text("id,months\n1,12\n2,3\n")
    env = jupyter_env(folder, server.url)
    live = start_jupyter(root, env, folder / "lab.log", app="jupyterlab")
    live.env = env  # type: ignore[attr-defined]
    yield live
    live.stop()


def open_lab(page, lab, path: str):
    page.set_default_timeout(WAIT)
    page.goto(f"{lab.url}lab/tree/{path}?token={lab.token}&reset")
    page.locator(".jp-NotebookPanel .nbshare-share-button").first.wait_for(state="visible")


def share_in_dialog(page, *, expires: str | None = None) -> str:
    """Fill the form that is open, share, and return the link the dialog shows."""
    form = page.locator(".jp-Dialog .nbshare-dialog")
    form.wait_for(state="visible")
    if expires:
        form.locator("select[name=expires]").select_option(expires)
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    link = page.locator(".jp-Dialog .nbshare-link")
    link.wait_for(state="visible")
    return link.input_value()


def close_dialog(page) -> None:
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    page.locator(".jp-Dialog").wait_for(state="detached")


def share_id(url: str) -> str:
    match = re.search(r"/n/([A-Za-z0-9_-]{24})", url)
    assert match, url
    return match.group(1)


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = SCREENSHOTS if os.environ.get("NBSHARE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_share_button_saves_the_notebook_and_gives_its_link(lab, server, context, shots):
    page = context.new_page()
    open_lab(page, lab, "report.ipynb")
    saved_before = (lab.root / "report.ipynb").read_bytes()

    # An edit the user has not saved: the share must include it.
    editor = page.locator(".jp-NotebookPanel .jp-CodeCell .cm-content").first
    editor.click()
    page.keyboard.press("End")
    page.keyboard.type(EDIT)
    page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").wait_for(state="visible")
    assert (lab.root / "report.ipynb").read_bytes() == saved_before

    page.locator(".jp-NotebookPanel-toolbar").first.screenshot(path=shots / "jupyterlab-share-button.png")
    page.locator(".jp-NotebookPanel .nbshare-share-button").first.click()
    form = page.locator(".jp-Dialog .nbshare-dialog")
    form.wait_for(state="visible")
    assert server.url in form.inner_text()
    form.locator("select[name=expires]").select_option("7d")
    page.locator(".jp-Dialog-content").screenshot(path=shots / "jupyterlab-share-form.png")
    url = share_in_dialog(page)
    page.locator(".jp-Dialog .nbshare-manage a").wait_for(state="visible")
    page.locator(".jp-Dialog-content").screenshot(path=shots / "jupyterlab-share-dialog.png")
    close_dialog(page)

    saved = (lab.root / "report.ipynb").read_bytes()
    assert EDIT.strip() in "".join(json.loads(saved)["cells"][1]["source"])  # saved before the upload
    the_id = share_id(url)
    assert httpx.get(url, timeout=60).status_code == 200
    content = httpx.get(f"{server.url}/n/{the_id}/content", timeout=60)
    assert "Quarterly report" in content.text and "edited in the browser" in content.text
    assert httpx.get(f"{server.url}/n/{the_id}.ipynb", timeout=60).content == saved
    entry = next(e for e in history(lab.env) if e["id"] == the_id)  # `nbshare list` shows it
    assert entry["path"] == str((lab.root / "report.ipynb").resolve())
    assert entry["owner_token"] not in page.content()  # the manage link goes through Jupyter

    # Shared before: the dialog offers to update that share, and does.
    page.locator(".jp-NotebookPanel .nbshare-share-button").first.click()
    update = page.locator(".jp-Dialog input[name=update]")
    update.wait_for(state="visible")
    assert update.is_checked() and url in page.locator(".jp-Dialog .nbshare-update").inner_text()
    assert share_in_dialog(page) == url
    assert "version 2" in page.locator(".jp-Dialog .nbshare-status").inner_text()
    close_dialog(page)


def test_the_command_is_in_the_palette_and_the_file_menu(lab, context):
    page = context.new_page()
    open_lab(page, lab, "report.ipynb")
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^File$")).click()
    page.locator(".lm-Menu-item", has_text="Share Notebook by Link").wait_for(state="visible")
    page.keyboard.press("Escape")
    page.locator(".lm-Menu").wait_for(state="detached")
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^View$")).click()
    page.locator(".lm-Menu-item", has_text="Activate Command Palette").click()
    page.locator(".lm-CommandPalette-input").fill("nbshare")
    # The palette re-renders as it filters: wait for the item to be the active one, then Enter.
    page.locator(".lm-CommandPalette-item.lm-mod-active[data-command='nbshare:share']").wait_for(
        state="visible"
    )
    page.keyboard.press("Enter")
    page.locator(".jp-Dialog .nbshare-dialog").wait_for(state="visible")
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-reject").click()  # Cancel: nothing is sent
    page.locator(".jp-Dialog").wait_for(state="detached")


def test_a_folder_from_the_file_browser_is_shared_as_a_bundle(lab, server, context):
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(f"{lab.url}lab?token={lab.token}&reset")
    folder = page.locator(
        ".jp-DirListing-item", has=page.locator(".jp-DirListing-itemText", has_text="churn")
    )
    folder.first.click(button="right")
    page.locator(".lm-Menu-item", has_text="Share Folder by Link").click()
    url = share_in_dialog(page)
    close_dialog(page)

    the_id = share_id(url)
    bundle = httpx.get(url, timeout=60)
    assert bundle.status_code == 200 and "analysis.ipynb" in bundle.text
    archive = zipfile.ZipFile(BytesIO(httpx.get(f"{server.url}/n/{the_id}.zip", timeout=60).content))
    on_disk = lab.root / "churn"
    for name in ("analysis.ipynb", "data/customers.csv"):
        assert archive.read(name) == (on_disk / name).read_bytes(), name


def test_jupyter_lists_the_extensions_enabled_and_ok(lab):
    for args, name in (
        (("labextension", "list"), "nbshare"),
        (("server", "extension", "list"), "nbshare.jupyter"),
    ):
        listed = jupyter_command(lab.env, *args)
        text = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)  # no colours
        assert listed.returncode == 0, text
        version = re.escape(nbshare.__version__)
        assert re.search(rf"^\s*{re.escape(name)} (v?{version} )?enabled", text, re.M), text
        assert re.search(rf"^\s*{re.escape(name)} v?{version} (enabled )?OK", text, re.M), text


def test_notebook_7_has_the_button_the_command_and_the_menus(tmp_path, server, context):
    root = tmp_path / "root"
    (root / "churn").mkdir(parents=True)
    (root / "report.ipynb").write_bytes(notebook(markdown("# Notebook 7"), **PYTHON_KERNEL))
    env = jupyter_env(tmp_path, server.url)
    live = start_jupyter(root, env, tmp_path / "notebook.log", app="notebook")
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT)
        page.goto(f"{live.url}notebooks/report.ipynb?token={live.token}")
        page.locator(".nbshare-share-button").first.wait_for(state="visible")
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^File$")).click()
        page.locator(".lm-Menu-item", has_text="Share Notebook by Link").click()
        form = page.locator(".jp-Dialog .nbshare-dialog")
        form.wait_for(state="visible")
        assert server.url in form.inner_text()
        url = share_in_dialog(page)
        close_dialog(page)
        assert (
            httpx.get(f"{server.url}/n/{share_id(url)}.ipynb", timeout=60).content
            == (root / "report.ipynb").read_bytes()
        )

        tree = context.new_page()
        tree.set_default_timeout(WAIT)
        tree.goto(f"{live.url}tree?token={live.token}")
        tree.locator(
            ".jp-DirListing-item", has=tree.locator(".jp-DirListing-itemText", has_text="churn")
        ).first.click(button="right")
        tree.locator(".lm-Menu-item", has_text="Share Folder by Link").wait_for(state="visible")
    finally:
        live.stop()


def test_screenshots_are_in_the_readme():
    readme = (REPO / "README.md").read_text()
    for name in ("jupyterlab-share-button.png", "jupyterlab-share-dialog.png"):
        assert f"docs/screenshots/{name}" in readme
        assert Path(SCREENSHOTS / name).exists()
