"""The HTML pages: home and upload form, share pages, unlock, rendered notebooks, downloads."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..errors import PasswordRequired, WrongPassword
from ..render.headings import TocEntry, nest
from ..security.headers import content_csp
from ..shares import Share
from .common import (
    client_address,
    links,
    owner_grant,
    private,
    refuse_secrets_in_url,
    service,
    set_grant_cookie,
    upload_from_form,
    visitor_grant,
)

# Every page refuses secrets in its query string, so none can forget to.
router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_secrets_in_url)])


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


async def open_share(request: Request, share_id: str, version: int | None = None) -> Share:
    return await service(request).open(
        share_id, version=version, grant=visitor_grant(request, share_id),
        owner_grant=owner_grant(request, share_id),
    )


def guarded(share: Share, response: Response) -> Response:
    return private(response) if share.row.protected else response


@router.get("/")
async def home(request: Request) -> HTMLResponse:
    return render(request, "home.html", limit=human_size(request.app.state.settings.max_upload_bytes))


@router.post("/upload")
async def upload(request: Request) -> HTMLResponse:
    """The no-JavaScript upload form posts here and gets a page with the link."""
    form = await upload_from_form(request, request.app.state.settings.max_upload_bytes)
    created = await service(request).create(
        form.data, filename=form.filename, title=form.title, password=form.password,
        expires=form.expires, max_views=form.max_views,
    )
    urls = links(request, created.share.id)
    response = render(
        request, "created.html", status=201, share=created.share, urls=urls,
        manage_url=urls.manage(created.owner_token),
    )
    response.headers["Cache-Control"] = "no-store"  # it carries the owner token
    return response


async def _share_page(request: Request, share_id: str, version: int | None) -> Response:
    try:
        share = await open_share(request, share_id, version)
    except PasswordRequired:
        await service(request).exists(share_id)  # unknown and expired ids stay a plain 404
        return private(render(request, "unlock.html", status=401, urls=links(request, share_id)))
    meta = share.meta
    assert meta is not None
    toc = nest([TocEntry(**entry) for entry in meta.toc])
    urls = links(request, share_id, None if share.is_current else share.version.number)
    return guarded(share, render(
        request, "share.html", share=share, meta=meta, urls=urls, toc=toc, size=human_size(meta.size),
    ))


async def _download(request: Request, share_id: str, version: int | None) -> Response:
    share = await open_share(request, share_id, version)
    assert share.meta is not None
    data = await service(request).read(share, "original")
    if share.is_current and not share.as_owner:
        await service(request).count_view(share)  # taking the file is reading it too
    return guarded(share, Response(
        data,
        media_type="application/x-ipynb+json",
        headers={
            "Content-Disposition": content_disposition(share.meta.filename),
            "Cache-Control": "no-cache",
        },
    ))


async def _content(request: Request, share_id: str, version: int | None) -> Response:
    """The stored nbconvert page, served in a CSP sandbox (an opaque origin)."""
    share = await open_share(request, share_id, version)
    html = await service(request).read(share, "page")
    if share.is_current and not share.as_owner:
        await service(request).count_view(share)  # the owner previewing is not a view
    return guarded(share, Response(
        html,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": content_csp(request.app.state.settings.public_url),
            "Cache-Control": "no-cache",
        },
    ))


@router.get("/n/{share_id}.ipynb")
async def download(request: Request, share_id: str) -> Response:
    return await _download(request, share_id, None)


@router.get("/n/{share_id}")
async def share_page(request: Request, share_id: str) -> Response:
    return await _share_page(request, share_id, None)


@router.get("/n/{share_id}/content")
async def content(request: Request, share_id: str) -> Response:
    return await _content(request, share_id, None)


@router.get("/n/{share_id}/v/{number}.ipynb")
async def version_download(request: Request, share_id: str, number: int) -> Response:
    return await _download(request, share_id, number)


@router.get("/n/{share_id}/v/{number}")
async def version_page(request: Request, share_id: str, number: int) -> Response:
    return await _share_page(request, share_id, number)


@router.get("/n/{share_id}/v/{number}/content")
async def version_content(request: Request, share_id: str, number: int) -> Response:
    return await _content(request, share_id, number)


@router.post("/n/{share_id}/unlock")
async def unlock(request: Request, share_id: str) -> Response:
    """The unlock form: a right password sets a grant cookie and returns to the share."""
    form = await request.form(max_files=0, max_fields=2, max_part_size=4096)
    password = form.get("password")
    urls = links(request, share_id)
    try:
        grant = await service(request).unlock(
            share_id, password if isinstance(password, str) else "", client_address(request)
        )
    except WrongPassword as exc:
        return private(render(request, "unlock.html", status=401, urls=urls, error=exc.message))
    response = RedirectResponse(urls.page, status_code=303)
    set_grant_cookie(request, response, share_id, grant)
    return private(response)


@router.get("/n/{share_id}/manage")
async def manage(request: Request, share_id: str) -> Response:
    await service(request).exists(share_id)
    return private(render(request, "manage.html", share_id=share_id, urls=links(request, share_id)))


def content_disposition(filename: str) -> str:
    """attachment; with an ASCII fallback and the exact name in RFC 5987 form."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
