"""Problem-data tickets (问题数据反馈整改): one workflow for every report of bad data.

Who provided the data answers for it (谁提供谁负责): a ticket is the provider department's to
fix within a deadline. States::

    open ──accept──▶ accepted ──start──▶ rectifying ──submit──▶ re-checked ──close──▶ closed
      │                                      ▲   (re-check fails)   │                    │
      └──dispute──▶ disputed ──decide────────┘ (rejected: accepted) └──reopen──▶ reopened ◀┘
                         └── decide (upheld) ──▶ closed                  (start / dispute)

Who may take each step:

- the provider department's officers (``sharing.decide`` on the provider): accept, dispute,
  start rectifying, submit for re-check;
- the reporter (``sharing.apply`` on the reporting department) or the operator
  (``sharing.manage``): close, reopen;
- the operator: decide a dispute, reassign, extend the deadline.

Every step is audited, written to the timeline (``TicketEvent``) and notified to the other
side; the reporter hears of every answer and of the closing. A re-check of a rule ticket
runs the rule again (``ticket_rules.recheck``); an objection's re-check is the reporter's
confirmation: the submitted fix waits in ``rechecked`` until the reporter closes or reopens
it. ``open_ticket`` is called by other domains' actions (sharing's objections, quality
runs through ``ticket_rules.open_from_run``) inside their own transaction, after they have
authorised the report.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.core.clock import now
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.core.pagination import paginate
from govdata.core.sequences import daily_code
from govdata.governance.models import Ticket, TicketEvent
from govdata.governance.schemas import (
    TicketAnswer,
    TicketClose,
    TicketDecision,
    TicketEventOut,
    TicketExtend,
    TicketNote,
    TicketOut,
    TicketPage,
    TicketReason,
    TicketReassign,
)
from govdata.governance.vocab import (
    RUNNING,
    SEVERITY_DAYS,
    TicketSource,
    TicketStatus,
    status_label,
)
from govdata.identity import queries as org
from govdata.notifications.actions import Message, notify
from govdata.security.context import ActionContext
from govdata.security.context_types import Actor
from govdata.security.permissions import Perm, Role, Scope
from govdata.security.scopes import scope_clause
from govdata.sharing.common import days_left, department_scope
from govdata.sharing.policy import load_policy
from govdata.sharing.workdays import Calendar

# Shown instead of values that only the two departments may see.
WITHHELD = "***"
RULE_REPORTER = "质量规则"

S = TicketStatus


def link(t: Ticket) -> str:
    return f"/governance/tickets/{t.id}"


def add_event(s: Session, t: Ticket, actor: str, action: str, note: str | None) -> None:
    s.add(
        TicketEvent(
            ticket_id=t.id, at=now(), actor_name=actor, action=action, status=t.status, note=note
        )
    )


def fix_days(s: Session, t: Ticket) -> int:
    """Working days the provider has: by severity for rule tickets, the sharing policy's
    objection days for objections."""
    if t.source == TicketSource.RULE:
        return SEVERITY_DAYS.get(t.severity, SEVERITY_DAYS[3])
    return load_policy(s).objection_days


def _restart_clock(s: Session, t: Ticket, at: datetime) -> None:
    t.due_at = Calendar.load(s).add(at, fix_days(s, t))
    t.escalated_at = None
    t.escalation_level = 0


# -- who hears of it ---------------------------------------------------------------------


def provider_users(s: Session, t: Ticket) -> list[str]:
    """The provider department's officers, and the named assignee."""
    users = org.users_covering(s, {Role.DEPT_OFFICER}, _sides(t)[0])
    return [*([t.assignee_id] if t.assignee_id else []), *users]


def reporter_users(s: Session, t: Ticket) -> list[str]:
    """Who reported it: the reporting user, else (an app reported) its department's officers."""
    if t.reporter_id:
        return [t.reporter_id]
    if t.reporter_department_id:
        return org.users_covering(s, {Role.DEPT_OFFICER}, _sides(t)[1])
    return []


def operator_users(s: Session, t: Ticket) -> list[str]:
    """The operators whose scope covers the provider: the platform's and the region's."""
    return org.users_covering(s, {Role.OPERATOR, Role.REGION_OPERATOR}, _sides(t)[0])


def tell(
    s: Session,
    t: Ticket,
    users: Iterable[str],
    kind: str,
    zh: str,
    en: str,
    body: str | None = None,
) -> int:
    return notify(
        s,
        list(users),
        Message(
            kind=f"governance.ticket.{kind}",
            title_zh=f"问题工单 {t.code}{zh}：{t.title}",
            title_en=f"Ticket {t.code} {en}: {t.title}",
            body=body,
            link=link(t),
            target_type="ticket",
            target_id=t.id,
        ),
    )


# -- opening -----------------------------------------------------------------------------


def open_ticket(
    ctx: ActionContext,
    *,
    source: TicketSource,
    entry_id: str,
    resource_code: str,
    entry_name: str,
    provider_department_id: str,
    title: str,
    description: str,
    due_at: datetime | None,
    severity: int = 3,
    record_key: dict[str, Any] | None = None,
    field: str | None = None,
    evidence: str | None = None,
    grant_id: str | None = None,
    rule: dict[str, Any] | None = None,
) -> Ticket:
    """A new ticket for the provider department, its officers notified.

    ``rule`` (rule tickets: rule_id, run_id, failed_count, checked_count, samples, name):
    the reporter is the rule, not the actor whose run found it."""
    s = ctx.session
    provider = department_scope(s, provider_department_id)
    reporter = None
    if rule is None and ctx.actor.department_id:
        reporter = org.department_by_id(s, ctx.actor.department_id)
    t = Ticket(
        code=daily_code(s, "WT"),
        source=source.value,
        severity=severity,
        entry_id=entry_id,
        resource_code=resource_code,
        entry_name=entry_name,
        provider_department_id=provider_department_id,
        provider_region_path=provider.region_path or "",
        reporter_department_id=reporter.id if reporter else None,
        reporter_region_path=reporter.region_path if reporter else None,
        reporter_id=ctx.actor.id if ctx.actor.kind == "user" and rule is None else None,
        reporter_name=RULE_REPORTER if rule is not None else ctx.actor.name,
        grant_id=grant_id,
        record_key=record_key or {},
        field=field,
        title=title,
        description=description,
        evidence=evidence,
        status=S.OPEN.value,
        due_at=due_at,
        escalation_level=0,
        reopen_count=0,
        recheck_count=0,
    )
    if rule is not None:
        t.rule_id = rule["rule_id"]
        t.run_id = t.last_run_id = rule["run_id"]
        t.failed_count = rule["failed_count"]
        t.checked_count = rule["checked_count"]
        t.samples = rule["samples"]
    s.add(t)
    s.flush()
    add_event(s, t, ctx.actor.name if rule is None else RULE_REPORTER, "open", description)
    tell(s, t, provider_users(s, t), "open", "待处理", "to handle", description)
    return t


# -- reading -----------------------------------------------------------------------------


def _sides(t: Ticket) -> list[Scope]:
    sides = [Scope(region_path=t.provider_region_path, department_id=t.provider_department_id)]
    if t.reporter_department_id:
        sides.append(
            Scope(region_path=t.reporter_region_path, department_id=t.reporter_department_id)
        )
    return sides


def load_ticket(ctx: ActionContext, ticket_id: str) -> Ticket:
    ctx.require(Perm.SHARING_READ)
    t = ctx.session.get(Ticket, ticket_id)
    if t is None or not any(ctx.actor.can(Perm.SHARING_READ, sc) for sc in _sides(t)):
        raise NotFound(
            "问题工单不存在或无权查看",
            "Ticket not found",
            code="ticket_not_found",
            details={"id": ticket_id},
        )
    return t


def ticket_out(
    s: Session,
    t: Ticket,
    locale: str,
    names: dict[str, str] | None = None,
    calendar: Calendar | None = None,
    *,
    events: bool = True,
    actor: Actor | None = None,
) -> TicketOut:
    """``actor`` given and on neither side (an operator overseeing the workflow): the record
    key's values, the evidence and the failing samples, which hold the data itself, are
    withheld."""
    names = names or org.department_names(
        s, {t.provider_department_id, t.reporter_department_id or ""}
    )
    left, overdue = days_left(calendar or Calendar.load(s), t.due_at, t.status in RUNNING)
    rows: Any = (
        s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.at))
        if events
        else []
    )
    party = _party(actor, t)
    samples = list(t.samples or [])
    return TicketOut(
        id=t.id,
        code=t.code,
        source=t.source,
        severity=t.severity,
        entry_id=t.entry_id,
        resource_code=t.resource_code,
        entry_name=t.entry_name,
        provider_department_id=t.provider_department_id,
        provider_department_name=names.get(t.provider_department_id, ""),
        reporter_department_id=t.reporter_department_id,
        reporter_department_name=names.get(t.reporter_department_id or ""),
        reporter_name=t.reporter_name,
        grant_id=t.grant_id,
        record_key=dict(t.record_key or {})
        if party
        else {k: WITHHELD for k in (t.record_key or {})},
        field=t.field,
        title=t.title,
        description=t.description,
        evidence=t.evidence if party else (WITHHELD if t.evidence else None),
        status=t.status,
        status_label=status_label(t.status, locale),
        due_at=t.due_at,
        days_left=left,
        overdue=overdue,
        answer=t.answer,
        answered_at=t.answered_at,
        answered_by_name=t.answered_by_name,
        closed_at=t.closed_at,
        closed_note=t.closed_note,
        closed_by_name=t.closed_by_name,
        assignee_id=t.assignee_id,
        assignee_name=t.assignee_name,
        escalated_at=t.escalated_at,
        escalation_level=t.escalation_level or 0,
        reopen_count=t.reopen_count or 0,
        rule_id=t.rule_id,
        run_id=t.run_id,
        last_run_id=t.last_run_id,
        failed_count=t.failed_count,
        checked_count=t.checked_count,
        samples=samples if party else [{k: WITHHELD for k in row} for row in samples],
        submitted_at=t.submitted_at,
        recheck_at=t.recheck_at,
        recheck_run_id=t.recheck_run_id,
        recheck_passed=t.recheck_passed,
        recheck_count=t.recheck_count or 0,
        events=[
            TicketEventOut(
                at=e.at, actor_name=e.actor_name, action=e.action, status=e.status, note=e.note
            )
            for e in rows
        ],
        created_at=t.created_at,
    )


def _party(actor: Actor | None, t: Ticket) -> bool:
    if actor is None or actor.kind == "system":
        return True
    return actor.department_id in (t.provider_department_id, t.reporter_department_id)


def get_ticket(ctx: ActionContext, ticket_id: str) -> TicketOut:
    """One ticket with its timeline (record key, evidence and failing samples only to the
    two departments)."""
    return ticket_out(ctx.session, load_ticket(ctx, ticket_id), ctx.locale, actor=ctx.actor)


# -- who may move it ---------------------------------------------------------------------


def may_report(actor: Actor, t: Ticket) -> bool:
    """The reporter's side (close, reopen): its department's ``sharing.apply``, or the
    operator's ``sharing.manage``."""
    if actor.can(Perm.SHARING_MANAGE, _sides(t)[0]):
        return True
    sides = _sides(t)
    return len(sides) > 1 and actor.can(Perm.SHARING_APPLY, sides[1])


def _as_provider(ctx: ActionContext, t: Ticket) -> None:
    ctx.require(Perm.SHARING_DECIDE, _sides(t)[0], target_id=t.id)


def _as_reporter(ctx: ActionContext, t: Ticket) -> None:
    if may_report(ctx.actor, t):
        return
    sides = _sides(t)
    if len(sides) > 1:
        ctx.require(Perm.SHARING_APPLY, sides[1], target_id=t.id)
    ctx.require(Perm.SHARING_MANAGE, sides[0], target_id=t.id)


def _as_operator(ctx: ActionContext, t: Ticket) -> None:
    ctx.require(Perm.SHARING_MANAGE, _sides(t)[0], target_id=t.id)


def _expect(t: Ticket, *states: TicketStatus) -> None:
    if t.status not in states:
        raise Conflict(
            "工单当前状态不允许该操作",
            "The ticket's state does not allow this step",
            code="ticket_state",
            details={"status": t.status, "expected": [s.value for s in states]},
        )


def moved(
    ctx: ActionContext,
    t: Ticket,
    to: TicketStatus,
    action: str,
    note: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record a step: the new state, the timeline, the audit record."""
    t.status = to.value
    add_event(ctx.session, t, ctx.actor.name, action, note)
    ctx.audit(
        f"governance.ticket.{action}",
        target_type="ticket",
        target_id=t.id,
        details={"code": t.code, "status": t.status, **(details or {})},
    )


def _out(ctx: ActionContext, t: Ticket) -> TicketOut:
    return ticket_out(ctx.session, t, ctx.locale, actor=ctx.actor)


# -- the provider's steps ----------------------------------------------------------------


def _answered(ctx: ActionContext, t: Ticket, answer: str | None) -> None:
    if answer:
        t.answer = answer
    t.answered_at = now()
    t.answered_by_name = ctx.actor.name


def accept_ticket(ctx: ActionContext, ticket_id: str, data: TicketNote) -> TicketOut:
    """The provider accepts that the data is wrong (open → accepted); the reporter hears."""
    t = load_ticket(ctx, ticket_id)
    _as_provider(ctx, t)
    _expect(t, S.OPEN)
    _answered(ctx, t, data.note)
    moved(ctx, t, S.ACCEPTED, "accept", data.note)
    s = ctx.session
    tell(s, t, reporter_users(s, t), "accepted", " 已受理", "accepted", data.note)
    return _out(ctx, t)


def dispute_ticket(ctx: ActionContext, ticket_id: str, data: TicketReason) -> TicketOut:
    """The provider holds the data is right (open or reopened → disputed); the reporter and
    the operators, who decide, hear."""
    t = load_ticket(ctx, ticket_id)
    _as_provider(ctx, t)
    _expect(t, S.OPEN, S.REOPENED)
    _answered(ctx, t, data.note)
    moved(ctx, t, S.DISPUTED, "dispute", data.note)
    s = ctx.session
    users = [*reporter_users(s, t), *operator_users(s, t)]
    tell(s, t, users, "disputed", " 提供部门有异议", "disputed", data.note)
    return _out(ctx, t)


def answer_ticket(ctx: ActionContext, ticket_id: str, data: TicketAnswer) -> TicketOut:
    """The provider accepts or disputes an open ticket with its answer (the objection page's
    one form): ``accept_ticket`` or ``dispute_ticket``."""
    if data.accept:
        return accept_ticket(ctx, ticket_id, TicketNote(note=data.answer))
    return dispute_ticket(ctx, ticket_id, TicketReason(note=data.answer))


def start_rectifying(ctx: ActionContext, ticket_id: str, data: TicketNote) -> TicketOut:
    """The provider starts fixing the data (accepted or reopened → rectifying)."""
    t = load_ticket(ctx, ticket_id)
    _as_provider(ctx, t)
    _expect(t, S.ACCEPTED, S.REOPENED)
    moved(ctx, t, S.RECTIFYING, "start", data.note)
    s = ctx.session
    tell(s, t, reporter_users(s, t), "rectifying", " 整改中", "being rectified", data.note)
    return _out(ctx, t)


def submit_ticket(ctx: ActionContext, ticket_id: str, data: TicketNote) -> TicketOut:
    """The provider submits its fix for re-check (rectifying → re-checked, or back to
    rectifying when the rule still fails).

    A rule ticket's rule runs again now on the fixed data (``ticket_rules.recheck``): it
    passes → re-checked (the operator closes it, or the next scheduled run that passes
    closes it); it fails → still rectifying, with the new counts. An objection's re-check is
    the reporter's: it waits in re-checked until the reporter closes or reopens it."""
    from govdata.governance import ticket_rules

    t = load_ticket(ctx, ticket_id)
    _as_provider(ctx, t)
    _expect(t, S.RECTIFYING)
    s = ctx.session
    at = now()
    t.submitted_at = at
    t.recheck_count = (t.recheck_count or 0) + 1
    add_event(s, t, ctx.actor.name, "submit", data.note)
    # No rule: the reporter's confirmation decides (None until then).
    passed = ticket_rules.recheck(ctx, t) if t.rule_id else None
    t.recheck_at = at
    t.recheck_passed = passed
    details = {"recheck_run": t.recheck_run_id, "passed": passed}
    if passed is False:
        note = f"复核未通过：{t.failed_count}/{t.checked_count} 行仍不符合规则"
        moved(ctx, t, S.RECTIFYING, "recheck_failed", note, details)
        tell(s, t, provider_users(s, t), "recheck_failed", " 复核未通过", "failed its re-check")
        return _out(ctx, t)
    if passed:
        note = f"复核通过：{t.checked_count} 行均符合规则"
        moved(ctx, t, S.RECHECKED, "recheck_passed", note, details)
        users = [*reporter_users(s, t), *operator_users(s, t)]
        tell(s, t, users, "rechecked", " 复核通过", "passed its re-check", data.note)
    else:
        moved(ctx, t, S.RECHECKED, "recheck_requested", data.note, details)
        tell(
            s,
            t,
            reporter_users(s, t),
            "rechecked",
            " 已整改，请确认",
            "rectified: please confirm",
            data.note,
        )
    return _out(ctx, t)


# -- the reporter's (or the operator's) steps --------------------------------------------


def close_ticket(ctx: ActionContext, ticket_id: str, data: TicketClose) -> TicketOut:
    """The reporter (satisfied with the answer or the fix) or the operator closes a ticket;
    the provider and the reporter hear."""
    t = load_ticket(ctx, ticket_id)
    _as_reporter(ctx, t)
    if t.status == S.CLOSED:
        raise Conflict("工单已关闭", "The ticket is already closed", code="ticket_state")
    close(ctx, t, data.note, "close")
    return _out(ctx, t)


def close(ctx: ActionContext, t: Ticket, note: str, action: str) -> None:
    """Close ``t`` (authorised by the caller) and tell both sides."""
    t.closed_at = now()
    t.closed_note = note
    t.closed_by_name = ctx.actor.name
    moved(ctx, t, S.CLOSED, action, note)
    s = ctx.session
    users = [*provider_users(s, t), *reporter_users(s, t)]
    tell(s, t, [u for u in users if u != ctx.actor.id], "closed", " 已关闭", "closed", note)


def reopen_ticket(ctx: ActionContext, ticket_id: str, data: TicketReason) -> TicketOut:
    """The reporter or the operator sends a re-checked or closed ticket back into the work
    (→ reopened), with a new deadline; the provider hears."""
    t = load_ticket(ctx, ticket_id)
    _as_reporter(ctx, t)
    _expect(t, S.RECHECKED, S.CLOSED)
    reopen(ctx, t, data.note)
    return _out(ctx, t)


def reopen(ctx: ActionContext, t: Ticket, note: str, *, action: str = "reopen") -> None:
    s = ctx.session
    t.reopen_count = (t.reopen_count or 0) + 1
    t.closed_at = None
    t.closed_note = None
    t.closed_by_name = None
    _restart_clock(s, t, now())
    moved(ctx, t, S.REOPENED, action, note)
    tell(s, t, provider_users(s, t), "reopened", " 已重开", "reopened", note)


# -- the operator's steps ----------------------------------------------------------------


def decide_dispute(ctx: ActionContext, ticket_id: str, data: TicketDecision) -> TicketOut:
    """The operator decides a disputed ticket: upheld (the data is right) → closed;
    rejected → accepted, with a new deadline for the provider. Both sides hear."""
    t = load_ticket(ctx, ticket_id)
    _as_operator(ctx, t)
    _expect(t, S.DISPUTED)
    s = ctx.session
    if data.uphold:
        close(ctx, t, data.note, "dispute_upheld")
        return _out(ctx, t)
    _restart_clock(s, t, now())
    moved(ctx, t, S.ACCEPTED, "dispute_rejected", data.note)
    users = [*provider_users(s, t), *reporter_users(s, t)]
    tell(s, t, users, "dispute_rejected", " 异议未获支持", "dispute rejected", data.note)
    return _out(ctx, t)


def reassign_ticket(ctx: ActionContext, ticket_id: str, data: TicketReassign) -> TicketOut:
    """The operator hands a ticket to another provider department (it starts over as open
    there, with a new deadline) and/or to a named officer of it; the new assignees hear."""
    t = load_ticket(ctx, ticket_id)
    _as_operator(ctx, t)
    if t.status == S.CLOSED:
        raise Conflict("工单已关闭", "The ticket is already closed", code="ticket_state")
    if data.department_id is None and data.assignee is None:
        raise InvalidInput(
            "请指定新的责任部门或责任人",
            "Name the new department or officer",
            code="ticket_reassign_empty",
        )
    s = ctx.session
    details: dict[str, Any] = {}
    if data.department_id is not None and data.department_id != t.provider_department_id:
        dept = org.department_by_id(s, data.department_id)
        if dept is None or not dept.is_active:
            raise InvalidInput(
                "责任部门不存在或已停用",
                "The department does not exist or is inactive",
                code="ticket_reassign_department",
                details={"department_id": data.department_id},
            )
        ctx.require(Perm.SHARING_MANAGE, department_scope(s, dept.id), target_id=t.id)
        details["from_department"] = t.provider_department_id
        details["to_department"] = dept.id
        t.provider_department_id = dept.id
        t.provider_region_path = dept.region_path
        t.assignee_id = t.assignee_name = None
        t.status = S.OPEN.value
        _restart_clock(s, t, now())
    if data.assignee is not None:
        officer = org.actor_for_username(s, data.assignee)
        if officer is None or not officer.can(Perm.SHARING_DECIDE, _sides(t)[0]):
            raise InvalidInput(
                "责任人须为责任部门的数据管理员",
                "The assignee must be an officer of the provider department",
                code="ticket_reassign_assignee",
                details={"assignee": data.assignee},
            )
        t.assignee_id, t.assignee_name = officer.id, officer.name
        details["assignee"] = officer.name
    moved(ctx, t, TicketStatus(t.status), "reassign", data.note, details)
    tell(s, t, provider_users(s, t), "assigned", " 已转办", "reassigned", data.note)
    return _out(ctx, t)


def extend_deadline(ctx: ActionContext, ticket_id: str, data: TicketExtend) -> TicketOut:
    """The operator moves the deadline ``days`` working days later; escalation starts over.
    The provider hears."""
    t = load_ticket(ctx, ticket_id)
    _as_operator(ctx, t)
    if t.status == S.CLOSED:
        raise Conflict("工单已关闭", "The ticket is already closed", code="ticket_state")
    s = ctx.session
    at = now()
    start = t.due_at if t.due_at is not None and t.due_at > at else at
    before = t.due_at
    t.due_at = Calendar.load(s).add(start, data.days)
    t.escalated_at = None
    t.escalation_level = 0
    details = {"from": before.isoformat() if before else None, "to": t.due_at.isoformat()}
    moved(ctx, t, TicketStatus(t.status), "extend", data.note, details)
    tell(s, t, provider_users(s, t), "extended", " 已延期", "deadline extended", data.note)
    return _out(ctx, t)


# -- queues ------------------------------------------------------------------------------

SIDES = ("reported", "assigned")


def _visible(ctx: ActionContext) -> Select[Ticket]:
    return select(Ticket).where(
        scope_clause(
            ctx.actor, Perm.SHARING_READ, Ticket.provider_department_id, Ticket.provider_region_path
        )
        | scope_clause(
            ctx.actor, Perm.SHARING_READ, Ticket.reporter_department_id, Ticket.reporter_region_path
        )
    )


def list_tickets(
    ctx: ActionContext,
    *,
    side: str | None = None,
    status: TicketStatus | None = None,
    severity: int | None = None,
    overdue: bool | None = None,
    department_id: str | None = None,
    entry: str | None = None,
    source: TicketSource | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> TicketPage:
    """Tickets the actor sees, newest first: ``side=reported`` (its department reported
    them) or ``side=assigned`` (its department must answer them); filtered by state,
    severity, overdue (deadline passed while the provider's clock runs), provider
    department, entry (id or resource code) and source."""
    ctx.require(Perm.SHARING_READ)
    stmt = _visible(ctx)
    dept = ctx.actor.department_id
    if side == "reported":
        stmt = stmt.where(Ticket.reporter_department_id == dept)
    elif side == "assigned":
        stmt = stmt.where(Ticket.provider_department_id == dept)
    elif side is not None:
        raise InvalidInput(
            "side 须为 reported 或 assigned",
            "side must be reported or assigned",
            code="invalid_side",
        )
    if status is not None:
        stmt = stmt.where(Ticket.status == status.value)
    if severity is not None:
        stmt = stmt.where(Ticket.severity == severity)
    if overdue is not None:
        late = Ticket.status.in_([s.value for s in RUNNING]) & (Ticket.due_at <= now())
        stmt = stmt.where(late if overdue else ~late | Ticket.due_at.is_(None))
    if department_id:
        stmt = stmt.where(Ticket.provider_department_id == department_id)
    if entry:
        entry_id = ctx.session.scalar(
            select(CatalogEntry.id).where(
                (CatalogEntry.id == entry) | (CatalogEntry.resource_code == entry)
            )
        )
        stmt = stmt.where(Ticket.entry_id == (entry_id or entry))
    if source is not None:
        stmt = stmt.where(Ticket.source == source.value)
    page = paginate(ctx.session, stmt, [Ticket.id], limit=limit, cursor=cursor, descending=True)
    s = ctx.session
    names = org.department_names(
        s,
        {t.provider_department_id for t in page.items}
        | {t.reporter_department_id or "" for t in page.items},
    )
    calendar = Calendar.load(s)
    return TicketPage(
        items=[
            ticket_out(s, t, ctx.locale, names, calendar, events=False, actor=ctx.actor)
            for t in page.items
        ],
        next_cursor=page.next_cursor,
    )
