"""Grant pages: held and given grants, one grant with its items, masks, row scope and the
onward-transfer notice; revoke, renew and which apps may use it; for a held API grant the
data-service documentation and a try-it box that reads through the data API as the signed-in
user; and the form that reports problem data (数据异议) received under the grant."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Response

from govdata.catalog import actions as catalog_actions
from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.errors import GovDataError, InvalidInput
from govdata.identity import actions as identity_actions
from govdata.security.permissions import Perm
from govdata.sharing import applications, dataapi, grants, objections
from govdata.sharing.api_data import parse_filters
from govdata.sharing.pages.common import PAGE_SIZE, context, done_notice, is_htmx, refusal, scopes
from govdata.sharing.schemas import (
    DataPage,
    GrantApps,
    GrantOut,
    ObjectionCreate,
    ReasonIn,
    RenewIn,
)
from govdata.sharing.vocab import DeliveryMode, GrantStatus
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

STATUSES = tuple(s.value for s in GrantStatus)
SIDES = ("held", "given", "all")
TRY_LIMIT_DEFAULT = 10
TRY_LIMIT_MAX = 100
RENEW_LABELS = {"valid_until": N_("Valid until"), "reason": N_("Reason")}
REASON_LABELS = {"reason": N_("Reason")}
APPS_LABELS = {"app_ids": N_("Apps")}
OBJECTION_LABELS = {
    "record_key": N_("Record key"),
    "field": N_("Item"),
    "title": N_("Title"),
    "description": N_("Description"),
    "evidence": N_("Evidence"),
    "severity": N_("Severity"),
}
SEVERITIES = (1, 2, 3, 4, 5)
# Delivery modes a subscription carries out (into a database table, or as files).
SUBSCRIBABLE = {DeliveryMode.SUBSCRIPTION.value, DeliveryMode.FILE.value}
DONE = {
    "revoked": N_("Grant revoked."),
    "apps_saved": N_("The apps allowed to use this grant were saved."),
}


# -- lists ----------------------------------------------------------------------------------


def _list(page: Page, side: str, status: str, cursor: str) -> Response:
    status_value = status if status in STATUSES else ""
    with page.act() as ctx:
        result = grants.list_grants(
            ctx,
            side=None if side == "all" else side,
            status=GrantStatus(status_value) if status_value else None,
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
    return page.render(
        "sharing/grants.html",
        result=result,
        side=side,
        sides=SIDES if page.actor.department_id else ("all",),
        statuses=STATUSES,
        filter_status=status_value,
        base_query=urlencode({"status": status_value} if status_value else {}),
        cursor=cursor,
        **context(page),
    )


@router.get("/sharing/grants")
def grants_page(page: UserPage, status: str = "", cursor: str = "") -> Response:
    """我的授权: what the actor's department holds; everything in scope for the operator."""
    return _list(page, "held" if page.actor.department_id else "all", status, cursor)


@router.get("/sharing/grants/given")
def given_page(page: UserPage, status: str = "", cursor: str = "") -> Response:
    """已授权: what the actor's department has granted to others."""
    return _list(page, "given", status, cursor)


@router.get("/sharing/grants/all")
def all_grants_page(page: UserPage, status: str = "", cursor: str = "") -> Response:
    return _list(page, "all", status, cursor)


# -- one grant ------------------------------------------------------------------------------


def api_fields(page: Page, grant: GrantOut) -> list[dict[str, Any]]:
    """The data API's field for each granted item, with its type and mask."""
    with page.act() as ctx:
        fields = grants.grant_fields(ctx, grant.id)
    return [{**f.model_dump(), "masked": f.mask != "clear"} for f in fields]


def _apps(page: Page, grant: GrantOut, manage_apps: bool) -> dict[str, str]:
    """The consumer's app credentials (id -> name), for those who choose among them."""
    if not manage_apps:
        return {}
    with page.act() as ctx:
        found = identity_actions.list_credentials(
            ctx, department_id=grant.consumer_department_id, limit=200
        )
    return {c.id: c.name for c in found.items}


def detail_page(
    page: Page,
    grant_id: str,
    *,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
    tried: dict[str, Any] | None = None,
) -> Response:
    with page.act() as ctx:
        grant = grants.get_grant(ctx, grant_id)
        entry = catalog_actions.get_entry(ctx, grant.entry_id)
    consumer, provider = scopes(page, grant.consumer_department_id, grant.provider_department_id)
    actor = page.actor
    active = grant.status == GrantStatus.ACTIVE
    held = actor.department_id == grant.consumer_department_id
    may = set()
    if active and (actor.can(Perm.SHARING_MANAGE) or actor.can(Perm.SHARING_DECIDE, provider)):
        may.add("revoke")
    if active and actor.can(Perm.SHARING_APPLY, consumer):
        may.add("renew")
    if held and actor.can(Perm.SHARING_APPLY, consumer):
        may.add("object")
    subscribable = bool(SUBSCRIBABLE & set(grant.delivery_modes))
    if active and held and subscribable and actor.can(Perm.SHARING_APPLY, consumer):
        may.add("subscribe")
    if actor.can(Perm.CREDENTIAL_MANAGE, consumer):
        may.add("apps")
    api = held and "api" in grant.delivery_modes
    today = now().astimezone(DISPLAY_TZ).date()
    return page.render(
        "sharing/grant.html",
        status=status,
        grant=grant,
        entry=entry,
        may=may,
        held=held,
        api=api,
        fields=api_fields(page, grant) if api else [],
        api_url=f"{str(page.request.base_url).rstrip('/')}/api/v1/data/{grant.resource_code}",
        apps=_apps(page, grant, "apps" in may),
        key_items=[i.name for i in entry.current.items if i.is_key],
        renew_default=(today + timedelta(days=365)).isoformat(),
        typed=typed or {},
        tried=tried,
        error=error,
        notice=done_notice(page, DONE),
        **context(page),
    )


@router.get("/sharing/grants/{grant_id}")
def grant_page(page: UserPage, grant_id: str) -> Response:
    return detail_page(page, grant_id)


@router.post("/sharing/grants/{grant_id}/revoke")
def revoke(page: UserForm, grant_id: str) -> Response:
    reason = page.field("reason")
    try:
        data = parse(ReasonIn, {"reason": reason}, REASON_LABELS)
        with page.act() as ctx:
            grants.revoke_grant(ctx, grant_id, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        typed = {"revoke_reason": reason, "form": "revoke"}
        return detail_page(page, grant_id, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(f"/sharing/grants/{grant_id}?done=revoked")


@router.post("/sharing/grants/{grant_id}/renew")
def renew(page: UserForm, grant_id: str) -> Response:
    valid_until, reason = page.field("valid_until"), page.field("reason")
    try:
        data = parse(RenewIn, {"valid_until": valid_until or None, "reason": reason}, RENEW_LABELS)
        with page.act() as ctx:
            out = applications.renew(ctx, grant_id, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        typed = {"valid_until": valid_until, "renew_reason": reason, "form": "renew"}
        return detail_page(page, grant_id, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(f"/sharing/applications/{out.id}?done=applied")


@router.post("/sharing/grants/{grant_id}/apps")
def set_apps(page: UserForm, grant_id: str) -> Response:
    try:
        data = parse(GrantApps, {"app_ids": page.fields("app_ids")}, APPS_LABELS)
        with page.act() as ctx:
            grants.set_grant_apps(ctx, grant_id, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return detail_page(page, grant_id, error=page.message(exc), status=exc.status)
    return page.redirect(f"/sharing/grants/{grant_id}?done=apps_saved")


# -- try it ---------------------------------------------------------------------------------


def _try_limit(text: str) -> int:
    if not text:
        return TRY_LIMIT_DEFAULT
    if not text.isdigit() or not 1 <= int(text) <= TRY_LIMIT_MAX:
        raise InvalidInput(
            f"行数须在 1 到 {TRY_LIMIT_MAX} 之间",
            f"Rows must be between 1 and {TRY_LIMIT_MAX}",
            code="invalid_limit",
        )
    return int(text)


def _filters_of(text: str) -> list[tuple[str, str]]:
    """The filter box in the API's own query syntax; one filter a line works too."""
    pairs = parse_qsl(text.replace("\r", "").replace("\n", "&"), keep_blank_values=True)
    return [(k.strip(), v.strip()) for k, v in pairs if k.strip()]


@router.post("/sharing/grants/{grant_id}/try")
def try_it(page: UserForm, grant_id: str) -> Response:
    """Read through the data API as the signed-in user: the same grant check, masks, rate
    count and audit record as an app's call."""
    with page.act() as ctx:
        grant = grants.get_grant(ctx, grant_id)
    typed = {
        "filters": page.field("filters"),
        "fields": page.field("fields"),
        "limit": page.field("limit"),
    }
    result: DataPage | None = None
    error = None
    try:
        fields = [f.strip() for f in typed["fields"].split(",") if f.strip()] or None
        result = dataapi.read_data(
            page.caller,
            grant.resource_code,
            fields=fields,
            filters=parse_filters(_filters_of(typed["filters"])),
            limit=_try_limit(typed["limit"]),
            cursor=page.field("cursor") or None,
        )
    except GovDataError as exc:
        # A refused read (revoked, expired, over the rate) is the answer the box shows.
        error = page.message(exc)
    tried: dict[str, Any] = {"result": result, "error": error, "typed": typed}
    if is_htmx(page.request):
        return page.render("sharing/_try_result.html", grant=grant, **tried, **context(page))
    return detail_page(page, grant_id, tried=tried)


# -- problem data -----------------------------------------------------------------------------


def _objection_page(
    page: Page,
    grant_id: str,
    typed: dict[str, Any],
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    with page.act() as ctx:
        grant = grants.get_grant(ctx, grant_id)
        entry = catalog_actions.get_entry(ctx, grant.entry_id)
    return page.render(
        "sharing/objection_new.html",
        status=status,
        grant=grant,
        key_items=[i.name for i in entry.current.items if i.is_key and i.name in grant.items],
        severities=SEVERITIES,
        typed=typed,
        error=error,
        **context(page),
    )


def _require_consumer(page: Page, grant_id: str) -> None:
    with page.act() as ctx:
        grant = grants.get_grant(ctx, grant_id)
    (consumer,) = scopes(page, grant.consumer_department_id)
    with page.act() as ctx:
        ctx.require(Perm.SHARING_APPLY, consumer, target_id=grant.id)


@router.get("/sharing/grants/{grant_id}/objections/new")
def new_objection(page: UserPage, grant_id: str) -> Response:
    _require_consumer(page, grant_id)
    return _objection_page(page, grant_id, {"severity": "3", "key": {}})


@router.post("/sharing/grants/{grant_id}/objections/new")
def create_objection(page: UserForm, grant_id: str) -> Response:
    key = {
        name[len("key-") :]: value.strip()
        for name, value in (page.form.multi_items() if page.form is not None else [])
        if isinstance(value, str) and name.startswith("key-") and value.strip()
    }
    typed: dict[str, Any] = {
        "key": key,
        "field": page.field("field"),
        "title": page.field("title"),
        "description": page.field("description"),
        "evidence": page.field("evidence"),
        "severity": page.field("severity"),
    }
    try:
        data = parse(
            ObjectionCreate,
            {
                "grant_id": grant_id,
                "record_key": key,
                "field": typed["field"] or None,
                "title": typed["title"],
                "description": typed["description"],
                "evidence": typed["evidence"] or None,
                "severity": typed["severity"] or 3,
            },
            OBJECTION_LABELS,
        )
        with page.act() as ctx:
            ticket = objections.create_objection(ctx, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return _objection_page(page, grant_id, typed, error=page.message(exc), status=exc.status)
    return page.redirect(f"/sharing/objections/{ticket.id}?done=reported")
