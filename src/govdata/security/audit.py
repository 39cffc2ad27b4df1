"""The one function through which every audit record is written.

Each record is also queued for the tamper-evident ledger (``security.ledger``) in the
same transaction, so no other module may insert into ``audit_records`` directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from govdata.core.ids import new_id
from govdata.security.context_types import Actor
from govdata.security.ledger.models import LedgerPending
from govdata.security.models import AuditRecord

SUCCESS = "success"
DENIED = "denied"
FAILURE = "failure"


def write_audit(
    session: Session,
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: str = SUCCESS,
    client_addr: str | None = None,
    fields: Iterable[str] | None = None,
    row_count: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    record = AuditRecord(
        id=new_id(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        roles=",".join(sorted({g.role.value for g in actor.grants})),
        action=action,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        client_addr=client_addr,
        fields=",".join(fields) if fields is not None else None,
        row_count=row_count,
        details=details,
    )
    session.add(record)
    session.add(LedgerPending(record_id=record.id))
    session.flush()
    return record
