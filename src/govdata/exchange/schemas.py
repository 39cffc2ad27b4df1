"""Input and output shapes of mounts, pipelines, runs and lake tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from govdata.exchange.vocab import MountMode, PipelineKind, TargetKind

MAX_ROW_CAP = 1_000_000
MAX_TIMEOUT_SECONDS = 600


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MappingColumn(_In):
    """One column of a mount mapping (contract: ``Mount.columns``)."""

    item: str | None = Field(default=None, max_length=128, description="entry item name")
    column: str = Field(min_length=1, max_length=255, description="source column")
    field: str = Field(min_length=1, max_length=63, description="output / lake column")
    type: str = Field(min_length=1, max_length=64, description="Arrow type, e.g. int64")


class MountTarget(_In):
    source_id: str
    target_kind: TargetKind = TargetKind.TABLE
    target: str = Field(
        min_length=1, max_length=20_000, description="table, SELECT, file or API endpoint"
    )


class ProposeIn(MountTarget):
    """Ask for a proposed mapping of an entry's items onto a source table or query."""

    entry_id: str


class MountCreate(MountTarget):
    entry_id: str = Field(description="the catalog entry (id or resource code)")
    mode: MountMode
    columns: list[MappingColumn] | None = Field(
        default=None, description="the mapping; proposed from the entry's items when omitted"
    )
    key_columns: list[str] | None = Field(
        default=None, description="field names; default: the source key or the key items"
    )
    watermark_column: str | None = Field(default=None, max_length=128)
    row_cap: int = Field(default=10_000, ge=1, le=MAX_ROW_CAP)
    timeout_seconds: int = Field(default=30, ge=1, le=MAX_TIMEOUT_SECONDS)


class MountUpdate(_In):
    """Fields to change; a field left out keeps its value (send null to clear a watermark)."""

    source_id: str | None = None
    mode: MountMode | None = None
    target_kind: TargetKind | None = None
    target: str | None = Field(default=None, min_length=1, max_length=20_000)
    columns: list[MappingColumn] | None = None
    key_columns: list[str] | None = None
    watermark_column: str | None = Field(default=None, max_length=128)
    row_cap: int | None = Field(default=None, ge=1, le=MAX_ROW_CAP)
    timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_SECONDS)


class SourceColumnOut(BaseModel):
    name: str
    type: str
    arrow_type: str
    nullable: bool
    is_key: bool
    comment: str | None


class IssueOut(BaseModel):
    level: str
    code: str
    item: str | None
    column: str | None
    message_zh: str
    message_en: str


class ProposalOut(BaseModel):
    columns: list[MappingColumn]
    unmapped_items: list[str]
    key_columns: list[str]
    issues: list[IssueOut]
    source_columns: list[SourceColumnOut]


class MountOut(BaseModel):
    id: str
    entry_id: str
    entry_name: str
    resource_code: str
    department_id: str
    source_id: str
    source_name: str
    mode: MountMode
    target_kind: TargetKind
    target: str
    columns: list[dict[str, Any]]
    unmapped_items: list[str]
    key_columns: list[str]
    watermark_column: str | None
    row_cap: int
    timeout_seconds: int
    lake_table: str | None
    drift: list[dict[str, Any]]
    # Warnings of the mapping check (casts, lengths) at the last create or update.
    issues: list[IssueOut] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class MountPage(BaseModel):
    items: list[MountOut]
    next_cursor: str | None
    total: int


class RowsOut(BaseModel):
    """Rows of a mount or lake table read for a person (capped, audited)."""

    fields: list[dict[str, str]]
    rows: list[dict[str, Any]]
    row_count: int


class PipelineCreate(_In):
    mount_id: str
    name: str = Field(min_length=1, max_length=128)
    kind: PipelineKind
    options: dict[str, Any] = Field(default_factory=dict)
    schedule: str | None = Field(
        default=None, max_length=128, description="cron, in the node's time zone"
    )


class PipelineUpdate(_In):
    """Fields to change; send ``schedule: null`` to remove the schedule."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    options: dict[str, Any] | None = None
    schedule: str | None = Field(default=None, max_length=128)


class ProgressOut(BaseModel):
    done: int
    total: int | None
    message: str | None


class RunOut(BaseModel):
    id: str
    pipeline_id: str
    job_id: str | None
    kind: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    rows_read: int
    rows_written: int
    rows_inserted: int
    rows_updated: int
    rows_deleted: int
    lake_version_before: int | None
    lake_version_after: int | None
    position_before: dict[str, Any] | None
    position_after: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    progress: ProgressOut | None = None


class RunLogOut(BaseModel):
    at: datetime
    level: str
    message: str


class RunDetail(RunOut):
    logs: list[RunLogOut]


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None


class PipelineOut(BaseModel):
    id: str
    mount_id: str
    entry_id: str
    department_id: str
    name: str
    kind: PipelineKind
    options: dict[str, Any]
    schedule: str | None
    next_run_at: datetime | None
    state: str
    position: dict[str, Any] | None
    last_run_id: str | None
    last_run: RunOut | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PipelinePage(BaseModel):
    items: list[PipelineOut]
    next_cursor: str | None
    total: int


class LakeTableOut(BaseModel):
    name: str
    entry_id: str | None
    version: int
    rows: int
    size_bytes: int
    disk_bytes: int
    description: str | None


class LakeVersionOut(BaseModel):
    version: int
    timestamp: datetime | None
    operation: str | None
    pipeline_id: str | None
    run_id: str | None
    metrics: dict[str, Any]
