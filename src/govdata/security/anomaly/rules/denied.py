"""多次被拒绝的请求: a subject is refused again and again in a short window.

Refusals are audit records with outcome ``denied`` (a permission the actor lacks, an entry
it holds no grant for, a field outside its grant). Failed sign-ins are counted per client
address, so guessing across many accounts from one place shows up although each account's
own lockout never trips.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from govdata.security.anomaly.rules.base import (
    Batch,
    Event,
    Finding,
    RuleSpec,
    Subject,
    sample_ids,
    span,
    tumbling,
)
from govdata.security.anomaly.vocab import LOGIN_ACTION, TOKEN_REFUSED_ACTION, Severity
from govdata.security.audit import DENIED, FAILURE
from govdata.security.models import AuditRecord

CODE = "denied_burst"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_minutes: int = Field(10, ge=1, le=1440)
    # Refusals of one subject in one window.
    count: int = Field(20, ge=2)
    # Count failed sign-ins per client address as well.
    login_failures: bool = True


def _is_refusal(e: Event) -> bool:
    # Revoked credentials have a rule of their own.
    return e.outcome == DENIED and e.action != TOKEN_REFUSED_ACTION and e.actor_kind != "system"


def _is_failed_login(e: Event) -> bool:
    return e.action == LOGIN_ACTION and e.outcome == FAILURE and bool(e.client_addr)


def evaluate(batch: Batch, p: Params) -> list[Finding]:
    touched: dict[tuple[str, datetime], tuple[Subject, list[Event]]] = {}
    for e in batch.recent():
        if _is_refusal(e):
            subject = e.actor
        elif p.login_failures and _is_failed_login(e):
            subject = Subject("addr", e.client_addr, e.client_addr or "")
        else:
            continue
        start, _ = tumbling(e.at, p.window_minutes)
        touched.setdefault((subject.key, start), (subject, []))[1].append(e)
    found = []
    for (_key, start), (subject, events) in touched.items():
        _, end = tumbling(start, p.window_minutes)
        if subject.kind == "addr":
            which = [AuditRecord.action == LOGIN_ACTION, AuditRecord.outcome == FAILURE]
        else:
            which = [AuditRecord.outcome == DENIED, AuditRecord.action != TOKEN_REFUSED_ACTION]
        rows = batch.session.execute(
            select(AuditRecord.action, func.count())
            .where(subject.records(), *which, AuditRecord.at >= start, AuditRecord.at < end)
            .group_by(AuditRecord.action)
        ).all()
        by_action = Counter({str(action): int(n) for action, n in rows})
        total = sum(by_action.values())
        if total < p.count:
            continue
        first, last = span(events)
        found.append(
            Finding(
                rule=CODE,
                subject=subject,
                window_key=start.isoformat(),
                window_start=start,
                window_end=end,
                observed=total,
                threshold=p.count,
                first_event_at=first,
                last_event_at=last,
                record_ids=sample_ids(events),
                evidence={
                    "by_action": dict(by_action.most_common(10)),
                    "targets": sorted({e.target_id for e in events if e.target_id})[:10],
                    "addresses": sorted({e.client_addr for e in events if e.client_addr})[:10],
                    "window_minutes": p.window_minutes,
                },
            )
        )
    return found


RULE = RuleSpec(
    code=CODE,
    label=("多次被拒绝的请求", "Repeated denied requests"),
    description=(
        "短时间内某主体的请求多次被拒绝（无权限、无授权、越权字段），或同一地址多次登录失败",
        "A subject is refused again and again in a short window (missing permission, no"
        " grant, fields outside the grant), or sign-ins keep failing from one address",
    ),
    unit=("次/窗口", "refusals per window"),
    severity=Severity.MEDIUM,
    params=Params,
    evaluate=evaluate,
)
