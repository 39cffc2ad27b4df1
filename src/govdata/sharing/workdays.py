"""Working-day arithmetic for deadlines (工作日), read in Beijing time.

A deadline of N working days from a moment ends at midnight after the N-th working day
following that moment's calendar day: an application submitted on a Friday afternoon with
2 working days is due at the end of the next Tuesday. Weekends are days off unless the
calendar marks them worked (调休); weekdays are working days unless marked a holiday.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.clock import DISPLAY_TZ, as_utc
from govdata.sharing.models import Holiday
from govdata.sharing.vocab import HolidayKind

# No deadline is longer than this many working days; it bounds the walk over the calendar.
MAX_DAYS = 250


@dataclass(frozen=True)
class Calendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def of(cls, days: Iterable[tuple[date, str]]) -> Calendar:
        off: set[date] = set()
        on: set[date] = set()
        for day, kind in days:
            (on if kind == HolidayKind.WORKDAY else off).add(day)
        return cls(frozenset(off), frozenset(on))

    @classmethod
    def load(cls, s: Session) -> Calendar:
        return cls.of((h.day, h.kind) for h in s.scalars(select(Holiday)))

    def is_working(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add(self, start: datetime, days: int) -> datetime:
        """The deadline ``days`` working days after ``start`` (aware UTC in, aware UTC out)."""
        if not 0 <= days <= MAX_DAYS:
            raise ValueError(f"working days must be within 0..{MAX_DAYS}")
        day = as_utc(start).astimezone(DISPLAY_TZ).date()
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_working(day):
                left -= 1
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=DISPLAY_TZ)
        return as_utc(end)

    def left(self, at: datetime, due: datetime) -> int:
        """Working days from ``at``'s day until ``due``: 0 on the last day, negative once
        past it (by the working days since the last day, at least one)."""
        today = as_utc(at).astimezone(DISPLAY_TZ).date()
        # The last day on which the deadline still holds.
        last = (as_utc(due).astimezone(DISPLAY_TZ) - timedelta(microseconds=1)).date()
        if as_utc(at) < as_utc(due):
            count, day = 0, today
            while day < last:
                day += timedelta(days=1)
                if self.is_working(day):
                    count += 1
            return count
        count, day = 0, last
        while day < today:
            day += timedelta(days=1)
            if self.is_working(day):
                count += 1
        return -max(count, 1)
