"""REST API of mounts, pipelines, runs, lineage and lake tables (under /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["exchange"])
