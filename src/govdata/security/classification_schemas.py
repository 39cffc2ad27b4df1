"""Shapes of the classification policy and of sensitive-data discovery."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# -- the policy ---------------------------------------------------------------------------------


class GradeControlsOut(BaseModel):
    grade: int
    label: str
    # Steps after the first (provider review or compliance check), from the sharing policy.
    approval_chain: list[str]
    allow_download: bool
    default_mask: bool
    encrypt_at_rest: bool
    watermark: bool
    retention_days: int | None
    updated_at: datetime
    updated_by: str | None


class GradeControlsIn(_In):
    """The editable controls of one grade; fields left out keep their value."""

    allow_download: bool | None = None
    default_mask: bool | None = None
    encrypt_at_rest: bool | None = None
    watermark: bool | None = None
    # 0 clears the limit (kept as long as the grant); otherwise 1 day to 100 years.
    retention_days: int | None = Field(default=None, ge=0, le=36_500)


class ControlsUpdate(_In):
    """Controls per grade (``"1"`` … ``"4"``); the whole table is checked after merging."""

    grades: dict[str, GradeControlsIn] = Field(min_length=1, max_length=4)


class RetentionItem(BaseModel):
    """A delivered file kept longer than its grade allows."""

    subscription_id: str
    grant_code: str
    consumer_department_id: str
    consumer_department_name: str
    resource_code: str
    grade: int
    file: str
    delivered_at: datetime
    age_days: int
    retention_days: int


# -- discovery ----------------------------------------------------------------------------------


class ScanTarget(StrEnum):
    ENTRY = "entry"  # a catalog entry's data, through its mount
    LAKE = "lake"  # a lake table by name
    SOURCE = "source"  # a table of a registered source system


class ScanStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class SuggestionState(StrEnum):
    NONE = "none"  # nothing to suggest (no finding, or the catalog already says it)
    PENDING = "pending"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"


class ScanCreate(_In):
    """What to scan: an entry (id or resource code), a lake table, or a source's table."""

    entry: str | None = Field(default=None, max_length=64)
    lake_table: str | None = Field(default=None, max_length=255)
    source_id: str | None = Field(default=None, max_length=36)
    table: str | None = Field(default=None, max_length=255)
    sample_rows: int = Field(default=1000, ge=10, le=100_000)

    @model_validator(mode="after")
    def _one_target(self) -> ScanCreate:
        given = [self.entry is not None, self.lake_table is not None, self.source_id is not None]
        if sum(given) != 1 or (self.source_id is None) != (self.table is None):
            raise ValueError("name exactly one of: entry, lake_table, or source_id with table")
        return self


class ColumnFindingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    position: int
    column: str
    item: str | None
    non_empty: int
    kind: str | None
    hits: int
    hit_rate: float
    counts: dict[str, Any]
    examples: list[str]
    suggest_sensitive: bool | None
    suggest_mask: str | None
    suggest_grade: int | None
    state: str
    decided_by: str | None
    decided_at: datetime | None


class ScanOut(BaseModel):
    id: str
    target_kind: str
    entry_id: str | None
    resource_code: str | None
    entry_name: str | None
    source_id: str | None
    table_name: str | None
    department_id: str
    sample_rows: int
    rows_sampled: int
    status: str
    job_id: str | None
    started_at: datetime | None
    finished_at: datetime | None
    error_code: str | None
    error_message: str | None
    entry_grade: int | None
    suggested_grade: int | None
    grade_state: str | None
    created_by_name: str
    created_at: datetime
    # The job's progress while the scan runs (done of total steps, and what it is doing).
    progress_done: int = 0
    progress_total: int | None = None
    progress_message: str | None = None
    columns: list[ColumnFindingOut]


class ScanPage(BaseModel):
    items: list[ScanOut]
    next_cursor: str | None


class SuggestionDecision(_In):
    """Which suggestions of a scan to accept or dismiss: columns by id, and the entry grade."""

    columns: list[str] = Field(default_factory=list, max_length=500)
    grade: bool = False
    note: str | None = Field(default=None, max_length=2000)


class DecisionOut(BaseModel):
    scan: ScanOut
    # The entry version the accepted suggestions were written into (a draft under review
    # rules), when something was accepted.
    version_no: int | None = None
