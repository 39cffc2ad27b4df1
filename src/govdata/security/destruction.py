"""Secure destruction of an entry's data (数据安全销毁): request, approval, certificate.

A department officer (or the operator) asks for an entry's collected data to be destroyed,
with a reason; the security administrator approves or rejects — never their own request
(separation of duties). Approval starts the destruction job (``destruction_jobs``), which
pauses the entry's pipelines, records a manifest of every file, shreds the table's data keys
(so copies of encrypted columns taken earlier, backups included, no longer decrypt), deletes
the table's files and every version with its Delta log, ends the grants and subscriptions
of the entry, and issues a destruction certificate written to the audit ledger.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.jobs import queue as jobqueue
from govdata.core.pagination import paginate
from govdata.core.sequences import daily_code
from govdata.exchange.models import Mount
from govdata.identity import queries as org
from govdata.lake.tables import Lake
from govdata.notifications.actions import Message, notify
from govdata.security.context import ActionContext
from govdata.security.destruction_models import DestructionRequest
from govdata.security.destruction_schemas import (
    OPEN_STATUSES,
    DecisionIn,
    DestructionIn,
    DestructionOut,
    DestructionPage,
    DestructionStatus,
    status_label,
)
from govdata.security.permissions import Perm, Role, Scope
from govdata.security.scopes import scope_clause

JOB_KIND = "security.destruction"


def not_found(ref: str) -> NotFound:
    return NotFound(
        "销毁申请不存在或无权查看",
        "Destruction request not found",
        code="destruction_not_found",
        details={"id": ref},
    )


def destruction_out(req: DestructionRequest, locale: str = "zh_CN") -> DestructionOut:
    return DestructionOut(
        id=req.id,
        code=req.code,
        entry_id=req.entry_id,
        resource_code=req.resource_code,
        entry_name=req.entry_name,
        department_id=req.department_id,
        lake_table=req.lake_table,
        reason=req.reason,
        status=req.status,
        status_label=status_label(req.status, locale),
        requested_by_name=req.requested_by_name,
        requested_at=req.created_at,
        decided_by_name=req.decided_by_name,
        decided_at=req.decided_at,
        decision_note=req.decision_note,
        job_id=req.job_id,
        steps=list(req.steps or []),
        file_count=req.file_count,
        bytes_removed=req.bytes_removed,
        manifest_sm3=req.manifest_sm3,
        key_ids=list(req.key_ids or []),
        grants_ended=list(req.grants_ended or []),
        completed_at=req.completed_at,
        error=req.error,
        certificate=req.certificate,
    )


def _entry(ctx: ActionContext, ref: str) -> CatalogEntry:
    entry = ctx.session.scalar(
        select(CatalogEntry).where(or_(CatalogEntry.id == ref, CatalogEntry.resource_code == ref))
    )
    if entry is None:
        # Nothing about an entry's existence leaks to a caller who may not manage its data.
        ctx.require(Perm.EXCHANGE_MANAGE)
        raise NotFound(
            "目录不存在", "Catalog entry not found", code="entry_not_found", details={"ref": ref}
        )
    return entry


def lake_table_of(s: Session, settings: Settings, entry_id: str) -> str | None:
    """The entry's lake table: its mount's, else a table tagged with the entry (a mount
    deleted with its table kept)."""
    table = s.scalar(select(Mount.lake_table).where(Mount.entry_id == entry_id))
    if table:
        return table
    lake = Lake.from_settings(settings)
    for name in lake.list_tables():
        if lake.info(name).entry_id == entry_id:
            return name
    return None


def request_destruction(ctx: ActionContext, data: DestructionIn) -> DestructionOut:
    """Ask for the destruction of an entry's collected data (its lake table, every version
    of it and its data keys). Department officers for their own entries, or the operator;
    the security administrators are notified. One open request per entry."""
    entry = _entry(ctx, data.entry)
    scope = Scope(region_path=entry.region_path, department_id=entry.provider_department_id)
    ctx.require(Perm.EXCHANGE_MANAGE, scope, target_id=entry.id)
    reason = data.reason.strip()
    if len(reason) < 2:
        raise InvalidInput(
            "请填写销毁理由", "Give the reason for the destruction", code="destruction_reason"
        )
    s = ctx.session
    open_one = s.scalar(
        select(DestructionRequest.code).where(
            DestructionRequest.entry_id == entry.id,
            DestructionRequest.status.in_(OPEN_STATUSES),
        )
    )
    if open_one is not None:
        raise Conflict(
            f"该目录已有未完成的销毁申请 {open_one}",
            f"The entry already has an open destruction request {open_one}",
            code="destruction_open",
            details={"code": open_one},
        )
    req = DestructionRequest(
        code=daily_code(s, "XH"),
        entry_id=entry.id,
        resource_code=entry.resource_code,
        entry_name=entry.name,
        department_id=entry.provider_department_id,
        region_path=entry.region_path,
        lake_table=lake_table_of(s, ctx.settings, entry.id),
        reason=reason,
        status=DestructionStatus.PENDING.value,
        requested_by=ctx.actor.id,
        requested_by_name=ctx.actor.name,
        steps=[],
        key_ids=[],
        grants_ended=[],
        facts={},
    )
    s.add(req)
    s.flush()
    ctx.audit(
        "security.destruction.request",
        target_type="destruction",
        target_id=req.id,
        details={
            "code": req.code,
            "entry": entry.resource_code,
            "lake_table": req.lake_table,
            "reason": reason,
        },
    )
    notify(
        s,
        org.users_covering(s, {Role.SECADMIN}, Scope()),
        Message(
            kind="security.destruction.requested",
            title_zh=f"数据销毁待审批：{entry.name}",
            title_en=f"Destruction awaiting approval: {entry.name}",
            body=reason,
            link=f"/security/destructions/{req.id}",
            target_type="destruction",
            target_id=req.id,
        ),
    )
    return destruction_out(req, ctx.locale)


def decide_destruction(ctx: ActionContext, request_id: str, data: DecisionIn) -> DestructionOut:
    """Approve (start the destruction job) or reject a pending request. The security
    administrator only, and never for a request they made themselves."""
    ctx.require(Perm.SECURITY_MANAGE, target_id=request_id)
    s = ctx.session
    req = s.get(DestructionRequest, request_id)
    if req is None:
        raise not_found(request_id)
    if ctx.actor.id is not None and ctx.actor.id == req.requested_by:
        raise PermissionDenied(
            "不能审批本人提出的销毁申请",
            "Nobody may decide their own destruction request",
            code="destruction_self_approval",
            details={"code": req.code},
        )
    if req.status != DestructionStatus.PENDING:
        raise Conflict(
            f"销毁申请 {req.code} 已处理（{status_label(req.status)}）",
            f"Destruction request {req.code} was decided already ({req.status})",
            code="destruction_decided",
            details={"status": req.status},
        )
    req.decided_by = ctx.actor.id
    req.decided_by_name = ctx.actor.name
    req.decided_at = now()
    req.decision_note = data.note
    if data.approve:
        req.status = DestructionStatus.APPROVED.value
        job, _ = jobqueue.enqueue(
            s,
            JOB_KIND,
            {"destruction_id": req.id},
            max_attempts=ctx.settings.job_max_attempts,
            idempotency_key=f"destruction:{req.id}",
            created_by=ctx.actor.id,
        )
        req.job_id = job.id
    else:
        req.status = DestructionStatus.REJECTED.value
    s.flush()
    ctx.audit(
        "security.destruction.approve" if data.approve else "security.destruction.reject",
        target_type="destruction",
        target_id=req.id,
        details={"code": req.code, "note": data.note, "job_id": req.job_id},
    )
    if req.requested_by:
        verb_zh, verb_en = ("已批准", "approved") if data.approve else ("已驳回", "rejected")
        notify(
            s,
            [req.requested_by],
            Message(
                kind=f"security.destruction.{'approved' if data.approve else 'rejected'}",
                title_zh=f"数据销毁申请{verb_zh}：{req.entry_name}",
                title_en=f"Destruction request {verb_en}: {req.entry_name}",
                body=data.note,
                link=f"/security/destructions/{req.id}",
                target_type="destruction",
                target_id=req.id,
            ),
        )
    return destruction_out(req, ctx.locale)


def _reads_all(ctx: ActionContext) -> bool:
    return ctx.actor.can(Perm.SECURITY_MANAGE) or ctx.actor.can(Perm.AUDIT_READ)


def _load(ctx: ActionContext, request_id: str) -> DestructionRequest:
    if not _reads_all(ctx):
        ctx.require(Perm.EXCHANGE_READ)
    req = ctx.session.get(DestructionRequest, request_id)
    if req is None:
        raise not_found(request_id)
    scope = Scope(region_path=req.region_path, department_id=req.department_id)
    if not _reads_all(ctx) and not ctx.actor.can(Perm.EXCHANGE_READ, scope):
        raise not_found(request_id)
    return req


def get_destruction(ctx: ActionContext, request_id: str) -> DestructionOut:
    """One request with its progress and, once done, its certificate. The security
    administrator and the auditor see all; departments see their own (``exchange.read``)."""
    return destruction_out(_load(ctx, request_id), ctx.locale)


def list_destructions(
    ctx: ActionContext,
    *,
    status: DestructionStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> DestructionPage:
    """Destruction requests the actor sees, newest first."""
    stmt = select(DestructionRequest)
    if not _reads_all(ctx):
        ctx.require(Perm.EXCHANGE_READ)
        stmt = stmt.where(
            scope_clause(
                ctx.actor,
                Perm.EXCHANGE_READ,
                DestructionRequest.department_id,
                DestructionRequest.region_path,
            )
        )
    if status is not None:
        stmt = stmt.where(DestructionRequest.status == status.value)
    page = paginate(
        ctx.session, stmt, [DestructionRequest.id], limit=limit, cursor=cursor, descending=True
    )
    return DestructionPage(
        items=[destruction_out(r, ctx.locale) for r in page.items], next_cursor=page.next_cursor
    )


def certificate(ctx: ActionContext, request_id: str) -> dict[str, Any]:
    """The destruction certificate (once the destruction is complete); its download is audited."""
    req = _load(ctx, request_id)
    if req.certificate is None:
        raise Conflict(
            f"销毁申请 {req.code} 尚未完成，没有销毁证明",
            f"Destruction request {req.code} is not complete: no certificate yet",
            code="destruction_incomplete",
            details={"status": req.status},
        )
    ctx.audit(
        "security.destruction.certificate",
        target_type="destruction",
        target_id=req.id,
        details={"code": req.code},
    )
    return dict(req.certificate)
