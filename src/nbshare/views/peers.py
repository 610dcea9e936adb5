"""The routes that the clients of the services nbshare replaces call, so they work unchanged.

- `POST /upload` serves two clients. The home page's form without JavaScript (field `file`)
  gets the page with the link, as it always has (pages.created_page). NbHub's CLI (`nbhub`)
  posts the field `notebook-data` without asking for HTML. It expects `200` with JSON
  `{"path": URL}` and prints `path`; on any other status it only says that something went
  wrong, so its errors answer `{"error": {"code", "message"}}` with a 4xx status.
- `GET /notebook/{id}` is the shape of NbHub's links: it redirects to the share's page.
- `POST /api/v1/notebook` serves notebooksharing.space's `nbss-upload`: the file in the field
  `notebook`, plus `enable-discovery` (search engines may index the page) and
  `enable-annotations` (ignored: nbshare has no annotations). It answers `200 text/plain`
  holding the share's URL. nbss-upload prints the body whatever the status and exits 0, so
  an error is a sentence in text/plain ("nbshare: ..."), never anything like a link.

Every upload goes through the share service like any other: size limits while the body
streams in, the render pool, the per-client quotas, the same validation. The owner token is
made as for any share, but these clients have nowhere to keep it, so it is not sent: their
shares cannot be updated or deleted by their uploader (docs/usage.md).
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from ..errors import NbshareError
from ..uploads import takes_uploads
from .common import (
    client_address,
    file_from_form,
    links,
    read_form,
    refuse_secrets_in_url,
    service,
    upload_fields,
)
from .pages import created_page

router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_secrets_in_url)])

NBHUB_FIELD = "notebook-data"
NBSS_FIELD = "notebook"
# Enough for a multipart body's first part headers: a boundary, a name and a file name.
HEAD = 4096
FIRST_NAME = re.compile(rb'^content-disposition:[^\r\n]*?\bname="([^"\r\n]*)"', re.IGNORECASE | re.MULTILINE)
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off", ""}


class FirstField:
    """The name of a multipart body's first field, read from its first bytes as they
    stream past: it tells which client posted before the body is whole, so an upload
    refused half-way (too large) is refused in that client's shape."""

    def __init__(self, body: AsyncIterator[bytes]):
        self.body = body
        self.head = b""

    async def stream(self) -> AsyncGenerator[bytes, None]:
        async for chunk in self.body:
            if len(self.head) < HEAD:
                self.head += chunk[: HEAD - len(self.head)]
            yield chunk

    @property
    def name(self) -> str | None:
        found = FIRST_NAME.search(self.head.split(b"\r\n\r\n", 1)[0])
        return found.group(1).decode("latin-1") if found else None


@router.post("/upload")
@takes_uploads
async def upload(request: Request) -> Response:
    """The upload form's page with the link, or NbHub's JSON (its field, no HTML asked)."""
    limit = request.app.state.settings.max_upload_bytes
    first = FirstField(request.stream())
    try:
        form = await read_form(request, limit, stream=first.stream())
        if not from_nbhub(request, first):
            return await created_page(request, await upload_fields(form, limit))
        url = await publish(request, form, NBHUB_FIELD, discoverable=False)
    except NbshareError as exc:
        if not from_nbhub(request, first):
            raise  # the form's HTML error page
        body = {"error": {"code": exc.code, "message": exc.message}}
        return JSONResponse(body, status_code=exc.status)
    return JSONResponse({"path": url, "url": url}, headers={"Cache-Control": "no-store"})


def from_nbhub(request: Request, first: FirstField) -> bool:
    """NbHub's field, from a client that does not ask for a page (browsers do)."""
    return first.name == NBHUB_FIELD and "text/html" not in request.headers.get("accept", "").lower()


@router.get("/notebook/{share_id}")
async def nbhub_link(request: Request, share_id: str) -> Response:
    """NbHub's links, /notebook/ID, lead to the share's page."""
    await service(request).exists(share_id)  # unknown, malformed and expired ids: the usual 404
    return RedirectResponse(links(request, share_id).index, status_code=301)


@router.post("/api/v1/notebook")
@takes_uploads
async def nbss_upload(request: Request) -> Response:
    """nbss-upload's upload: the link, or an error sentence, as plain text."""
    limit = request.app.state.settings.max_upload_bytes
    try:
        form = await read_form(request, limit)
        url = await publish(request, form, NBSS_FIELD, discoverable=flag(form, "enable-discovery"))
    except NbshareError as exc:
        return PlainTextResponse(f"nbshare: {exc.message}\n", status_code=exc.status)
    return PlainTextResponse(f"{url}\n", headers={"Cache-Control": "no-store"})


async def publish(request: Request, form: FormData, field: str, *, discoverable: bool) -> str:
    """A new share of the file in `field`, as any upload makes one; its link."""
    data, filename = await file_from_form(form, field, request.app.state.settings.max_upload_bytes)
    created = await service(request).create(
        data, filename=filename, title=None, client=client_address(request), discoverable=discoverable
    )
    return links(request, created.share.id).index


def flag(form: FormData, name: str) -> bool:
    """A yes/no field: Python's `requests` sends booleans as "True" and "False"."""
    value = form.get(name)
    text = value.strip().lower() if isinstance(value, str) else ""
    if text not in TRUE | FALSE:
        raise NbshareError(f"{name} must be true or false.", code="bad_flag")
    return text in TRUE
