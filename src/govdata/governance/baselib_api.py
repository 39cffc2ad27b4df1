"""REST API of governance: baselib."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["governance"])
