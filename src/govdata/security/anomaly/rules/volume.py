"""访问量超出基线: a subject reads far more in an hour than its own learned baseline."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from govdata.security.anomaly import baselines, stats
from govdata.security.anomaly.rules.base import (
    Batch,
    Event,
    Finding,
    RuleSpec,
    hour_of,
    sample_ids,
    span,
)
from govdata.security.anomaly.vocab import Severity

CODE = "volume_baseline"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: Literal["rows", "calls"] = "rows"
    # The baseline learns from this many days of the subject's active hours.
    days: int = Field(14, ge=1, le=90)
    # Median absolute deviations above the median.
    k: float = Field(6.0, gt=0, le=1000)
    # And at least this multiple of the median.
    ratio: float = Field(3.0, ge=1, le=1000)
    # Never alert below this many per hour; new apps are judged by it alone.
    floor: int = Field(5000, ge=1)
    # Active hours a subject needs before its own baseline counts.
    min_samples: int = Field(24, ge=1, le=10000)


def evaluate(batch: Batch, p: Params) -> list[Finding]:
    touched: dict[tuple[str, datetime], list[Event]] = {}
    for e in batch.recent():
        if e.is_read:
            touched.setdefault((e.actor.key, hour_of(e.at)), []).append(e)
    found = []
    for (key, hour_start), events in touched.items():
        subject = events[0].actor
        end = hour_start + timedelta(hours=1)
        observed = stats.metric_in(batch.session, key, p.metric, hour_start, end)
        base = baselines.learned(batch.session, subject, p.metric, p.days, hour_start)
        limit = baselines.threshold(
            base, k=p.k, ratio=p.ratio, floor=p.floor, min_samples=p.min_samples
        )
        if observed <= limit:
            continue
        first, last = span(events)
        found.append(
            Finding(
                rule=CODE,
                subject=subject,
                window_key=hour_start.isoformat(),
                window_start=hour_start,
                window_end=end,
                observed=observed,
                threshold=limit,
                first_event_at=first,
                last_event_at=last,
                record_ids=sample_ids(events),
                evidence={
                    "metric": p.metric,
                    "median": base.median,
                    "mad": base.mad,
                    "samples": base.samples,
                    "days": p.days,
                    "learning": base.samples < p.min_samples,
                },
            )
        )
    return found


RULE = RuleSpec(
    code=CODE,
    label=("访问量超出基线", "Volume above baseline"),
    description=(
        "某应用或用户一小时内读取的数据量远超其自身历史基线（中位数 + k·MAD，且不低于下限）",
        "An app or user reads far more in an hour than its own learned baseline"
        " (median + k·MAD, never below the floor)",
    ),
    unit=("行或次/小时", "rows or calls per hour"),
    severity=Severity.HIGH,
    params=Params,
    evaluate=evaluate,
)
