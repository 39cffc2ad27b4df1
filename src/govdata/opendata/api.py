"""REST API of the opening review and the usage statistics (under /api/v1/opendata).

Thin shells over ``opendata.datasets`` (who may propose, review, withdraw and feature is
decided there) and ``opendata.stats``. The statistics are public: anyone may read them,
and they count only datasets that are public now.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from govdata.core.pagination import Page
from govdata.opendata import datasets, stats
from govdata.opendata.schemas import DatasetAdminOut, FeatureIn, ProposeIn, ReviewIn, WithdrawIn
from govdata.opendata.vocab import DatasetStatus
from govdata.web.deps import CallerDep, get_db

router = APIRouter(tags=["opendata"])

_D = "/opendata/datasets/{dataset_id}"
Limit = Annotated[int, Query(ge=1, le=200)]
Month = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")]


class ProposeRequest(ProposeIn):
    """Propose an entry (id or resource code) for opening."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    entry: str = Field(min_length=1, max_length=64)


class DatasetAdminPage(BaseModel):
    items: list[DatasetAdminOut]
    next_cursor: str | None


@router.get("/opendata/datasets", response_model=DatasetAdminPage)
def list_datasets(
    caller: CallerDep,
    status: DatasetStatus | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[DatasetAdminOut]:
    """Open datasets of any status: the operator's all, an officer's its department's."""
    with caller.act() as ctx:
        return datasets.list_datasets_admin(
            ctx, status=status.value if status else None, limit=limit, cursor=cursor
        )


@router.post("/opendata/datasets", response_model=DatasetAdminOut, status_code=201)
def propose(caller: CallerDep, data: ProposeRequest) -> DatasetAdminOut:
    """Propose a published, collected entry of the officer's department for opening."""
    with caller.act() as ctx:
        return datasets.propose_opening(
            ctx, data.entry, ProposeIn(**data.model_dump(exclude={"entry"}))
        )


@router.get(_D, response_model=DatasetAdminOut)
def get_dataset(caller: CallerDep, dataset_id: str) -> DatasetAdminOut:
    with caller.act() as ctx:
        return datasets.get_dataset_admin(ctx, dataset_id)


@router.post(f"{_D}/review", response_model=DatasetAdminOut)
def review(caller: CallerDep, dataset_id: str, data: ReviewIn) -> DatasetAdminOut:
    """The operator approves (the dataset goes public) or rejects (a comment is required)."""
    with caller.act() as ctx:
        return datasets.review_opening(ctx, dataset_id, data)


@router.post(f"{_D}/withdraw", response_model=DatasetAdminOut)
def withdraw(caller: CallerDep, dataset_id: str, data: WithdrawIn) -> DatasetAdminOut:
    """Take a dataset off the portal: the operator or the provider's officer."""
    with caller.act() as ctx:
        return datasets.withdraw_dataset(ctx, dataset_id, data)


@router.post(f"{_D}/feature", response_model=DatasetAdminOut)
def feature(caller: CallerDep, dataset_id: str, data: FeatureIn) -> DatasetAdminOut:
    with caller.act() as ctx:
        return datasets.feature_dataset(ctx, dataset_id, data)


@router.get("/opendata/stats", response_model=stats.UsageStats)
def usage_stats(
    request: Request,
    by: stats.By = "month",
    from_: Annotated[str | None, Query(alias="from", pattern=r"^\d{4}-\d{2}$")] = None,
    to: Month = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> stats.UsageStats:
    """Views, downloads and API calls of public datasets, by dataset, publisher or month,
    over a range of months (default: the last 12). Public: no sign-in needed."""
    with get_db(request).sessions() as s:
        return stats.public_stats(s, by=by, from_month=from_, to_month=to, limit=limit)
