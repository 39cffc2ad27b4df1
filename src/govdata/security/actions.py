"""Operations of the security layer."""

from __future__ import annotations

from sqlalchemy import Select, func, select

from govdata.core.pagination import paginate
from govdata.security.context import ActionContext
from govdata.security.models import AuditRecord
from govdata.security.permissions import Perm
from govdata.security.schemas import AuditFilter, AuditPage, AuditRecordOut


def _filtered(f: AuditFilter) -> Select[AuditRecord]:
    stmt = select(AuditRecord)
    if f.actor:
        stmt = stmt.where(AuditRecord.actor_name == f.actor)
    if f.action:
        stmt = stmt.where(AuditRecord.action.startswith(f.action))
    if f.target_type:
        stmt = stmt.where(AuditRecord.target_type == f.target_type)
    if f.target_id:
        stmt = stmt.where(AuditRecord.target_id == f.target_id)
    if f.outcome:
        stmt = stmt.where(AuditRecord.outcome == f.outcome)
    if f.since:
        stmt = stmt.where(AuditRecord.at >= f.since)
    if f.until:
        stmt = stmt.where(AuditRecord.at < f.until)
    return stmt


def list_audit_records(
    ctx: ActionContext, f: AuditFilter, *, limit: int = 50, cursor: str | None = None
) -> AuditPage:
    """List audit records, newest first. Auditor only (三员分立); the read is itself audited."""
    ctx.require(Perm.AUDIT_READ)
    stmt = _filtered(f)
    total = ctx.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = paginate(
        ctx.session,
        stmt,
        [AuditRecord.at, AuditRecord.id],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    ctx.audit(
        "audit.list",
        target_type="audit_records",
        row_count=len(page.items),
        details=f.model_dump(exclude_none=True, mode="json") or None,
    )
    return AuditPage(
        items=[AuditRecordOut.model_validate(r) for r in page.items],
        total=total,
        next_cursor=page.next_cursor,
    )
