"""Mounts, pipelines, their runs and run logs, and lineage events.

The lake is the truth about what a pipeline has committed: every pipeline
commit carries its source position (watermark, binlog file/position, LSN) in
the Delta commit's metadata, written in the same atomic commit as the data.
``Pipeline.position`` mirrors the last committed position for display and
is never trusted over the lake on resume.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.clock import now
from govdata.core.db import Base, IdMixin, TimestampMixin


class Mount(IdMixin, TimestampMixin, Base):
    """Real data attached to a catalog entry: one mount per entry."""

    __tablename__ = "mounts"

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entries.id"), unique=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("source_systems.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16))  # MountMode
    target_kind: Mapped[str] = mapped_column(String(16))  # TargetKind
    # Table name, SELECT statement, file name or API endpoint name, per target_kind.
    target: Mapped[str] = mapped_column(Text)
    # [{"item": entry item name, "column": source column, "type": arrow type string}]
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Entry items with no source column (flagged to the officer; not an error).
    unmapped_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    key_columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    watermark_column: Mapped[str | None] = mapped_column(String(128))
    row_cap: Mapped[int] = mapped_column(Integer, default=10_000)
    timeout_seconds: Mapped[int] = mapped_column(Integer, default=30)
    lake_table: Mapped[str | None] = mapped_column(String(128), unique=True)
    # Every column the source had when the mapping was made, mapped or not: drift is a
    # column that is not among them, so columns the officer chose to leave out stay out.
    source_columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Source columns that appeared since the mapping was made: [{"column", "type", "seen_at"}].
    drift: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))


class Pipeline(IdMixin, TimestampMixin, Base):
    __tablename__ = "pipelines"
    __table_args__ = (UniqueConstraint("mount_id", "name"),)

    mount_id: Mapped[str] = mapped_column(ForeignKey("mounts.id"), index=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # PipelineKind
    # Kind-specific settings: chunk rows and parallelism (full), poll seconds (incremental,
    # CDC fallback), batch window (CDC), target source and table (return flow).
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    schedule: Mapped[str | None] = mapped_column(String(128))  # cron, in the node's time zone
    schedule_id: Mapped[str | None] = mapped_column(ForeignKey("job_schedules.id"))
    state: Mapped[str] = mapped_column(String(16), default="active")  # PipelineState
    position: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_run_id: Mapped[str | None] = mapped_column(String(36))
    last_success_at: Mapped[datetime | None] = mapped_column()
    last_failure_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))


class PipelineRun(IdMixin, Base):
    __tablename__ = "pipeline_runs"
    __table_args__ = (Index("ix_pipeline_runs_pipeline_started", "pipeline_id", "started_at"),)

    pipeline_id: Mapped[str] = mapped_column(ForeignKey("pipelines.id"))
    job_id: Mapped[str | None] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))  # manual, schedule, resume, demo
    status: Mapped[str] = mapped_column(String(16))  # RunStatus
    started_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None] = mapped_column()
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_written: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_inserted: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_updated: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_deleted: Mapped[int] = mapped_column(BigInteger, default=0)
    lake_version_before: Mapped[int | None] = mapped_column(BigInteger)
    lake_version_after: Mapped[int | None] = mapped_column(BigInteger)
    position_before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    position_after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)


class PipelineRunLog(Base):
    __tablename__ = "pipeline_run_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("pipeline_runs.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=now)
    level: Mapped[str] = mapped_column(String(8))  # info, warning, error
    message: Mapped[str] = mapped_column(Text)


class LineageEvent(IdMixin, Base):
    """One OpenLineage run event (START / COMPLETE / FAIL), kept whole in ``payload``."""

    __tablename__ = "lineage_events"
    __table_args__ = (Index("ix_lineage_events_entry_time", "entry_id", "event_time"),)

    run_id: Mapped[str | None] = mapped_column(ForeignKey("pipeline_runs.id"), index=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entries.id"))
    event_type: Mapped[str] = mapped_column(String(16))
    event_time: Mapped[datetime] = mapped_column(default=now)
    job_name: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
