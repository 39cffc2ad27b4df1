"""Audit trail API (auditor only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from govdata.security import actions
from govdata.security.schemas import AuditFilter, AuditPage
from govdata.web.deps import CallerDep

router = APIRouter(tags=["audit"])


@router.get("/audit/records", response_model=AuditPage)
def list_audit_records(
    caller: CallerDep,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> AuditPage:
    """Audit records, newest first, filtered by actor, action prefix, target, outcome and time."""
    f = AuditFilter(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        since=since,
        until=until,
    )
    with caller.act() as ctx:
        return actions.list_audit_records(ctx, f, limit=limit, cursor=cursor)
