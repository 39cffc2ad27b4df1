"""Sharing tables: the policy and holiday calendar, demands, applications and their approval
steps, exemptions, grants, app limits and usage, subscriptions and their runs.

A grant is the only thing that lets one department read another's data through the
platform. Applications, steps and grants copy what they were decided on (items, row filter,
masks, purpose) so a later change to the catalog entry never widens a decision already made.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govdata.core.clock import now
from govdata.core.db import Base, IdMixin, TimestampMixin


class SharingPolicy(Base):
    """The node's sharing rules (one row, id 1); the operator edits them."""

    __tablename__ = "sharing_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # Unconditional-share applications: an operator compliance check instead of automatic.
    operator_compliance_check: Mapped[bool] = mapped_column(Boolean, default=False)
    compliance_days: Mapped[int] = mapped_column(Integer, default=2)
    provider_days: Mapped[int] = mapped_column(Integer, default=10)
    operator_days: Mapped[int] = mapped_column(Integer, default=5)
    demand_days: Mapped[int] = mapped_column(Integer, default=10)
    objection_days: Mapped[int] = mapped_column(Integer, default=5)
    # Approval chain per grade ("1".."4"): steps after the compliance check / provider review.
    grade_chains: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=now)
    updated_by: Mapped[str | None] = mapped_column(String(128))


class Holiday(Base):
    """A day off on a weekday, or a weekend day worked (调休); other days follow the week."""

    __tablename__ = "sharing_holidays"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # HolidayKind
    name: Mapped[str] = mapped_column(String(64), default="")


class Demand(IdMixin, TimestampMixin, Base):
    """供需对接: a department's need for data not in the catalog yet."""

    __tablename__ = "sharing_demands"
    __table_args__ = (Index("ix_sharing_demands_status_created", "status", "created_at"),)

    code: Mapped[str] = mapped_column(String(32), unique=True)
    requester_department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    requester_region_path: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    items_wanted: Mapped[list[str]] = mapped_column(JSON, default=list)
    suggested_department_id: Mapped[str | None] = mapped_column(ForeignKey("departments.id"))
    status: Mapped[str] = mapped_column(String(16))  # DemandStatus
    provider_department_id: Mapped[str | None] = mapped_column(
        ForeignKey("departments.id"), index=True
    )
    provider_region_path: Mapped[str | None] = mapped_column(String(64))
    routed_at: Mapped[datetime | None] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column()
    answer: Mapped[str | None] = mapped_column(String(16))  # DemandAnswer
    answer_note: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column()
    answered_by_name: Mapped[str | None] = mapped_column(String(128))
    entry_id: Mapped[str | None] = mapped_column(ForeignKey("catalog_entries.id"))
    escalated_at: Mapped[datetime | None] = mapped_column()
    closed_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_by_name: Mapped[str] = mapped_column(String(128))


class Application(IdMixin, TimestampMixin, Base):
    """共享申请: a consumer department asks for a published entry."""

    __tablename__ = "sharing_applications"
    __table_args__ = (
        Index("ix_sharing_applications_consumer", "consumer_department_id", "created_at"),
        Index("ix_sharing_applications_provider", "provider_department_id", "status"),
        Index("ix_sharing_applications_status_due", "status", "due_at"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # ApplicationKind
    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    resource_code: Mapped[str] = mapped_column(String(64))
    entry_name: Mapped[str] = mapped_column(String(255))
    # The entry's share type and grade when applied for: they decide the chain.
    share_type: Mapped[str] = mapped_column(String(16))
    grade: Mapped[int] = mapped_column(Integer)
    provider_department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    provider_region_path: Mapped[str] = mapped_column(String(64))
    consumer_department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    consumer_region_path: Mapped[str] = mapped_column(String(64))
    applicant_id: Mapped[str | None] = mapped_column(String(36))
    applicant_name: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    items: Mapped[list[str]] = mapped_column(JSON)
    # [[item, op, value], ...] ANDed onto every read under the grant.
    row_filter: Mapped[list[Any]] = mapped_column(JSON, default=list)
    row_scope_note: Mapped[str | None] = mapped_column(Text)
    delivery_modes: Mapped[list[str]] = mapped_column(JSON)
    valid_until: Mapped[date] = mapped_column(Date)
    contact_name: Mapped[str] = mapped_column(String(64))
    contact_phone: Mapped[str] = mapped_column(String(32))
    # Items the consumer asks to receive unmasked, with the reason (the grant decides).
    clear_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16))  # ApplicationStatus
    current_step: Mapped[str | None] = mapped_column(String(16))  # StepKind
    due_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    reject_reason: Mapped[str | None] = mapped_column(Text)
    contest_reason: Mapped[str | None] = mapped_column(Text)
    contested_at: Mapped[datetime | None] = mapped_column()
    contest_outcome: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    exemption_id: Mapped[str | None] = mapped_column(ForeignKey("sharing_exemptions.id"))
    renews_grant_id: Mapped[str | None] = mapped_column(ForeignKey("sharing_grants.id"))
    grant_id: Mapped[str | None] = mapped_column(ForeignKey("sharing_grants.id"))

    steps: Mapped[list[ApplicationStep]] = relationship(
        order_by="ApplicationStep.position",
        cascade="all, delete-orphan",
        lazy="selectin",
        foreign_keys="ApplicationStep.application_id",
    )


class ApplicationStep(IdMixin, Base):
    """One step of an application's approval chain, with its own deadline."""

    __tablename__ = "sharing_application_steps"
    __table_args__ = (Index("ix_sharing_steps_status_due", "status", "due_at"),)

    application_id: Mapped[str] = mapped_column(
        ForeignKey("sharing_applications.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # StepKind
    status: Mapped[str] = mapped_column(String(16))  # StepStatus
    working_days: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime | None] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decided_by_name: Mapped[str | None] = mapped_column(String(128))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str | None] = mapped_column(Text)


class Exemption(IdMixin, Base):
    """The operator lets one department apply for a not-shared entry, on a stated basis."""

    __tablename__ = "sharing_exemptions"
    __table_args__ = (Index("ix_sharing_exemptions_entry", "entry_id", "consumer_department_id"),)

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entries.id"))
    consumer_department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    basis: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str | None] = mapped_column(String(36))
    granted_by_name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=now)
    revoked_at: Mapped[datetime | None] = mapped_column()


class Grant(IdMixin, TimestampMixin, Base):
    """授权: the right an approval creates; every data read is checked against it."""

    __tablename__ = "sharing_grants"
    __table_args__ = (
        Index("ix_sharing_grants_consumer_entry", "consumer_department_id", "entry_id"),
        Index("ix_sharing_grants_provider", "provider_department_id", "created_at"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    application_id: Mapped[str] = mapped_column(String(36))
    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entries.id"))
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    entry_name: Mapped[str] = mapped_column(String(255))
    provider_department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    provider_region_path: Mapped[str] = mapped_column(String(64))
    consumer_department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    consumer_region_path: Mapped[str] = mapped_column(String(64))
    # App credentials of the consumer that may use it; empty means all of its apps.
    app_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    items: Mapped[list[str]] = mapped_column(JSON)
    row_filter: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # item -> MaskKind value or "clear"; items missing here are delivered clear.
    masks: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    delivery_modes: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16))  # GrantStatus (active/revoked)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by_name: Mapped[str | None] = mapped_column(String(128))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    renewed_at: Mapped[datetime | None] = mapped_column()


class AppLimit(Base):
    """Rate limit and daily quota of one app credential on the data-service API."""

    __tablename__ = "sharing_app_limits"

    credential_id: Mapped[str] = mapped_column(ForeignKey("app_credentials.id"), primary_key=True)
    per_minute: Mapped[int] = mapped_column(Integer)
    per_day: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=now)


class ApiUsage(Base):
    """Data-service calls per caller per window (``m:<minute>`` and ``d:<day>``)."""

    __tablename__ = "sharing_api_usage"

    caller_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    window: Mapped[str] = mapped_column(String(24), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)


class Subscription(IdMixin, TimestampMixin, Base):
    """订阅: recurring delivery of a grant's data into the consumer's table or files."""

    __tablename__ = "sharing_subscriptions"

    grant_id: Mapped[str] = mapped_column(ForeignKey("sharing_grants.id"), index=True)
    consumer_department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    provider_department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    mode: Mapped[str] = mapped_column(String(16))  # SubscriptionMode
    # The consumer's own registered MariaDB/PostgreSQL source, and the table in it.
    target_source_id: Mapped[str | None] = mapped_column(ForeignKey("source_systems.id"))
    target_table: Mapped[str | None] = mapped_column(String(64))
    file_format: Mapped[str | None] = mapped_column(String(16))
    schedule: Mapped[str | None] = mapped_column(String(128))
    schedule_id: Mapped[str | None] = mapped_column(ForeignKey("job_schedules.id"))
    state: Mapped[str] = mapped_column(String(16))  # SubscriptionState
    delivered_version: Mapped[int | None] = mapped_column(BigInteger)
    delivered_at: Mapped[datetime | None] = mapped_column()
    # The source commit time of the newest delivered lake version: lag = delivered_at - this.
    source_time: Mapped[datetime | None] = mapped_column()
    last_run_id: Mapped[str | None] = mapped_column(String(36))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(36))


class SubscriptionRun(IdMixin, Base):
    __tablename__ = "sharing_subscription_runs"
    __table_args__ = (Index("ix_sharing_sub_runs_sub_started", "subscription_id", "started_at"),)

    subscription_id: Mapped[str] = mapped_column(ForeignKey("sharing_subscriptions.id"))
    job_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16))  # RunStatus values of the exchange
    started_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None] = mapped_column()
    version_from: Mapped[int | None] = mapped_column(BigInteger)
    version_to: Mapped[int | None] = mapped_column(BigInteger)
    rows_upserted: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_deleted: Mapped[int] = mapped_column(BigInteger, default=0)
    files: Mapped[list[str]] = mapped_column(JSON, default=list)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
