"""Tables of anomaly detection: rule settings, alerts and their timeline, learned baselines,
hourly access statistics and the scan's watermark."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.clock import now
from govdata.core.db import Base, IdMixin, TimestampMixin


class AlertRule(Base):
    """A rule's settings as the security administrator left them; a rule without a row runs
    with its defaults."""

    __tablename__ = "security_alert_rules"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    severity: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=now)
    updated_by: Mapped[str | None] = mapped_column(String(128))


class Alert(IdMixin, TimestampMixin, Base):
    """One anomaly: a rule fired for a subject (an app, a user, an address) in a window.

    ``dedup_key`` (rule, subject, window) is unique: the same anomaly seen again in its window
    counts a repeat (``occurrences``) instead of raising a second alert.
    """

    __tablename__ = "security_alerts"
    __table_args__ = (
        Index("ix_security_alerts_status", "status", "severity"),
        Index("ix_security_alerts_assignee", "assignee_id", "status"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    rule: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str | None] = mapped_column(String(128))
    subject_name: Mapped[str] = mapped_column(String(128))
    window_start: Mapped[datetime] = mapped_column()
    window_end: Mapped[datetime | None] = mapped_column()
    observed: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_event_at: Mapped[datetime] = mapped_column()
    last_event_at: Mapped[datetime] = mapped_column()
    # What the rule measured (counts, the baseline, addresses seen) and a sample of the
    # audit records behind it.
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    record_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    assignee_name: Mapped[str | None] = mapped_column(String(128))
    assigned_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by_name: Mapped[str | None] = mapped_column(String(128))
    # The closure note, or why it was a false positive.
    note: Mapped[str | None] = mapped_column(Text)


class AlertEvent(IdMixin, Base):
    """An alert's timeline: raised, assigned, disposal started, closed or a false positive."""

    __tablename__ = "security_alert_events"
    __table_args__ = (Index("ix_security_alert_events_alert", "alert_id", "at"),)

    alert_id: Mapped[str] = mapped_column(ForeignKey("security_alerts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=now)
    actor_name: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


class Baseline(Base):
    """What a subject normally reads in an active hour, learned from its access statistics."""

    __tablename__ = "security_baselines"

    subject_key: Mapped[str] = mapped_column(String(160), primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str | None] = mapped_column(String(128))
    subject_name: Mapped[str] = mapped_column(String(128))
    median: Mapped[float] = mapped_column(Float)
    mad: Mapped[float] = mapped_column(Float)
    samples: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    learned_at: Mapped[datetime] = mapped_column()


class AccessStat(Base):
    """Reads, rows and refusals of one subject in one hour (UTC-aligned, so also Beijing hours),
    added up by the scan from the audit records exactly once."""

    __tablename__ = "security_access_stats"
    __table_args__ = (Index("ix_security_access_stats_hour", "hour"),)

    subject_key: Mapped[str] = mapped_column(String(160), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str | None] = mapped_column(String(128))
    subject_name: Mapped[str] = mapped_column(String(128))
    calls: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    denied: Mapped[int] = mapped_column(Integer, default=0)


class ScanState(Base):
    """The scan's watermark: the last audit record it has read, by (at, id)."""

    __tablename__ = "security_scan_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    scanned_at: Mapped[datetime | None] = mapped_column()
    scanned_id: Mapped[str | None] = mapped_column(String(36))
    last_run_at: Mapped[datetime | None] = mapped_column()
    last_run: Mapped[dict[str, Any] | None] = mapped_column(JSON)
