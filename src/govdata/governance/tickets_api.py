"""REST API of problem-data tickets (under /api/v1/governance): queues, one ticket, each
step of its workflow, and the accountability report. Thin shells over
``governance.tickets`` and ``governance.accountability``; who may take which step is
written there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from govdata.governance import accountability, tickets
from govdata.governance.schemas import (
    AccountabilityReport,
    TicketClose,
    TicketDecision,
    TicketExtend,
    TicketNote,
    TicketOut,
    TicketPage,
    TicketReason,
    TicketReassign,
)
from govdata.governance.vocab import TicketSource, TicketStatus
from govdata.web.deps import CallerDep

router = APIRouter(tags=["governance"])

_T = "/governance/tickets/{ticket_id}"
Limit = Annotated[int, Query(ge=1, le=200)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/governance/tickets", response_model=TicketPage)
def list_tickets(
    caller: CallerDep,
    side: Annotated[str | None, Query(pattern="^(reported|assigned)$")] = None,
    status: TicketStatus | None = None,
    severity: Annotated[int | None, Query(ge=1, le=5)] = None,
    overdue: bool | None = None,
    department_id: str | None = None,
    entry: str | None = None,
    source: TicketSource | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> TicketPage:
    """Tickets the caller sees, newest first: ``side=assigned`` (the provider's queue),
    ``side=reported`` (the consumer's), none (everything in the caller's scope, the
    operator's queue); filters by state, severity, overdue, provider department, entry (id
    or resource code) and source (rule / objection)."""
    with caller.act() as ctx:
        return tickets.list_tickets(
            ctx,
            side=side,
            status=status,
            severity=severity,
            overdue=overdue,
            department_id=department_id,
            entry=entry,
            source=source,
            limit=limit,
            cursor=cursor,
        )


@router.get(_T, response_model=TicketOut)
def get_ticket(caller: CallerDep, ticket_id: str) -> TicketOut:
    """One ticket with its timeline (record key, evidence and samples to the two sides only)."""
    with caller.act() as ctx:
        return tickets.get_ticket(ctx, ticket_id)


@router.post(f"{_T}/accept", response_model=TicketOut)
def accept_ticket(caller: CallerDep, ticket_id: str, data: TicketNote) -> TicketOut:
    """The provider accepts it (open → accepted)."""
    with caller.act() as ctx:
        return tickets.accept_ticket(ctx, ticket_id, data)


@router.post(f"{_T}/dispute", response_model=TicketOut)
def dispute_ticket(caller: CallerDep, ticket_id: str, data: TicketReason) -> TicketOut:
    """The provider holds the data is right (open / reopened → disputed)."""
    with caller.act() as ctx:
        return tickets.dispute_ticket(ctx, ticket_id, data)


@router.post(f"{_T}/start", response_model=TicketOut)
def start_rectifying(caller: CallerDep, ticket_id: str, data: TicketNote) -> TicketOut:
    """The provider starts rectifying (accepted / reopened → rectifying)."""
    with caller.act() as ctx:
        return tickets.start_rectifying(ctx, ticket_id, data)


@router.post(f"{_T}/submit", response_model=TicketOut)
def submit_ticket(caller: CallerDep, ticket_id: str, data: TicketNote) -> TicketOut:
    """The provider submits the fix: a rule ticket's rule runs again now (→ re-checked, or
    still rectifying with the new counts); an objection waits for the reporter."""
    with caller.act() as ctx:
        return tickets.submit_ticket(ctx, ticket_id, data)


@router.post(f"{_T}/close", response_model=TicketOut)
def close_ticket(caller: CallerDep, ticket_id: str, data: TicketClose) -> TicketOut:
    """The reporter or the operator closes it."""
    with caller.act() as ctx:
        return tickets.close_ticket(ctx, ticket_id, data)


@router.post(f"{_T}/reopen", response_model=TicketOut)
def reopen_ticket(caller: CallerDep, ticket_id: str, data: TicketReason) -> TicketOut:
    """The reporter or the operator reopens a re-checked or closed ticket."""
    with caller.act() as ctx:
        return tickets.reopen_ticket(ctx, ticket_id, data)


@router.post(f"{_T}/decide", response_model=TicketOut)
def decide_dispute(caller: CallerDep, ticket_id: str, data: TicketDecision) -> TicketOut:
    """The operator decides a dispute: upheld → closed; rejected → accepted."""
    with caller.act() as ctx:
        return tickets.decide_dispute(ctx, ticket_id, data)


@router.post(f"{_T}/reassign", response_model=TicketOut)
def reassign_ticket(caller: CallerDep, ticket_id: str, data: TicketReassign) -> TicketOut:
    """The operator hands it to another department and/or a named officer."""
    with caller.act() as ctx:
        return tickets.reassign_ticket(ctx, ticket_id, data)


@router.post(f"{_T}/extend", response_model=TicketOut)
def extend_deadline(caller: CallerDep, ticket_id: str, data: TicketExtend) -> TicketOut:
    """The operator extends the deadline by working days."""
    with caller.act() as ctx:
        return tickets.extend_deadline(ctx, ticket_id, data)


@router.get("/governance/accountability", response_model=AccountabilityReport)
def accountability_report(
    caller: CallerDep, department_id: str | None = None
) -> AccountabilityReport:
    """Per department in the caller's scope: entries provided and tickets against them
    (open, overdue, escalated, closed), grants held, tickets reported, mean time to fix
    (hours, days) overall and by severity."""
    with caller.act() as ctx:
        return accountability.accountability_report(ctx, department_id=department_id)


@router.get("/governance/accountability.xlsx", response_class=Response)
def export_accountability(caller: CallerDep, department_id: str | None = None) -> Response:
    """The same report as an Excel workbook (sheets 部门 / 按严重程度); audited."""
    with caller.act() as ctx:
        body = accountability.export_accountability(ctx, department_id=department_id)
    return Response(
        body,
        media_type=XLSX,
        headers={"content-disposition": 'attachment; filename="accountability.xlsx"'},
    )
