"""Objection pages (数据异议): what the actor's department reported and what it must answer;
one objection with its timeline, the provider's answer (accept or dispute) and closing it.
Objections are problem-data tickets of governance; a grant page starts them."""

from __future__ import annotations

from fastapi import Response

from govdata.core.errors import GovDataError
from govdata.governance import tickets
from govdata.governance.schemas import TicketAnswer, TicketClose, TicketOut
from govdata.governance.vocab import TicketStatus
from govdata.security.permissions import Perm
from govdata.sharing.pages.common import (
    PAGE_SIZE,
    context,
    done_notice,
    list_query,
    refusal,
    scopes,
    side_tabs,
)
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

STATUSES = tuple(s.value for s in TicketStatus)
ANSWER_LABELS = {"accept": N_("Answer"), "answer": N_("Answer")}
CLOSE_LABELS = {"note": N_("Closing note")}
DONE = {
    "reported": N_("Problem reported to the provider department."),
    "answered": N_("Answer recorded."),
    "closed": N_("Objection closed."),
}


@router.get("/sharing/objections")
def objections_page(page: UserPage, side: str = "", status: str = "", cursor: str = "") -> Response:
    sides, chosen = side_tabs(page, side, "reported", "assigned")
    status_value = status if status in STATUSES else ""
    with page.act() as ctx:
        result = tickets.list_tickets(
            ctx,
            side=None if chosen == "all" else chosen,
            status=TicketStatus(status_value) if status_value else None,
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
    return page.render(
        "sharing/objections.html",
        result=result,
        sides=sides,
        side=chosen,
        statuses=STATUSES,
        filter_status=status_value,
        base_query=list_query(side=chosen, status=status_value),
        cursor=cursor,
        **context(page),
    )


def allowed(page: Page, t: TicketOut) -> set[str]:
    """What the viewer may do now; the actions check it again, this only picks the forms."""
    actor = page.actor
    ids = [
        t.provider_department_id,
        *([t.reporter_department_id] if t.reporter_department_id else []),
    ]
    found = scopes(page, *ids)
    provider, reporter = found[0], (found[1] if len(found) > 1 else None)
    may: set[str] = set()
    if t.status == TicketStatus.OPEN and actor.can(Perm.SHARING_DECIDE, provider):
        may.add("answer")
    closer = actor.can(Perm.SHARING_MANAGE) or (
        reporter is not None and actor.can(Perm.SHARING_APPLY, reporter)
    )
    if t.status != TicketStatus.CLOSED and closer:
        may.add("close")
    return may


def detail_page(
    page: Page,
    ticket_id: str,
    *,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    with page.act() as ctx:
        t = tickets.get_ticket(ctx, ticket_id)
    return page.render(
        "sharing/objection.html",
        status=status,
        t=t,
        may=allowed(page, t),
        typed=typed or {},
        error=error,
        notice=done_notice(page, DONE),
        **context(page),
    )


@router.get("/sharing/objections/{ticket_id}")
def objection_page(page: UserPage, ticket_id: str) -> Response:
    return detail_page(page, ticket_id)


@router.post("/sharing/objections/{ticket_id}/answer")
def answer(page: UserForm, ticket_id: str) -> Response:
    typed = {"verdict": page.field("verdict"), "answer": page.field("answer"), "form": "answer"}
    try:
        data = parse(
            TicketAnswer,
            {"accept": typed["verdict"] == "accept", "answer": typed["answer"]},
            ANSWER_LABELS,
        )
        with page.act() as ctx:
            tickets.answer_ticket(ctx, ticket_id, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return detail_page(page, ticket_id, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(f"/sharing/objections/{ticket_id}?done=answered")


@router.post("/sharing/objections/{ticket_id}/close")
def close(page: UserForm, ticket_id: str) -> Response:
    typed = {"note": page.field("note"), "form": "close"}
    try:
        data = parse(TicketClose, {"note": typed["note"]}, CLOSE_LABELS)
        with page.act() as ctx:
            tickets.close_ticket(ctx, ticket_id, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return detail_page(page, ticket_id, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(f"/sharing/objections/{ticket_id}?done=closed")
