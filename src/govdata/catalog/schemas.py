"""Input and output shapes of catalog entries, versions, items, classification and search."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from govdata.catalog.vocab import (
    DataType,
    OpenType,
    ResourceFormat,
    ShareMode,
    ShareType,
    UpdateCycle,
)

Grade = int  # 1–4, validated by Field bounds where it is input
FindingSeverity = Literal["error", "warning"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Content -----------------------------------------------------------------------------------


class ItemIn(_In):
    """One 信息项. ``share_type`` defaults to the entry's; it may be stricter, never looser."""

    name: str = Field(min_length=1, max_length=128)
    name_en: str | None = Field(default=None, max_length=128)
    data_type: DataType
    length: int | None = Field(default=None, ge=1, le=1_000_000)
    is_key: bool = False
    is_sensitive: bool = False
    grade: int = Field(default=1, ge=1, le=4)
    share_type: ShareType | None = None
    description: str | None = Field(default=None, max_length=2000)
    data_element: str | None = Field(default=None, max_length=64)


class EntryContent(_In):
    """What a version of an entry says; the same shape creates and edits a draft."""

    name: str = Field(min_length=1, max_length=255)
    summary: str = Field(default="", max_length=4000)
    format: ResourceFormat
    share_type: ShareType
    share_condition: str | None = Field(default=None, max_length=2000)
    not_shared_basis: str | None = Field(default=None, max_length=2000)
    share_modes: list[ShareMode] = Field(default_factory=list)
    open_type: OpenType
    open_condition: str | None = Field(default=None, max_length=2000)
    update_cycle: UpdateCycle
    publish_date: date | None = None
    related_codes: list[str] = Field(default_factory=list, max_length=50)
    keywords: list[str] = Field(default_factory=list, max_length=20)
    grade: int = Field(ge=1, le=4)
    contact_name: str | None = Field(default=None, max_length=64)
    contact_phone: str | None = Field(default=None, max_length=32)
    contact_email: str | None = Field(default=None, max_length=255)
    items: list[ItemIn] = Field(default_factory=list, max_length=500)


class EntryCreate(EntryContent):
    """A new draft. ``provider_code`` defaults to the officer's own department."""

    classification_code: str = Field(min_length=1, max_length=32, examples=["101001"])
    provider_code: str | None = Field(default=None, max_length=32)


class EntryUpdate(EntryContent):
    """Replaces the working version's content. The classification can change only before the
    first publication (the entry then gets a new resource code; the old one is retired)."""

    classification_code: str | None = Field(default=None, max_length=32)
    change_note: str | None = Field(default=None, max_length=2000)


class NewVersion(_In):
    change_note: str | None = Field(default=None, max_length=2000)


class ReturnRequest(_In):
    """Reasons keyed by field (``name``, ``share_condition``, ``items[3].data_type``, ...)."""

    reasons: dict[str, str] = Field(min_length=1)
    comment: str | None = Field(default=None, max_length=2000)


class PublishRequest(_In):
    comment: str | None = Field(default=None, max_length=2000)


class WithdrawRequest(_In):
    reason: str = Field(min_length=1, max_length=2000)


# Output ------------------------------------------------------------------------------------


class ProviderRef(_Out):
    id: str
    code: str
    name: str
    credit_code: str
    region_code: str


class Finding(BaseModel):
    """One finding of the conformance check (符合性审查)."""

    severity: FindingSeverity
    code: str
    field: str
    message: str
    message_en: str


class ItemOut(_Out):
    position: int
    name: str
    name_en: str | None
    data_type: str
    length: int | None
    is_key: bool
    is_sensitive: bool
    grade: int
    share_type: str
    description: str | None
    data_element: str | None


class VersionOut(_Out):
    id: str
    version_no: int
    status: str
    name: str
    summary: str
    format: str
    share_type: str
    share_condition: str | None
    not_shared_basis: str | None
    share_modes: list[str]
    open_type: str
    open_condition: str | None
    update_cycle: str
    publish_date: date | None
    related_codes: list[str]
    keywords: list[str]
    grade: int
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    change_note: str | None
    conformance: list[Finding]
    submitted_at: datetime | None
    submitted_by_name: str | None
    reviewed_at: datetime | None
    reviewed_by_name: str | None
    review_reasons: dict[str, str]
    review_comment: str | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    items: list[ItemOut]


class VersionRef(_Out):
    id: str
    version_no: int
    status: str
    submitted_at: datetime | None
    published_at: datetime | None
    change_note: str | None


class EventOut(_Out):
    version_no: int
    action: str
    actor_name: str
    comment: str | None
    details: dict[str, Any]
    at: datetime


class EntrySummary(_Out):
    """An entry as lists and search show it (the version readers see)."""

    id: str
    resource_code: str
    name: str
    provider: ProviderRef
    class_code: str
    category: str
    share_type: str
    open_type: str
    grade: int
    format: str
    update_cycle: str
    status: str
    working_status: str | None
    origin: str
    item_count: int
    published_at: datetime | None
    updated_at: datetime


class EntryOut(EntrySummary):
    """One entry with the version readers see (``current``), the one under work, and history."""

    classification_name: str
    upper_code: str | None
    withdrawn_at: datetime | None
    withdrawn_reason: str | None
    current: VersionOut
    working: VersionOut | None
    versions: list[VersionRef]
    events: list[EventOut]
    # What the asking actor may do now: edit, submit, review, new_version, withdraw.
    allowed: list[str]


class EntryPage(BaseModel):
    items: list[EntrySummary]
    total: int
    next_cursor: str | None


class FacetValue(BaseModel):
    value: str
    label: str
    count: int


class SearchResult(BaseModel):
    items: list[EntrySummary]
    total: int
    facets: dict[str, list[FacetValue]]
    next_cursor: str | None


class FieldChange(BaseModel):
    field: str
    label: str
    before: Any
    after: Any


class ItemChange(BaseModel):
    name: str
    change: Literal["added", "removed", "changed"]
    fields: list[FieldChange] = Field(default_factory=list)


class VersionDiff(BaseModel):
    from_version: int
    to_version: int
    fields: list[FieldChange]
    items: list[ItemChange]


# Classification tree -----------------------------------------------------------------------


class ClassOut(_Out):
    id: str
    code: str
    segment: str
    level: int
    category: str
    name: str
    position: int
    is_active: bool


class ClassNode(ClassOut):
    children: list[ClassNode] = Field(default_factory=list)


class ClassTree(BaseModel):
    items: list[ClassNode]


class ClassCreate(_In):
    """A child node. Segments: 项 two digits, 目 three digits, 细目 one to four digits."""

    parent_code: str = Field(min_length=1, max_length=32)
    segment: str = Field(pattern=r"^\d{1,4}$")
    name: str = Field(min_length=1, max_length=128)
    position: int = 0


class ClassUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    position: int | None = None
    is_active: bool | None = None
