"""The extension's endpoints under {base_url}nbshare/ (documented in docs/jupyter.md).

Every handler carries @tornado.web.authenticated and @authorized, so Jupyter Server's own
authentication, authorization and XSRF rules apply as to its other APIs. The REST handlers
are APIHandlers whose errors answer JSON {"message": ..., "code": ...} for the dialog to
show; the pages a browser is sent to (manage, open) answer HTML. Never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

import tornado
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_escape, url_path_join

from ..client import ClientError
from ..publishing import PublishError
from . import pages, receiving, sharing
from .receiving import NeedsPassword
from .sharing import Copied, Options, Progress, ShareError

PROGRESS_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
RUNNING: dict[str, Progress] = {}  # progress of the uploads under way, by the dialog's id


class NbshareHandler(APIHandler):
    def fail(self, error: ShareError) -> None:
        self.set_status(error.status)
        self.finish(json.dumps({"message": error.message, "code": error.code}))

    def paths_argument(self, given: Any) -> list[str]:
        if isinstance(given, str):
            given = [given]
        if not isinstance(given, list) or not given:
            raise ShareError('Name what to share: "path" (a notebook, file or folder) or "paths" (a list).')
        return [sharing.clean_path(p) for p in given]

    def key(self, paths: list[str]) -> str:
        return sharing.history_key(paths, getattr(self.contents_manager, "root_dir", None))

    def manage_link(self, share_id: str) -> str:
        return url_path_join(self.base_url, "nbshare", "manage", share_id)


class PublishHandler(NbshareHandler):
    # It reads files, as the contents API does, and acts as their owner on the nbshare server
    # (an update may change a share's password): write permission, not just read.
    auth_resource = "contents"

    @tornado.web.authenticated
    @authorized("write")
    async def post(self) -> None:
        progress = Progress()
        progress_id = None
        try:
            body = self.get_json_body() or {}
            if not isinstance(body, dict):
                raise ShareError("The request body must be a JSON object.")
            options = parse_options(body)
            paths = self.paths_argument(body.get("paths", body.get("path")))
            given_id = body.get("progress_id")
            if isinstance(given_id, str) and PROGRESS_ID.fullmatch(given_id):
                progress_id = given_id
                RUNNING[progress_id] = progress
            server = sharing.server_url()
            copied = await self.copy_out(paths)
            try:
                answer = await asyncio.to_thread(sharing.send, copied, options, progress, server)
            finally:
                await asyncio.to_thread(_remove, copied.folder)
        except ShareError as exc:
            self.fail(exc)
            return
        except (ClientError, PublishError) as exc:
            self.fail(sharing.friendly(exc, server))
            return
        except tornado.web.HTTPError:
            raise
        except Exception:
            self.log.exception("nbshare: sharing failed")
            self.fail(ShareError("Sharing failed unexpectedly; the Jupyter server's log says why.", 500))
            return
        finally:
            progress.state = "done"
            if progress_id:
                RUNNING.pop(progress_id, None)
        answer["manage_url"] = self.manage_link(answer["id"])
        answer["server"] = server
        self.finish(json.dumps(answer))

    async def copy_out(self, paths: list[str]) -> Copied:
        """What to share. Every named path is checked by the contents manager first (inside its
        root, not hidden, there). A bundle on a file-backed contents manager is then read from
        disk with the CLI's own rules (.gitignore, no environments or caches, no links out of
        the folder, sizes checked before reading); anything else is read through the contents
        manager into a private temporary folder."""
        key = self.key(paths)
        models = [await self.model(path) for path in paths]
        one_notebook = len(paths) == 1 and models[0]["type"] == "notebook"
        local = None if one_notebook else sharing.local_paths(self.contents_manager, paths)
        if local is not None:
            return Copied(folder=None, tops=local, key=key)
        folder = sharing.new_folder()
        parent, tops = sharing.local_copy(folder, paths)
        copied = Copied(folder=folder, tops=tops, key=key)
        try:
            for path, top in zip(paths, tops, strict=True):
                await self.copy_one(copied, path, top)
        except BaseException:
            await asyncio.to_thread(_remove, folder)
            raise
        return copied

    async def model(self, path: str) -> dict[str, Any]:
        """The contents manager's model of `path`, without content: it refuses what is outside
        its root or hidden, which is then "no such file" here too."""
        try:
            model: dict[str, Any] = await ensure_async(self.contents_manager.get(path, content=False))
        except tornado.web.HTTPError as exc:
            if exc.status_code in (403, 404):
                missing = f"No such file or folder in Jupyter: {path or '/'}"
                raise ShareError(missing, 404, "missing") from None
            raise
        return model

    async def copy_one(self, copied: Copied, path: str, target: Any, depth: int = 0) -> None:
        if depth > sharing.MAX_DEPTH:  # a symbolic link to a folder above would never end
            raise ShareError(f"{path} is more than {sharing.MAX_DEPTH} folders deep: share one inside it.")
        cm = self.contents_manager
        model = await self.model(path)
        if model["type"] == "directory":
            copied.folders += 1  # two links to a folder above double the walk at every level
            if copied.folders > sharing.MAX_FOLDERS:
                too_many = f"These are more than the {sharing.MAX_FOLDERS} folders a share can hold."
                raise ShareError(too_many, 413, "too_large")
            listing = await ensure_async(cm.get(path, content=True, type="directory"))
            target.mkdir(parents=True, exist_ok=True)
            for child in listing["content"]:
                await self.copy_one(copied, child["path"], target / child["name"], depth + 1)
            return
        sharing.check_size(copied, model.get("size"))  # before reading it into memory
        model = await ensure_async(cm.get(path, content=True, type="file", format="base64"))
        sharing.write_file(copied, target, model["content"])


def parse_options(body: dict[str, Any]) -> Options:
    def text(name: str) -> str | None:
        value = body.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ShareError(f'"{name}" must be a string.')
        return value

    max_views = body.get("max_views")
    if max_views == "":
        max_views = None
    if max_views is not None and (
        isinstance(max_views, bool) or not isinstance(max_views, int) or max_views < 1
    ):
        raise ShareError('"max_views" must be a whole number of views, 1 or more.')
    title = text("title")
    if title is not None and len(title) > sharing.MAX_TITLE:
        raise ShareError(f'"title" is longer than {sharing.MAX_TITLE} characters.')
    return Options(
        password=text("password"),
        expires=text("expires"),
        max_views=max_views,
        update=bool(body.get("update")),
        title=title,
    )


class InfoHandler(NbshareHandler):
    auth_resource = "contents"

    @tornado.web.authenticated
    @authorized("read")
    async def get(self) -> None:
        try:
            paths = self.paths_argument(self.get_arguments("path"))
            info = await asyncio.to_thread(sharing.about, sharing.server_url(), self.key(paths))
        except ShareError as exc:  # bad paths, or a bad nbshare config file
            self.fail(exc)
            return
        self.finish(json.dumps(info))


class ProgressHandler(NbshareHandler):
    auth_resource = "contents"

    @tornado.web.authenticated
    @authorized("read")
    def get(self, progress_id: str) -> None:
        progress = RUNNING.get(progress_id)
        self.finish(
            json.dumps(progress.as_json() if progress else {"state": "unknown", "sent": 0, "total": 0})
        )


class ManageHandler(JupyterHandler):
    """The owner's manage page, reached through Jupyter: its link carries the owner token,
    which stays on this side until the user follows it (the dialog's JSON never holds it)."""

    auth_resource = "contents"

    @tornado.web.authenticated
    @authorized("write")  # the redirect carries the owner token: whoever follows it owns the share
    def get(self, share_id: str) -> None:
        try:
            url = sharing.manage_url(share_id, sharing.server_url())
        except ShareError as exc:  # a bad nbshare config file
            raise tornado.web.HTTPError(exc.status, exc.message) from None
        if url is None:
            raise tornado.web.HTTPError(404, "This share is not in your nbshare history.")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.redirect(url)


NO_URL = "Say which share to open: nbshare/open?url=https://.../n/ID"


class OpenHandler(JupyterHandler):
    """Open in my Jupyter. GET ?url=SHARE only asks: a page naming the share, whose form's
    POST (Jupyter's XSRF check applies) fetches the share into a new folder of the root and
    redirects to it in JupyterLab. A GET never writes: any web page can send a signed-in
    reader to this address, and must not be able to drop files into their Jupyter (or fill
    its disk) without a click here. A protected share answers a form whose POST carries the
    password in its body. Failures are pages in words."""

    auth_resource = "contents"  # it writes a new folder into the root, as saving a file does

    @tornado.web.authenticated
    @authorized("write")
    async def get(self) -> None:
        self.page_headers()
        url = self.get_argument("url", "")
        try:
            if not url:
                raise ShareError(NO_URL)
            receiving.share_location(url)  # the link's shape only: nothing is fetched yet
        except ShareError as exc:
            self.answer(exc.status, pages.failure(exc.message, url or None))
            return
        self.answer(200, pages.confirm_form(url, self.request.path, self.xsrf_form_html()))

    @tornado.web.authenticated
    @authorized("write")
    async def post(self) -> None:
        await self.open(password=self.get_body_argument("password", None))

    async def open(self, password: str | None) -> None:
        self.page_headers()
        url = self.get_argument("url", "")
        root = getattr(self.contents_manager, "root_dir", None)
        try:
            if not url:
                raise ShareError(NO_URL)
            if not root or not os.path.isdir(root):
                raise ShareError(
                    "This Jupyter does not keep its files in a folder nbshare can write to.", 501
                )
            opened = await asyncio.to_thread(receiving.receive, url, password, Path(root))
        except NeedsPassword:
            self.answer(200, pages.password_form(url, self.request.path, self.xsrf_form_html()))
            return
        except ShareError as exc:
            if exc.code == "wrong_password":
                form = pages.password_form(url, self.request.path, self.xsrf_form_html(), "Wrong password.")
                self.answer(403, form)
            else:
                self.answer(exc.status, pages.failure(exc.message, url or None))
            return
        except Exception:
            self.log.exception("nbshare: opening a share failed")
            self.answer(
                500, pages.failure("Opening failed unexpectedly; the Jupyter server's log says why.", url)
            )
            return
        self.log.info("nbshare: opened %s into %s", url, opened.folder)
        self.redirect(url_path_join(self.base_url, "lab", "tree", url_escape(opened.path)))

    def page_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        # same-origin, not no-referrer: with no-referrer the browser sends the form's POST with
        # `Origin: null`, which Jupyter refuses as cross-site. The pages load nothing from
        # elsewhere, so the share's link in their address goes nowhere else either.
        self.set_header("Referrer-Policy", "same-origin")

    def answer(self, status: int, html: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(html)


def _remove(folder: Any) -> None:
    import shutil

    if folder is not None:  # None: the share was read from its real paths, nothing to remove
        shutil.rmtree(folder, ignore_errors=True)


def add_handlers(web_app: Any) -> None:
    base = url_path_join(web_app.settings["base_url"], "nbshare")
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "api", "publish"), PublishHandler),
            (url_path_join(base, "api", "info"), InfoHandler),
            (url_path_join(base, "api", "progress", "([A-Za-z0-9_-]+)"), ProgressHandler),
            (url_path_join(base, "manage", "([A-Za-z0-9_-]+)"), ManageHandler),
            (url_path_join(base, "open"), OpenHandler),
        ],
    )
