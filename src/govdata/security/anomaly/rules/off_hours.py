"""非工作时间批量读取: a subject reads many rows outside working hours (Beijing time).

Working hours are ``work_start``..``work_end`` on working days of the holiday calendar the
operator keeps (weekends off unless worked, 调休). One off-hours period runs from the end of
one working day to the start of the next, so a Friday night and the weekend after it are one
window, and one alert.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from govdata.core.clock import DISPLAY_TZ, as_utc
from govdata.security.anomaly import stats
from govdata.security.anomaly.rules.base import Batch, Event, Finding, RuleSpec, sample_ids, span
from govdata.security.anomaly.vocab import Severity
from govdata.sharing.workdays import Calendar

CODE = "off_hours_bulk"
# Holidays never run longer than this; it bounds the walk over the calendar.
MAX_OFF_DAYS = 60


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    work_start: int = Field(8, ge=0, le=23)
    work_end: int = Field(18, ge=1, le=24)
    # Rows one subject may read in one off-hours period.
    rows: int = Field(1000, ge=1)

    @model_validator(mode="after")
    def _order(self) -> Params:
        if self.work_start >= self.work_end:
            raise ValueError("work_start must be before work_end")
        return self


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(0), tzinfo=DISPLAY_TZ) + timedelta(hours=hour)


def off_period(at: datetime, cal: Calendar, p: Params) -> tuple[datetime, datetime] | None:
    """The off-hours period holding ``at`` as (start, end) in UTC; None in working hours."""
    t = as_utc(at).astimezone(DISPLAY_TZ)
    day = t.date()
    working = cal.is_working(day)
    if working and _at(day, p.work_start) <= t < _at(day, p.work_end):
        return None
    back = day if working and t >= _at(day, p.work_end) else day - timedelta(days=1)
    for _ in range(MAX_OFF_DAYS):
        if cal.is_working(back):
            break
        back -= timedelta(days=1)
    ahead = day if working and t < _at(day, p.work_start) else day + timedelta(days=1)
    for _ in range(MAX_OFF_DAYS):
        if cal.is_working(ahead):
            break
        ahead += timedelta(days=1)
    return as_utc(_at(back, p.work_end)), as_utc(_at(ahead, p.work_start))


def evaluate(batch: Batch, p: Params) -> list[Finding]:
    touched: dict[tuple[str, datetime], tuple[datetime, list[Event]]] = {}
    for e in batch.recent():
        if not e.is_read:
            continue
        period = off_period(e.at, batch.calendar, p)
        if period is not None:
            touched.setdefault((e.actor.key, period[0]), (period[1], []))[1].append(e)
    found = []
    for (key, start), (end, events) in touched.items():
        rows = stats.metric_in(batch.session, key, "rows", start, end)
        if rows <= p.rows:
            continue
        first, last = span(events)
        found.append(
            Finding(
                rule=CODE,
                subject=events[0].actor,
                window_key=start.isoformat(),
                window_start=start,
                window_end=end,
                observed=rows,
                threshold=p.rows,
                first_event_at=first,
                last_event_at=last,
                record_ids=sample_ids(events),
                evidence={
                    "calls": stats.metric_in(batch.session, key, "calls", start, end),
                    "work_hours": f"{p.work_start:02d}:00-{p.work_end:02d}:00",
                },
            )
        )
    return found


RULE = RuleSpec(
    code=CODE,
    label=("非工作时间批量读取", "Bulk reads off-hours"),
    description=(
        "某应用或用户在非工作时间（北京时间，按节假日日历）读取的行数超过上限",
        "An app or user reads more rows outside working hours (Beijing time, holiday"
        " calendar) than allowed",
    ),
    unit=("行/时段", "rows per off-hours period"),
    severity=Severity.MEDIUM,
    params=Params,
    evaluate=evaluate,
)
