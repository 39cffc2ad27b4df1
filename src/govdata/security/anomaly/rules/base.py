"""What every rule shares: the events it reads, the batch it judges, the findings it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import Session

from govdata.core.clock import DISPLAY_TZ, as_utc
from govdata.security.anomaly.vocab import CONSUMER_KINDS, READ_ACTIONS, Severity
from govdata.security.models import AuditRecord
from govdata.sharing.workdays import Calendar

# Evidence keeps at most this many audit record ids per alert.
MAX_RECORD_IDS = 50


@dataclass(frozen=True)
class Subject:
    """Who an alert is about: an app credential, a user, or a client address."""

    kind: str
    id: str | None
    name: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id or self.name}"

    def records(self) -> ColumnElement[bool]:
        """The audit records this subject wrote."""
        if self.kind == "addr":
            return AuditRecord.client_addr == self.id
        if self.id is not None:
            return AuditRecord.actor_id == self.id
        return and_(AuditRecord.actor_kind == self.kind, AuditRecord.actor_name == self.name)


@dataclass(frozen=True)
class Event:
    """One audit record as the rules see it."""

    id: str
    at: datetime
    actor_kind: str
    actor_id: str | None
    actor_name: str
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str
    client_addr: str | None
    row_count: int | None
    details: dict[str, Any] | None

    @property
    def actor(self) -> Subject:
        return Subject(self.actor_kind, self.actor_id, self.actor_name)

    @property
    def is_read(self) -> bool:
        return self.action in READ_ACTIONS and self.actor_kind in CONSUMER_KINDS

    @property
    def local(self) -> datetime:
        return as_utc(self.at).astimezone(DISPLAY_TZ)


@dataclass
class Batch:
    """Audit records read by one scan step, and what the rules may look up around them."""

    session: Session
    events: list[Event]
    now: datetime
    # Events before the horizon are history: counted in the statistics, never alerted on.
    horizon: datetime
    _calendar: Calendar | None = field(default=None, repr=False)

    def recent(self) -> list[Event]:
        return [e for e in self.events if as_utc(e.at) >= self.horizon]

    @property
    def calendar(self) -> Calendar:
        if self._calendar is None:
            self._calendar = Calendar.load(self.session)
        return self._calendar


@dataclass
class Finding:
    """A rule fired: for whom, in which window, what it saw against what it allows."""

    rule: str
    subject: Subject
    window_key: str
    window_start: datetime
    window_end: datetime | None
    observed: float
    threshold: float
    first_event_at: datetime
    last_event_at: datetime
    record_ids: list[str]
    evidence: dict[str, Any]

    @property
    def dedup_key(self) -> str:
        return f"{self.rule}|{self.subject.key}|{self.window_key}"[:255]


@dataclass(frozen=True)
class RuleSpec:
    """A rule: its code, what it is called and measures, its default severity, its settings
    (a Pydantic model whose defaults are the rule's defaults) and its judgement."""

    code: str
    label: tuple[str, str]
    description: tuple[str, str]
    # What ``observed`` and ``threshold`` count.
    unit: tuple[str, str]
    severity: Severity
    params: type[BaseModel]
    evaluate: Callable[[Batch, Any], list[Finding]]


def tumbling(at: datetime, minutes: int) -> tuple[datetime, datetime]:
    """The fixed window of ``minutes`` (counted from the epoch) that holds ``at``."""
    size = timedelta(minutes=minutes)
    at = as_utc(at)
    epoch = datetime(1970, 1, 1, tzinfo=at.tzinfo)
    start = epoch + ((at - epoch) // size) * size
    return start, start + size


def hour_of(at: datetime) -> datetime:
    return as_utc(at).replace(minute=0, second=0, microsecond=0)


def sample_ids(events: list[Event]) -> list[str]:
    return [e.id for e in events][-MAX_RECORD_IDS:]


def span(events: list[Event]) -> tuple[datetime, datetime]:
    times = [as_utc(e.at) for e in events]
    return min(times), max(times)
