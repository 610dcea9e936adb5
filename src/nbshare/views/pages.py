"""The HTML pages: home and upload form, the share page, the rendered notebook, downloads."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..render.headings import TocEntry, nest
from ..security.headers import content_csp
from .common import links, service, upload_from_form

router = APIRouter(include_in_schema=False)


def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    html = request.app.state.templates.get_template(template).render(
        settings=request.app.state.settings, **context
    )
    return HTMLResponse(html, status_code=status)


def human_size(size: int) -> str:
    amount = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1024
    return ""


@router.get("/")
async def home(request: Request) -> HTMLResponse:
    return render(request, "home.html", limit=human_size(request.app.state.settings.max_upload_bytes))


@router.post("/upload")
async def upload(request: Request) -> HTMLResponse:
    """The no-JavaScript upload form posts here and gets a page with the link."""
    data, filename, title = await upload_from_form(request, request.app.state.settings.max_upload_bytes)
    created = await service(request).create(data, filename=filename, title=title)
    urls = links(request, created.share.id)
    response = render(
        request, "created.html", status=201, share=created.share, urls=urls,
        manage_url=urls.manage(created.owner_token),
    )
    response.headers["Cache-Control"] = "no-store"  # it carries the owner token
    return response


@router.get("/n/{share_id}.ipynb")
async def download(request: Request, share_id: str) -> Response:
    share = await service(request).get(share_id)
    data = await service(request).read_blob(share.version.original_key)
    return Response(
        data,
        media_type="application/x-ipynb+json",
        headers={
            "Content-Disposition": content_disposition(share.version.filename),
            "Cache-Control": "no-cache",
            "ETag": f'"{share.version.sha256}"',
        },
    )


@router.get("/n/{share_id}")
async def share_page(request: Request, share_id: str) -> HTMLResponse:
    share = await service(request).get(share_id)
    toc = nest([TocEntry(**entry) for entry in share.version.toc])
    return render(
        request, "share.html", share=share, urls=links(request, share_id), toc=toc,
        size=human_size(share.version.size),
    )


@router.get("/n/{share_id}/content")
async def content(request: Request, share_id: str) -> Response:
    """The stored nbconvert page, served in a CSP sandbox (an opaque origin)."""
    share = await service(request).get(share_id)
    html = await service(request).read_blob(share.version.page_key)
    return Response(
        html,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": content_csp(request.app.state.settings.public_url),
            "Cache-Control": "no-cache",
        },
    )


@router.get("/n/{share_id}/manage")
async def manage(request: Request, share_id: str) -> HTMLResponse:
    share = await service(request).get(share_id)
    return render(request, "manage.html", share=share, urls=links(request, share_id))


def content_disposition(filename: str) -> str:
    """attachment; with an ASCII fallback and the exact name in RFC 5987 form."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
