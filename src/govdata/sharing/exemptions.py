"""Exemptions: the operator lets one department apply for a not-shared entry.

Not-shared data (不予共享) cannot be applied for; the sharing rules leave the operator room
for an exception on a stated legal basis, for one consumer department. An application made
under an exemption then goes through the provider like conditional data.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.vocab import ShareType
from govdata.core.clock import now
from govdata.core.errors import InvalidInput
from govdata.identity import queries as org
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm
from govdata.sharing.common import not_found, published_entry, published_items
from govdata.sharing.models import Exemption
from govdata.sharing.schemas import ExemptionCreate, ExemptionOut


def active_exemption(s: Session, entry_id: str, consumer_id: str) -> Exemption | None:
    return s.scalars(
        select(Exemption)
        .where(
            Exemption.entry_id == entry_id,
            Exemption.consumer_department_id == consumer_id,
            Exemption.revoked_at.is_(None),
        )
        .order_by(Exemption.created_at.desc())
    ).first()


def grant_exemption(ctx: ActionContext, data: ExemptionCreate) -> ExemptionOut:
    """The operator lets one department apply for a not-shared entry, stating the basis."""
    ctx.require(Perm.SHARING_MANAGE)
    entry = published_entry(ctx, data.entry)
    dept = org.department_by_id(ctx.session, data.consumer_department_id)
    if dept is None:
        raise InvalidInput(
            "部门不存在",
            "Unknown department",
            code="department_not_found",
            details={"department_id": data.consumer_department_id},
        )
    items = published_items(ctx.session, entry)
    if entry.share_type != ShareType.NONE and all(i.share_type != ShareType.NONE for i in items):
        raise InvalidInput(
            "该目录可以共享，无需例外",
            "The entry is shared; no exemption is needed",
            code="sharing_exemption_needless",
        )
    ex = Exemption(
        entry_id=entry.id,
        consumer_department_id=dept.id,
        basis=data.basis,
        granted_by=ctx.actor.id,
        granted_by_name=ctx.actor.name,
    )
    ctx.session.add(ex)
    ctx.session.flush()
    ctx.audit(
        "sharing.exemption.create",
        target_type="exemption",
        target_id=ex.id,
        details={"entry": entry.resource_code, "department": dept.code, "basis": data.basis},
    )
    return _exemption_out(ex)


def revoke_exemption(ctx: ActionContext, exemption_id: str) -> ExemptionOut:
    ctx.require(Perm.SHARING_MANAGE)
    ex = ctx.session.get(Exemption, exemption_id)
    if ex is None:
        raise not_found("例外", "Exemption", "sharing_exemption_not_found", exemption_id)
    if ex.revoked_at is None:
        ex.revoked_at = now()
        ctx.audit("sharing.exemption.revoke", target_type="exemption", target_id=ex.id)
    return _exemption_out(ex)


def list_exemptions(ctx: ActionContext) -> list[ExemptionOut]:
    ctx.require(Perm.SHARING_MANAGE)
    rows = ctx.session.scalars(select(Exemption).order_by(Exemption.created_at.desc()).limit(500))
    return [_exemption_out(e) for e in rows]


def _exemption_out(ex: Exemption) -> ExemptionOut:
    return ExemptionOut(
        id=ex.id,
        entry_id=ex.entry_id,
        consumer_department_id=ex.consumer_department_id,
        basis=ex.basis,
        granted_by_name=ex.granted_by_name,
        created_at=ex.created_at,
        revoked_at=ex.revoked_at,
    )
