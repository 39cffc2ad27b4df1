"""Governance tables: problem-data tickets (问题数据反馈整改).

One ticket model for every way bad data is reported — a consumer's objection (数据异议) or a
failed quality rule (one ticket per entry and rule, its counts kept current by later runs) —
so the rectification workflow lives in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.db import Base, IdMixin, TimestampMixin


class Ticket(IdMixin, TimestampMixin, Base):
    __tablename__ = "governance_tickets"
    __table_args__ = (
        Index("ix_governance_tickets_provider", "provider_department_id", "status"),
        Index("ix_governance_tickets_status_due", "status", "due_at"),
        Index("ix_governance_tickets_rule", "rule_id", "status"),
        Index("ix_governance_tickets_reporter", "reporter_department_id", "status"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # TicketSource
    severity: Mapped[int] = mapped_column(Integer, default=3)  # 1 (minor) .. 5 (critical)
    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    resource_code: Mapped[str] = mapped_column(String(64))
    entry_name: Mapped[str] = mapped_column(String(255))
    # 谁提供谁负责: the provider department answers for it.
    provider_department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    provider_region_path: Mapped[str] = mapped_column(String(64))
    reporter_department_id: Mapped[str | None] = mapped_column(ForeignKey("departments.id"))
    reporter_region_path: Mapped[str | None] = mapped_column(String(64))
    reporter_id: Mapped[str | None] = mapped_column(String(36))
    reporter_name: Mapped[str] = mapped_column(String(128))
    grant_id: Mapped[str | None] = mapped_column(String(36))
    # Which record (key field -> value) and which field are wrong, when known.
    record_key: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    field: Mapped[str | None] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # TicketStatus
    due_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column()
    answered_by_name: Mapped[str | None] = mapped_column(String(128))
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_note: Mapped[str | None] = mapped_column(Text)
    closed_by_name: Mapped[str | None] = mapped_column(String(128))
    # A named officer of the provider department the operator assigned it to (else all of
    # the department's officers answer for it).
    assignee_id: Mapped[str | None] = mapped_column(String(36))
    assignee_name: Mapped[str | None] = mapped_column(String(128))
    # Escalation when overdue: 0 none, then 1.. as it stays overdue (ticket_jobs).
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Tickets from a failed quality rule (source "rule"): the rule (no foreign key: a ticket
    # outlives a deleted rule), the run that opened it and the latest run that saw it fail,
    # with that run's counts and a few masked failing rows (key fields and the checked item).
    rule_id: Mapped[str | None] = mapped_column(String(36))
    run_id: Mapped[str | None] = mapped_column(String(36))
    last_run_id: Mapped[str | None] = mapped_column(String(36))
    failed_count: Mapped[int | None] = mapped_column(BigInteger)
    checked_count: Mapped[int | None] = mapped_column(BigInteger)
    samples: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The provider's last submission for re-check and its outcome: for a rule ticket the
    # rule run again (``recheck_run_id``); for an objection the reporter's confirmation.
    submitted_at: Mapped[datetime | None] = mapped_column()
    recheck_at: Mapped[datetime | None] = mapped_column()
    recheck_run_id: Mapped[str | None] = mapped_column(String(36))
    recheck_passed: Mapped[bool | None] = mapped_column(Boolean)
    recheck_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class TicketEvent(IdMixin, Base):
    """A ticket's timeline: who moved it where, and why."""

    __tablename__ = "governance_ticket_events"
    __table_args__ = (Index("ix_governance_ticket_events_ticket", "ticket_id", "at"),)

    ticket_id: Mapped[str] = mapped_column(ForeignKey("governance_tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column()
    actor_name: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
