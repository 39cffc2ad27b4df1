"""The annual open list (年度开放重点清单) and reuses (优秀应用).

A list item's progress is never stored: whether it is opened is read from the open
datasets through the public gate at every request, and "overdue" from the clock. Reuses
keep their submitter as a plain id (public accounts live in their own tables); the
datasets a reuse uses are shown only while the gate still lets them through.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.db import Base, IdMixin, TimestampMixin


class OpenList(IdMixin, TimestampMixin, Base):
    """One year's list: a draft while departments propose, locked once approved."""

    __tablename__ = "opendata_open_lists"

    year: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(16))  # ListStatus
    approved_by: Mapped[str | None] = mapped_column(String(36))
    approved_at: Mapped[datetime | None] = mapped_column()


class OpenListItem(IdMixin, TimestampMixin, Base):
    """A dataset a department commits to open: a catalog entry, or one still to be catalogued."""

    __tablename__ = "opendata_open_list_items"
    __table_args__ = (
        UniqueConstraint("list_id", "entry_id", name="uq_opendata_open_list_items_entry"),
        Index("ix_opendata_open_list_items_dept", "list_id", "department_id"),
    )

    list_id: Mapped[str] = mapped_column(ForeignKey("opendata_open_lists.id", ondelete="CASCADE"))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    # Empty for a planned dataset until its entry is catalogued and linked.
    entry_id: Mapped[str | None] = mapped_column(ForeignKey("catalog_entries.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    planned_date: Mapped[date] = mapped_column()
    open_type: Mapped[str] = mapped_column(String(16))  # open | conditional
    status: Mapped[str] = mapped_column(String(16))  # ItemStatus
    proposed_by: Mapped[str | None] = mapped_column(String(36))
    review_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(36))
    reviewed_at: Mapped[datetime | None] = mapped_column()


class Reuse(IdMixin, TimestampMixin, Base):
    """An application built on open data, submitted by a public account."""

    __tablename__ = "opendata_reuses"
    __table_args__ = (Index("ix_opendata_reuses_status", "status", "featured"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(1000))
    # The public account's id; no foreign key: accounts are another part's tables.
    submitter_id: Mapped[str] = mapped_column(String(36), index=True)
    submitter_name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))  # ReuseStatus
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    review_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(36))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    views: Mapped[int] = mapped_column(BigInteger, default=0)


class ReuseDataset(Base):
    __tablename__ = "opendata_reuse_datasets"

    reuse_id: Mapped[str] = mapped_column(
        ForeignKey("opendata_reuses.id", ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("opendata_datasets.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ReuseScreenshot(IdMixin, Base):
    __tablename__ = "opendata_reuse_screenshots"

    reuse_id: Mapped[str] = mapped_column(
        ForeignKey("opendata_reuses.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    # A random name under <data_dir>/opendata/reuses/; never the uploader's file name.
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    media_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)


class ReuseRating(Base):
    """One public account's rating of one reuse (1–5); rating again changes it."""

    __tablename__ = "opendata_reuse_ratings"

    reuse_id: Mapped[str] = mapped_column(
        ForeignKey("opendata_reuses.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stars: Mapped[int] = mapped_column(SmallInteger)
    rated_at: Mapped[datetime] = mapped_column()
