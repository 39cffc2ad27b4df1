"""Catalog tables: the classification tree, entries and their versions and items, standards, search.

An entry (``CatalogEntry``) is the resource's identity — its resource code,
provider and lifecycle — plus a copy of the facet fields of the version that
readers see (the published one, else the working draft) so that search and
facets need no join. Content lives in versions (``EntryVersion``); a published
version is never changed: a change is a new version, reviewed again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govdata.core.clock import now
from govdata.core.db import Base, IdMixin, TimestampMixin


class CatalogClass(IdMixin, TimestampMixin, Base):
    """One node of the 类/项/目/细目 tree; ``code`` is the concatenated prefix, e.g. ``101001``."""

    __tablename__ = "catalog_classes"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    segment: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)  # 1 类, 2 项, 3 目, 4 细目
    category: Mapped[str] = mapped_column(String(1))  # ClassCategory
    name: Mapped[str] = mapped_column(String(128))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("catalog_classes.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class CodeSequence(Base):
    """The last sequence number given out under a classification prefix; never reused."""

    __tablename__ = "catalog_code_sequences"

    prefix: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class CatalogEntry(IdMixin, TimestampMixin, Base):
    __tablename__ = "catalog_entries"
    __table_args__ = (
        Index("ix_catalog_entries_status_updated", "status", "updated_at"),
        Index("ix_catalog_entries_provider", "provider_department_id", "status"),
        # Search pages in "updated" and "name" order walk these and stop after one page.
        Index("ix_catalog_entries_updated", "updated_at", "id"),
        Index("ix_catalog_entries_name", "name", "id"),
    )

    resource_code: Mapped[str] = mapped_column(String(64), unique=True)
    classification_id: Mapped[str] = mapped_column(ForeignKey("catalog_classes.id"), index=True)
    class_code: Mapped[str] = mapped_column(String(32), index=True)
    category: Mapped[str] = mapped_column(String(1))
    provider_department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    provider_code: Mapped[str] = mapped_column(String(32))
    provider_name: Mapped[str] = mapped_column(String(128))
    provider_credit_code: Mapped[str] = mapped_column(String(18))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    region_path: Mapped[str] = mapped_column(String(64), index=True)
    origin: Mapped[str] = mapped_column(String(16), default="local")
    # The upper-level catalog's resource code of an entry applied for from there (申领).
    upper_code: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # EntryStatus
    # The working version's status while one is open (draft/submitted/returned), else None.
    working_status: Mapped[str | None] = mapped_column(String(16), index=True)
    # Facet fields copied from the version readers see.
    name: Mapped[str] = mapped_column(String(255))
    share_type: Mapped[str] = mapped_column(String(16))
    open_type: Mapped[str] = mapped_column(String(16))
    grade: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(32))
    update_cycle: Mapped[str] = mapped_column(String(16))
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime | None] = mapped_column()
    published_version_id: Mapped[str | None] = mapped_column(String(36))
    working_version_id: Mapped[str | None] = mapped_column(String(36))
    latest_version_no: Mapped[int] = mapped_column(Integer, default=1)
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(36))

    classification: Mapped[CatalogClass] = relationship(lazy="joined")


class EntryVersion(IdMixin, TimestampMixin, Base):
    __tablename__ = "catalog_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version_no"),)

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    version_no: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # VersionStatus
    name: Mapped[str] = mapped_column(String(255))
    summary: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(32))
    share_type: Mapped[str] = mapped_column(String(16))
    share_condition: Mapped[str | None] = mapped_column(Text)
    # 不予共享 needs its legal basis (法律法规依据).
    not_shared_basis: Mapped[str | None] = mapped_column(Text)
    share_modes: Mapped[list[str]] = mapped_column(JSON, default=list)
    open_type: Mapped[str] = mapped_column(String(16))
    open_condition: Mapped[str | None] = mapped_column(Text)
    update_cycle: Mapped[str] = mapped_column(String(16))
    publish_date: Mapped[date | None] = mapped_column(Date)
    related_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    grade: Mapped[int] = mapped_column(Integer)
    contact_name: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    contact_email: Mapped[str | None] = mapped_column(String(255))
    change_note: Mapped[str | None] = mapped_column(Text)
    # Findings of the conformance check made at the last submit.
    conformance: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime | None] = mapped_column()
    submitted_by: Mapped[str | None] = mapped_column(String(36))
    submitted_by_name: Mapped[str | None] = mapped_column(String(128))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    reviewed_by: Mapped[str | None] = mapped_column(String(36))
    reviewed_by_name: Mapped[str | None] = mapped_column(String(128))
    # Reasons of the last return, per field (``name``, ``items[2].data_type``, ...).
    review_reasons: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    review_comment: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(36))

    items: Mapped[list[EntryItem]] = relationship(
        order_by="EntryItem.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class EntryItem(IdMixin, Base):
    """信息项: one field of one version of an entry."""

    __tablename__ = "catalog_items"
    __table_args__ = (UniqueConstraint("version_id", "position"),)

    version_id: Mapped[str] = mapped_column(
        ForeignKey("catalog_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str | None] = mapped_column(String(128))
    data_type: Mapped[str] = mapped_column(String(16))
    length: Mapped[int | None] = mapped_column(Integer)
    is_key: Mapped[bool] = mapped_column(Boolean, default=False)
    is_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    grade: Mapped[int] = mapped_column(Integer)
    share_type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    data_element: Mapped[str | None] = mapped_column(String(64), index=True)


class EntryEvent(IdMixin, Base):
    """The entry's timeline as the portal shows it; the audit trail holds the same transitions."""

    __tablename__ = "catalog_events"
    __table_args__ = (Index("ix_catalog_events_entry", "entry_id", "at"),)

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entries.id"))
    version_no: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str | None] = mapped_column(String(36))
    actor_name: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=now)


class Synonym(IdMixin, TimestampMixin, Base):
    """Search synonyms the operator maintains: a query for ``term`` also finds its synonyms."""

    __tablename__ = "catalog_synonyms"

    term: Mapped[str] = mapped_column(String(64), unique=True)
    synonyms: Mapped[list[str]] = mapped_column(JSON, default=list)


class CatalogGeneration(Base):
    """One row counting committed changes to what search shows (entries, synonyms).

    Caches of search results key on it. Every change bumps it inside its own
    transaction, so the number moves exactly when the change commits; on
    PostgreSQL the row lock orders catalog writers, which are few and short.
    """

    __tablename__ = "catalog_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # Set once when the store is created: a store rebuilt under the same URL starts anew.
    epoch: Mapped[str] = mapped_column(String(36))
    value: Mapped[int] = mapped_column(Integer, default=0)


class SearchDoc(Base):
    """Segmented text of an entry for full-text search (jieba tokens joined by spaces).

    The integer key is the rowid of the SQLite FTS5 index over this table; on
    PostgreSQL a GIN index over ``to_tsvector('simple', ...)`` serves the same role.
    """

    __tablename__ = "catalog_search"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(
        ForeignKey("catalog_entries.id", ondelete="CASCADE"), unique=True
    )
    name_tokens: Mapped[str] = mapped_column(Text, default="")
    body_tokens: Mapped[str] = mapped_column(Text, default="")


# Standards registry -------------------------------------------------------------------------


class CodeSet(IdMixin, TimestampMixin, Base):
    """代码集: a standard list of codes, e.g. GB/T 2261.1 gender."""

    __tablename__ = "code_sets"

    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str | None] = mapped_column(String(128))
    standard: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(32), default="1.0")
    status: Mapped[str] = mapped_column(String(16), default="current")
    description: Mapped[str | None] = mapped_column(Text)

    values: Mapped[list[CodeValue]] = relationship(
        order_by="CodeValue.position", cascade="all, delete-orphan", lazy="selectin"
    )


class CodeValue(IdMixin, Base):
    __tablename__ = "code_values"
    __table_args__ = (UniqueConstraint("code_set_id", "code"),)

    code_set_id: Mapped[str] = mapped_column(ForeignKey("code_sets.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(128))
    label_en: Mapped[str | None] = mapped_column(String(128))
    parent_code: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=0)


class DataElement(IdMixin, TimestampMixin, Base):
    """数据元: a standard field definition (ISO/IEC 11179 style)."""

    __tablename__ = "data_elements"

    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    name_en: Mapped[str | None] = mapped_column(String(128))
    definition: Mapped[str] = mapped_column(Text, default="")
    data_type: Mapped[str] = mapped_column(String(16))  # DataType
    # Representation format, e.g. ``c..50``, ``n8``, ``YYYYMMDD``.
    format: Mapped[str | None] = mapped_column(String(64))
    # Maximum length for strings, total digits for numbers; None when unbounded.
    max_length: Mapped[int | None] = mapped_column(Integer)
    value_domain: Mapped[str | None] = mapped_column(Text)
    code_set_id: Mapped[str | None] = mapped_column(ForeignKey("code_sets.id"), index=True)
    unit: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(32), default="1.0")
    status: Mapped[str] = mapped_column(String(16), default="current")  # draft/current/retired

    code_set: Mapped[CodeSet | None] = relationship(lazy="joined")
