"""Quality tables: rules attached to catalog entries, the runs that check them, and each
rule's result in each run.

Results name their rule by id without a foreign key: a run's record outlives a rule the
officer later deletes, so trends and tickets keep what was measured.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.clock import now
from govdata.core.db import Base, IdMixin, TimestampMixin


class QualityRule(IdMixin, TimestampMixin, Base):
    __tablename__ = "quality_rules"
    __table_args__ = (Index("ix_quality_rules_entry", "entry_id", "enabled"),)

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entries.id"))
    # The entry item (information item name) the rule checks; None for table-level rules.
    item: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))  # rule kind, see quality_schemas.RuleKind
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dimension: Mapped[str] = mapped_column(String(16))  # Dimension
    severity: Mapped[int] = mapped_column(Integer, default=3)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    origin: Mapped[str] = mapped_column(String(16), default="manual")  # suggested | manual
    name: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str | None] = mapped_column(String(36))


class QualityRun(IdMixin, Base):
    __tablename__ = "quality_runs"
    __table_args__ = (
        Index("ix_quality_runs_entry_started", "entry_id", "started_at"),
        Index("ix_quality_runs_department_started", "department_id", "started_at"),
    )

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entries.id"))
    resource_code: Mapped[str] = mapped_column(String(64))
    entry_name: Mapped[str] = mapped_column(String(255))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    region_path: Mapped[str] = mapped_column(String(64), index=True)
    job_id: Mapped[str | None] = mapped_column(String(36))
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed
    started_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None] = mapped_column()
    # Where the rows came from: a lake table (and its version) or the source (logical mount).
    lake_table: Mapped[str | None] = mapped_column(String(128))
    lake_version: Mapped[int | None] = mapped_column(BigInteger)
    source_capped: Mapped[bool] = mapped_column(Boolean, default=False)
    rows_total: Mapped[int | None] = mapped_column(BigInteger)
    score: Mapped[float | None] = mapped_column(Float)
    dimension_scores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)


class QualityResult(IdMixin, Base):
    __tablename__ = "quality_results"

    run_id: Mapped[str] = mapped_column(
        ForeignKey("quality_runs.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    item: Mapped[str | None] = mapped_column(String(128))
    dimension: Mapped[str] = mapped_column(String(16))
    severity: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    checked: Mapped[int] = mapped_column(BigInteger, default=0)
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
    pass_rate: Mapped[float | None] = mapped_column(Float)
    # A few failing rows (key fields and the checked field), masked as the entry's grade asks.
    samples: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
