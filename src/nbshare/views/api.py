"""The JSON API under /api/v1/. Thin: parse the request, call the share service, answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ..audience import Audience
from ..errors import NbshareError
from ..manifest import Json
from ..protection import VersionMeta
from ..shares import CreatedShare, Share
from ..unset import UNSET
from ..uploads import read_body, takes_uploads
from ..urls import Links
from .common import (
    GRANT_HEADER,
    PASSWORD_HEADER,
    Upload,
    bearer_token,
    client_address,
    hub_user,
    identify,
    links,
    owner_grant,
    owner_proof,
    parse_max_views,
    private,
    refuse_secrets_in_url,
    service,
    set_grant_cookie,
    upload_from_form,
    view_grant,
    visitor_grant,
)

# Every route refuses secrets in its query string, so none can forget to.
router = APIRouter(prefix="/api/v1", tags=["shares"], dependencies=[Depends(refuse_secrets_in_url)])

RAW_TYPES = (
    "application/x-ipynb+json",
    "application/json",
    "application/octet-stream",
    "text/plain",
    "application/zip",
    "application/x-zip-compressed",
)


WITHHELD = (
    "empty for a view-limited share, unless the request holds the view grant of a counted"
    " view or is the owner's: describing it uses no view, so it gives no content"
)


class TocItem(BaseModel):
    level: int = Field(description="Heading level, 1 to 6")
    text: str = Field(description="Heading text, without markup")
    anchor: str = Field(description="Fragment that opens the page at this heading")


class FileInfo(BaseModel):
    name: str = Field(description="Path inside the bundle, or the file name of an embedded file")
    media_type: str
    size: int
    sha256: str
    role: str = Field(
        description="bundle (a file of the bundle), download (an embedded download link),"
        " attachment (a markdown cell attachment) or image (an image taken out of a page)"
    )
    notebook: str | None = Field(description="The bundle notebook it is embedded in, if any")
    url: str


class NotebookEntry(BaseModel):
    path: str
    title: str
    cells: int
    url: str = Field(description="The notebook's own page")


class EnvFileInfo(BaseModel):
    path: str
    kind: str
    description: str


class ShareInfo(BaseModel):
    id: str
    kind: str = Field(description="notebook (one notebook) or bundle (notebooks, files, environment)")
    url: str = Field(description="The share link: the rendered notebook, or a bundle's index")
    download_url: str = Field(description="The exact original .ipynb bytes, or a bundle's .zip")
    clone_command: str = Field(description="The command that gives a working copy")
    title: str
    filename: str
    size: int = Field(description="Size of the original notebook (a bundle: of its files) in bytes")
    sha256: str = Field(description="SHA-256 of the original notebook, or of the bundle's .zip")
    nbformat: str
    kernel_name: str
    language: str
    cells: int
    version: int
    protected: bool = Field(description="Whether a password is needed to read it")
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    max_views: int | None
    toc: list[TocItem] = Field(description=f"Headings (the four lists are {WITHHELD})")
    files: list[FileInfo] = Field(description="Bundle files, embedded downloads and cell attachments")
    notebooks: list[NotebookEntry] = Field(description="A bundle's notebooks")
    environment: list[EnvFileInfo] = Field(description="A bundle's environment files")


class OwnerShareInfo(ShareInfo):
    views: int = Field(description="Views of the rendered page so far")
    versions_public: bool
    discoverable: bool = Field(description="Whether search engines may index its pages")
    visible_to: str = Field(
        description="Who may read it: 'anyone' (with the link), 'hub' (users of the JupyterHub"
        " nbshare runs in) or names such as 'bob,group:physics' (needs hub_auth)"
    )
    owner_user: str | None = Field(description="The Hub user who uploaded it and manages it (hub_auth)")


class CreatedShareInfo(OwnerShareInfo):
    manage_url: str = Field(description="Owner's page; the owner token is in its #fragment")
    owner_token: str = Field(description="Secret that allows updating and deleting the share")


class VersionInfo(BaseModel):
    version: int
    created_at: datetime
    title: str
    filename: str
    size: int
    sha256: str
    current: bool
    url: str


class OwnerChanges(BaseModel):
    """Owner changes; a field left out stays as it is."""

    # Published as "Settings" in the OpenAPI document (schema name and title), the name
    # API clients know it by; pydantic names a schema after the class's qualified name.
    __qualname__ = "Settings"
    # Strict: `"versions_public": 0` or `"max_views": "5"` are mistakes to report, not to guess.
    model_config = ConfigDict(extra="forbid", strict=True, title="Settings")
    expires: str | None = Field(None, description="1h, 7d, 2026-12-31 or 'never'")
    max_views: int | None = Field(None, description="Views left before the share is deleted; null: no limit")
    password: str | None = Field(None, description="New password; null removes the password")
    versions_public: bool | None = Field(None, description="Whether visitors may open earlier versions")
    discoverable: bool | None = Field(
        None, description="Whether search engines may index its pages (X-Robots-Tag); off by default"
    )
    visible_to: str | None = Field(
        None, description="Who may read it: 'anyone', 'hub', or names such as 'bob,group:physics'"
    )


class Unlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str


class GrantInfo(BaseModel):
    grant: str = Field(description=f"Send it back in the {GRANT_HEADER} header")
    expires_in: int


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 409, 413, 415, 422, 429)
}


def share_info(request: Request, share: Share, *, owner: bool = False) -> Json:
    meta = share.meta or VersionMeta.of(share.version)
    urls = links(request, share.id)
    files_urls = links(request, share.id, share.version.number)
    bundle = share.version.kind == "bundle"
    info = {
        "id": share.id,
        "kind": share.version.kind,
        "url": urls.page,
        "download_url": urls.archive if bundle else urls.download,
        "clone_command": f"nbshare clone {urls.page}",
        "title": meta.title,
        "filename": meta.filename,
        "size": meta.size,
        "sha256": meta.sha256,
        "nbformat": meta.nbformat,
        "kernel_name": meta.kernel_name,
        "language": meta.language,
        "cells": meta.cell_count,
        "version": share.version.number,
        "protected": share.row.protected,
        "created_at": share.row.created_at,
        "updated_at": share.row.updated_at,
        "expires_at": share.row.expires_at,
        "max_views": share.row.max_views,
        "toc": [],
        "files": [],
        "notebooks": [],
        "environment": [],
    }
    if not share.withheld:
        info.update(content_info(share, meta, urls, files_urls))
    if owner:
        info.update(
            views=share.row.views,
            versions_public=share.row.versions_public,
            discoverable=share.row.discoverable,
            visible_to=str(share.audience),
            owner_user=share.row.owner_user,
        )
    return info


def content_info(share: Share, meta: VersionMeta, urls: Links, files_urls: Links) -> Json:
    """What a description tells of the content: headings, files, notebooks, environment."""
    return {
        "toc": meta.toc,
        "files": [
            {
                "name": f.name,
                "media_type": f.media_type,
                "size": f.size,
                "sha256": f.sha256,
                "role": f.role,
                "notebook": f.notebook,
                "url": files_urls.bundle_file(f.name) if f.role == "bundle" else files_urls.file(f),
            }
            for f in meta.files
            if f.role != "image"
        ],
        "notebooks": [
            {"path": n.path, "title": n.title, "cells": n.cell_count, "url": urls.notebook_page(n.path)}
            for n in meta.manifest.notebooks
        ],
        "environment": [e.to_json() for e in meta.manifest.env],
    }


def created_info(request: Request, created: CreatedShare) -> Json:
    info = share_info(request, created.share, owner=True)
    info["manage_url"] = links(request, created.share.id).manage(created.owner_token)
    info["owner_token"] = created.owner_token
    return info


async def read_upload(request: Request, filename: str | None, title: str | None) -> Upload:
    """A notebook sent as the raw body (options in the query and headers) or as a form."""
    limit = request.app.state.settings.max_upload_bytes
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await upload_from_form(request, limit)
        # A field the form gave wins over the query, even when it is 0 (which is then refused).
        max_views = form.max_views
        if max_views is None:
            max_views = parse_max_views(request.query_params.get("max_views"))
        return Upload(
            form.data,
            form.filename or filename,
            form.title or title,
            form.password,
            form.expires or request.query_params.get("expires"),
            max_views,
            form.visible_to or request.query_params.get("visible_to"),
        )
    if content_type in RAW_TYPES or not content_type:
        return Upload(
            await read_body(request, limit),
            filename,
            title,
            password_header(request),
            request.query_params.get("expires"),
            parse_max_views(request.query_params.get("max_views")),
            request.query_params.get("visible_to"),
        )
    raise NbshareError(
        f"Unsupported Content-Type {content_type!r}: send the notebook as "
        "application/x-ipynb+json (a bundle as application/zip) or as multipart/form-data "
        "with a 'file' field.",
        code="unsupported_media_type",
        status=415,
    )


def password_header(request: Request) -> str | None:
    """The X-Nbshare-Password header as UTF-8 (Starlette decodes headers as Latin-1)."""
    value = request.headers.get(PASSWORD_HEADER)
    if not value:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise NbshareError(f"The {PASSWORD_HEADER} header must be UTF-8.", code="bad_password") from None


UPLOAD_BODY = {
    "requestBody": {
        "description": "The .ipynb file (or a .zip bundle of notebooks and files), as the raw body"
        " or as the `file` field of a form. A password"
        f" goes in the `{PASSWORD_HEADER}` header (raw body) or the `password` form field,"
        " never in the URL.",
        "content": {
            "application/x-ipynb+json": {"schema": {"type": "string", "format": "binary"}},
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "title": {"type": "string"},
                        "password": {"type": "string", "format": "password"},
                        "expires": {"type": "string"},
                        "max_views": {"type": "integer"},
                        "visible_to": {"type": "string"},
                    },
                    "required": ["file"],
                }
            },
        },
    }
}


class Lifetime(BaseModel):
    value: str = Field(description="What to send as `expires`: 1h, 7d, 30d, never...")
    label: str = Field(description="The choice as a person reads it")


class Limits(BaseModel):
    max_upload_bytes: int = Field(description="The largest upload (a notebook or a bundle's .zip) accepted")
    lifetimes: list[Lifetime] = Field(description="The lifetimes this server allows, shortest first")
    default_expiry: str = Field(description="The lifetime of a share published without `expires`")
    max_expiry: str = Field(description="The longest lifetime allowed ('never': no limit)")


@router.get("/limits", response_model=Limits, summary="What this server accepts")
async def limits(request: Request) -> Json:
    """The upload size limit and the lifetimes allowed, as the upload form offers them: for
    clients that ask before uploading (the Jupyter extension's dialog)."""
    from .pages import lifetime_choices

    settings = request.app.state.settings
    return {
        "max_upload_bytes": settings.max_upload_bytes,
        "lifetimes": [{"value": v, "label": label} for v, label in lifetime_choices(settings.max_expiry)],
        "default_expiry": settings.default_expiry,
        "max_expiry": settings.max_expiry,
    }


@router.post(
    "/shares",
    status_code=201,
    response_model=CreatedShareInfo,
    responses=ERRORS,
    summary="Publish a notebook",
    openapi_extra=UPLOAD_BODY,
)
@takes_uploads
async def create_share(
    request: Request,
    response: Response,
    filename: str | None = Query(None, description="Original file name (raw uploads)"),
    title: str | None = Query(None, description="Title shown on the page; default from the notebook"),
    expires: str | None = Query(None, description="1h, 7d, 2026-12-31 or 'never' (raw uploads)"),
    max_views: int | None = Query(None, description="Delete the share after this many views"),
    visible_to: str | None = Query(
        None, description="Who may read it: 'anyone' (default), 'hub', or names such as 'bob,group:physics'"
    ),
) -> Json:
    """Upload a notebook: it is validated, rendered once and stored. Answers the share's links.
    On a JupyterHub with Hub login, a Hub token (`Authorization: token ...`) makes its user
    the share's owner, and `visible_to` can keep it to the Hub's users or named ones."""
    upload = await read_upload(request, filename, title)
    audience = upload.audience
    created = await service(request).create(
        upload.data,
        filename=upload.filename,
        title=upload.title,
        password=upload.password,
        expires=upload.expires,
        max_views=upload.max_views,
        client=client_address(request),
        owner_user=await hub_user(request, strict=not audience.anyone),
        audience=audience,
    )
    response.headers["Cache-Control"] = "no-store"  # the answer carries the owner token
    return created_info(request, created)


@router.get(
    "/shares/{share_id}",
    response_model=OwnerShareInfo | ShareInfo,
    responses=ERRORS,
    summary="Describe a share",
)
async def get_share(request: Request, response: Response, share_id: str) -> Json:
    """With the owner token (Bearer) also views and settings; a protected share needs a grant."""
    token = bearer_token(request)
    share = await service(request).open(
        share_id,
        grant=visitor_grant(request, share_id),
        owner_token=token,
        owner_grant=owner_grant(request, share_id),
        view_grant=view_grant(request, share_id),
        hub_user=identify(request),
    )
    if share.private or token or share.as_owner:  # the owner's view is theirs only
        private(response)
    return share_info(request, share, owner=share.as_owner)  # a wrong token gets the visitor's view


@router.put(
    "/shares/{share_id}",
    response_model=OwnerShareInfo,
    responses=ERRORS,
    summary="Replace the notebook (same link, new version)",
    openapi_extra=UPLOAD_BODY,
)
@takes_uploads
async def update_share(
    request: Request,
    response: Response,
    share_id: str,
    filename: str | None = Query(None, description="Original file name (raw uploads)"),
    title: str | None = Query(None, description="Title shown on the page; default from the notebook"),
) -> Json:
    """Needs the owner token (Bearer). Earlier versions stay available to the owner."""
    upload = await read_upload(request, filename, title)
    if upload.password is not None or upload.expires is not None or upload.max_views is not None:
        raise NbshareError("Change the password, expiry or view limit with PATCH.", code="use_patch")
    if upload.visible_to is not None:
        raise NbshareError("Change who may read it with PATCH.", code="use_patch")
    token, user = await owner_proof(request)
    share = await service(request).update(
        share_id,
        token,
        upload.data,
        filename=upload.filename,
        title=upload.title,
        client=client_address(request),
        hub_user=user,
    )
    private(response)
    return share_info(request, share, owner=True)


@router.patch(
    "/shares/{share_id}",
    response_model=OwnerShareInfo,
    responses=ERRORS,
    summary="Change expiry, view limit, password, version visibility or indexing",
)
async def configure_share(request: Request, response: Response, share_id: str, changes: OwnerChanges) -> Json:
    """Needs the owner token (Bearer). `"password": null` removes the password."""
    given = changes.model_fields_set
    for switch in ("versions_public", "discoverable"):  # null would be a guess at true or false
        if switch in given and getattr(changes, switch) is None:
            raise NbshareError(f"{switch} must be true or false.", code="bad_flag")
    if "visible_to" in given and changes.visible_to is None:
        raise NbshareError("visible_to must be 'anyone', 'hub' or names.", code="bad_audience")
    token, user = await owner_proof(request)
    share = await service(request).configure(
        share_id,
        token,
        expires=(changes.expires or "never") if "expires" in given else UNSET,
        max_views=changes.max_views if "max_views" in given else UNSET,
        password=changes.password if "password" in given else UNSET,
        versions_public=changes.versions_public if "versions_public" in given else UNSET,
        discoverable=changes.discoverable if "discoverable" in given else UNSET,
        audience=Audience.parse(changes.visible_to) if "visible_to" in given else UNSET,
        hub_user=user,
    )
    private(response)
    return share_info(request, share, owner=True)


@router.delete(
    "/shares/{share_id}",
    status_code=204,
    responses=ERRORS,
    summary="Delete a share and everything stored for it",
)
async def delete_share(request: Request, share_id: str) -> Response:
    """Needs the owner token (Bearer)."""
    token, user = await owner_proof(request)
    await service(request).delete(share_id, token, user)
    return Response(status_code=204)


@router.get(
    "/shares/{share_id}/versions",
    response_model=list[VersionInfo],
    responses=ERRORS,
    summary="List a share's versions (owner)",
)
async def list_versions(request: Request, response: Response, share_id: str) -> list[Json]:
    token, user = await owner_proof(request)
    found = await service(request).versions(share_id, token, user)
    current = max(v.number for v, _ in found)
    private(response)
    return [
        {
            "version": v.number,
            "created_at": v.created_at,
            "title": m.title,
            "filename": m.filename,
            "size": m.size,
            "sha256": m.sha256,
            "current": v.number == current,
            "url": links(request, share_id, v.number).here,
        }
        for v, m in found
    ]


@router.delete(
    "/shares/{share_id}/versions/{number}",
    status_code=204,
    responses=ERRORS,
    summary="Delete an earlier version (owner)",
)
async def delete_version(request: Request, share_id: str, number: int) -> Response:
    token, user = await owner_proof(request)
    await service(request).delete_version(share_id, token, number, user)
    return Response(status_code=204)


@router.post(
    "/shares/{share_id}/unlock",
    response_model=GrantInfo,
    responses=ERRORS,
    summary="Trade a share's password for an access grant",
)
async def unlock_share(request: Request, response: Response, share_id: str, body: Unlock) -> Json:
    """The grant is also set as a cookie; API clients send it back in a header."""
    grant = await service(request).unlock(share_id, body.password, client_address(request))
    set_grant_cookie(request, response, share_id, grant)
    private(response)
    return {"grant": grant, "expires_in": int(request.app.state.settings.grant_lifetime)}


@router.post(
    "/shares/{share_id}/owner-session",
    status_code=204,
    responses=ERRORS,
    summary="Let this browser read every version as the owner",
)
async def owner_session(request: Request, share_id: str) -> Response:
    token, user = await owner_proof(request)
    grant = await service(request).owner_session(share_id, token, user)
    response = Response(status_code=204)
    set_grant_cookie(request, response, share_id, grant, owner=True)
    return private(response)
