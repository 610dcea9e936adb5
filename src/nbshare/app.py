"""create_app(settings) -> the ASGI app. The route table and wiring live here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import anyio
import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Match
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import __version__
from .access import AccessRecord
from .errors import HubLoginRequired, NbshareError
from .hub import HubLogin
from .logs import redact
from .metrics import Metrics, NoMetrics
from .prefix import PathPrefix, path_is_api, route_path
from .readiness import Readiness
from .render.pool import RenderPool
from .security.grants import ServerKey
from .security.headers import SecurityHeaders, service_csp
from .security.origin import HostAndOriginCheck
from .security.throttle import TooManyAttempts
from .settings import HubService, Settings
from .shares import ShareService
from .store import BlobStore, FileBlobStore, MetadataStore, ObjectBlobStore
from .uploads import BodyLimit, upload_routes
from .urls import root_path
from .views import api, health, hub, pages, peers

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


class PublicStatic(StaticFiles):
    """Static files any origin may load: rendered notebooks run in an opaque origin,
    and fonts (MathJax's) load only with CORS."""

    def file_response(self, *args, **kwargs):
        response = super().file_response(*args, **kwargs)
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response


def _mathjax_dir() -> Path:
    import jupyter_server_mathjax

    return Path(jupyter_server_mathjax.__file__).parent / "static"


def _nbconvert_lab_static() -> Path:
    from jupyter_core.paths import jupyter_path

    for base in jupyter_path("nbconvert", "templates", "lab", "static"):
        if (Path(base) / "index.css").exists():
            return Path(base)
    raise RuntimeError("nbconvert's lab template is not installed (is nbconvert installed?)")


class NbshareApp(FastAPI):
    """FastAPI with SecurityHeaders around everything. Added with `add_middleware` it
    would sit inside Starlette's ServerErrorMiddleware, and 500 pages (sent by that
    outermost layer) would go out without nosniff, the CSP or the referrer policy. The
    access record (JSON log, metrics) is outside even that, to see every answer. The path
    prefix (prefix.py) is decided inside both, before anything looks at a route."""

    def build_middleware_stack(self) -> ASGIApp:
        settings = self.state.settings
        csp = service_csp(settings.frame_url, settings.public_url)
        prefixed = PathPrefix(
            super().build_middleware_stack(), public_url=settings.public_url, render_url=settings.render_url
        )
        secured = SecurityHeaders(prefixed, csp=csp)
        return AccessRecord(secured, json_log=settings.access_log == "json", metrics=self.state.metrics)


def build_service(
    settings: Settings,
    *,
    renderer: RenderPool | None = None,
    blobs: BlobStore | None = None,
    metadata: MetadataStore | None = None,
    clock: Callable[[], datetime] | None = None,
    metrics: NoMetrics | None = None,
) -> ShareService:
    """The storage (schema brought up to date) and the share service, without the web app:
    for `create_app` and for server-side commands such as `nbshare purge`. The default
    render pool starts no process until something is rendered."""
    metadata = metadata or MetadataStore(settings.database_url)
    metadata.migrate()
    if blobs is None:
        blobs = (
            ObjectBlobStore.from_url(settings.blob_url)
            if settings.blob_url
            else FileBlobStore(settings.blob_dir)
        )
    renderer = renderer or RenderPool(settings.render_workers, settings.render_timeout)
    server_key = ServerKey.load_or_create(settings.secret_key, settings.data_dir)
    return ShareService(
        settings, metadata, blobs, renderer, server_key=server_key, clock=clock, metrics=metrics
    )


def create_app(
    settings: Settings | None = None,
    *,
    renderer: RenderPool | None = None,
    blobs: BlobStore | None = None,
    metadata: MetadataStore | None = None,
    clock: Callable[[], datetime] | None = None,
    hub_service: HubService | None = None,
) -> FastAPI:
    """Build the app. Tests pass a shared renderer, in-memory blobs or a controllable
    clock; `nbshare serve` passes none. With hub_auth, Hub login is set up from
    `hub_service`, by default what JupyterHub put in the environment."""
    settings = settings or Settings()
    if settings.hub_auth:
        hub_service = hub_service or HubService.from_env()
        if hub_service is None:
            raise ValueError("hub_auth is on, but nbshare is not running as a JupyterHub service")
    owns_renderer = renderer is None
    metrics = Metrics() if settings.metrics else NoMetrics()
    service = build_service(
        settings, renderer=renderer, blobs=blobs, metadata=metadata, clock=clock, metrics=metrics
    )
    renderer = service.renderer

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        renderer.warm_up(service.static_url)
        purger = asyncio.create_task(_purge_periodically(service, settings.purge_interval))
        try:
            yield
        finally:
            purger.cancel()
            if owns_renderer:
                await anyio.to_thread.run_sync(renderer.close)

    app = NbshareApp(
        title="nbshare",
        version=__version__,
        description="Share Jupyter notebooks by link.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI would load from a CDN; the JSON description is enough
        redoc_url=None,
        # The API's base is the public URL, prefix and all, whatever the request's Host.
        servers=[{"url": settings.public_url}],
        root_path_in_servers=False,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.metrics = metrics
    app.state.readiness = Readiness(service.metadata, service.blobs)
    app.state.hub_login = (
        HubLogin(
            hub_service,
            service.server_key,
            root=root_path(settings.public_url),
            secure=settings.public_url.startswith("https://"),
            lifetime=settings.grant_lifetime,
        )
        if hub_service is not None and settings.hub_auth
        else None
    )
    app.state.templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    # The service's pages put this in front of their own paths: "" or "/services/nbshare".
    app.state.templates.globals["root"] = root_path(settings.public_url)
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(peers.router)  # NbHub's and nbss-upload's routes
    app.include_router(hub.router)  # Hub login, when nbshare runs in a JupyterHub
    app.mount("/static/mathjax", PublicStatic(directory=_mathjax_dir()), name="mathjax")
    app.mount("/static/nbconvert", PublicStatic(directory=_nbconvert_lab_static()), name="nbconvert")
    app.mount("/static", PublicStatic(directory=HERE / "static"), name="static")

    _add_error_handlers(app)
    app.add_middleware(
        BodyLimit,
        limit=settings.max_upload_bytes,
        uploads=upload_routes(api.router, pages.router, peers.router),
        refuse=_refuse,
    )
    # Pages, CSS and the vendored scripts shrink 3-5x; nothing secret is reflected into a
    # compressed body, so compression leaks nothing (no BREACH-style oracle).
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(HostAndOriginCheck, settings=settings)
    app.add_middleware(CatchAll)
    return app


class CatchAll:
    """Any unexpected error becomes a complete 500 answer, logged with its traceback.

    Not an `exception_handler(Exception)`: Starlette re-raises after such a handler has
    answered, and uvicorn then drops the connection, failing the client's next request
    on it too. Answered here, the connection stays usable."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            request = Request(scope)
            # The visitor gets no internals.
            log.exception("unexpected error on %s %s", request.method, redact(request.url.path))
            if started:
                raise  # half an answer is out: only closing the connection can say so
            message = "Something went wrong on the server; nothing was stored."
            await _error(request, 500, "internal_error", message)(scope, receive, send)


async def _purge_periodically(service: ShareService, interval: float) -> None:
    """Expired shares are refused at read time anyway; this removes their rows and blobs."""
    while True:
        try:
            await anyio.to_thread.run_sync(service.purge)
        except Exception:
            log.exception("purge failed; will try again")
        await asyncio.sleep(interval)


def _error(request: Request, status: int, code: str, message: str, headers: dict | None = None):
    if path_is_api(route_path(request.scope)):
        body = {"error": {"code": code, "message": message}}
        return JSONResponse(body, status_code=status, headers=headers)
    html = request.app.state.templates.get_template("error.html").render(
        settings=request.app.state.settings, status=status, message=message
    )
    return HTMLResponse(html, status_code=status, headers=headers)


def _refuse(request: Request, exc: NbshareError) -> Response:
    return _error(request, exc.status, exc.code, exc.message)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NbshareError)
    async def nbshare_error(request: Request, exc: NbshareError):
        login = request.app.state.hub_login
        wants_page = request.method in ("GET", "HEAD") and not path_is_api(route_path(request.scope))
        if isinstance(exc, HubLoginRequired) and login is not None and wants_page:
            # A page of a Hub-only share: off to the Hub's login, and back here after it.
            # As the browser sent it (percent-encoded): a decoded name may not fit a header.
            raw = request.scope.get("raw_path") or request.scope["path"].encode()
            query = request.scope.get("query_string", b"")
            back = raw.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
            return login.start(back)
        return _refuse(request, exc)

    @app.exception_handler(TooManyAttempts)
    async def throttled(request: Request, exc: TooManyAttempts):
        message = f"Too many attempts; wait {exc.retry_after} seconds and try again."
        return _error(request, 429, "too_many_attempts", message, {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        messages = {404: "Nothing here: check the link.", 405: "This method is not allowed here."}
        message = (
            exc.detail
            if exc.detail and exc.status_code not in messages
            else messages.get(exc.status_code, str(exc.detail))
        )
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # RFC 9110: a 405 says what is allowed. Starlette names only the first route
            # that matched the path; several routes may share it (GET, PUT, PATCH, DELETE).
            headers["Allow"] = ", ".join(allowed_methods(request))
        return _error(request, exc.status_code, "http_error", message, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(request, 400, "bad_request", f"{where}: {first.get('msg', 'invalid request')}")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this request's path. Routes are asked through
    their public `matches` (included routers nest theirs), one method at a time."""
    methods = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    return [
        method
        for method in methods
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]
