"""Shapes anomaly detection takes and returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from govdata.security.anomaly.vocab import Severity


class NoteIn(BaseModel):
    """A closure note, or why an alert was a false positive: required."""

    note: str = Field(min_length=1, max_length=4000)

    @field_validator("note")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a note is required")
        return value


class AssignIn(BaseModel):
    """The security administrator to dispose of the alert: a user id or a username."""

    assignee: str = Field(min_length=1, max_length=128)


class RuleIn(BaseModel):
    enabled: bool
    severity: Severity
    # The rule's settings; keys left out keep their current values.
    params: dict[str, Any] = Field(default_factory=dict)


class RuleOut(BaseModel):
    code: str
    label: str
    description: str
    unit: str
    enabled: bool
    severity: str
    severity_label: str
    params: dict[str, Any]
    defaults: dict[str, Any]
    updated_at: datetime | None
    updated_by: str | None


class AlertEventOut(BaseModel):
    at: datetime
    actor_name: str
    action: str
    action_label: str
    status: str
    note: str | None


class EvidenceRecord(BaseModel):
    """One audit record behind an alert, as the alert page shows it."""

    id: str
    at: datetime
    actor_name: str
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str
    client_addr: str | None
    row_count: int | None


class AlertOut(BaseModel):
    id: str
    code: str
    rule: str
    rule_label: str
    unit: str
    severity: str
    severity_label: str
    status: str
    status_label: str
    subject_kind: str
    subject_id: str | None
    subject_name: str
    window_start: datetime
    window_end: datetime | None
    observed: float
    threshold: float
    occurrences: int
    first_event_at: datetime
    last_event_at: datetime
    evidence: dict[str, Any]
    record_ids: list[str]
    assignee_id: str | None
    assignee_name: str | None
    assigned_at: datetime | None
    closed_at: datetime | None
    closed_by_name: str | None
    note: str | None
    created_at: datetime
    # Only on a single alert's view.
    records: list[EvidenceRecord] = Field(default_factory=list)
    events: list[AlertEventOut] = Field(default_factory=list)


class AlertPage(BaseModel):
    items: list[AlertOut]
    total: int
    next_cursor: str | None


class BaselineOut(BaseModel):
    subject_kind: str
    subject_id: str | None
    subject_name: str
    metric: str
    median: float
    mad: float
    samples: int
    days: int
    threshold: float
    learning: bool
    learned_at: datetime


class ScanOut(BaseModel):
    records: int
    batches: int
    raised: int
    repeated: int
    scanned_until: datetime | None


class Consumer(BaseModel):
    subject_kind: str
    subject_id: str | None
    subject_name: str
    calls: int
    rows: int
    denied: int


class LedgerHealthOut(BaseModel):
    enabled: bool
    tree_size: int | None = None
    pending: int | None = None
    last_head_at: datetime | None = None
    last_verified_at: datetime | None = None
    last_verified_ok: bool | None = None


class PostureOut(BaseModel):
    as_of: datetime
    scanned_until: datetime | None
    last_scan_at: datetime | None
    days: int
    # Data-service reads and rows per Beijing day, oldest first.
    trend_days: list[str]
    trend_calls: list[int]
    trend_rows: list[int]
    calls_today: int
    rows_today: int
    denied_today: int
    consumers_today: int
    top_consumers: list[Consumer]
    # Active alerts (open, assigned, disposing) per severity, lowest first.
    open_alerts: dict[str, int]
    open_alerts_total: int
    # Active grants per grade of the shared entry ("1".."4").
    grants_by_grade: dict[str, int]
    entries_by_grade: dict[str, int]
    ledger: LedgerHealthOut
