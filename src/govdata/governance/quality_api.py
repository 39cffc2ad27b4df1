"""REST API of governance: quality."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["governance"])
