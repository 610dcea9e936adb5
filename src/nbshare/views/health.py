"""What an operator's tools ask: is the process alive (/healthz), can it serve shares
(/readyz), and what has it done (/metrics, when the `metrics` setting is on). See
docs/operating.md."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from .. import __version__
from ..metrics import Metrics, refusal
from ..readiness import OK

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict:
    """Liveness: the process answers. Touches nothing, so a slow database never gets a
    healthy process restarted."""
    return {"ok": True, "version": __version__}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 when the database and the blob store both answer, else 503 naming
    the part that did not."""
    parts = await request.app.state.readiness.check()
    ready = all(state == OK for state in parts.values())
    return JSONResponse(
        {"ready": ready, **parts},
        status_code=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    collected = request.app.state.metrics
    status = refusal(request, request.app.state.settings) if isinstance(collected, Metrics) else 404
    if status == 401:
        return JSONResponse(
            {"error": {"code": "unauthorized", "message": "/metrics needs its bearer token."}},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    if status is not None:  # as if metrics were off: nothing says they exist
        raise HTTPException(404)
    body, content_type = collected.exposition()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
