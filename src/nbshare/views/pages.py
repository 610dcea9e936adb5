"""The HTML pages: home and upload form, share pages, unlock, rendered notebooks, downloads."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..errors import NbshareError, NotFound, PasswordRequired, WrongPassword
from ..expiry import describe, parse_duration
from ..prepare import IMAGE_TYPES
from ..render.assets import valid_media_type
from ..render.headings import TocEntry, nest
from ..security.headers import content_csp
from ..shares import Share
from ..text import human_size
from ..urls import Links
from .common import (
    Upload,
    client_address,
    hub_user,
    identify,
    links,
    owner_grant,
    private,
    refuse_secrets_in_url,
    service,
    set_grant_cookie,
    view_grant,
    visitor_grant,
)

# Every page refuses secrets in its query string, so none can forget to.
router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_secrets_in_url)])


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = request.app.state.templates.get_template(template).render(
        settings=request.app.state.settings, **context
    )
    return HTMLResponse(html, status_code=status)


async def open_share(request: Request, share_id: str, version: int | None = None) -> Share:
    return await service(request).open(
        share_id,
        version=version,
        grant=visitor_grant(request, share_id),
        owner_grant=owner_grant(request, share_id),
        view_grant=view_grant(request, share_id),
        hub_user=identify(request),
    )


def guarded(share: Share, response: Response) -> Response:
    """`response` to a read of `share`: kept out of shared caches if private, and out of
    search engines unless its uploader made it discoverable (links are meant for the
    people they are sent to)."""
    if not share.row.discoverable:
        response.headers["X-Robots-Tag"] = "noindex"
    return private(response) if share.private or share.as_owner else response


def viewed(request: Request, share: Share, response: Response, view_grant: str | None) -> Response:
    """`response` to a read the service counted as a view, carrying the view grant that
    lets the same reader load the rest of that view."""
    if view_grant is not None:
        set_grant_cookie(request, response, share.id, view_grant, view=True)
    return guarded(share, response)


@router.get("/")
async def home(request: Request) -> HTMLResponse:
    settings = request.app.state.settings
    return render(
        request,
        "home.html",
        limit=human_size(settings.max_upload_bytes),
        lifetimes=lifetime_choices(settings.max_expiry),
    )


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


async def created_page(request: Request, form: Upload) -> HTMLResponse:
    """What the no-JavaScript upload form gets: a page with the link. The form posts to
    /upload, whose route is in peers.py (NbHub's CLI posts there too)."""
    created = await service(request).create(
        form.data,
        filename=form.filename,
        title=form.title,
        password=form.password,
        expires=form.expires,
        max_views=form.max_views,
        client=client_address(request),
        owner_user=await hub_user(request, strict=not form.audience.anyone),
        audience=form.audience,
    )
    urls = links(request, created.share.id)
    response = render(
        request,
        "created.html",
        status=201,
        share=created.share,
        urls=urls,
        manage_url=urls.manage(created.owner_token),
    )
    response.headers["Cache-Control"] = "no-store"  # it carries the owner token
    return response


async def _share_page(
    request: Request, share_id: str, version: int | None, notebook: str | None = None
) -> Response:
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
        index = _bundle_index(request, share, links(request, share_id, shown, protected=share.private))
        return viewed(request, share, index, await service(request).take_view(share, main=False))
    filename = notebook.rsplit("/", 1)[-1] if notebook else meta.filename
    if notebook is not None:
        entry = share.notebook(notebook)
        bundle_file = meta.manifest.bundle_file(notebook)
        toc_entries, title, size = entry.toc, entry.title, bundle_file.size if bundle_file else 0
    else:
        toc_entries, title, size = meta.toc, meta.title, meta.size
    files = meta.manifest.embedded(notebook)
    if share.withheld:  # the page frames the view; headings and file names come with it
        toc_entries, files = [], []
        title = title if notebook is None else filename  # a notebook's title is its heading
    urls = links(request, share_id, shown, notebook, protected=share.private)
    return guarded(
        share,
        render(
            request,
            "share.html",
            share=share,
            meta=meta,
            urls=urls,
            toc=nest([TocEntry(**e) for e in toc_entries]),
            size=human_size(size),
            title=title,
            notebook=notebook,
            files=files,
            human_size=human_size,
            filename=filename,
            clone=clone_command(urls),
        ),
    )


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
    return render(
        request,
        "bundle.html",
        share=share,
        meta=meta,
        urls=urls,
        size=human_size(meta.size),
        notebooks=manifest.notebooks,
        readme=manifest.readme,
        env=manifest.env,
        files=[f for f in meta.files if f.role == "bundle"],
        env_paths={e.path for e in manifest.env},
        human_size=human_size,
        clone=clone_command(urls),
        toc=nest([TocEntry(**e) for e in meta.toc]),
    )


async def download(request: Request, share_id: str, number: int | None) -> Response:
    share = await open_share(request, share_id, number)
    assert share.meta is not None
    if share.version.kind == "bundle":
        raise NotFound("This share is a bundle: download it as .zip, or its notebooks one by one.")
    read = await service(request).read_counted(share, "original")  # taking the file is reading it too
    return viewed(
        request,
        share,
        Response(
            read.data,
            media_type="application/x-ipynb+json",
            headers={
                "Content-Disposition": content_disposition(share.meta.filename),
                "Cache-Control": "no-cache",
            },
        ),
        read.view_grant,
    )


async def _content(
    request: Request, share_id: str, version: int | None, notebook: str | None = None
) -> Response:
    """The stored nbconvert page, served in a CSP sandbox (an opaque origin). For a
    bundle: a notebook's page, or (notebook None) its README's."""
    share = await open_share(request, share_id, version)
    assert share.meta is not None
    read = await service(request).read_frame(
        share, notebook, gzip_ok=accepts_gzip(request.headers.get("accept-encoding", ""))
    )
    headers = {
        "Content-Security-Policy": content_csp(request.app.state.settings.public_url),
        "Cache-Control": "no-cache",
        "Vary": "Accept-Encoding",
    }
    if read.gzipped:  # the gzip middleware leaves it as it is
        headers["Content-Encoding"] = "gzip"
    response = Response(read.data, media_type="text/html; charset=utf-8", headers=headers)
    return viewed(request, share, response, read.view_grant)


async def archive(request: Request, share_id: str, number: int | None) -> Response:
    """A bundle's files as one .zip, the exact archive `nbshare clone` checks and unpacks."""
    share = await open_share(request, share_id, number)
    assert share.meta is not None
    if share.version.kind != "bundle":
        raise NotFound("This share is a single notebook: download the .ipynb.")
    read = await service(request).read_counted(share, "original")
    return viewed(
        request,
        share,
        Response(
            read.data,
            media_type="application/zip",
            headers={
                "Content-Disposition": content_disposition(share.meta.filename),
                "Cache-Control": "no-cache",
                "X-Nbshare-Sha256": share.meta.sha256,
            },
        ),
        read.view_grant,
    )


async def _file(
    request: Request,
    share_id: str,
    version: int | None,
    *,
    address: str | None = None,
    path: str | None = None,
    name: str | None = None,
) -> Response:
    """One file of a version: a bundle file by its path, or any file by its address."""
    share = await open_share(request, share_id, version)
    assert share.meta is not None
    manifest = share.meta.manifest
    entry = manifest.file(address, name) if address is not None else manifest.bundle_file(path or "")
    if entry is None:
        raise NotFound("This share has no such file.")
    # Checked again here for shares stored before data: URI types were checked at upload.
    media_type = served_type(valid_media_type(entry.media_type))
    shown = media_type in IMAGE_TYPES
    headers = {
        "Content-Disposition": content_disposition(entry.name.rsplit("/", 1)[-1], inline=shown),
        # Whatever the file is, it never runs as a page of the service.
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'",
        # Never kept without asking: a cache must not outlive a password added or the
        # share deleted. The ETag makes asking cheap.
        "Cache-Control": "no-cache",
        "ETag": f'"{entry.address}"',
    }
    if not share.private and headers["ETag"] in etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers={k: headers[k] for k in ("Cache-Control", "ETag")})
    read = await service(request).read_counted(share, entry.key, main=False)
    response = Response(read.data, media_type=media_type, headers=headers)
    return viewed(request, share, response, read.view_grant)


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


# -- a share's content: each handler answers at /n/{share_id}... for the current version
# (`number` None) and at /n/{share_id}/v/{number}... for a numbered one.


async def share_page(request: Request, share_id: str, number: int | None) -> Response:
    return await _share_page(request, share_id, number)


async def notebook_page(request: Request, share_id: str, number: int | None, path: str) -> Response:
    return await _share_page(request, share_id, number, path)


async def content(request: Request, share_id: str, number: int | None) -> Response:
    return await _content(request, share_id, number)


async def notebook_content(request: Request, share_id: str, number: int | None, path: str) -> Response:
    return await _content(request, share_id, number, path)


async def bundle_file(request: Request, share_id: str, number: int | None, path: str) -> Response:
    return await _file(request, share_id, number, path=path)


async def embedded_file(
    request: Request, share_id: str, number: int | None, address: str, name: str
) -> Response:
    return await _file(request, share_id, number, address=address, name=name)


Handler = Callable[..., Awaitable[Response]]
# In this order: the first route that matches answers, and `/n/{share_id}` alone would
# also match `/n/ID.ipynb` (and `/v/{number}` would match `/v/2.ipynb`).
SHARE_ROUTES: list[tuple[str, Handler]] = [
    (".ipynb", download),
    (".zip", archive),
    ("/nb/{path:path}", notebook_page),
    ("/content/nb/{path:path}", notebook_content),
    ("/files/{path:path}", bundle_file),
    ("/f/{address}/{name}", embedded_file),
    ("", share_page),
    ("/content", content),
]


def both_forms(handler: Handler) -> tuple[Handler, Handler]:
    """Endpoints for `handler(..., number, ...)`: one without `number` (the current
    version; a parameter FastAPI did not find in the path would be read from the query)
    and one with it as a whole number in the path."""
    signature = inspect.signature(handler, eval_str=True)
    parameters = list(signature.parameters.values())

    async def current(**given: Any) -> Response:
        return await handler(number=None, **given)

    async def numbered(**given: Any) -> Response:
        return await handler(**given)

    current.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in parameters if p.name != "number"]
    )
    numbered.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(annotation=int) if p.name == "number" else p for p in parameters]
    )
    return current, numbered


def add_share_routes() -> None:
    for suffix, handler in SHARE_ROUTES:
        current, numbered = both_forms(handler)
        router.add_api_route(f"/n/{{share_id}}{suffix}", current, methods=["GET"], name=handler.__name__)
        router.add_api_route(
            f"/n/{{share_id}}/v/{{number}}{suffix}",
            numbered,
            methods=["GET"],
            name=f"version_{handler.__name__}",
        )


add_share_routes()


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
    row = await service(request).exists(share_id)
    user = await hub_user(request, strict=False)
    # Signed in to the Hub as its uploader, the page works without the owner token.
    hub_owner = user.name if user is not None and row.owner_user == user.name else None
    page = render(
        request, "manage.html", share_id=share_id, urls=links(request, share_id), hub_owner=hub_owner
    )
    return private(page)


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """attachment (or inline); with an ASCII fallback and the exact name in RFC 5987 form."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
