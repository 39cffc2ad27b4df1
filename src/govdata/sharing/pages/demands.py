"""Demand pages (供需对接): mine, incoming and all; post a demand; one demand with what the
viewer may do next: route it (operator), answer it (provider), link the entry that fulfils
it, or close it."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Response

from govdata.core.errors import GovDataError
from govdata.identity import actions as identity_actions
from govdata.identity.schemas import DepartmentOut
from govdata.security.permissions import Perm
from govdata.sharing import demands
from govdata.sharing.pages.common import (
    PAGE_SIZE,
    context,
    done_notice,
    list_query,
    refusal,
    scopes,
    side_tabs,
)
from govdata.sharing.schemas import (
    DemandAnswerIn,
    DemandCreate,
    DemandFulfil,
    DemandOut,
    DemandRoute,
    ReasonIn,
)
from govdata.sharing.vocab import DemandAnswer, DemandStatus
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

STATUSES = tuple(s.value for s in DemandStatus)
ANSWERS = tuple(a.value for a in DemandAnswer)
DEPARTMENTS_SHOWN = 200
CREATE_LABELS = {
    "title": N_("Title"),
    "description": N_("Description"),
    "purpose": N_("Purpose"),
    "items_wanted": N_("Items wanted"),
    "suggested_department_id": N_("Suggested provider"),
}
ROUTE_LABELS = {"provider_department_id": N_("Provider department")}
ANSWER_LABELS = {"answer": N_("Answer"), "note": N_("Note or basis")}
FULFIL_LABELS = {"entry_id": N_("Resource code")}
REASON_LABELS = {"reason": N_("Reason")}
DONE = {
    "created": N_("Demand posted."),
    "routed": N_("Demand sent to the provider."),
    "answered": N_("Answer recorded."),
    "fulfilled": N_("Demand fulfilled."),
    "closed": N_("Demand closed."),
}


def _departments(page: Page) -> list[DepartmentOut]:
    """Active departments other than the actor's own, for routing and suggestions."""
    if not page.can(Perm.DEPARTMENT_READ):
        return []
    with page.act() as ctx:
        found = identity_actions.list_departments(
            ctx, include_inactive=False, limit=DEPARTMENTS_SHOWN
        )
    return [d for d in found.items if d.id != page.actor.department_id]


@router.get("/sharing/demands")
def demands_page(page: UserPage, side: str = "", status: str = "", cursor: str = "") -> Response:
    sides, chosen = side_tabs(page, side, "mine", "incoming")
    status_value = status if status in STATUSES else ""
    with page.act() as ctx:
        result = demands.list_demands(
            ctx,
            side=None if chosen == "all" else chosen,
            status=DemandStatus(status_value) if status_value else None,
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
    return page.render(
        "sharing/demands.html",
        result=result,
        sides=sides,
        side=chosen,
        statuses=STATUSES,
        filter_status=status_value,
        base_query=list_query(side=chosen, status=status_value),
        cursor=cursor,
        **context(page),
    )


def _new_page(
    page: Page, typed: dict[str, str], *, error: str | None = None, status: int = 200
) -> Response:
    return page.render(
        "sharing/demand_new.html",
        status=status,
        typed=typed,
        departments=_departments(page),
        error=error,
        **context(page),
    )


@router.get("/sharing/demands/new")
def new_demand(page: UserPage) -> Response:
    with page.act() as ctx:
        ctx.require(Perm.SHARING_APPLY)
    return _new_page(page, {})


def items_wanted(text: str) -> list[str]:
    return [i.strip() for i in re.split(r"[\n,，、;；]", text) if i.strip()]


@router.post("/sharing/demands/new")
def create_demand(page: UserForm) -> Response:
    names = ("title", "description", "purpose", "items_wanted", "suggested_department_id")
    typed = {name: page.field(name) for name in names}
    try:
        data = parse(
            DemandCreate,
            {
                "title": typed["title"],
                "description": typed["description"],
                "purpose": typed["purpose"],
                "items_wanted": items_wanted(typed["items_wanted"]),
                "suggested_department_id": typed["suggested_department_id"] or None,
            },
            CREATE_LABELS,
        )
        with page.act() as ctx:
            out = demands.create_demand(ctx, data)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        return _new_page(page, typed, error=page.message(exc), status=exc.status)
    return page.redirect(f"/sharing/demands/{out.id}?done=created")


def allowed(page: Page, d: DemandOut) -> set[str]:
    """What the viewer may do now; the actions check it again, this only picks the forms."""
    actor = page.actor
    manage = actor.can(Perm.SHARING_MANAGE)
    ids = [
        d.requester_department_id,
        *([d.provider_department_id] if d.provider_department_id else []),
    ]
    found = scopes(page, *ids)
    requester, provider = found[0], (found[1] if len(found) > 1 else None)
    deciding = provider is not None and actor.can(Perm.SHARING_DECIDE, provider)
    may: set[str] = set()
    if manage and d.status in (DemandStatus.OPEN, DemandStatus.ROUTED):
        may.add("route")
    if deciding and d.status == DemandStatus.ROUTED:
        may.add("answer")
    if (deciding or manage) and d.status in (DemandStatus.ROUTED, DemandStatus.ANSWERED):
        may.add("fulfil")
    closing = (manage and d.status not in (DemandStatus.FULFILLED, DemandStatus.CLOSED)) or (
        actor.can(Perm.SHARING_APPLY, requester)
        and d.status in (DemandStatus.OPEN, DemandStatus.ROUTED)
    )
    if closing:
        may.add("close")
    return may


def detail_page(
    page: Page,
    demand_id: str,
    *,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    with page.act() as ctx:
        d = demands.get_demand(ctx, demand_id)
    may = allowed(page, d)
    return page.render(
        "sharing/demand.html",
        status=status,
        d=d,
        may=may,
        answers=ANSWERS,
        departments=_departments(page) if "route" in may else [],
        typed=typed or {},
        error=error,
        notice=done_notice(page, DONE),
        **context(page),
    )


@router.get("/sharing/demands/{demand_id}")
def demand_page(page: UserPage, demand_id: str) -> Response:
    return detail_page(page, demand_id)


def _act(
    page: Page,
    demand_id: str,
    done: str,
    build: Any,
    typed: dict[str, str],
) -> Response:
    """Parse the form and run one action; errors come back on the page with what was typed."""
    try:
        build()
    except GovDataError as exc:
        if refusal(exc):
            raise
        return detail_page(page, demand_id, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(f"/sharing/demands/{demand_id}?done={done}")


@router.post("/sharing/demands/{demand_id}/route")
def route(page: UserForm, demand_id: str) -> Response:
    dept = page.field("provider_department_id")

    def run() -> None:
        data = parse(DemandRoute, {"provider_department_id": dept}, ROUTE_LABELS)
        with page.act() as ctx:
            demands.route_demand(ctx, demand_id, data)

    return _act(page, demand_id, "routed", run, {"provider_department_id": dept})


@router.post("/sharing/demands/{demand_id}/answer")
def answer(page: UserForm, demand_id: str) -> Response:
    typed = {"answer": page.field("answer"), "note": page.field("note"), "form": "answer"}

    def run() -> None:
        data = parse(
            DemandAnswerIn,
            {"answer": typed["answer"], "note": typed["note"] or None},
            ANSWER_LABELS,
        )
        with page.act() as ctx:
            demands.answer_demand(ctx, demand_id, data)

    return _act(page, demand_id, "answered", run, typed)


@router.post("/sharing/demands/{demand_id}/fulfil")
def fulfil(page: UserForm, demand_id: str) -> Response:
    typed = {"entry_id": page.field("entry_id"), "form": "fulfil"}

    def run() -> None:
        data = parse(DemandFulfil, {"entry_id": typed["entry_id"]}, FULFIL_LABELS)
        with page.act() as ctx:
            demands.fulfil_demand(ctx, demand_id, data)

    return _act(page, demand_id, "fulfilled", run, typed)


@router.post("/sharing/demands/{demand_id}/close")
def close(page: UserForm, demand_id: str) -> Response:
    typed = {"close_reason": page.field("reason"), "form": "close"}

    def run() -> None:
        data = parse(ReasonIn, {"reason": typed["close_reason"]}, REASON_LABELS)
        with page.act() as ctx:
            demands.close_demand(ctx, demand_id, data)

    return _act(page, demand_id, "closed", run, typed)
