"""Per-subject baselines: what an app (or user) reads in an hour when it reads at all.

The statistic is robust on purpose: the median and the median absolute deviation (MAD) of
the subject's active hours over the last N days, so a few past spikes (perhaps earlier
anomalies) do not raise the bar. Idle hours are left out: most apps are idle at night, and
their zeros would pull both figures to nothing and leave the floor alone to decide.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.clock import as_utc
from govdata.security.anomaly.models import AccessStat, Baseline
from govdata.security.anomaly.rules.base import Subject, hour_of

# A baseline is learned again when it is older than this (hours are the unit it counts).
RELEARN = timedelta(hours=1)


def robust(values: list[float]) -> tuple[float, float]:
    """(median, MAD) of ``values``; (0, 0) for none."""
    if not values:
        return 0.0, 0.0
    mid = float(median(values))
    return mid, float(median(abs(v - mid) for v in values))


def learned(s: Session, subject: Subject, metric: str, days: int, at: datetime) -> Baseline:
    """The subject's baseline as of ``at``, learned again when stale; the hour holding ``at``
    never counts (it may be the anomaly being judged)."""
    row = s.get(Baseline, (subject.key, metric))
    if row is not None and row.days == days and as_utc(at) - as_utc(row.learned_at) < RELEARN:
        return row
    current = hour_of(at)
    column = AccessStat.rows if metric == "rows" else AccessStat.calls
    values = [
        float(v)
        for v in s.scalars(
            select(column).where(
                AccessStat.subject_key == subject.key,
                AccessStat.hour >= current - timedelta(days=days),
                AccessStat.hour < current,
                column > 0,
            )
        )
    ]
    mid, mad = robust(values)
    if row is None:
        row = Baseline(subject_key=subject.key, metric=metric)
        s.add(row)
    row.subject_kind, row.subject_id, row.subject_name = subject.kind, subject.id, subject.name
    row.median, row.mad, row.samples, row.days = mid, mad, len(values), days
    row.learned_at = as_utc(at)
    s.flush()
    return row


def threshold(
    b: Baseline | None, *, k: float, ratio: float, floor: float, min_samples: int
) -> float:
    """Above this an hour is anomalous: median + k·MAD, and at least ``ratio`` × median, and
    never below ``floor``; a subject with fewer than ``min_samples`` active hours (a new
    app) has only the floor."""
    if b is None or b.samples < min_samples:
        return float(floor)
    return max(float(floor), b.median + k * b.mad, b.median * ratio)
