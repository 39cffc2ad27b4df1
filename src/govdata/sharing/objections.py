"""Objections (数据异议): a consumer marks data it received under a grant as wrong.

The objection becomes a problem-data ticket of the provider department
(``governance.tickets``), due within the policy's ``objection_days`` working days; the
provider answers it there. Only a department that holds a grant for the entry may object,
and only to fields it was granted.
"""

from __future__ import annotations

from govdata.catalog.models import CatalogEntry
from govdata.core.clock import now
from govdata.core.errors import InvalidInput
from govdata.governance import tickets
from govdata.governance.schemas import TicketOut
from govdata.governance.vocab import TicketSource
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope
from govdata.sharing.common import deadline
from govdata.sharing.grants import load_grant
from govdata.sharing.policy import load_policy
from govdata.sharing.schemas import ObjectionCreate


def create_objection(ctx: ActionContext, data: ObjectionCreate) -> TicketOut:
    """Report a record or field received under ``grant_id`` as wrong, with evidence."""
    grant = load_grant(ctx, data.grant_id)
    consumer = Scope(
        region_path=grant.consumer_region_path, department_id=grant.consumer_department_id
    )
    ctx.require(Perm.SHARING_APPLY, consumer, target_id=grant.id)
    if ctx.actor.department_id != grant.consumer_department_id:
        raise InvalidInput(
            "只有使用部门可以对该授权数据提出异议",
            "Only the consumer department can object to data received under this grant",
            code="sharing_objection_invalid",
        )
    if data.field is not None and data.field not in grant.items:
        raise InvalidInput(
            "只能对获授权的信息项提出异议",
            "Only a granted item can be objected to",
            code="sharing_objection_invalid",
            details={"field": data.field, "items": list(grant.items)},
        )
    s = ctx.session
    entry = s.get(CatalogEntry, grant.entry_id)
    assert entry is not None
    ticket = tickets.open_ticket(
        ctx,
        source=TicketSource.OBJECTION,
        entry_id=entry.id,
        resource_code=entry.resource_code,
        entry_name=entry.name,
        provider_department_id=grant.provider_department_id,
        title=data.title,
        description=data.description,
        due_at=deadline(s, now(), load_policy(s).objection_days),
        severity=data.severity,
        record_key=data.record_key,
        field=data.field,
        evidence=data.evidence,
        grant_id=grant.id,
    )
    ctx.audit(
        "sharing.objection.create",
        target_type="ticket",
        target_id=ticket.id,
        details={"grant": grant.code, "field": data.field, "severity": data.severity},
    )
    return tickets.ticket_out(s, ticket, ctx.locale)
