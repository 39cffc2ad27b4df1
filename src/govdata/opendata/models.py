"""Open-data tables: open datasets and their usage counts.

What a dataset is called, who publishes it, its grade and open type are read from its
catalog entry at every request (a join on the entry's key), never copied: an entry that
is re-graded above 2 or closed drops off every public path the moment its new version
is published, with no sync to forget.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.db import Base, IdMixin, TimestampMixin


class OpenDataset(IdMixin, TimestampMixin, Base):
    __tablename__ = "opendata_datasets"
    __table_args__ = (Index("ix_opendata_datasets_status", "status", "opened_at"),)

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entries.id"), unique=True)
    # CKAN's ``name``: lowercase letters, digits, - and _; the resource code made so.
    name: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # DatasetStatus
    # Lake columns the public gets (the mount's ``field`` names), in mount order. Fields of
    # items above grade 2 or marked sensitive never open, whatever is stored here.
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    license_id: Mapped[str] = mapped_column(String(32))
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    proposed_by: Mapped[str | None] = mapped_column(String(36))
    proposed_at: Mapped[datetime | None] = mapped_column()
    proposal_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(36))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    review_comment: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime | None] = mapped_column()
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    # Running totals for "most used" ordering; per-month figures are in OpenUsage.
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)


class OpenUsage(Base):
    """Views, downloads and API calls of one dataset in one month (Asia/Shanghai)."""

    __tablename__ = "opendata_usage"

    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("opendata_datasets.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    department_id: Mapped[str] = mapped_column(String(36), index=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
