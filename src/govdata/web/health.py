"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """200 while the process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """200 when the metadata store answers and is at the newest migration; 503 otherwise."""
    try:
        migrated = request.app.state.db.is_migrated()
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "reason": "store_unreachable"}, 503)
    if not migrated:
        return JSONResponse({"status": "unavailable", "reason": "not_migrated"}, 503)
    return JSONResponse({"status": "ready"})
