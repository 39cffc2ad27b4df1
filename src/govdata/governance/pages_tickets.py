"""Portal pages of problem-data tickets (问题数据反馈整改) and the accountability report.

Queues: the provider's (``assigned``: tickets against its data), the consumer's
(``reported``: tickets its department reported) and all in the viewer's scope (the
operator's, with filters: state, severity, overdue, department, entry). One ticket with its
timeline and the forms of the steps the viewer may take now. Thin shells over
``governance.tickets`` and ``governance.accountability``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import Response
from pydantic import BaseModel

from govdata.core.errors import GovDataError
from govdata.governance import accountability, tickets
from govdata.governance.schemas import (
    TicketClose,
    TicketDecision,
    TicketExtend,
    TicketNote,
    TicketOut,
    TicketReason,
    TicketReassign,
)
from govdata.governance.vocab import RUNNING, TicketSource, TicketStatus, status_label
from govdata.identity import actions as identity_actions
from govdata.security.permissions import Perm, Role, Scope
from govdata.sharing.pages.common import (
    PAGE_SIZE,
    context,
    done_notice,
    list_query,
    refusal,
    side_tabs,
)
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUSES = tuple(s.value for s in TicketStatus)
TONE = {
    "open": "amber",
    "accepted": "blue",
    "disputed": "red",
    "rectifying": "blue",
    "rechecked": "green",
    "closed": "gray",
    "reopened": "amber",
}
# How the timeline names what happened (governance.tickets / ticket_rules write these).
EVENTS = {
    "open": N_("Reported"),
    "accept": N_("Accepted"),
    "dispute": N_("Disputed"),
    "start": N_("Rectification started"),
    "submit": N_("Fix submitted for re-check"),
    "recheck_passed": N_("Re-check passed"),
    "recheck_failed": N_("Re-check failed"),
    "recheck_requested": N_("Waiting for the reporter's confirmation"),
    "close": N_("Closed"),
    "reopen": N_("Reopened"),
    "dispute_upheld": N_("Dispute upheld"),
    "dispute_rejected": N_("Dispute rejected"),
    "reassign": N_("Reassigned"),
    "extend": N_("Deadline extended"),
    "escalate": N_("Escalated"),
    "run_failed": N_("Failed again in a quality run"),
    "run_passed": N_("Passed in a quality run"),
    "regressed": N_("Failed again after its re-check"),
    "confirmed": N_("Confirmed by a quality run"),
    "auto_closed": N_("Closed automatically"),
}
LABELS = {
    "note": N_("Note"),
    "days": N_("Working days"),
    "department_id": N_("Department"),
    "assignee": N_("Assignee"),
}
DONE = {
    "accept": N_("Ticket accepted."),
    "dispute": N_("Dispute recorded: the operator decides."),
    "start": N_("Rectification started."),
    "submit": N_("Fix submitted for re-check."),
    "close": N_("Ticket closed."),
    "reopen": N_("Ticket reopened."),
    "decide": N_("Decision recorded."),
    "reassign": N_("Ticket reassigned."),
    "extend": N_("Deadline extended."),
}


def _page_context(page: Page) -> dict[str, Any]:
    locale = page.locale
    return {
        **context(page),
        "ticket_tone": lambda value: TONE.get(str(value), "gray"),
        "ticket_status": lambda value: status_label(str(value), locale),
        "ticket_event": lambda action: EVENTS.get(action, action),
    }


def _departments(page: Page) -> list[tuple[str, str]]:
    """Departments to filter by or reassign to: for those who oversee more than their own."""
    if not (page.can(Perm.SHARING_MANAGE) or page.actor.has_role(Role.REGION_OPERATOR)):
        return []
    with page.act() as ctx:
        found = identity_actions.list_departments(ctx, limit=200)
    return [(d.id, d.name) for d in found.items]


@router.get("/governance/tickets")
def tickets_page(
    page: UserPage,
    side: str = "",
    status: str = "",
    severity: str = "",
    overdue: str = "",
    department: str = "",
    entry: str = "",
    source: str = "",
    cursor: str = "",
) -> Response:
    sides, chosen = side_tabs(page, side, "reported", "assigned")
    status_value = status if status in STATUSES else ""
    severity_value = severity if severity in ("1", "2", "3", "4", "5") else ""
    overdue_value = overdue if overdue in ("1", "0") else ""
    source_value = source if source in (TicketSource.RULE, TicketSource.OBJECTION) else ""
    with page.act() as ctx:
        result = tickets.list_tickets(
            ctx,
            side=None if chosen == "all" else chosen,
            status=TicketStatus(status_value) if status_value else None,
            severity=int(severity_value) if severity_value else None,
            overdue=None if not overdue_value else overdue_value == "1",
            department_id=department or None,
            entry=entry.strip() or None,
            source=TicketSource(source_value) if source_value else None,
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
    filters = {
        "status": status_value,
        "severity": severity_value,
        "overdue": overdue_value,
        "department": department,
        "entry": entry,
        "source": source_value,
    }
    return page.render(
        "governance/tickets.html",
        result=result,
        sides=sides,
        side=chosen,
        statuses=STATUSES,
        filters=filters,
        departments=_departments(page),
        base_query=list_query(side=chosen, **filters),
        cursor=cursor,
        **_page_context(page),
    )


def allowed(page: Page, t: TicketOut) -> set[str]:
    """The steps the viewer may take now; the actions check again, this picks the forms."""
    actor = page.actor
    provider = Scope(department_id=t.provider_department_id, region_path=_path(page, t))
    may: set[str] = set()
    if actor.can(Perm.SHARING_DECIDE, provider):
        if t.status == TicketStatus.OPEN:
            may |= {"accept", "dispute"}
        if t.status == TicketStatus.REOPENED:
            may |= {"start", "dispute"}
        if t.status == TicketStatus.ACCEPTED:
            may.add("start")
        if t.status == TicketStatus.RECTIFYING:
            may.add("submit")
    operator = actor.can(Perm.SHARING_MANAGE, provider)
    reporter = operator or (
        t.reporter_department_id is not None
        and actor.can(
            Perm.SHARING_APPLY,
            Scope(department_id=t.reporter_department_id, region_path=_path(page, t, True)),
        )
    )
    if reporter and t.status != TicketStatus.CLOSED:
        may.add("close")
    if reporter and t.status in (TicketStatus.RECHECKED, TicketStatus.CLOSED):
        may.add("reopen")
    if operator and t.status == TicketStatus.DISPUTED:
        may.add("decide")
    if operator and t.status != TicketStatus.CLOSED:
        may |= {"reassign", "extend"}
    return may


def _path(page: Page, t: TicketOut, reporter: bool = False) -> str | None:
    from govdata.sharing.pages.common import scopes

    dept = t.reporter_department_id if reporter else t.provider_department_id
    return scopes(page, dept)[0].region_path if dept else None


def _detail(
    page: Page,
    ticket_id: str,
    *,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    with page.act() as ctx:
        t = tickets.get_ticket(ctx, ticket_id)
    may = allowed(page, t)
    return page.render(
        "governance/ticket.html",
        status=status,
        t=t,
        may=may,
        running=t.status in RUNNING,
        departments=_departments(page) if "reassign" in may else [],
        typed=typed or {},
        error=error,
        notice=done_notice(page, DONE),
        **_page_context(page),
    )


@router.get("/governance/tickets/{ticket_id}")
def ticket_page(page: UserPage, ticket_id: str) -> Response:
    return _detail(page, ticket_id)


Step = tuple[type[BaseModel], Callable[..., Any], Callable[[Page], dict[str, Any]]]


def _note(page: Page) -> dict[str, Any]:
    return {"note": page.field("note").strip() or None}


def _reason(page: Page) -> dict[str, Any]:
    return {"note": page.field("note")}


STEPS: dict[str, Step] = {
    "accept": (TicketNote, tickets.accept_ticket, _note),
    "dispute": (TicketReason, tickets.dispute_ticket, _reason),
    "start": (TicketNote, tickets.start_rectifying, _note),
    "submit": (TicketNote, tickets.submit_ticket, _note),
    "close": (TicketClose, tickets.close_ticket, _reason),
    "reopen": (TicketReason, tickets.reopen_ticket, _reason),
    "decide": (
        TicketDecision,
        tickets.decide_dispute,
        lambda p: {"uphold": p.field("verdict") == "uphold", "note": p.field("note")},
    ),
    "reassign": (
        TicketReassign,
        tickets.reassign_ticket,
        lambda p: {
            "department_id": p.field("department_id") or None,
            "assignee": p.field("assignee").strip() or None,
            "note": p.field("note"),
        },
    ),
    "extend": (
        TicketExtend,
        tickets.extend_deadline,
        lambda p: {"days": p.field("days"), "note": p.field("note")},
    ),
}


@router.post("/governance/tickets/{ticket_id}/{step}")
def take_step(page: UserForm, ticket_id: str, step: str) -> Response:
    found = STEPS.get(step)
    if found is None:
        return _detail(page, ticket_id, status=404)
    model, action, read = found
    raw = read(page)
    typed = {k: "" if v is None else str(v) for k, v in raw.items()} | {"form": step}
    try:
        data = parse(model, raw, LABELS)
        with page.act() as ctx:
            action(ctx, ticket_id, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return _detail(page, ticket_id, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(f"/governance/tickets/{ticket_id}?done={step}")


# -- accountability ----------------------------------------------------------------------


@router.get("/governance/accountability")
def accountability_page(page: UserPage) -> Response:
    with page.act() as ctx:
        report = accountability.accountability_report(ctx)
    rows = [d for d in report.departments if d.tickets or d.tickets_reported or d.entries]
    return page.render(
        "governance/accountability.html",
        report=report,
        rows=rows,
        chart={"labels": [d.department_name for d in rows], "values": [d.open for d in rows]},
        **_page_context(page),
    )


@router.get("/governance/accountability.xlsx")
def accountability_export(page: UserPage) -> Response:
    with page.act() as ctx:
        body = accountability.export_accountability(ctx)
    return Response(
        body,
        media_type=XLSX,
        headers={
            "Content-Disposition": 'attachment; filename="accountability.xlsx"; '
            f"filename*=UTF-8''{quote('问题数据整改问责报告.xlsx')}"
        },
    )
