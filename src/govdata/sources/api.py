"""REST API of source systems: register, test, discover, preview (under /api/v1/sources)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/sources", tags=["sources"])
