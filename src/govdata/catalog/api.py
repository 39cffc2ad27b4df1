"""REST API of catalog entries, the review workflow and the classification tree (under /api/v1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from govdata.catalog import actions, search
from govdata.catalog.schemas import (
    ClassCreate,
    ClassOut,
    ClassTree,
    ClassUpdate,
    EntryCreate,
    EntryOut,
    EntryPage,
    EntryUpdate,
    Finding,
    NewVersion,
    PublishRequest,
    ReturnRequest,
    SearchResult,
    VersionDiff,
    VersionOut,
    WithdrawRequest,
)
from govdata.web.deps import CallerDep

router = APIRouter(prefix="/catalog", tags=["catalog"])

Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/entries", response_model=SearchResult)
def search_entries(
    caller: CallerDep, params: Annotated[search.SearchParams, Depends(search.search_params)]
) -> SearchResult:
    """Search the catalog: ``q`` (Chinese full text), facet filters (repeatable), ``sort``,
    ``limit``, ``cursor``. Returns items, total, facet counts and the next cursor."""
    with caller.act() as ctx:
        return search.search_entries(ctx, params)


@router.post("/entries", response_model=EntryOut, status_code=201)
def create_entry(data: EntryCreate, caller: CallerDep) -> EntryOut:
    with caller.act() as ctx:
        return actions.create_entry(ctx, data)


@router.get("/mine", response_model=EntryPage)
def my_entries(
    caller: CallerDep, status: str | None = None, limit: Limit = 50, cursor: str | None = None
) -> EntryPage:
    with caller.act() as ctx:
        return actions.list_department_entries(ctx, status=status, limit=limit, cursor=cursor)


@router.get("/review-queue", response_model=EntryPage)
def review_queue(caller: CallerDep, limit: Limit = 50, cursor: str | None = None) -> EntryPage:
    with caller.act() as ctx:
        return actions.review_queue(ctx, limit=limit, cursor=cursor)


# A resource code holds a "/", so entry routes take the rest of the path.
@router.get("/entries/{ref:path}/versions/{version_no}", response_model=VersionOut)
def get_version(ref: str, version_no: int, caller: CallerDep) -> VersionOut:
    with caller.act() as ctx:
        return actions.get_version(ctx, ref, version_no)


@router.get("/entries/{ref:path}/diff", response_model=VersionDiff)
def diff_versions(
    ref: str,
    caller: CallerDep,
    from_: Annotated[int | None, Query(alias="from", ge=1)] = None,
    to: Annotated[int | None, Query(ge=1)] = None,
) -> VersionDiff:
    """Field-by-field changes between two versions; by default the newest and the one before."""
    with caller.act() as ctx:
        return actions.diff_versions(ctx, ref, from_, to)


@router.post("/entries/{ref:path}/check", response_model=list[Finding])
def check_entry(ref: str, caller: CallerDep) -> list[Finding]:
    with caller.act() as ctx:
        return actions.check_entry(ctx, ref)


@router.post("/entries/{ref:path}/submit", response_model=EntryOut)
def submit_entry(ref: str, caller: CallerDep) -> EntryOut:
    with caller.act() as ctx:
        return actions.submit_entry(ctx, ref)


@router.post("/entries/{ref:path}/publish", response_model=EntryOut)
def publish_entry(ref: str, caller: CallerDep, data: PublishRequest | None = None) -> EntryOut:
    with caller.act() as ctx:
        return actions.publish_entry(ctx, ref, data or PublishRequest())


@router.post("/entries/{ref:path}/return", response_model=EntryOut)
def return_entry(ref: str, data: ReturnRequest, caller: CallerDep) -> EntryOut:
    with caller.act() as ctx:
        return actions.return_entry(ctx, ref, data)


@router.post("/entries/{ref:path}/withdraw", response_model=EntryOut)
def withdraw_entry(ref: str, data: WithdrawRequest, caller: CallerDep) -> EntryOut:
    with caller.act() as ctx:
        return actions.withdraw_entry(ctx, ref, data)


@router.post("/entries/{ref:path}/versions", response_model=EntryOut, status_code=201)
def new_version(ref: str, caller: CallerDep, data: NewVersion | None = None) -> EntryOut:
    with caller.act() as ctx:
        return actions.new_version(ctx, ref, data or NewVersion())


@router.get("/entries/{ref:path}", response_model=EntryOut)
def get_entry(ref: str, caller: CallerDep) -> EntryOut:
    """One entry by id or resource code (e.g. ``101001/000001``) with items and versions."""
    with caller.act() as ctx:
        return actions.get_entry(ctx, ref)


@router.put("/entries/{ref:path}", response_model=EntryOut)
def update_entry(ref: str, data: EntryUpdate, caller: CallerDep) -> EntryOut:
    with caller.act() as ctx:
        return actions.update_entry(ctx, ref, data)


@router.get("/classes", response_model=ClassTree)
def class_tree(caller: CallerDep, include_inactive: bool = False) -> ClassTree:
    with caller.act() as ctx:
        return actions.class_tree(ctx, include_inactive=include_inactive)


@router.post("/classes", response_model=ClassOut, status_code=201)
def create_class(data: ClassCreate, caller: CallerDep) -> ClassOut:
    with caller.act() as ctx:
        return actions.create_class(ctx, data)


@router.patch("/classes/{code}", response_model=ClassOut)
def update_class(code: str, data: ClassUpdate, caller: CallerDep) -> ClassOut:
    with caller.act() as ctx:
        return actions.update_class(ctx, code, data)
