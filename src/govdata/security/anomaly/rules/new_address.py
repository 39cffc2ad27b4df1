"""新地址登录: a user signs in from a client address never seen for them before.

Only successful sign-ins count, both as the event and as the history it is compared with; a
user's very first sign-in is not an alert (every address is new then). One alert per user
and address.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from govdata.core.clock import as_utc
from govdata.security.anomaly.rules.base import Batch, Finding, RuleSpec
from govdata.security.anomaly.vocab import LOGIN_ACTION, Severity
from govdata.security.audit import SUCCESS
from govdata.security.models import AuditRecord

CODE = "new_login_address"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # How far back an address counts as known.
    lookback_days: int = Field(180, ge=1, le=3650)


def evaluate(batch: Batch, p: Params) -> list[Finding]:
    found: dict[str, Finding] = {}
    for e in batch.recent():
        if not (
            e.action == LOGIN_ACTION
            and e.outcome == SUCCESS
            and e.actor_kind == "user"
            and e.client_addr
            and e.actor_id
        ):
            continue
        at = as_utc(e.at)
        earlier = (
            AuditRecord.actor_id == e.actor_id,
            AuditRecord.action == LOGIN_ACTION,
            AuditRecord.outcome == SUCCESS,
            AuditRecord.at >= at - timedelta(days=p.lookback_days),
            AuditRecord.at < at,
        )
        seen = batch.session.scalar(
            select(func.count()).where(*earlier, AuditRecord.client_addr == e.client_addr)
        )
        if seen:
            continue
        known = [
            str(a)
            for a in batch.session.scalars(
                select(AuditRecord.client_addr)
                .where(*earlier, AuditRecord.client_addr.is_not(None))
                .group_by(AuditRecord.client_addr)
                .order_by(func.max(AuditRecord.at).desc())
                .limit(10)
            )
        ]
        if not known:
            # The user's first sign-in: every address is new then.
            continue
        finding = Finding(
            rule=CODE,
            subject=e.actor,
            window_key=e.client_addr,
            window_start=at,
            window_end=None,
            observed=1,
            threshold=0,
            first_event_at=at,
            last_event_at=at,
            record_ids=[e.id],
            evidence={"address": e.client_addr, "known_addresses": known},
        )
        found.setdefault(finding.dedup_key, finding)
    return list(found.values())


RULE = RuleSpec(
    code=CODE,
    label=("新地址登录", "Sign-in from a new address"),
    description=(
        "用户从此前未登录过的地址登录成功（首次登录除外）",
        "A user signs in from an address not seen for them before (first sign-ins aside)",
    ),
    unit=("次", "sign-ins"),
    severity=Severity.LOW,
    params=Params,
    evaluate=evaluate,
)
