"""Operations of the security layer."""

from __future__ import annotations

from sqlalchemy import Select, Text, cast, func, or_, select

from govdata.core.pagination import paginate
from govdata.security.context import ActionContext
from govdata.security.models import AuditRecord
from govdata.security.permissions import Perm
from govdata.security.schemas import AuditFilter, AuditPage, AuditRecordOut

DATA_ACTIONS = ("sharing.data.read", "sharing.data.verify")


def _department_actors(department_id: str) -> Select[tuple[str]]:
    from govdata.identity.models import AppCredential, User

    users = select(User.id).where(User.department_id == department_id)
    apps = select(AppCredential.id).where(AppCredential.department_id == department_id)
    return users.union(apps)  # type: ignore[return-value]


def _entry_ids(entry: str) -> Select[tuple[str]]:
    from govdata.catalog.models import CatalogEntry

    return select(CatalogEntry.id).where(  # type: ignore[return-value]
        or_(CatalogEntry.id == entry, CatalogEntry.resource_code == entry)
    )


def filtered_records(f: AuditFilter) -> Select[AuditRecord]:
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
    if f.department_id:
        stmt = stmt.where(AuditRecord.actor_id.in_(_department_actors(f.department_id)))
    if f.entry:
        stmt = stmt.where(
            or_(AuditRecord.target_id == f.entry, AuditRecord.target_id.in_(_entry_ids(f.entry)))
        )
    if f.key:
        # The key as a JSON string inside the record's details ("keys": [...]).
        stmt = stmt.where(
            AuditRecord.action.in_(DATA_ACTIONS),
            cast(AuditRecord.details, Text).contains(f'"{f.key}"', autoescape=True),
        )
    return stmt


def list_audit_records(
    ctx: ActionContext, f: AuditFilter, *, limit: int = 50, cursor: str | None = None
) -> AuditPage:
    """List audit records, newest first. Auditor only (三员分立); the read is itself audited."""
    ctx.require(Perm.AUDIT_READ)
    stmt = filtered_records(f)
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
