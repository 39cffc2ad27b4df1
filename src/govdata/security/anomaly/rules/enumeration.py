"""枚举遍历: a subject looks up many distinct keys of one entry in a short window.

Keys are the values of equality and IN filters of data-service reads (a key lookup is an
equality filter on the key), and every check of a batch verification (核验), whose keys the
audit does not keep. Windows are fixed (tumbling) slices of ``window_minutes``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from govdata.security.anomaly.rules.base import (
    Batch,
    Event,
    Finding,
    RuleSpec,
    sample_ids,
    span,
    tumbling,
)
from govdata.security.anomaly.vocab import READ_ACTIONS, Severity
from govdata.security.models import AuditRecord

CODE = "enumeration"
EQUALITY = ("=", "IN")
# Reads of one window looked at, per allowed key: enough to see an enumeration through heavy
# repetition, bounded for apps that look up the same few keys all day.
READS_PER_KEY = 20


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_minutes: int = Field(10, ge=1, le=1440)
    # Distinct keys of one entry one subject may look up in one window.
    keys: int = Field(200, ge=2)


def keys_of(details: dict[str, Any] | None) -> tuple[set[tuple[str, str]], int]:
    """The (field, value) keys a read asked for, and how many unnamed checks it made."""
    found: set[tuple[str, str]] = set()
    if not details:
        return found, 0
    for cond in details.get("filters") or []:
        if not isinstance(cond, list) or len(cond) < 3 or str(cond[1]).upper() not in EQUALITY:
            continue
        field, value = str(cond[0]), cond[2]
        # The audit shows filters as text: an IN list arrives as its repr.
        values = value if isinstance(value, list) else _listed(str(value))
        found.update((field, str(v)) for v in values)
    checks = details.get("checks")
    return found, checks if isinstance(checks, int) else 0


def _listed(text: str) -> list[str]:
    if text.startswith("[") and text.endswith("]"):
        return [v.strip().strip("'\"") for v in text[1:-1].split(",") if v.strip()]
    return [text]


def evaluate(batch: Batch, p: Params) -> list[Finding]:
    touched: dict[tuple[str, str, object], list[Event]] = {}
    for e in batch.recent():
        if e.is_read and e.target_id:
            start, _ = tumbling(e.at, p.window_minutes)
            touched.setdefault((e.actor.key, e.target_id, start), []).append(e)
    found = []
    for (_key, entry, _start), events in touched.items():
        subject = events[0].actor
        start, end = tumbling(events[0].at, p.window_minutes)
        keys: set[tuple[str, str]] = set()
        checks = 0
        for details in batch.session.scalars(
            select(AuditRecord.details)
            .where(
                subject.records(),
                AuditRecord.action.in_(READ_ACTIONS),
                AuditRecord.target_id == entry,
                AuditRecord.at >= start,
                AuditRecord.at < end,
            )
            .order_by(AuditRecord.at)
            .limit(p.keys * READS_PER_KEY)
        ):
            named, unnamed = keys_of(details)
            keys |= named
            checks += unnamed
        observed = len(keys) + checks
        if observed < p.keys:
            continue
        first, last = span(events)
        resource = next((e.details or {}).get("resource_code") for e in events)
        found.append(
            Finding(
                rule=CODE,
                subject=subject,
                window_key=f"{entry}@{start.isoformat()}",
                window_start=start,
                window_end=end,
                observed=observed,
                threshold=p.keys,
                first_event_at=first,
                last_event_at=last,
                record_ids=sample_ids(events),
                evidence={
                    "entry_id": entry,
                    "resource_code": resource,
                    "distinct_keys": len(keys),
                    "verification_checks": checks,
                    "fields": sorted({f for f, _ in keys}),
                    "window_minutes": p.window_minutes,
                },
            )
        )
    return found


RULE = RuleSpec(
    code=CODE,
    label=("枚举遍历", "Enumeration"),
    description=(
        "短时间内对同一目录查询或核验大量不同的主键",
        "Many distinct keys of one entry looked up or verified in a short window",
    ),
    unit=("个主键/窗口", "distinct keys per window"),
    severity=Severity.HIGH,
    params=Params,
    evaluate=evaluate,
)
