"""Input and output shapes of problem-data tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketAnswer(_In):
    accept: bool = Field(description="true: the provider will rectify; false: disputed")
    answer: str = Field(min_length=2, max_length=4000)


class TicketClose(_In):
    note: str = Field(min_length=2, max_length=2000)


class TicketNote(_In):
    """What the actor says with a step (optional for accepting, starting and submitting)."""

    note: str | None = Field(default=None, max_length=4000)


class TicketReason(_In):
    """A step that needs its reason: disputing, reopening."""

    note: str = Field(min_length=2, max_length=4000)


class TicketDecision(_In):
    """The operator's decision on a disputed ticket."""

    uphold: bool = Field(
        description="true: the provider is right, the ticket closes; "
        "false: the dispute is rejected and the provider must rectify"
    )
    note: str = Field(min_length=2, max_length=2000)


class TicketReassign(_In):
    """Hand the ticket to another provider department and/or a named officer of it."""

    department_id: str | None = Field(default=None, max_length=36)
    assignee: str | None = Field(
        default=None, max_length=128, description="user id or username of an officer"
    )
    note: str = Field(min_length=2, max_length=2000)


class TicketExtend(_In):
    """Move the deadline ``days`` working days later (from the deadline, or from now when
    the deadline has passed); the escalation starts over."""

    days: int = Field(ge=1, le=60)
    note: str = Field(min_length=2, max_length=2000)


class TicketEventOut(BaseModel):
    at: datetime
    actor_name: str
    action: str
    status: str
    note: str | None


class TicketOut(BaseModel):
    id: str
    code: str
    source: str
    severity: int
    entry_id: str
    resource_code: str
    entry_name: str
    provider_department_id: str
    provider_department_name: str
    reporter_department_id: str | None
    reporter_department_name: str | None
    reporter_name: str
    grant_id: str | None
    record_key: dict[str, Any]
    field: str | None
    title: str
    description: str
    evidence: str | None
    status: str
    status_label: str
    due_at: datetime | None
    days_left: int | None
    overdue: bool
    answer: str | None
    answered_at: datetime | None
    answered_by_name: str | None
    closed_at: datetime | None
    closed_note: str | None
    closed_by_name: str | None = None
    assignee_id: str | None = None
    assignee_name: str | None = None
    escalated_at: datetime | None = None
    escalation_level: int = 0
    reopen_count: int = 0
    rule_id: str | None = None
    run_id: str | None = None
    last_run_id: str | None = None
    failed_count: int | None = None
    checked_count: int | None = None
    samples: list[dict[str, Any]] = Field(default_factory=list)
    submitted_at: datetime | None = None
    recheck_at: datetime | None = None
    recheck_run_id: str | None = None
    recheck_passed: bool | None = None
    recheck_count: int = 0
    events: list[TicketEventOut]
    created_at: datetime


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


# -- the accountability report (谁提供谁负责) -------------------------------------------------


class SeverityLine(BaseModel):
    """Tickets against a department's data of one severity."""

    severity: int
    tickets: int
    open: int
    overdue: int
    closed: int
    mean_hours_to_fix: float | None = Field(description="mean of closed_at − created_at, hours")


class DepartmentAccountability(BaseModel):
    department_id: str
    department_code: str
    department_name: str
    region_path: str
    # Who provided: published entries and the tickets against them.
    entries: int
    tickets: int
    open: int
    overdue: int
    escalated: int
    closed: int
    reopened: int
    mean_hours_to_fix: float | None
    mean_days_to_fix: float | None
    # Who used: active grants the department holds and the tickets it reported.
    grants_held: int
    tickets_reported: int
    by_severity: list[SeverityLine]


class AccountabilityReport(BaseModel):
    as_of: datetime
    departments: list[DepartmentAccountability]
    totals: DepartmentAccountability
