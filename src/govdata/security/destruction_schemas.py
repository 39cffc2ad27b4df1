"""Shapes of destruction requests and certificates."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class DestructionStatus(StrEnum):
    PENDING = "pending"
    REJECTED = "rejected"
    APPROVED = "approved"
    DESTROYING = "destroying"
    COMPLETED = "completed"
    FAILED = "failed"


STATUS_LABELS: dict[str, tuple[str, str]] = {
    DestructionStatus.PENDING: ("待审批", "Awaiting approval"),
    DestructionStatus.REJECTED: ("已驳回", "Rejected"),
    DestructionStatus.APPROVED: ("已批准", "Approved"),
    DestructionStatus.DESTROYING: ("销毁中", "Destroying"),
    DestructionStatus.COMPLETED: ("已销毁", "Destroyed"),
    DestructionStatus.FAILED: ("销毁失败", "Failed"),
}

# Requests that still hold the entry: a second one waits until they end.
OPEN_STATUSES = (
    DestructionStatus.PENDING.value,
    DestructionStatus.APPROVED.value,
    DestructionStatus.DESTROYING.value,
    DestructionStatus.FAILED.value,
)


def status_label(status: str, locale: str = "zh_CN") -> str:
    zh, en = STATUS_LABELS.get(status, (status, status))
    return en if locale.startswith("en") else zh


class DestructionIn(BaseModel):
    # The entry's id or resource code.
    entry: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=2, max_length=2000)


class DecisionIn(BaseModel):
    approve: bool
    note: str | None = Field(default=None, max_length=2000)


class DestructionOut(BaseModel):
    id: str
    code: str
    entry_id: str
    resource_code: str
    entry_name: str
    department_id: str
    lake_table: str | None
    reason: str
    status: str
    status_label: str
    requested_by_name: str
    requested_at: datetime
    decided_by_name: str | None
    decided_at: datetime | None
    decision_note: str | None
    job_id: str | None
    steps: list[str]
    file_count: int
    bytes_removed: int
    manifest_sm3: str | None
    key_ids: list[str]
    grants_ended: list[str]
    completed_at: datetime | None
    error: str | None
    certificate: dict[str, Any] | None


class DestructionPage(BaseModel):
    items: list[DestructionOut]
    next_cursor: str | None
