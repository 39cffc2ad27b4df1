"""Governance tables: base libraries (基础库), their builds, and duplicate checks.

- ``BaseLibrary``: one fused library per subject (``population``, ``legal_entity``): the
  lake tables it writes (golden records, links, edges), its trained Splink model, the
  source versions its last build read, and the catalog entry that catalogs it.
- ``LibraryBuild``: one build — what it read (sources, lake versions, authority order),
  how (full, incremental, unchanged), what came out (counts and timings).
- ``DuplicateCheck``: duplicates inside one entry's lake table found by the same model,
  with a capped sample of clusters (record keys only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.db import Base, IdMixin, TimestampMixin


class BaseLibrary(IdMixin, TimestampMixin, Base):
    __tablename__ = "governance_baselibs"

    code: Mapped[str] = mapped_column(String(64), unique=True)  # = linkage subject code
    name: Mapped[str] = mapped_column(String(128))
    # The cross-source subject whose sources and authority order the library is built from.
    subject_code: Mapped[str] = mapped_column(String(64))
    lake_table: Mapped[str] = mapped_column(String(128))  # golden records
    links_table: Mapped[str] = mapped_column(String(128))
    edges_table: Mapped[str] = mapped_column(String(128))
    threshold: Mapped[float] = mapped_column(Float, default=0.95)
    # The trained Splink model (settings with m and u); rebuilds reuse it.
    model: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # {resource code: lake version} read by the last successful build.
    source_versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The catalog entry cataloging the golden table (its mount points at ``lake_table``).
    entry_id: Mapped[str | None] = mapped_column(ForeignKey("catalog_entries.id"))
    department_id: Mapped[str | None] = mapped_column(ForeignKey("departments.id"))
    last_build_id: Mapped[str | None] = mapped_column(String(36))
    last_built_at: Mapped[datetime | None] = mapped_column()
    entities: Mapped[int | None] = mapped_column(BigInteger)
    records: Mapped[int | None] = mapped_column(BigInteger)
    lake_version: Mapped[int | None] = mapped_column(BigInteger)


class LibraryBuild(IdMixin, TimestampMixin, Base):
    __tablename__ = "governance_baselib_builds"
    __table_args__ = (Index("ix_governance_baselib_builds_library", "library_id", "created_at"),)

    library_id: Mapped[str] = mapped_column(
        ForeignKey("governance_baselibs.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16))  # queued | running | succeeded | failed
    mode: Mapped[str | None] = mapped_column(String(16))  # full | incremental | unchanged
    retrain: Mapped[bool] = mapped_column(default=False)
    job_id: Mapped[str | None] = mapped_column(String(36))
    requested_by_name: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    # [{"id" (resource code), "label", "entry_id", "department_id", "region_path",
    #   "lake_table", "version", "columns", "key"}] as read.
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # {field: [resource codes in authority order]} as it stood at the build.
    authority: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    entities: Mapped[int | None] = mapped_column(BigInteger)
    records: Mapped[int | None] = mapped_column(BigInteger)
    lake_version: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)


class DuplicateCheck(IdMixin, TimestampMixin, Base):
    __tablename__ = "governance_duplicate_checks"
    __table_args__ = (Index("ix_governance_duplicate_checks_entry", "entry_id", "created_at"),)

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entries.id"))
    resource_code: Mapped[str] = mapped_column(String(64))
    entry_name: Mapped[str] = mapped_column(String(255))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    region_path: Mapped[str] = mapped_column(String(64))
    subject_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(String(36))
    requested_by_name: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    lake_table: Mapped[str | None] = mapped_column(String(128))
    lake_version: Mapped[int | None] = mapped_column(BigInteger)
    # field -> lake column, as checked.
    columns: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    records: Mapped[int | None] = mapped_column(BigInteger)
    clusters: Mapped[int | None] = mapped_column(Integer)
    duplicate_records: Mapped[int | None] = mapped_column(BigInteger)
    # Up to SAMPLE_CLUSTERS clusters: [{"size": n, "keys": [record key, ...]}].
    sample: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
