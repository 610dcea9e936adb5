"""Small helpers shared by the API and the HTML pages."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from ..audience import Audience, HubUser, Identify
from ..errors import NbshareError
from ..security import grants
from ..shares import VIEW_LIFETIME, ShareService
from ..uploads import MULTIPART_SLACK, too_large
from ..urls import Links, root_path

GRANT_HEADER = "X-Nbshare-Grant"  # for API clients; browsers carry the grant in a cookie
PASSWORD_HEADER = "X-Nbshare-Password"  # noqa: S105 - a header name; raw uploads, never the URL


def service(request: Request) -> ShareService:
    found: ShareService = request.app.state.service
    return found


def links(
    request: Request,
    share_id: str,
    version: int | None = None,
    notebook: str | None = None,
    *,
    protected: bool = False,
) -> Links:
    settings = request.app.state.settings
    # A protected share's frame loads from the public origin even when a render origin is
    # set: the visitor's grant is a cookie of that origin. The CSP sandbox still gives the
    # notebook an opaque origin; only the second wall is missing.
    frame_url = settings.public_url if protected else settings.frame_url
    return Links(settings.public_url, frame_url, share_id, version, notebook)


def refuse_secrets_in_url(request: Request) -> None:
    for name in ("password", "token", "owner_token", "grant"):
        if name in request.query_params:
            raise NbshareError(
                f"Never put a {name.replace('_', ' ')} in a URL (URLs end up in logs and "
                "browser history); send it in the request body or a header.",
                code="secret_in_url",
            )


def visitor_grant(request: Request, share_id: str) -> str | None:
    return request.cookies.get(grants.cookie_name(share_id)) or request.headers.get(GRANT_HEADER)


def view_grant(request: Request, share_id: str) -> str | None:
    return request.cookies.get(grants.cookie_name(share_id, view=True))


def owner_grant(request: Request, share_id: str) -> str | None:
    return request.cookies.get(grants.cookie_name(share_id, owner=True))


async def hub_user(request: Request, *, strict: bool = True) -> HubUser | None:
    """Who the request comes from, on a JupyterHub with Hub login (hub.py); else None.
    Not `strict`: a Hub that cannot answer, or a token it refuses, is taken as signed out."""
    login = request.app.state.hub_login
    return await login.user(request, strict=strict) if login is not None else None


def identify(request: Request) -> Identify | None:
    """A way for the share service to ask who the reader is, only if the share needs it:
    reading a share for anyone never waits on the Hub."""
    login = request.app.state.hub_login
    if login is None:
        return None

    async def who(strict: bool) -> HubUser | None:
        return await login.user(request, strict=strict)

    return who


async def owner_proof(request: Request) -> tuple[str | None, HubUser | None]:
    """What shows a request is the owner's: the owner token (Bearer) or, without one, the
    Hub sign-in of the user who uploaded the share (also asked with a token, loosely: it
    lets the owner token keep a share for the Hub's users)."""
    token = bearer_token(request)
    return token, await hub_user(request, strict=token is None)


def bearer_token(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    return value[7:].strip() or None if value.lower().startswith("bearer ") else None


def set_grant_cookie(
    request: Request,
    response: Response,
    share_id: str,
    grant: str,
    *,
    owner: bool = False,
    view: bool = False,
) -> None:
    settings = request.app.state.settings
    lifetime = VIEW_LIFETIME.total_seconds() if view else settings.grant_lifetime
    response.set_cookie(
        grants.cookie_name(share_id, owner=owner, view=view),
        grant,
        max_age=int(lifetime),
        path=f"{root_path(settings.public_url)}/",  # the service's own, under a prefix too
        httponly=True,
        samesite="strict",
        secure=settings.public_url.startswith("https://"),
    )


def private(response: Response) -> Response:
    """Protected content must not sit in shared caches or the browser's disk cache."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str | None
    title: str | None
    password: str | None
    expires: str | None
    max_views: int | None
    visible_to: str | None = None  # audience.Audience.parse: anyone, hub, or names

    @property
    def audience(self) -> Audience:
        return Audience.parse(self.visible_to)


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_max_views(value: str | None) -> int | None:
    if value is None or not str(value).strip():
        return None
    # Plain ASCII digits (the range is checked later): int() would also take "1_0" and
    # other scripts' digits.
    if not re.fullmatch(r"-?[0-9]+", value.strip()):
        raise NbshareError("max_views must be a whole number.", code="bad_max_views")
    return int(value)


async def upload_from_form(request: Request, limit: int) -> Upload:
    """The fields of a multipart upload: `file`, and optional title, password, expires, max_views."""
    return await upload_fields(await read_form(request, limit), limit)


async def upload_fields(form: FormData, limit: int) -> Upload:
    """What an upload form read with `read_form` asks for."""
    data, filename = await file_from_form(form, "file", limit)
    password = form.get("password")
    return Upload(
        data=data,
        filename=filename,
        title=_text(form, "title"),
        password=password if isinstance(password, str) and password != "" else None,
        expires=_form_expiry(form),
        max_views=parse_max_views(_text(form, "max_views")),
        visible_to=_text(form, "visible_to"),
    )


async def file_from_form(form: FormData, field: str, limit: int) -> tuple[bytes, str | None]:
    """The bytes and name of the file a form sends in `field`, at most `limit` bytes."""
    upload = form.get(field)
    if not isinstance(upload, UploadFile):
        raise NbshareError(f"Choose a notebook file to upload (form field '{field}').", code="no_file")
    if upload.size is not None and upload.size > limit:
        raise too_large(limit)
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise too_large(limit)
    return data, upload.filename


async def read_form(
    request: Request, limit: int, stream: AsyncGenerator[bytes, None] | None = None
) -> FormData:
    """An upload's form: one file of at most `limit` bytes, a few small fields. `stream`:
    the request's body, for a caller that watches it go by (peers.py)."""
    content_type, _ = parse_options_header(request.headers.get("Content-Type"))
    if content_type != b"multipart/form-data":
        return await request.form(max_files=1, max_fields=10, max_part_size=MULTIPART_SLACK)
    parser = MultiPartParser(
        request.headers,
        stream if stream is not None else request.stream(),
        max_files=1,
        max_fields=10,
        max_part_size=MULTIPART_SLACK,
    )
    # Starlette spools a file over 1 MB to a temporary file on disk. Keep it in memory
    # instead (the upload limit bounds it, and it is read whole anyway): a protected
    # notebook must not touch the disk in the clear, not even in /tmp.
    parser.spool_max_size = limit + MULTIPART_SLACK
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise NbshareError(f"The form could not be read: {exc.message}", code="bad_request") from None


def _form_expiry(form: FormData) -> str | None:
    """The home page offers presets and a day: `expires=date` (or no preset) with
    `expires_on=2026-12-31` means that day."""
    preset, day = _text(form, "expires"), _text(form, "expires_on")
    if preset == "date" or (preset is None and day):
        if not day:
            raise NbshareError("Choose the day the share should expire on.", code="bad_expiry")
        return day
    return preset
