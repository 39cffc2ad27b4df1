"""Governance tables: cross-source checks (多源校核) and authoritative sources (权威数据源).

- ``CrosscheckSubject``: one kind of entity compared across entries (人口, 法人, or the
  operator's own): its key field and its fields, each with a kind that decides how values
  are normalised before they are compared.
- ``SubjectSource``: a catalog entry whose lake table holds that entity, with the mapping
  subject field → lake column.
- ``AuthorityRank``: per subject field, the operator's order of sources (rank 1 is the
  authoritative source, the rest the fallback order).
- ``CrosscheckRun`` with its ``CrosscheckFieldResult`` rows (agreement per field, over all
  sources and per pair of sources) and its ``CrosscheckConflict`` rows (capped list; the
  counts on the run and the field rows are exact).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.db import Base, IdMixin, TimestampMixin


class CrosscheckSubject(IdMixin, TimestampMixin, Base):
    __tablename__ = "governance_subjects"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)
    # The field every source is joined on (one of ``fields``).
    key_field: Mapped[str] = mapped_column(String(64))
    # [{"code": "name", "label": "姓名", "kind": "name"}, ...] in display order.
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Seeded by the migration (人口, 法人); editable like any other.
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by_name: Mapped[str | None] = mapped_column(String(128))


class SubjectSource(IdMixin, TimestampMixin, Base):
    __tablename__ = "governance_subject_sources"
    __table_args__ = (UniqueConstraint("subject_id", "entry_id"),)

    subject_id: Mapped[str] = mapped_column(
        ForeignKey("governance_subjects.id", ondelete="CASCADE"), index=True
    )
    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entries.id"))
    resource_code: Mapped[str] = mapped_column(String(64))
    entry_name: Mapped[str] = mapped_column(String(255))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    region_path: Mapped[str] = mapped_column(String(64))
    # A short name for tables and charts: "户籍", "社保", "民政".
    label: Mapped[str] = mapped_column(String(64))
    # subject field code -> lake column of the entry's table.
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_name: Mapped[str | None] = mapped_column(String(128))


class AuthorityRank(IdMixin, Base):
    __tablename__ = "governance_authority"
    __table_args__ = (
        UniqueConstraint("subject_id", "field", "rank", name="uq_governance_authority_rank"),
        UniqueConstraint("subject_id", "field", "source_id", name="uq_governance_authority_source"),
    )

    subject_id: Mapped[str] = mapped_column(
        ForeignKey("governance_subjects.id", ondelete="CASCADE")
    )
    field: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(
        ForeignKey("governance_subject_sources.id", ondelete="CASCADE")
    )
    rank: Mapped[int] = mapped_column(Integer)  # 1 = authoritative
    updated_at: Mapped[datetime] = mapped_column()
    updated_by_name: Mapped[str | None] = mapped_column(String(128))


class CrosscheckRun(IdMixin, TimestampMixin, Base):
    __tablename__ = "governance_crosscheck_runs"
    __table_args__ = (Index("ix_governance_crosscheck_runs_subject", "subject_id", "created_at"),)

    subject_id: Mapped[str] = mapped_column(
        ForeignKey("governance_subjects.id", ondelete="CASCADE")
    )
    subject_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # RunStatus
    job_id: Mapped[str | None] = mapped_column(String(36))
    requested_by_name: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    # What was compared, frozen at the start: [{"id", "label", "entry_id", "resource_code",
    # "department_id", "region_path", "lake_table", "mapping", "rows", "keys"}].
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # {field: [source ids in authority order]} as it stood when the run started.
    authority: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    key_count: Mapped[int] = mapped_column(Integer, default=0)
    shared_keys: Mapped[int] = mapped_column(Integer, default=0)
    conflict_count: Mapped[int] = mapped_column(Integer, default=0)
    conflicts_stored: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class CrosscheckFieldResult(IdMixin, Base):
    """Agreement on one field: over all sources (``source_a`` and ``source_b`` empty) or
    between one pair of sources."""

    __tablename__ = "governance_crosscheck_fields"
    __table_args__ = (Index("ix_governance_crosscheck_fields_run", "run_id", "field"),)

    run_id: Mapped[str] = mapped_column(
        ForeignKey("governance_crosscheck_runs.id", ondelete="CASCADE")
    )
    field: Mapped[str] = mapped_column(String(64))
    source_a: Mapped[str | None] = mapped_column(String(36))
    source_b: Mapped[str | None] = mapped_column(String(36))
    compared: Mapped[int] = mapped_column(Integer)
    agreed: Mapped[int] = mapped_column(Integer)


class CrosscheckConflict(IdMixin, Base):
    """One key whose field the sources disagree on, with each source's value as stored."""

    __tablename__ = "governance_crosscheck_conflicts"
    __table_args__ = (
        Index("ix_governance_crosscheck_conflicts_run", "run_id", "field", "key_value"),
    )

    run_id: Mapped[str] = mapped_column(
        ForeignKey("governance_crosscheck_runs.id", ondelete="CASCADE")
    )
    key_value: Mapped[str] = mapped_column(String(255))
    field: Mapped[str] = mapped_column(String(64))
    # source id -> the value as the source holds it (None: the source has no value).
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # "|id1|id2|": the sources holding a value, for the explorer's source filter.
    source_ids: Mapped[str] = mapped_column(Text)
    winner_source_id: Mapped[str | None] = mapped_column(String(36))
