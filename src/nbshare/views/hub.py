"""Hub login's pages: signing in and out through the JupyterHub nbshare runs in, and a
signed-in user's list of their own shares. Without hub_auth none of these exist (404)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from .. import urls
from ..audience import Audience
from ..hub import HubLogin
from ..urls import Links
from .common import private, service
from .pages import render

router = APIRouter(include_in_schema=False)


def hub_login(request: Request) -> HubLogin:
    login: HubLogin | None = request.app.state.hub_login
    if login is None:
        raise HTTPException(404)
    return login


@router.get(urls.LOGIN)
async def login(request: Request) -> Response:
    """Sign in with the Hub, then go back to `next` (a path of this service)."""
    return hub_login(request).start(request.query_params.get("next", ""))


@router.get(urls.OAUTH_CALLBACK)
async def oauth_callback(request: Request) -> Response:
    return await hub_login(request).finish(request)


@router.get(urls.LOGOUT)
async def logout(request: Request) -> Response:
    """Forget the sign-in here and at the Hub (whose logout ends every service's)."""
    login = hub_login(request)
    return private(login.sign_out(RedirectResponse(f"{login.hub.hub_prefix}logout", status_code=302)))


@router.get(urls.MY_SHARES)
async def my_shares(request: Request) -> Response:
    """The signed-in user's shares, each with its page and its manage page."""
    login = hub_login(request)
    user = await login.user(request)
    if user is None:
        return login.start(request.scope.get("root_path", "") + urls.MY_SHARES)
    settings = request.app.state.settings
    found = await service(request).shares_of(user)
    shares = [
        (
            row,
            version,
            Audience.from_json(row.audience),
            Links(settings.public_url, settings.frame_url, row.id),
        )
        for row, version in found
    ]
    return private(render(request, "mine.html", user=user, shares=shares))
