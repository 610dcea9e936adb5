"""The JSON API under /api/v1/. Thin: parse the request, call the share service, answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field

from ..errors import NbshareError
from ..shares import CreatedShare, Share
from ..uploads import read_body
from .common import links, service, upload_from_form

router = APIRouter(prefix="/api/v1", tags=["shares"])

RAW_TYPES = ("application/x-ipynb+json", "application/json", "application/octet-stream", "text/plain")


class TocItem(BaseModel):
    level: int = Field(description="Heading level, 1 to 6")
    text: str = Field(description="Heading text, without markup")
    anchor: str = Field(description="Fragment that opens the page at this heading")


class ShareInfo(BaseModel):
    id: str
    url: str = Field(description="The share link: the rendered notebook")
    download_url: str = Field(description="The exact original .ipynb bytes")
    title: str
    filename: str
    size: int = Field(description="Size of the original notebook in bytes")
    sha256: str = Field(description="SHA-256 of the original notebook")
    nbformat: str
    kernel_name: str
    language: str
    cells: int
    version: int
    created_at: datetime
    updated_at: datetime
    toc: list[TocItem]


class CreatedShareInfo(ShareInfo):
    manage_url: str = Field(description="Owner's page; the owner token is in its #fragment")
    owner_token: str = Field(description="Secret that allows deleting (and later updating) the share")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 404, 413, 415, 422)
}


def share_info(request: Request, share: Share) -> dict:
    v = share.version
    urls = links(request, share.id)
    return {
        "id": share.id,
        "url": urls.page,
        "download_url": urls.download,
        "title": v.title,
        "filename": v.filename,
        "size": v.size,
        "sha256": v.sha256,
        "nbformat": v.nbformat,
        "kernel_name": v.kernel_name,
        "language": v.language,
        "cells": v.cell_count,
        "version": v.number,
        "created_at": share.row.created_at,
        "updated_at": share.row.updated_at,
        "toc": v.toc,
    }


def created_info(request: Request, created: CreatedShare) -> dict:
    info = share_info(request, created.share)
    info["manage_url"] = links(request, created.share.id).manage(created.owner_token)
    info["owner_token"] = created.owner_token
    return info


@router.post(
    "/shares",
    status_code=201,
    response_model=CreatedShareInfo,
    responses=ERRORS,
    summary="Publish a notebook",
    openapi_extra={
        "requestBody": {
            "description": "The .ipynb file, either as the raw body or as the `file` field of a form.",
            "content": {
                "application/x-ipynb+json": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "title": {"type": "string"},
                        },
                        "required": ["file"],
                    }
                },
            },
        }
    },
)
async def create_share(
    request: Request,
    response: Response,
    filename: str | None = Query(None, description="Original file name (raw uploads)"),
    title: str | None = Query(None, description="Title shown on the page; default from the notebook"),
) -> dict:
    """Upload a notebook: it is validated, rendered once and stored. Answers the share's links."""
    limit = request.app.state.settings.max_upload_bytes
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        data, form_name, form_title = await upload_from_form(request, limit)
        filename, title = form_name or filename, form_title or title
    elif content_type in RAW_TYPES or not content_type:
        data = await read_body(request, limit)
    else:
        raise NbshareError(
            f"Unsupported Content-Type {content_type!r}: send the notebook as "
            "application/x-ipynb+json or as multipart/form-data with a 'file' field.",
            code="unsupported_media_type",
            status=415,
        )
    created = await service(request).create(data, filename=filename, title=title)
    response.headers["Cache-Control"] = "no-store"  # the answer carries the owner token
    return created_info(request, created)


@router.get("/shares/{share_id}", response_model=ShareInfo, responses=ERRORS, summary="Describe a share")
async def get_share(request: Request, share_id: str) -> dict:
    return share_info(request, await service(request).get(share_id))


@router.delete("/shares/{share_id}", status_code=204, responses={403: {"model": ErrorResponse}, **ERRORS},
               summary="Delete a share and everything stored for it")
async def delete_share(
    request: Request,
    share_id: str,
    authorization: str | None = Header(None, description="`Bearer <owner token>`"),
) -> Response:
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    await service(request).delete(share_id, token)
    return Response(status_code=204)
