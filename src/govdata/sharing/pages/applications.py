"""Application pages: apply from a catalog entry, my applications, the review queues of the
provider and the operator, and one application with its approval chain and the actions the
viewer may take on it (decide, withdraw, contest, resolve)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import zip_longest
from typing import Any
from urllib.parse import urlencode

from fastapi import Response

from govdata.catalog import actions as catalog_actions
from govdata.catalog.schemas import EntryOut, VersionOut
from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.errors import GovDataError
from govdata.security.permissions import Perm, Scope
from govdata.sharing import application_views, applications
from govdata.sharing.common import published_entry
from govdata.sharing.pages.common import PAGE_SIZE, context, done_notice, refusal, scopes
from govdata.sharing.schemas import (
    ApplicationCreate,
    ApplicationOut,
    ContestResolution,
    DecisionIn,
    ReasonIn,
)
from govdata.sharing.vocab import ApplicationStatus, StepKind, StepStatus
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

APPLY_LABELS = {
    "entry": N_("Catalog entry"),
    "purpose": N_("Purpose"),
    "scenario": N_("Application scenario"),
    "legal_basis": N_("Legal basis"),
    "items": N_("Items applied for"),
    "row_filter": N_("Row scope"),
    "row_scope_note": N_("Row scope note"),
    "delivery_modes": N_("Delivery modes"),
    "valid_until": N_("Valid until"),
    "contact_name": N_("Contact person"),
    "contact_phone": N_("Contact phone"),
    "clear_items": N_("Items wanted unmasked"),
}
DECISION_LABELS = {"comment": N_("Decision comment"), "clear_items": N_("Items allowed unmasked")}
REASON_LABELS = {"reason": N_("Reason")}
RESOLVE_LABELS = {"uphold": N_("Outcome"), "comment": N_("Coordination comment")}
TEXT_FIELDS = (
    "purpose",
    "scenario",
    "legal_basis",
    "row_scope_note",
    "valid_until",
    "contact_name",
    "contact_phone",
)
# The row-scope operators in the order the form offers them (sources.base.FILTER_OPS).
OPS = ("=", ">", ">=", "<", "<=", "IN", "IS NULL", "IS NOT NULL")
NO_VALUE_OPS = ("IS NULL", "IS NOT NULL")
# The catalog's share mode each delivery mode needs, turned around: what an entry offers.
DELIVERY_FOR = {need.value: mode.value for mode, need in applications.MODE_NEEDS.items()}
DEFAULT_VALID_DAYS = 365
STATUSES = tuple(s.value for s in ApplicationStatus)

# Shown once on the page a form redirects to (``?done=``); the flash keys of web.portal
# belong to the portal shell.
DONE = {
    "applied": N_("Application submitted."),
    "decided": N_("Decision recorded."),
    "withdrawn": N_("Application withdrawn."),
    "contested": N_("Coordination requested from the operator."),
    "resolved": N_("Contest resolved."),
}


# -- applying -------------------------------------------------------------------------------


@dataclass
class ApplyForm:
    """What the apply form shows: the defaults, or what was typed."""

    items: list[str]
    clear_items: list[str]
    delivery_modes: list[str]
    values: dict[str, str]
    conditions: list[tuple[str, str, str]] = field(default_factory=list)


def offered_modes(version: VersionOut) -> list[str]:
    return [DELIVERY_FOR[m] for m in version.share_modes if m in DELIVERY_FOR]


def _shareable(version: VersionOut) -> list[str]:
    # A not-shared entry is applied for whole, under an exemption; otherwise not-shared items
    # cannot be asked for at all.
    if version.share_type == "none":
        return [i.name for i in version.items]
    return [i.name for i in version.items if i.share_type != "none"]


def _defaults(page: Page, entry: EntryOut) -> ApplyForm:
    today = now().astimezone(DISPLAY_TZ).date()
    return ApplyForm(
        items=_shareable(entry.current),
        clear_items=[],
        delivery_modes=offered_modes(entry.current)[:1],
        values={
            "valid_until": (today + timedelta(days=DEFAULT_VALID_DAYS)).isoformat(),
            "contact_name": page.actor.name,
        },
        conditions=[("", "=", "")],
    )


def _submitted(page: Page) -> ApplyForm:
    rows = zip_longest(
        page.fields("cond_item"), page.fields("cond_op"), page.fields("cond_value"), fillvalue=""
    )
    return ApplyForm(
        items=page.fields("items"),
        clear_items=page.fields("clear_items"),
        delivery_modes=page.fields("delivery_modes"),
        values={name: page.field(name) for name in TEXT_FIELDS},
        conditions=[(i.strip(), o.strip() or "=", v.strip()) for i, o, v in rows],
    )


def row_filter(conditions: list[tuple[str, str, str]]) -> list[list[Any]]:
    """The form's condition rows as the action's ``[item, op, value]``; blank rows drop out."""
    out: list[list[Any]] = []
    for item, op, value in conditions:
        if not item:
            continue
        if op in NO_VALUE_OPS:
            out.append([item, op])
        elif op == "IN":
            out.append([item, op, [v.strip() for v in re.split(r"[,，]", value) if v.strip()]])
        else:
            out.append([item, op, value])
    return out


def _apply_page(
    page: Page, entry: EntryOut, form: ApplyForm, *, error: str | None = None, status: int = 200
) -> Response:
    return page.render(
        "sharing/apply.html",
        status=status,
        entry=entry,
        version=entry.current,
        form=form,
        conditions=form.conditions or [("", "=", "")],
        offered=offered_modes(entry.current),
        ops=OPS,
        error=error,
        **context(page),
    )


def _entry_to_apply(page: Page, ref: str) -> EntryOut:
    with page.act() as ctx:
        ctx.require(Perm.SHARING_APPLY)
        entry = catalog_actions.get_entry(ctx, ref)
        published_entry(ctx, entry.id)
    return entry


@router.get("/sharing/applications/new")
def new_application(page: UserPage, entry: str) -> Response:
    found = _entry_to_apply(page, entry)
    return _apply_page(page, found, _defaults(page, found))


@router.post("/sharing/applications/new")
def create_application(page: UserForm, entry: str) -> Response:
    found = _entry_to_apply(page, entry)
    form = _submitted(page)
    if page.field("add_condition"):
        # Another condition row, without JavaScript: the form comes back with all it held.
        form.conditions.append(("", "=", ""))
        return _apply_page(page, found, form)
    try:
        data = parse(
            ApplicationCreate,
            {
                "entry": found.id,
                "purpose": form.values["purpose"],
                "scenario": form.values["scenario"],
                "legal_basis": form.values["legal_basis"],
                "items": form.items,
                "row_filter": row_filter(form.conditions),
                "row_scope_note": form.values["row_scope_note"] or None,
                "delivery_modes": form.delivery_modes,
                "valid_until": form.values["valid_until"] or None,
                "contact_name": form.values["contact_name"],
                "contact_phone": form.values["contact_phone"],
                "clear_items": form.clear_items,
            },
            APPLY_LABELS,
        )
        with page.act() as ctx:
            out = applications.apply(ctx, data)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        return _apply_page(page, found, form, error=page.message(exc), status=exc.status)
    return page.redirect(f"/sharing/applications/{out.id}?done=applied")


# -- lists and queues -------------------------------------------------------------------------


@router.get("/sharing/applications")
def applications_page(
    page: UserPage, view: str = "", status: str = "", cursor: str = ""
) -> Response:
    views = (["mine"] if page.can(Perm.SHARING_APPLY) else []) + ["all"]
    chosen = view if view in views else views[0]
    status_value = status if status in STATUSES else ""
    with page.act() as ctx:
        result = application_views.list_applications(
            ctx,
            queue="mine" if chosen == "mine" else None,
            status=ApplicationStatus(status_value) if status_value else None,
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
    return page.render(
        "sharing/applications.html",
        result=result,
        views=views,
        view=chosen,
        statuses=STATUSES,
        filter_status=status_value,
        base_query=urlencode(
            {k: v for k, v in {"view": chosen, "status": status_value}.items() if v}
        ),
        cursor=cursor,
        **context(page),
    )


@router.get("/sharing/review")
def review_page(page: UserPage, queue: str = "", cursor: str = "") -> Response:
    """审核待办: the provider's incoming applications and, for the operator, its own queue."""
    queues = [
        name
        for name, perm in (("incoming", Perm.SHARING_DECIDE), ("operator", Perm.SHARING_MANAGE))
        if page.can(perm)
    ]
    with page.act() as ctx:
        if not queues:
            ctx.require(Perm.SHARING_DECIDE)
        chosen = queue if queue in queues else queues[0]
        result = application_views.list_applications(
            ctx, queue=chosen, limit=PAGE_SIZE, cursor=cursor or None
        )
    return page.render(
        "sharing/review.html",
        result=result,
        queues=queues,
        queue=chosen,
        base_query=urlencode({"queue": chosen}),
        cursor=cursor,
        **context(page),
    )


# -- one application --------------------------------------------------------------------------


def allowed(page: Page, app: ApplicationOut, consumer: Scope, provider: Scope) -> set[str]:
    """What the viewer may do now; the actions check it again, this only picks the forms."""
    actor = page.actor
    manage = actor.can(Perm.SHARING_MANAGE)
    may: set[str] = set()
    step = next((s for s in app.steps if s.status == StepStatus.PENDING), None)
    if app.status == ApplicationStatus.PENDING and step is not None:
        if step.kind == StepKind.PROVIDER:
            deciding = actor.can(Perm.SHARING_DECIDE, provider) or (step.escalated and manage)
        else:
            deciding = manage
        if deciding:
            may.add("decide")
    applicant = actor.can(Perm.SHARING_APPLY, consumer)
    if applicant and app.status in (ApplicationStatus.PENDING, ApplicationStatus.CONTESTED):
        may.add("withdraw")
    if applicant and app.status == ApplicationStatus.REJECTED and app.contest_reason is None:
        may.add("contest")
    if manage and app.status == ApplicationStatus.CONTESTED:
        may.add("resolve")
    return may


def detail_page(
    page: Page,
    app_id: str,
    *,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    with page.act() as ctx:
        app = application_views.get_application(ctx, app_id)
    consumer, provider = scopes(page, app.consumer_department_id, app.provider_department_id)
    return page.render(
        "sharing/application.html",
        status=status,
        app=app,
        may=allowed(page, app, consumer, provider),
        escalated=any(s.escalated and s.status == StepStatus.PENDING for s in app.steps),
        typed=typed or {},
        error=error,
        notice=done_notice(page, DONE),
        **context(page),
    )


@router.get("/sharing/applications/{app_id}")
def application_page(page: UserPage, app_id: str) -> Response:
    return detail_page(page, app_id)


def _after(page: Page, app_id: str, done: str, act: Any, typed: dict[str, str]) -> Response:
    """Run one action on the application; errors come back on its page with what was typed."""
    try:
        with page.act() as ctx:
            act(ctx)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return detail_page(page, app_id, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(f"/sharing/applications/{app_id}?done={done}")


@router.post("/sharing/applications/{app_id}/decide")
def decide(page: UserForm, app_id: str) -> Response:
    comment = page.field("comment")
    typed = {"comment": comment, "form": "decide"}
    try:
        data = parse(
            DecisionIn,
            {
                "approve": page.field("decision") == "approve",
                "comment": comment or None,
                # Only a form that listed the unmasked items narrows them.
                "clear_items": page.fields("clear_items") if page.field("clear_shown") else None,
            },
            DECISION_LABELS,
        )
    except GovDataError as exc:
        return detail_page(page, app_id, error=page.message(exc), status=exc.status, typed=typed)
    return _after(
        page, app_id, "decided", lambda ctx: applications.decide(ctx, app_id, data), typed
    )


@router.post("/sharing/applications/{app_id}/withdraw")
def withdraw(page: UserForm, app_id: str) -> Response:
    return _after(page, app_id, "withdrawn", lambda ctx: applications.withdraw(ctx, app_id), {})


@router.post("/sharing/applications/{app_id}/contest")
def contest(page: UserForm, app_id: str) -> Response:
    reason = page.field("reason")
    typed = {"reason": reason, "form": "contest"}
    try:
        data = parse(ReasonIn, {"reason": reason}, REASON_LABELS)
    except GovDataError as exc:
        return detail_page(page, app_id, error=page.message(exc), status=exc.status, typed=typed)
    return _after(
        page, app_id, "contested", lambda ctx: applications.contest(ctx, app_id, data), typed
    )


@router.post("/sharing/applications/{app_id}/resolve")
def resolve(page: UserForm, app_id: str) -> Response:
    comment = page.field("comment")
    typed = {"resolve_comment": comment, "form": "resolve"}
    try:
        data = parse(
            ContestResolution,
            {"uphold": page.field("outcome") == "uphold", "comment": comment},
            RESOLVE_LABELS,
        )
    except GovDataError as exc:
        return detail_page(page, app_id, error=page.message(exc), status=exc.status, typed=typed)
    return _after(
        page,
        app_id,
        "resolved",
        lambda ctx: applications.resolve_contest(ctx, app_id, data),
        typed,
    )
