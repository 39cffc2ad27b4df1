"""Input and output shapes of the opening review."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProposeIn(_In):
    """Ask to open an entry: which of its openable fields (default: all), under which licence."""

    fields: list[str] | None = Field(default=None, max_length=500)
    license_id: str | None = None
    note: str | None = Field(default=None, max_length=2000)


class ReviewIn(_In):
    approve: bool
    comment: str | None = Field(default=None, max_length=2000)


class WithdrawIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


class FeatureIn(_In):
    featured: bool


class DatasetAdminOut(BaseModel):
    """An open dataset as the provider and the operator see it (any status)."""

    id: str
    name: str
    entry_id: str
    resource_code: str
    title: str
    publisher_id: str
    publisher_name: str
    open_type: str
    grade: int
    status: str
    status_label: str
    public: bool
    fields: list[str]
    license_id: str
    featured: bool
    proposed_at: datetime | None
    proposal_note: str | None
    reviewed_at: datetime | None
    review_comment: str | None
    opened_at: datetime | None
    withdrawn_at: datetime | None
    views: int
    downloads: int
    calls: int
