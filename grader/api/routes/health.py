"""/healthz: the API answers, and its database too."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from grader import __version__
from grader.api.models import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(request: Request) -> JSONResponse:
    """The API answers, and its database too (probed on a connection of its own, never behind requests)."""
    state = request.app.state
    checks = {"database": await state.health.database(),
              "queue": "celery" if state.runtime.settings.broker_url else "embedded"}
    if checks["database"] != "ok":
        return JSONResponse({"status": "unhealthy", **checks}, status_code=503)
    return JSONResponse({"status": "ok", "version": __version__, **checks})
