"""REST API of the classification policy and sensitive-data discovery (under /api/v1).
Thin shells over ``security.classification``, ``security.retention`` and
``security.discovery_actions``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from govdata.security import classification, discovery_actions, retention
from govdata.security.classification_schemas import (
    ControlsUpdate,
    DecisionOut,
    GradeControlsOut,
    RetentionItem,
    ScanCreate,
    ScanOut,
    ScanPage,
    SuggestionDecision,
)
from govdata.web.deps import CallerDep

router = APIRouter(tags=["classification"])
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/security/classification", response_model=list[GradeControlsOut])
def get_controls(caller: CallerDep) -> list[GradeControlsOut]:
    """The controls of each grade (1–4): approval chain, downloads, default masks, encryption
    at rest, watermarks, retention."""
    with caller.act() as ctx:
        return classification.get_controls(ctx)


@router.put("/security/classification", response_model=list[GradeControlsOut])
def update_controls(caller: CallerDep, data: ControlsUpdate) -> list[GradeControlsOut]:
    """Change the controls of one or more grades (security administrator); the table must keep
    its rules (422 ``classification_policy_invalid``)."""
    with caller.act() as ctx:
        return classification.update_controls(ctx, data)


@router.get("/security/classification/retention", response_model=list[RetentionItem])
def retention_report(caller: CallerDep) -> list[RetentionItem]:
    """Delivered files kept longer than their grade allows (security administrator)."""
    with caller.act() as ctx:
        return retention.retention_report(ctx)


@router.post("/security/discovery/scans", response_model=ScanOut, status_code=201)
def start_scan(caller: CallerDep, data: ScanCreate) -> ScanOut:
    """Queue a sensitive-data scan of an entry's data, a lake table or a source table."""
    with caller.act() as ctx:
        return discovery_actions.start_scan(ctx, data)


@router.get("/security/discovery/scans", response_model=ScanPage)
def list_scans(
    caller: CallerDep, entry: str | None = None, limit: Limit = 50, cursor: str | None = None
) -> ScanPage:
    """Scans the caller may read, newest first."""
    with caller.act() as ctx:
        return discovery_actions.list_scans(ctx, entry=entry, limit=limit, cursor=cursor)


@router.get("/security/discovery/scans/{scan_id}", response_model=ScanOut)
def get_scan(caller: CallerDep, scan_id: str) -> ScanOut:
    """One scan with its findings and suggestions per column."""
    with caller.act() as ctx:
        return discovery_actions.get_scan(ctx, scan_id)


@router.post("/security/discovery/scans/{scan_id}/accept", response_model=DecisionOut)
def accept_suggestions(caller: CallerDep, scan_id: str, data: SuggestionDecision) -> DecisionOut:
    """Accept suggestions: written into the entry's version under work (a new draft)."""
    with caller.act() as ctx:
        return discovery_actions.accept_suggestions(ctx, scan_id, data)


@router.post("/security/discovery/scans/{scan_id}/dismiss", response_model=DecisionOut)
def dismiss_suggestions(caller: CallerDep, scan_id: str, data: SuggestionDecision) -> DecisionOut:
    """Dismiss suggestions; the catalog does not change."""
    with caller.act() as ctx:
        return discovery_actions.dismiss_suggestions(ctx, scan_id, data)
