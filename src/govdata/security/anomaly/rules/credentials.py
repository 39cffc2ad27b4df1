"""使用已吊销或过期凭证: a revoked or expired app credential, or a user token revoked by a
password change or "sign out everywhere", is presented to the API.

``identity.auth`` audits each such attempt (``auth.token_refused``) against the holder.
One alert per holder and Beijing day counts the attempts.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from govdata.core.clock import DISPLAY_TZ, as_utc
from govdata.security.anomaly.rules.base import Batch, Event, Finding, RuleSpec, sample_ids, span
from govdata.security.anomaly.vocab import TOKEN_REFUSED_ACTION, Severity
from govdata.security.models import AuditRecord

CODE = "revoked_credential"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Attempts by one holder in one day before an alert.
    count: int = Field(1, ge=1)


def _day(at: datetime) -> tuple[datetime, datetime]:
    day = as_utc(at).astimezone(DISPLAY_TZ).date()
    start = datetime.combine(day, time(0), tzinfo=DISPLAY_TZ)
    return as_utc(start), as_utc(start + timedelta(days=1))


def evaluate(batch: Batch, p: Params) -> list[Finding]:
    touched: dict[tuple[str, datetime], list[Event]] = {}
    for e in batch.recent():
        if e.action == TOKEN_REFUSED_ACTION and e.actor_kind != "anonymous":
            touched.setdefault((e.actor.key, _day(e.at)[0]), []).append(e)
    found = []
    for (_key, start), events in touched.items():
        subject = events[0].actor
        _, end = _day(start)
        rows = batch.session.execute(
            select(AuditRecord.details, AuditRecord.client_addr).where(
                subject.records(),
                AuditRecord.action == TOKEN_REFUSED_ACTION,
                AuditRecord.at >= start,
                AuditRecord.at < end,
            )
        ).all()
        if len(rows) < p.count:
            continue
        reasons = Counter(str((d or {}).get("reason", "")) for d, _ in rows)
        first, last = span(events)
        found.append(
            Finding(
                rule=CODE,
                subject=subject,
                window_key=start.isoformat(),
                window_start=start,
                window_end=end,
                observed=len(rows),
                threshold=p.count,
                first_event_at=first,
                last_event_at=last,
                record_ids=sample_ids(events),
                evidence={
                    "reasons": dict(reasons),
                    "addresses": sorted({a for _, a in rows if a})[:10],
                },
            )
        )
    return found


RULE = RuleSpec(
    code=CODE,
    label=("使用已吊销或过期凭证", "Revoked or expired credential used"),
    description=(
        "已吊销或过期的应用凭证、已失效的用户令牌仍被用于调用接口",
        "A revoked or expired app credential, or a revoked user token, is still presented"
        " to the API",
    ),
    unit=("次/天", "attempts per day"),
    severity=Severity.HIGH,
    params=Params,
    evaluate=evaluate,
)
