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
    events: list[TicketEventOut]
    created_at: datetime


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None
