"""Small helpers shared by the API and the HTML pages."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request

from ..errors import NbshareError
from ..shares import ShareService
from ..uploads import MULTIPART_SLACK, too_large


def service(request: Request) -> ShareService:
    return request.app.state.service


@dataclass(frozen=True)
class Links:
    """Every URL of a share, built from the configured public URL, never the Host header."""

    public_url: str
    frame_url: str
    share_id: str

    @property
    def page(self) -> str:
        return f"{self.public_url}/n/{self.share_id}"

    @property
    def download(self) -> str:
        return f"{self.public_url}/n/{self.share_id}.ipynb"

    @property
    def content(self) -> str:
        return f"{self.frame_url}/n/{self.share_id}/content"

    def manage(self, owner_token: str) -> str:
        # In the fragment, which browsers never send to the server or in a Referer.
        return f"{self.public_url}/n/{self.share_id}/manage#token={quote(owner_token)}"


def links(request: Request, share_id: str) -> Links:
    settings = request.app.state.settings
    return Links(settings.public_url, settings.frame_url, share_id)


async def upload_from_form(request: Request, limit: int) -> tuple[bytes, str | None, str | None]:
    """(file bytes, file name, title) from a multipart form with a `file` field."""
    form = await request.form(max_files=1, max_fields=10, max_part_size=MULTIPART_SLACK)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise NbshareError("Choose a notebook file to upload (form field 'file').", code="no_file")
    if upload.size is not None and upload.size > limit:
        raise too_large(limit)
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise too_large(limit)
    title = form.get("title")
    return data, upload.filename, title if isinstance(title, str) else None
