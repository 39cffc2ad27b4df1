"""Problem-data tickets (问题数据反馈整改): one model for every report of bad data.

Who provided the data answers for it (谁提供谁负责): a ticket is the provider department's to
answer within a deadline. open → rectifying (accepted) or disputed (with the provider's
answer) → closed (by the reporter or the operator, with a note). ``open_ticket`` is called
by other domains' actions (sharing's objections today, quality rules later) inside their
own transaction, after they have authorised the report.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.clock import now
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.core.pagination import paginate
from govdata.core.sequences import daily_code
from govdata.governance.models import Ticket, TicketEvent
from govdata.governance.schemas import (
    TicketAnswer,
    TicketClose,
    TicketEventOut,
    TicketOut,
    TicketPage,
)
from govdata.governance.vocab import TicketSource, TicketStatus, status_label
from govdata.identity import queries as org
from govdata.notifications.actions import Message, notify
from govdata.security.context import ActionContext
from govdata.security.context_types import Actor
from govdata.security.permissions import Perm, Role, Scope
from govdata.security.scopes import scope_clause
from govdata.sharing.common import days_left, department_scope
from govdata.sharing.workdays import Calendar

# Shown instead of values that only the two departments may see.
WITHHELD = "***"


def _event(s: Session, t: Ticket, actor: str, action: str, note: str | None) -> None:
    s.add(
        TicketEvent(
            ticket_id=t.id, at=now(), actor_name=actor, action=action, status=t.status, note=note
        )
    )


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
) -> Ticket:
    """A new ticket for the provider department, its officers notified."""
    s = ctx.session
    provider = department_scope(s, provider_department_id)
    reporter = org.department_by_id(s, ctx.actor.department_id) if ctx.actor.department_id else None
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
        reporter_id=ctx.actor.id if ctx.actor.kind == "user" else None,
        reporter_name=ctx.actor.name,
        grant_id=grant_id,
        record_key=record_key or {},
        field=field,
        title=title,
        description=description,
        evidence=evidence,
        status=TicketStatus.OPEN.value,
        due_at=due_at,
    )
    s.add(t)
    s.flush()
    _event(s, t, ctx.actor.name, "open", description)
    notify(
        s,
        org.users_covering(s, {Role.DEPT_OFFICER}, provider),
        Message(
            kind="governance.ticket.open",
            title_zh=f"问题数据待处理 {t.code}：{title}",
            title_en=f"Problem data to handle {t.code}: {title}",
            body=description,
            link=f"/sharing/objections/{t.id}",
            target_type="ticket",
            target_id=t.id,
        ),
    )
    return t


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
    key's values and the evidence, which may hold the data itself, are withheld."""
    names = names or org.department_names(
        s, {t.provider_department_id, t.reporter_department_id or ""}
    )
    left, overdue = days_left(calendar or Calendar.load(s), t.due_at, t.status == TicketStatus.OPEN)
    rows: Any = (
        s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.at))
        if events
        else []
    )
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
        if _party(actor, t)
        else {k: WITHHELD for k in (t.record_key or {})},
        field=t.field,
        title=t.title,
        description=t.description,
        evidence=t.evidence if _party(actor, t) else (WITHHELD if t.evidence else None),
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
    """One ticket with its timeline (record key and evidence only to the two departments)."""
    return ticket_out(ctx.session, load_ticket(ctx, ticket_id), ctx.locale, actor=ctx.actor)


def answer_ticket(ctx: ActionContext, ticket_id: str, data: TicketAnswer) -> TicketOut:
    """The provider accepts (and rectifies) or disputes an open ticket, with its answer; the
    reporter is notified."""
    t = load_ticket(ctx, ticket_id)
    ctx.require(Perm.SHARING_DECIDE, _sides(t)[0], target_id=t.id)
    if t.status != TicketStatus.OPEN:
        raise Conflict(
            "只能答复待处理的工单",
            "Only an open ticket can be answered",
            code="ticket_state",
            details={"status": t.status},
        )
    t.status = (TicketStatus.RECTIFYING if data.accept else TicketStatus.DISPUTED).value
    t.answer = data.answer
    t.answered_at = now()
    t.answered_by_name = ctx.actor.name
    _event(ctx.session, t, ctx.actor.name, "accept" if data.accept else "dispute", data.answer)
    ctx.audit(
        "governance.ticket.answer",
        target_type="ticket",
        target_id=t.id,
        details={"accept": data.accept},
    )
    if t.reporter_id:
        notify(
            ctx.session,
            [t.reporter_id],
            Message(
                kind="governance.ticket.answered",
                title_zh=f"问题工单 {t.code} 已答复",
                title_en=f"Ticket {t.code} answered",
                body=data.answer,
                link=f"/sharing/objections/{t.id}",
                target_type="ticket",
                target_id=t.id,
            ),
        )
    return ticket_out(ctx.session, t, ctx.locale, actor=ctx.actor)


def close_ticket(ctx: ActionContext, ticket_id: str, data: TicketClose) -> TicketOut:
    """The reporter (satisfied with the answer) or the operator closes a ticket."""
    t = load_ticket(ctx, ticket_id)
    if not ctx.actor.can(Perm.SHARING_MANAGE):
        reporter = _sides(t)[1] if len(_sides(t)) > 1 else None
        if reporter is None:
            ctx.require(Perm.SHARING_MANAGE, target_id=t.id)
        else:
            ctx.require(Perm.SHARING_APPLY, reporter, target_id=t.id)
    if t.status == TicketStatus.CLOSED:
        raise Conflict("工单已关闭", "The ticket is already closed", code="ticket_state")
    t.status = TicketStatus.CLOSED.value
    t.closed_at = now()
    t.closed_note = data.note
    _event(ctx.session, t, ctx.actor.name, "close", data.note)
    ctx.audit("governance.ticket.close", target_type="ticket", target_id=t.id)
    return ticket_out(ctx.session, t, ctx.locale, actor=ctx.actor)


def list_tickets(
    ctx: ActionContext,
    *,
    side: str | None = None,
    status: TicketStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> TicketPage:
    """Tickets the actor sees, newest first: ``side=reported`` (its department reported
    them) or ``side=assigned`` (its department must answer them)."""
    ctx.require(Perm.SHARING_READ)
    stmt = select(Ticket).where(
        scope_clause(
            ctx.actor, Perm.SHARING_READ, Ticket.provider_department_id, Ticket.provider_region_path
        )
        | scope_clause(
            ctx.actor, Perm.SHARING_READ, Ticket.reporter_department_id, Ticket.reporter_region_path
        )
    )
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
