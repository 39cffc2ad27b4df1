"""Hourly access statistics per subject, added up by the scan from the audit records.

The scan reads each record once (its watermark moves in the same transaction), so the
counts are exact; baselines, the off-hours rule and the posture page read them instead of
aggregating the audit trail again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.security.anomaly.models import AccessStat
from govdata.security.anomaly.rules.base import Event, Subject, hour_of
from govdata.security.anomaly.vocab import CONSUMER_KINDS
from govdata.security.audit import DENIED


def add(s: Session, events: Iterable[Event]) -> int:
    """Count ``events`` into their hours; returns how many (subject, hour) rows changed."""
    delta: dict[tuple[str, datetime], tuple[Subject, list[int]]] = {}
    for e in events:
        if e.actor_kind not in CONSUMER_KINDS:
            continue
        read, denied = e.is_read, e.outcome == DENIED
        if not (read or denied):
            continue
        subject = e.actor
        entry = delta.setdefault((subject.key, hour_of(e.at)), (subject, [0, 0, 0]))[1]
        if read:
            entry[0] += 1
            entry[1] += e.row_count or 0
        if denied:
            entry[2] += 1
    for (key, hour), (subject, (calls, rows, denied_n)) in delta.items():
        stat = s.get(AccessStat, (key, hour))
        if stat is None:
            stat = AccessStat(
                subject_key=key,
                hour=hour,
                subject_kind=subject.kind,
                subject_id=subject.id,
                subject_name=subject.name,
                calls=0,
                rows=0,
                denied=0,
            )
            s.add(stat)
        stat.calls += calls
        stat.rows += rows
        stat.denied += denied_n
    s.flush()
    return len(delta)


def metric_in(s: Session, subject_key: str, metric: str, start: datetime, end: datetime) -> int:
    """The subject's ``metric`` (``rows`` or ``calls``) summed over the hours in [start, end)."""
    column = AccessStat.rows if metric == "rows" else AccessStat.calls
    total = s.scalar(
        select(func.coalesce(func.sum(column), 0)).where(
            AccessStat.subject_key == subject_key,
            AccessStat.hour >= start,
            AccessStat.hour < end,
        )
    )
    return int(total or 0)
