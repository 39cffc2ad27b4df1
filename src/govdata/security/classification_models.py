"""Tables of the classification policy (grade → controls) and of sensitive-data discovery."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govdata.core.clock import now
from govdata.core.db import Base, IdMixin, TimestampMixin


class GradeControlRow(Base):
    """The controls of one grade (1–4); the migration seeds all four, the security
    administrator edits them. Who approves a share is the sharing policy's (see
    ``security/classification.py``)."""

    __tablename__ = "security_grade_controls"

    grade: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # File delivery, downloads and bulk exports of the data.
    allow_download: Mapped[bool] = mapped_column(Boolean)
    # Items holding personal data are masked unless a grant delivers them clear.
    default_mask: Mapped[bool] = mapped_column(Boolean)
    encrypt_at_rest: Mapped[bool] = mapped_column(Boolean)
    # Delivered files name the consumer department, the grant and the time.
    watermark: Mapped[bool] = mapped_column(Boolean)
    # Days a delivered copy may be kept; None keeps it as long as the grant.
    retention_days: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=now)
    updated_by: Mapped[str | None] = mapped_column(String(128))


class DiscoveryScan(IdMixin, TimestampMixin, Base):
    """One scan of a sample of an entry's data, a lake table or a source table."""

    __tablename__ = "security_discovery_scans"
    __table_args__ = (
        Index("ix_security_discovery_scans_entry", "entry_id", "created_at"),
        Index("ix_security_discovery_scans_department", "department_id", "created_at"),
    )

    target_kind: Mapped[str] = mapped_column(String(16))  # ScanTarget
    entry_id: Mapped[str | None] = mapped_column(ForeignKey("catalog_entries.id"))
    source_id: Mapped[str | None] = mapped_column(ForeignKey("source_systems.id"))
    # The source table, or the lake table, scanned (entries: what their mount reads).
    table_name: Mapped[str | None] = mapped_column(String(255))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    region_path: Mapped[str] = mapped_column(String(64))
    sample_rows: Mapped[int] = mapped_column(Integer)
    rows_sampled: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))  # ScanStatus
    job_id: Mapped[str | None] = mapped_column(String(36))
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    # The entry's grade when the scan finished, and the grade its findings suggest.
    entry_grade: Mapped[int | None] = mapped_column(Integer)
    suggested_grade: Mapped[int | None] = mapped_column(Integer)
    grade_state: Mapped[str | None] = mapped_column(String(16))  # SuggestionState
    grade_decided_by: Mapped[str | None] = mapped_column(String(128))
    grade_decided_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_by_name: Mapped[str] = mapped_column(String(128))

    columns: Mapped[list[DiscoveryColumn]] = relationship(
        order_by="DiscoveryColumn.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class DiscoveryColumn(IdMixin, Base):
    """What a scan found in one column, and the suggestion made from it."""

    __tablename__ = "security_discovery_columns"

    scan_id: Mapped[str] = mapped_column(
        ForeignKey("security_discovery_scans.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(String(128))
    # The catalog item the column holds (entries and mapped tables), else None.
    item: Mapped[str | None] = mapped_column(String(128))
    non_empty: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str | None] = mapped_column(String(16))  # FindingKind, the most frequent
    hits: Mapped[int] = mapped_column(Integer, default=0)
    hit_rate: Mapped[float] = mapped_column(Float, default=0.0)
    # Hits per kind ({"resident_id": 12, ...}) and a few masked examples of ``kind``.
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    examples: Mapped[list[str]] = mapped_column(JSON, default=list)
    suggest_sensitive: Mapped[bool | None] = mapped_column(Boolean)
    suggest_mask: Mapped[str | None] = mapped_column(String(16))  # MaskKind
    suggest_grade: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # SuggestionState
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column()
