"""REST API of governance: crosscheck."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["governance"])
