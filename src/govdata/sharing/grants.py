"""Grants (授权): the right an approval creates, and the check every data read goes through.

Nobody reads another department's data through the platform without an active grant — not
the platform operator, not an administrator. A grant names the entry, the consumer
department (and optionally which of its apps), the items, a row filter, a mask per item,
the delivery modes and an expiry. Revocation and expiry take effect on the next request:
``grant_for_read`` reads the grant row on every call, nothing is cached.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.core.clock import DISPLAY_TZ, as_utc, now
from govdata.core.errors import Conflict, InvalidInput, PermissionDenied
from govdata.core.pagination import paginate
from govdata.core.sequences import daily_code
from govdata.exchange.models import Mount
from govdata.identity import queries as org
from govdata.notifications.actions import Message
from govdata.security import classification
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Role, Scope
from govdata.sharing import masking
from govdata.sharing.common import (
    department_scope,
    not_found,
    notify_department,
    published_items,
    sees,
    two_sided_clause,
)
from govdata.sharing.models import Application, Grant, Subscription
from govdata.sharing.schemas import GrantApps, GrantField, GrantOut, GrantPage, ReasonIn
from govdata.sharing.vocab import ONWARD_TRANSFER_NOTICE, GrantStatus, SubscriptionState, label


def end_of_day(day: date) -> datetime:
    """Midnight after ``day`` in Beijing time, as UTC: a grant valid until a date covers it."""
    return as_utc(datetime.combine(day + timedelta(days=1), time(0), tzinfo=DISPLAY_TZ))


def status_of(grant: Grant, at: datetime | None = None) -> GrantStatus:
    if grant.status == GrantStatus.REVOKED:
        return GrantStatus.REVOKED
    if as_utc(grant.expires_at) <= (at or now()):
        return GrantStatus.EXPIRED
    return GrantStatus.ACTIVE


def default_masks(
    s: Session, entry: CatalogEntry, items: list[str], clear: list[str]
) -> dict[str, str]:
    """A mask for every granted item that holds personal data, unless granted clear or its
    grade's controls do not mask by default (``security.classification.default_masks``).

    The kind comes from what a discovery scan found in the item's values (accepted by the
    provider), else the item's name, English name or data element; an item flagged
    sensitive whose kind is not recognised gets the generic partial mask.
    """
    wanted = set(items)
    granted = [item for item in published_items(s, entry) if item.name in wanted]
    return classification.default_masks(s, entry.id, granted, clear)


def create_grant(ctx: ActionContext, app: Application) -> Grant:
    """The grant an approved application creates (or, for a renewal, the extended one)."""
    s = ctx.session
    if app.renews_grant_id:
        grant = s.get(Grant, app.renews_grant_id)
        if grant is None or grant.status == GrantStatus.REVOKED:
            raise Conflict(
                "要续期的授权已撤销",
                "The grant to renew was revoked",
                code="sharing_grant_revoked",
            )
        grant.expires_at = end_of_day(app.valid_until)
        grant.renewed_at = now()
        ctx.audit(
            "sharing.grant.renew",
            target_type="grant",
            target_id=grant.id,
            details={"application": app.code, "expires_at": grant.expires_at.isoformat()},
        )
        return grant
    entry = s.get(CatalogEntry, app.entry_id)
    assert entry is not None
    grant = Grant(
        code=daily_code(s, "SQ-G"),
        application_id=app.id,
        entry_id=app.entry_id,
        resource_code=app.resource_code,
        entry_name=app.entry_name,
        provider_department_id=app.provider_department_id,
        provider_region_path=app.provider_region_path,
        consumer_department_id=app.consumer_department_id,
        consumer_region_path=app.consumer_region_path,
        app_ids=[],
        items=list(app.items),
        row_filter=list(app.row_filter),
        masks=default_masks(s, entry, app.items, app.clear_items),
        delivery_modes=list(app.delivery_modes),
        purpose=app.purpose,
        scenario=app.scenario,
        expires_at=end_of_day(app.valid_until),
        status=GrantStatus.ACTIVE.value,
    )
    s.add(grant)
    s.flush()
    ctx.audit(
        "sharing.grant.create",
        target_type="grant",
        target_id=grant.id,
        fields=grant.items,
        details={"application": app.code, "entry": app.resource_code, "masks": grant.masks},
    )
    return grant


def grant_out(grant: Grant, names: dict[str, str], locale: str = "zh_CN") -> GrantOut:
    status = status_of(grant)
    zh, en = ONWARD_TRANSFER_NOTICE
    return GrantOut(
        id=grant.id,
        code=grant.code,
        application_id=grant.application_id,
        entry_id=grant.entry_id,
        resource_code=grant.resource_code,
        entry_name=grant.entry_name,
        provider_department_id=grant.provider_department_id,
        provider_department_name=names.get(grant.provider_department_id, ""),
        consumer_department_id=grant.consumer_department_id,
        consumer_department_name=names.get(grant.consumer_department_id, ""),
        app_ids=list(grant.app_ids or []),
        items=list(grant.items),
        row_filter=list(grant.row_filter or []),
        masks=dict(grant.masks or {}),
        delivery_modes=list(grant.delivery_modes),  # type: ignore[arg-type]
        purpose=grant.purpose,
        scenario=grant.scenario,
        expires_at=grant.expires_at,
        status=status.value,
        status_label=label("grant_status", status.value, locale),
        revoked_at=grant.revoked_at,
        revoked_by_name=grant.revoked_by_name,
        revoke_reason=grant.revoke_reason,
        renewed_at=grant.renewed_at,
        onward_transfer=en if locale.startswith("en") else zh,
        created_at=grant.created_at,
    )


def _sides(grant: Grant) -> tuple[Scope, Scope]:
    return (
        Scope(region_path=grant.consumer_region_path, department_id=grant.consumer_department_id),
        Scope(region_path=grant.provider_region_path, department_id=grant.provider_department_id),
    )


def load_grant(ctx: ActionContext, grant_id: str) -> Grant:
    """The grant if the actor sees either side of it; 404 otherwise."""
    ctx.require(Perm.SHARING_READ)
    grant = ctx.session.get(Grant, grant_id)
    if grant is None or not sees(ctx, *_sides(grant)):
        raise not_found("授权", "Grant", "sharing_grant_not_found", grant_id)
    return grant


def _names(s: Session, grants: list[Grant]) -> dict[str, str]:
    ids = {g.provider_department_id for g in grants} | {g.consumer_department_id for g in grants}
    return org.department_names(s, ids)


def get_grant(ctx: ActionContext, grant_id: str) -> GrantOut:
    """One grant: what it allows, to whom, until when, and the purpose it was given for."""
    grant = load_grant(ctx, grant_id)
    return grant_out(grant, _names(ctx.session, [grant]), ctx.locale)


def list_grants(
    ctx: ActionContext,
    *,
    side: str | None = None,
    status: GrantStatus | None = None,
    entry: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> GrantPage:
    """Grants the actor sees, newest first. ``side``: ``held`` (the actor's department is the
    consumer) or ``given`` (it is the provider); default both sides in the actor's scope."""
    ctx.require(Perm.SHARING_READ)
    stmt = select(Grant).where(
        two_sided_clause(
            ctx,
            Perm.SHARING_READ,
            Grant.consumer_department_id,
            Grant.consumer_region_path,
            Grant.provider_department_id,
            Grant.provider_region_path,
        )
    )
    dept = ctx.actor.department_id
    if side == "held":
        stmt = stmt.where(Grant.consumer_department_id == dept)
    elif side == "given":
        stmt = stmt.where(Grant.provider_department_id == dept)
    elif side is not None:
        raise InvalidInput(
            "side 须为 held 或 given", "side must be held or given", code="invalid_side"
        )
    at = now()
    if status == GrantStatus.REVOKED:
        stmt = stmt.where(Grant.status == GrantStatus.REVOKED.value)
    elif status == GrantStatus.EXPIRED:
        stmt = stmt.where(Grant.status == GrantStatus.ACTIVE.value, Grant.expires_at <= at)
    elif status == GrantStatus.ACTIVE:
        stmt = stmt.where(Grant.status == GrantStatus.ACTIVE.value, Grant.expires_at > at)
    if entry:
        stmt = stmt.where((Grant.entry_id == entry) | (Grant.resource_code == entry))
    page = paginate(ctx.session, stmt, [Grant.id], limit=limit, cursor=cursor, descending=True)
    names = _names(ctx.session, page.items)
    return GrantPage(
        items=[grant_out(g, names, ctx.locale) for g in page.items], next_cursor=page.next_cursor
    )


def grant_fields(ctx: ActionContext, grant_id: str) -> list[GrantField]:
    """The data-service API's field for each granted item, with its type and mask: what the
    consumer's calls must name. Either side of the grant may read it (names only, no data)."""
    grant = load_grant(ctx, grant_id)
    mount = ctx.session.scalars(select(Mount).where(Mount.entry_id == grant.entry_id)).one_or_none()
    by_item = {c.get("item"): c for c in (mount.columns if mount else []) if c.get("item")}
    masks = grant.masks or {}
    out = []
    for item in grant.items:
        column = by_item.get(item)
        out.append(
            GrantField(
                item=item,
                field=column.get("field") if column else None,
                type=column.get("type") if column else None,
                mask=masks.get(item, masking.CLEAR),
            )
        )
    return out


def revoke_grant(ctx: ActionContext, grant_id: str, data: ReasonIn) -> GrantOut:
    """Revoke a grant (the provider department or the operator); the very next data request
    under it is refused, and its subscriptions end. The consumer is notified."""
    grant = load_grant(ctx, grant_id)
    provider = department_scope(ctx.session, grant.provider_department_id)
    if not ctx.actor.can(Perm.SHARING_MANAGE):
        ctx.require(Perm.SHARING_DECIDE, provider, target_id=grant.id)
    if grant.status == GrantStatus.REVOKED:
        raise Conflict("授权已撤销", "The grant is already revoked", code="sharing_grant_revoked")
    grant.status = GrantStatus.REVOKED.value
    grant.revoked_at = now()
    grant.revoked_by_name = ctx.actor.name
    grant.revoke_reason = data.reason
    end_subscriptions(ctx.session, grant.id)
    ctx.audit(
        "sharing.grant.revoke",
        target_type="grant",
        target_id=grant.id,
        details={"reason": data.reason},
    )
    notify_department(
        ctx.session,
        grant.consumer_department_id,
        {Role.DEPT_OFFICER, Role.DEPT_USER},
        Message(
            kind="sharing.grant.revoked",
            title_zh=f"授权已撤销：{grant.entry_name}",
            title_en=f"Grant revoked: {grant.entry_name}",
            body=data.reason,
            link=f"/sharing/grants/{grant.id}",
            target_type="grant",
            target_id=grant.id,
        ),
    )
    return grant_out(grant, _names(ctx.session, [grant]), ctx.locale)


def set_grant_apps(ctx: ActionContext, grant_id: str, data: GrantApps) -> GrantOut:
    """Which of the consumer's apps may use the grant (empty: all of them). The consumer's
    officers decide this; every app named must belong to the consumer department."""
    grant = load_grant(ctx, grant_id)
    consumer = department_scope(ctx.session, grant.consumer_department_id)
    ctx.require(Perm.CREDENTIAL_MANAGE, consumer, target_id=grant.id)
    for app_id in data.app_ids:
        if org.credential_department(ctx.session, app_id) != grant.consumer_department_id:
            raise InvalidInput(
                "应用凭证不属于使用部门",
                "The app credential does not belong to the consumer department",
                code="sharing_app_invalid",
                details={"app_id": app_id},
            )
    grant.app_ids = list(dict.fromkeys(data.app_ids))
    ctx.audit(
        "sharing.grant.apps", target_type="grant", target_id=grant.id, details=data.model_dump()
    )
    return grant_out(grant, _names(ctx.session, [grant]), ctx.locale)


def end_subscriptions(s: Session, grant_id: str) -> int:
    subs = list(
        s.scalars(
            select(Subscription).where(
                Subscription.grant_id == grant_id,
                Subscription.state != SubscriptionState.ENDED.value,
            )
        )
    )
    for sub in subs:
        sub.state = SubscriptionState.ENDED.value
    return len(subs)


def grant_for_read(ctx: ActionContext, entry: CatalogEntry) -> Grant:
    """The active grant under which the actor reads ``entry`` now; PermissionDenied if none.

    Apps read under their department's grants (restricted to the apps a grant names); users
    of the consumer department read under the same grants (the portal's try-it box). Among
    several active grants the newest wins. Every refusal names its reason.
    """
    actor = ctx.actor
    dept = actor.department_id
    if dept is None:
        raise PermissionDenied(
            "没有该数据的有效授权",
            "No active grant covers this data",
            code="sharing_no_grant",
            details={"resource_code": entry.resource_code},
        )
    at = now()
    rows = ctx.session.scalars(
        select(Grant)
        .where(
            Grant.entry_id == entry.id,
            Grant.consumer_department_id == dept,
        )
        .order_by(Grant.created_at.desc())
    ).all()
    reason = ("没有该数据的有效授权", "No active grant covers this data", "sharing_no_grant")
    for grant in rows:
        status = status_of(grant, at)
        if status == GrantStatus.REVOKED:
            reason = ("授权已撤销", "The grant was revoked", "sharing_grant_revoked")
            continue
        if status == GrantStatus.EXPIRED:
            reason = ("授权已过期", "The grant has expired", "sharing_grant_expired")
            continue
        if actor.kind == "app" and grant.app_ids and actor.id not in grant.app_ids:
            reason = (
                "该应用不在授权范围内",
                "This app is not among the grant's apps",
                "sharing_app_not_granted",
            )
            continue
        return grant
    zh, en, code = reason
    raise PermissionDenied(zh, en, code=code, details={"resource_code": entry.resource_code})
