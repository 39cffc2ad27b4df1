"""Destruction requests (数据安全销毁) and the certificates they end with.

A request copies what it is about (entry code and name, department, lake table) so that the
record stays readable after the data is gone. Its steps (manifest, keys, files, sharing) are
recorded as they complete, so a destruction job that stops half-way resumes at the next step
and nothing half-done is lost track of.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.db import Base, IdMixin, TimestampMixin


class DestructionRequest(IdMixin, TimestampMixin, Base):
    __tablename__ = "security_destructions"
    __table_args__ = (Index("ix_security_destructions_status", "status", "created_at"),)

    code: Mapped[str] = mapped_column(String(32), unique=True)
    entry_id: Mapped[str] = mapped_column(String(36), index=True)
    resource_code: Mapped[str] = mapped_column(String(64))
    entry_name: Mapped[str] = mapped_column(String(255))
    department_id: Mapped[str] = mapped_column(String(36), index=True)
    region_path: Mapped[str] = mapped_column(String(64))
    lake_table: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # DestructionStatus
    requested_by: Mapped[str | None] = mapped_column(String(36))
    requested_by_name: Mapped[str] = mapped_column(String(128))
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decided_by_name: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_note: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(36))
    # Steps done so far, in order: manifest, keys, files, sharing, certified.
    steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"path", "bytes", "sm3"}] of every file removed (data files and the Delta log).
    manifest: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    manifest_sm3: Mapped[str | None] = mapped_column(String(64))
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    bytes_removed: Mapped[int] = mapped_column(BigInteger, default=0)
    key_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    grants_ended: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What else the steps found: encrypted columns, pipelines paused, staging folders.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    certificate: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    completed_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
