"""The HTML pages: home and upload form, share pages, unlock, rendered notebooks, downloads."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..errors import NbshareError, NotFound, PasswordRequired, WrongPassword
from ..expiry import describe, parse_duration
from ..prepare import IMAGE_TYPES
from ..protection import is_packed, unpack_page
from ..render.assets import valid_media_type
from ..render.headings import TocEntry, nest
from ..security.headers import content_csp
from ..shares import Share
from ..text import human_size
from .common import (
    Links,
    client_address,
    links,
    owner_grant,
    private,
    refuse_secrets_in_url,
    service,
    set_grant_cookie,
    upload_from_form,
    view_grant,
    visitor_grant,
)

# Every page refuses secrets in its query string, so none can forget to.
router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_secrets_in_url)])


def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    html = request.app.state.templates.get_template(template).render(
        settings=request.app.state.settings, **context
    )
    return HTMLResponse(html, status_code=status)


async def open_share(request: Request, share_id: str, version: int | None = None) -> Share:
    return await service(request).open(
        share_id, version=version, grant=visitor_grant(request, share_id),
        owner_grant=owner_grant(request, share_id), view_grant=view_grant(request, share_id),
    )


def guarded(share: Share, response: Response) -> Response:
    # A view-limited share too: a cached copy would be a view nobody counted.
    return private(response) if share.row.protected or share.limited else response


async def viewed(request: Request, share: Share, response: Response, *, main: bool = True) -> Response:
    """`response`, once the view it gives is counted (shares.py, `take_view`), carrying
    the view grant that lets the same reader load the rest of that view."""
    grant = await service(request).take_view(share, main=main)
    if grant is not None:
        set_grant_cookie(request, response, share.id, grant, view=True)
    return guarded(share, response)


def framed_from_public_origin(share: Share) -> bool:
    """Whether the frame must load from the public origin, where the grant cookies live."""
    return share.row.protected or share.limited


@router.get("/")
async def home(request: Request) -> HTMLResponse:
    settings = request.app.state.settings
    return render(request, "home.html", limit=human_size(settings.max_upload_bytes),
                  lifetimes=lifetime_choices(settings.max_expiry))


PRESETS = [("1h", "1 hour"), ("1d", "1 day"), ("7d", "7 days"), ("30d", "30 days"), ("never", "never")]


def lifetime_choices(maximum: str) -> list[tuple[str, str]]:
    """The form's presets that this server allows: none longer than its maximum lifetime."""
    longest = parse_duration(maximum)
    if longest is None:
        return PRESETS
    allowed = [(v, label) for v, label in PRESETS if (parse_duration(v) or longest * 2) <= longest]
    if not any(parse_duration(v) == longest for v, _ in allowed):
        allowed.append((maximum, f"{describe(longest)} (the longest allowed)"))
    return allowed


@router.post("/upload")
async def upload(request: Request) -> HTMLResponse:
    """The no-JavaScript upload form posts here and gets a page with the link."""
    form = await upload_from_form(request, request.app.state.settings.max_upload_bytes)
    created = await service(request).create(
        form.data, filename=form.filename, title=form.title, password=form.password,
        expires=form.expires, max_views=form.max_views, client=client_address(request),
    )
    urls = links(request, created.share.id)
    response = render(
        request, "created.html", status=201, share=created.share, urls=urls,
        manage_url=urls.manage(created.owner_token),
    )
    response.headers["Cache-Control"] = "no-store"  # it carries the owner token
    return response


async def _share_page(request: Request, share_id: str, version: int | None,
                      notebook: str | None = None) -> Response:
    try:
        share = await open_share(request, share_id, version)
    except PasswordRequired:
        await service(request).exists(share_id)  # unknown and expired ids stay a plain 404
        return private(render(request, "unlock.html", status=401, urls=links(request, share_id)))
    meta = share.meta
    assert meta is not None
    shown = None if share.is_current else share.version.number
    if share.version.kind == "bundle" and notebook is None:
        # A bundle's index shows its content (README, files): on a view-limited share it
        # is the view, and its grant opens the bundle's notebooks and files.
        index = _bundle_index(request, share, links(request, share_id, shown,
                                                    protected=framed_from_public_origin(share)))
        return await viewed(request, share, index, main=False)
    if notebook is not None:
        entry = meta.notebook(notebook) if share.version.kind == "bundle" else None
        if entry is None:
            raise NotFound("This bundle has no notebook by that name.")
        bundle_file = meta.bundle_file(notebook) or {}
        toc_entries, title, size = entry["toc"], entry["title"], bundle_file.get("size", 0)
        files = [f for f in meta.files if f["role"] in EMBEDDED and f["notebook"] == notebook]
    else:
        toc_entries, title, size = meta.toc, meta.title, meta.size
        files = [f for f in meta.files if f["role"] in EMBEDDED]
    urls = links(request, share_id, shown, notebook, protected=framed_from_public_origin(share))
    return guarded(share, render(
        request, "share.html", share=share, meta=meta, urls=urls,
        toc=nest([TocEntry(**e) for e in toc_entries]),
        size=human_size(size), title=title, notebook=notebook, files=files, human_size=human_size,
        filename=notebook.rsplit("/", 1)[-1] if notebook else meta.filename,
        clone=clone_command(urls),
    ))


EMBEDDED = ("download", "attachment")


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header admits gzip (a `q=0` refuses it)."""
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            q = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


def clone_command(urls: Links) -> str:
    return f"nbshare clone {urls.index}"


def _bundle_index(request: Request, share: Share, urls: Links) -> HTMLResponse:
    meta = share.meta
    assert meta is not None
    manifest = meta.manifest
    env_paths = {e["path"] for e in manifest.get("env", [])}
    notebooks = manifest.get("notebooks", [])
    return render(
        request, "bundle.html", share=share, meta=meta, urls=urls, size=human_size(meta.size),
        notebooks=notebooks, readme=manifest.get("readme"), env=manifest.get("env", []),
        files=[f for f in meta.files if f["role"] == "bundle"], env_paths=env_paths,
        human_size=human_size, clone=clone_command(urls),
        toc=nest([TocEntry(**e) for e in meta.toc]),
    )


async def _download(request: Request, share_id: str, version: int | None) -> Response:
    share = await open_share(request, share_id, version)
    assert share.meta is not None
    if share.version.kind == "bundle":
        raise NotFound("This share is a bundle: download it as .zip, or its notebooks one by one.")
    data = await service(request).read(share, "original")
    return await viewed(request, share, Response(  # taking the file is reading it too
        data,
        media_type="application/x-ipynb+json",
        headers={
            "Content-Disposition": content_disposition(share.meta.filename),
            "Cache-Control": "no-cache",
        },
    ))


async def _content(request: Request, share_id: str, version: int | None,
                   notebook: str | None = None) -> Response:
    """The stored nbconvert page, served in a CSP sandbox (an opaque origin). For a
    bundle: a notebook's page, or (notebook None) its README's."""
    share = await open_share(request, share_id, version)
    assert share.meta is not None
    which = "page"
    if notebook is not None:
        entry = share.meta.notebook(notebook) if share.version.kind == "bundle" else None
        if entry is None:
            raise NotFound("This bundle has no notebook by that name.")
        which = entry["page_key"]
    elif share.version.kind == "bundle":
        readme = share.meta.manifest.get("readme")
        if not readme:
            raise NotFound("This bundle has no README.")
        which = readme["page_key"]
    # Read before the view is counted: the reader who is counted gets the content.
    stored = await service(request).read_framed_page(share, which)
    headers = {
        "Content-Security-Policy": content_csp(request.app.state.settings.public_url),
        "Cache-Control": "no-cache",
        "Vary": "Accept-Encoding",
    }
    if is_packed(stored) and accepts_gzip(request.headers.get("accept-encoding", "")):
        body = stored  # compressed once, at upload; the gzip middleware leaves it as it is
        headers["Content-Encoding"] = "gzip"
    else:
        body = unpack_page(stored)
    response = Response(body, media_type="text/html; charset=utf-8", headers=headers)
    # A bundle's README frame is part of its index's view; a notebook is a view of its own.
    return await viewed(request, share, response, main=notebook is not None or share.version.kind != "bundle")


async def _archive(request: Request, share_id: str, version: int | None) -> Response:
    """A bundle's files as one .zip, the exact archive `nbshare clone` checks and unpacks."""
    share = await open_share(request, share_id, version)
    assert share.meta is not None
    if share.version.kind != "bundle":
        raise NotFound("This share is a single notebook: download the .ipynb.")
    data = await service(request).read(share, "original")
    return await viewed(request, share, Response(data, media_type="application/zip", headers={
        "Content-Disposition": content_disposition(share.meta.filename),
        "Cache-Control": "no-cache",
        "X-Nbshare-Sha256": share.meta.sha256,
    }))


async def _file(request: Request, share_id: str, version: int | None, *, address: str | None = None,
                path: str | None = None, name: str | None = None) -> Response:
    """One file of a version: a bundle file by its path, or any file by its address."""
    share = await open_share(request, share_id, version)
    assert share.meta is not None
    entry = share.meta.file(address, name) if address is not None else share.meta.bundle_file(path or "")
    if entry is None:
        raise NotFound("This share has no such file.")
    # Checked again here for shares stored before data: URI types were checked at upload.
    media_type = served_type(valid_media_type(entry["media_type"]))
    shown = media_type in IMAGE_TYPES
    headers = {
        "Content-Disposition": content_disposition(entry["name"].rsplit("/", 1)[-1], inline=shown),
        # Whatever the file is, it never runs as a page of the service.
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'",
        # Never kept without asking: a cache must not outlive a password added or the
        # share deleted. The ETag makes asking cheap.
        "Cache-Control": "no-cache",
        "ETag": f'"{entry["address"]}"',
    }
    cacheable = not (share.row.protected or share.limited)
    if cacheable and headers["ETag"] in etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers={k: headers[k] for k in ("Cache-Control", "ETag")})
    data = await service(request).read(share, entry["key"])
    return await viewed(request, share, Response(data, media_type=media_type, headers=headers), main=False)


def served_type(media_type: str) -> str:
    """The type a file is served as. Images as themselves (shown, in a sandbox); any other
    text (scripts, HTML, XML, CSS...) as plain text unless it is known to be inert, so a
    page of the service's origin can never load it as a script or a stylesheet."""
    base = (media_type or "").split(";")[0].strip().lower()
    if not base:
        return "application/octet-stream"
    textual = base.startswith("text/") or base.endswith(("xml", "+json")) or "script" in base
    if base in IMAGE_TYPES or not textual or base in INERT_TEXT:
        return media_type
    return "text/plain; charset=utf-8"


def etags(if_none_match: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]


INERT_TEXT = {"text/plain", "text/csv", "text/tab-separated-values", "text/markdown", "text/x-python"}


@router.get("/n/{share_id}.ipynb")
async def download(request: Request, share_id: str) -> Response:
    return await _download(request, share_id, None)


@router.get("/n/{share_id}.zip")
async def archive(request: Request, share_id: str) -> Response:
    return await _archive(request, share_id, None)


@router.get("/n/{share_id}/v/{number}.zip")
async def version_archive(request: Request, share_id: str, number: int) -> Response:
    return await _archive(request, share_id, number)


@router.get("/n/{share_id}/nb/{path:path}")
async def notebook_page(request: Request, share_id: str, path: str) -> Response:
    return await _share_page(request, share_id, None, path)


@router.get("/n/{share_id}/v/{number}/nb/{path:path}")
async def version_notebook_page(request: Request, share_id: str, number: int, path: str) -> Response:
    return await _share_page(request, share_id, number, path)


@router.get("/n/{share_id}/content/nb/{path:path}")
async def notebook_content(request: Request, share_id: str, path: str) -> Response:
    return await _content(request, share_id, None, path)


@router.get("/n/{share_id}/v/{number}/content/nb/{path:path}")
async def version_notebook_content(request: Request, share_id: str, number: int, path: str) -> Response:
    return await _content(request, share_id, number, path)


@router.get("/n/{share_id}/files/{path:path}")
async def bundle_file(request: Request, share_id: str, path: str) -> Response:
    return await _file(request, share_id, None, path=path)


@router.get("/n/{share_id}/v/{number}/files/{path:path}")
async def version_bundle_file(request: Request, share_id: str, number: int, path: str) -> Response:
    return await _file(request, share_id, number, path=path)


@router.get("/n/{share_id}/f/{address}/{name}")
async def embedded_file(request: Request, share_id: str, address: str, name: str) -> Response:
    return await _file(request, share_id, None, address=address, name=name)


@router.get("/n/{share_id}/v/{number}/f/{address}/{name}")
async def version_embedded_file(request: Request, share_id: str, number: int, address: str,
                                name: str) -> Response:
    return await _file(request, share_id, number, address=address, name=name)


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
    except NbshareError as exc:
        if exc.code != "bad_password":
            raise
        return private(render(request, "unlock.html", status=400, urls=urls, error=exc.message))
    response = RedirectResponse(urls.page, status_code=303)
    set_grant_cookie(request, response, share_id, grant)
    return private(response)


@router.get("/n/{share_id}/manage")
async def manage(request: Request, share_id: str) -> Response:
    await service(request).exists(share_id)
    return private(render(request, "manage.html", share_id=share_id, urls=links(request, share_id)))


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """attachment (or inline); with an ASCII fallback and the exact name in RFC 5987 form."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
