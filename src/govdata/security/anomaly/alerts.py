"""Alerts and their disposal (处置): open → assigned → disposing → closed, or a false positive.

The security administrator assigns an alert to one of the security administrators (who is
notified); the assignee starts the disposal and closes it with a note, or marks it a false
positive with the reason. Every change is audited and kept on the alert's timeline. The
auditor reads alerts, their evidence and timelines, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from govdata.core.clock import now
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.pagination import paginate
from govdata.notifications.actions import Message, notify
from govdata.security.anomaly.access import require_alerts_view
from govdata.security.anomaly.models import Alert, AlertEvent
from govdata.security.anomaly.officers import Officer, find_officer, security_officers
from govdata.security.anomaly.rules import RULES
from govdata.security.anomaly.schemas import (
    AlertEventOut,
    AlertOut,
    AlertPage,
    AssignIn,
    EvidenceRecord,
    NoteIn,
)
from govdata.security.anomaly.vocab import (
    ACTIVE_STATUSES,
    AlertStatus,
    Severity,
    event_label,
    severity_label,
    status_label,
)
from govdata.security.context import ActionContext
from govdata.security.models import AuditRecord
from govdata.security.permissions import Perm

ACTIVE = "active"  # a status filter: open, assigned or disposing


def _out(a: Alert, locale: str) -> AlertOut:
    spec = RULES.get(a.rule)
    en = locale.startswith("en")
    return AlertOut(
        id=a.id,
        code=a.code,
        rule=a.rule,
        rule_label=spec.label[1 if en else 0] if spec else a.rule,
        unit=spec.unit[1 if en else 0] if spec else "",
        severity=a.severity,
        severity_label=severity_label(a.severity, locale),
        status=a.status,
        status_label=status_label(a.status, locale),
        subject_kind=a.subject_kind,
        subject_id=a.subject_id,
        subject_name=a.subject_name,
        window_start=a.window_start,
        window_end=a.window_end,
        observed=a.observed,
        threshold=a.threshold,
        occurrences=a.occurrences,
        first_event_at=a.first_event_at,
        last_event_at=a.last_event_at,
        evidence=a.evidence or {},
        record_ids=a.record_ids or [],
        assignee_id=a.assignee_id,
        assignee_name=a.assignee_name,
        assigned_at=a.assigned_at,
        closed_at=a.closed_at,
        closed_by_name=a.closed_by_name,
        note=a.note,
        created_at=a.created_at,
    )


def _not_found(alert_id: str) -> NotFound:
    return NotFound(
        "告警不存在", "Alert not found", code="alert_not_found", details={"id": alert_id}
    )


def list_alerts(
    ctx: ActionContext,
    *,
    status: str | None = None,
    severity: Severity | None = None,
    rule: str | None = None,
    assignee_id: str | None = None,
    limit: int = 25,
    cursor: str | None = None,
) -> AlertPage:
    """Alerts, newest first; ``status`` may be ``active`` (open, assigned or disposing).
    Security administrator and auditor."""
    require_alerts_view(ctx)
    stmt = select(Alert)
    if status == ACTIVE:
        stmt = stmt.where(Alert.status.in_([s.value for s in ACTIVE_STATUSES]))
    elif status:
        if status not in set(AlertStatus):
            raise InvalidInput(
                "告警状态不合法", "Unknown alert status", code="alert_status_invalid"
            )
        stmt = stmt.where(Alert.status == status)
    if severity:
        stmt = stmt.where(Alert.severity == severity.value)
    if rule:
        stmt = stmt.where(Alert.rule == rule)
    if assignee_id:
        stmt = stmt.where(Alert.assignee_id == assignee_id)
    total = ctx.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = paginate(
        ctx.session,
        stmt,
        [Alert.created_at, Alert.id],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return AlertPage(
        items=[_out(a, ctx.locale) for a in page.items],
        total=int(total),
        next_cursor=page.next_cursor,
    )


def _records(ctx: ActionContext, ids: Iterable[str]) -> list[EvidenceRecord]:
    wanted = list(ids)
    if not wanted:
        return []
    rows = ctx.session.scalars(
        select(AuditRecord).where(AuditRecord.id.in_(wanted)).order_by(AuditRecord.at)
    )
    return [
        EvidenceRecord(
            id=r.id,
            at=r.at,
            actor_name=r.actor_name,
            action=r.action,
            target_type=r.target_type,
            target_id=r.target_id,
            outcome=r.outcome,
            client_addr=r.client_addr,
            row_count=r.row_count,
        )
        for r in rows
    ]


def get_alert(ctx: ActionContext, alert_id: str) -> AlertOut:
    """One alert with the audit records behind it and its timeline. Security administrator
    and auditor; the view is audited (it shows part of the audit trail)."""
    require_alerts_view(ctx)
    a = ctx.session.get(Alert, alert_id)
    if a is None:
        raise _not_found(alert_id)
    out = _out(a, ctx.locale)
    out.records = _records(ctx, a.record_ids or [])
    events = ctx.session.scalars(
        select(AlertEvent).where(AlertEvent.alert_id == a.id).order_by(AlertEvent.at)
    )
    out.events = [
        AlertEventOut(
            at=e.at,
            actor_name=e.actor_name,
            action=e.action,
            action_label=event_label(e.action, ctx.locale),
            status=e.status,
            note=e.note,
        )
        for e in events
    ]
    ctx.audit("security.alert.view", target_type="alert", target_id=a.id)
    return out


def list_officers(ctx: ActionContext) -> list[Officer]:
    """Security administrators an alert may be assigned to. Security administrator only."""
    ctx.require(Perm.SECURITY_MANAGE)
    return security_officers(ctx.session)


def _locked(ctx: ActionContext, alert_id: str, allowed: Iterable[AlertStatus]) -> Alert:
    a = ctx.session.get(Alert, alert_id, with_for_update=True)
    if a is None:
        raise _not_found(alert_id)
    if a.status not in {s.value for s in allowed}:
        raise Conflict(
            f"告警当前为“{status_label(a.status)}”，不能执行此操作",
            f"The alert is {status_label(a.status, 'en').lower()}; this step does not apply",
            code="alert_bad_state",
            details={"status": a.status},
        )
    return a


def _must_be_assignee(ctx: ActionContext, a: Alert) -> None:
    if a.assignee_id != ctx.actor.id:
        ctx.denials.append((Perm.SECURITY_MANAGE.value, a.id))
        raise PermissionDenied(
            f"该告警由 {a.assignee_name} 处置",
            f"{a.assignee_name} disposes of this alert",
            code="alert_not_assignee",
            details={"assignee": a.assignee_name},
        )


def _moved(
    ctx: ActionContext, a: Alert, action: str, status: AlertStatus, note: str | None = None
) -> AlertOut:
    before = a.status
    a.status = status.value
    ctx.session.add(
        AlertEvent(
            alert_id=a.id,
            at=now(),
            actor_name=ctx.actor.name,
            action=action,
            status=status.value,
            note=note,
        )
    )
    ctx.session.flush()
    ctx.audit(
        f"security.alert.{action}",
        target_type="alert",
        target_id=a.id,
        details={
            "code": a.code,
            "from": before,
            "to": status.value,
            **({"assignee": a.assignee_name} if action == "assign" else {}),
            **({"note": note} if note else {}),
        },
    )
    return _out(a, ctx.locale)


def assign_alert(ctx: ActionContext, alert_id: str, data: AssignIn) -> AlertOut:
    """Assign (or reassign) an open, assigned or disposing alert to a security administrator,
    who is notified; it becomes ``assigned``. Security administrator only."""
    ctx.require(Perm.SECURITY_MANAGE)
    a = _locked(ctx, alert_id, ACTIVE_STATUSES)
    officer = find_officer(ctx.session, data.assignee)
    if officer is None:
        raise InvalidInput(
            "只能指派给在职的安全管理员",
            "Alerts are assigned to active security administrators only",
            code="alert_assignee_invalid",
            details={"assignee": data.assignee},
        )
    a.assignee_id, a.assignee_name, a.assigned_at = officer.id, officer.username, now()
    out = _moved(ctx, a, "assign", AlertStatus.ASSIGNED)
    spec = RULES.get(a.rule)
    zh, en = spec.label if spec else (a.rule, a.rule)
    notify(
        ctx.session,
        [officer.id],
        Message(
            kind="security.alert.assigned",
            title_zh=f"请处置安全告警 {a.code}：{zh}（{a.subject_name}）",
            title_en=f"Please dispose of security alert {a.code}: {en} ({a.subject_name})",
            link=f"/security/alerts/{a.id}",
            target_type="alert",
            target_id=a.id,
        ),
    )
    return out


def start_disposal(ctx: ActionContext, alert_id: str) -> AlertOut:
    """The assignee starts disposing of an assigned alert (处置中)."""
    ctx.require(Perm.SECURITY_MANAGE)
    a = _locked(ctx, alert_id, [AlertStatus.ASSIGNED])
    _must_be_assignee(ctx, a)
    return _moved(ctx, a, "start", AlertStatus.DISPOSING)


def close_alert(ctx: ActionContext, alert_id: str, data: NoteIn) -> AlertOut:
    """The assignee closes an alert being disposed of; the closure note says what was done."""
    ctx.require(Perm.SECURITY_MANAGE)
    a = _locked(ctx, alert_id, [AlertStatus.DISPOSING])
    _must_be_assignee(ctx, a)
    a.closed_at, a.closed_by_name, a.note = now(), ctx.actor.name, data.note
    return _moved(ctx, a, "close", AlertStatus.CLOSED, data.note)


def mark_false_positive(ctx: ActionContext, alert_id: str, data: NoteIn) -> AlertOut:
    """Mark an alert a false positive, with the reason: any security administrator while it
    is open, only the assignee once assigned."""
    ctx.require(Perm.SECURITY_MANAGE)
    a = _locked(ctx, alert_id, ACTIVE_STATUSES)
    if a.status != AlertStatus.OPEN:
        _must_be_assignee(ctx, a)
    a.closed_at, a.closed_by_name, a.note = now(), ctx.actor.name, data.note
    return _moved(ctx, a, "false_positive", AlertStatus.FALSE_POSITIVE, data.note)
