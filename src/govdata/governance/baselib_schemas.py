"""Input and output shapes of base libraries (基础库) and duplicate checks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class BuildStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


STATUS_LABELS: dict[str, tuple[str, str]] = {
    BuildStatus.QUEUED: ("排队中", "Queued"),
    BuildStatus.RUNNING: ("运行中", "Running"),
    BuildStatus.SUCCEEDED: ("已完成", "Succeeded"),
    BuildStatus.FAILED: ("失败", "Failed"),
}
MODE_LABELS: dict[str, tuple[str, str]] = {
    "full": ("全量构建", "Full build"),
    "incremental": ("增量构建", "Incremental"),
    "unchanged": ("来源未变", "Sources unchanged"),
}
RULE_LABELS: dict[str, tuple[str, str]] = {
    "authority": ("权威来源", "Authoritative source"),
    "fallback": ("后备来源", "Fallback"),
    "derived": ("由身份号码推导", "Derived from the ID number"),
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BuildIn(_In):
    """``retrain``: train the model afresh instead of reusing the last one (a full build)."""

    retrain: bool = False


class AttachIn(_In):
    """The published catalog entry (id or resource code) that catalogs the library."""

    entry: str = Field(min_length=1, max_length=64)


class DuplicateCheckIn(_In):
    """Look for duplicates inside one entry, read with its mapping in a subject."""

    entry: str = Field(min_length=1, max_length=64, description="entry id or resource code")
    subject: str = Field(default="population", max_length=64)


class SourceOut(BaseModel):
    id: str  # the resource code, the source's name inside the library
    label: str
    entry_id: str
    entry_name: str | None = None
    lake_table: str | None
    columns: dict[str, str]
    key: list[str]
    version: int | None = None
    rows: int | None = None


class FieldOut(BaseModel):
    code: str
    label: str
    kind: str
    authority: list[str] = []  # resource codes, authoritative first


class BuildOut(BaseModel):
    id: str
    library_code: str
    status: str
    status_label: str
    mode: str | None
    mode_label: str
    retrain: bool
    job_id: str | None
    requested_by_name: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    sources: list[dict[str, Any]]
    authority: dict[str, Any]
    stats: dict[str, Any]
    entities: int | None
    records: int | None
    lake_version: int | None
    error: str | None


class ClusterSize(BaseModel):
    size: int
    entities: int


class LibraryOut(BaseModel):
    code: str
    name: str
    subject_code: str
    key_field: str
    built: bool
    lake_table: str
    threshold: float
    entry_id: str | None
    entry_name: str | None = None
    resource_code: str | None = None
    mounted: bool = False
    last_built_at: datetime | None
    entities: int | None
    records: int | None
    lake_version: int | None
    fields: list[FieldOut]
    sources: list[SourceOut]
    builds: list[BuildOut] = []
    cluster_sizes: list[ClusterSize] = []
    problems: list[str] = []  # why a build would not start now


class RecordSummary(BaseModel):
    entity_id: str
    key: str | None
    name: str | None
    record_count: int
    source_count: int


class RecordPage(BaseModel):
    items: list[RecordSummary]
    masked: bool
    query: str


class FieldValueOut(BaseModel):
    field: str
    label: str
    value: str | None
    source: str | None  # resource code
    source_label: str | None
    key: str | None  # the source record key the value came from
    rule: str | None
    rule_label: str


class LinkedRecordOut(BaseModel):
    source: str
    source_label: str
    entry_id: str | None
    key: str
    values: dict[str, str | None]
    masked: bool


class GoldenRecordOut(BaseModel):
    library_code: str
    entity_id: str
    fields: list[FieldValueOut]
    record_count: int
    source_count: int
    masked: bool
    linked: list[LinkedRecordOut]


class DuplicateCheckOut(BaseModel):
    id: str
    entry_id: str
    resource_code: str
    entry_name: str
    subject_code: str
    status: str
    status_label: str
    job_id: str | None
    requested_by_name: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    lake_table: str | None
    lake_version: int | None
    columns: dict[str, Any]
    records: int | None
    clusters: int | None
    duplicate_records: int | None
    sample: list[dict[str, Any]]
    masked: bool
    error: str | None
