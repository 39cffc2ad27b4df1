"""REST API of governance: tickets."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["governance"])
