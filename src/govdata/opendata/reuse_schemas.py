"""Input and output shapes of the annual open list and of reuses (with their statuses)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_DATASETS = 20


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ItemIn(_In):
    """An item to propose: ``entry`` (id or resource code) or a planned ``name``.

    ``department_id`` is for the operator; an officer's items are their department's.
    """

    entry: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    planned_date: date
    open_type: Literal["open", "conditional"] | None = None
    department_id: str | None = Field(default=None, max_length=36)


class ItemReviewIn(_In):
    accept: bool
    reason: str | None = Field(default=None, max_length=2000)


class LinkEntryIn(_In):
    entry: str = Field(min_length=1, max_length=100)


class ItemOut(BaseModel):
    id: str
    year: int
    department_id: str
    department_name: str
    entry_id: str | None
    resource_code: str | None
    name: str
    description: str | None
    planned_date: date
    open_type: str
    open_type_label: str
    status: str
    status_label: str
    review_reason: str | None
    # For accepted items: opened | overdue | planned; None for the others.
    progress: str | None
    progress_label: str
    dataset_name: str | None  # the open dataset's name, while it is public
    opened_at: datetime | None


class DepartmentProgress(BaseModel):
    department_id: str
    department_name: str
    total: int
    opened: int
    overdue: int
    percent: float


class OpenListOut(BaseModel):
    id: str
    year: int
    status: str
    status_label: str
    approved_at: datetime | None
    items: list[ItemOut]
    departments: list[DepartmentProgress]
    total: int  # accepted items
    opened: int
    overdue: int
    percent: float
    pending: int  # items awaiting review


class YearOut(BaseModel):
    year: int
    status: str
    status_label: str


class ReuseStatus(StrEnum):
    PENDING = "pending"  # submitted, awaiting the operator
    APPROVED = "approved"  # on the showcase
    REJECTED = "rejected"
    UNPUBLISHED = "unpublished"  # was approved, taken off by the operator


LABELS: dict[str, tuple[str, str]] = {
    ReuseStatus.PENDING: ("待审核", "Awaiting review"),
    ReuseStatus.APPROVED: ("已发布", "Published"),
    ReuseStatus.REJECTED: ("未通过", "Rejected"),
    ReuseStatus.UNPUBLISHED: ("已下架", "Unpublished"),
}


class ReuseIn(_In):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=5000)
    url: str = Field(min_length=1, max_length=1000)
    # Open datasets by id or name (or their entry's resource code).
    datasets: list[str] = Field(min_length=1, max_length=MAX_DATASETS)


class ReuseReviewIn(_In):
    approve: bool
    reason: str | None = Field(default=None, max_length=2000)


class ReuseFeatureIn(_In):
    featured: bool


class ReuseUnpublishIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


class RatingIn(_In):
    stars: int = Field(ge=1, le=5)


@dataclass(frozen=True)
class Upload:
    """A screenshot as received: its file name (only for messages) and bytes."""

    filename: str
    content: bytes


class DatasetRef(BaseModel):
    id: str
    name: str
    title: str
    publisher_name: str
    topic_code: str


class ScreenshotOut(BaseModel):
    id: str
    url: str
    media_type: str


class Evaluation(BaseModel):
    datasets: int
    calls: int
    downloads: int
    rating: float | None  # average stars, one decimal
    ratings: int
    views: int
    score: float


class ReuseOut(BaseModel):
    id: str
    name: str
    description: str
    url: str
    submitter_name: str
    status: str
    status_label: str
    featured: bool
    review_reason: str | None
    reviewed_at: datetime | None
    created_at: datetime
    datasets: list[DatasetRef]
    screenshots: list[ScreenshotOut]
    evaluation: Evaluation
    my_rating: int | None = None


class ReusePage(BaseModel):
    items: list[ReuseOut]
    total: int
    offset: int
    limit: int
