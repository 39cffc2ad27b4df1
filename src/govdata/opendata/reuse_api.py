"""REST API (under /api/v1) of the annual open list and of reuses.

The open list: officers propose their department's items, the operator reviews and
approves (``/opendata/open-lists…``); the approved list with its progress is public.
Reuses: the showcase and one published reuse are public; the operator's queue, review,
featuring and unpublishing need ``opendata.manage``. Submitting and rating need a public
account and happen on the portal (``/open/reuses…``). Thin shells over
``opendata.openlist`` and ``opendata.reuses``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from govdata.opendata import openlist, reuses
from govdata.opendata.openlist import (
    ItemIn,
    ItemOut,
    ItemReviewIn,
    LinkEntryIn,
    OpenListOut,
    YearOut,
)
from govdata.opendata.reuses import (
    ReuseFeatureIn,
    ReuseOut,
    ReusePage,
    ReuseReviewIn,
    ReuseUnpublishIn,
)
from govdata.security.permissions import Perm
from govdata.web.deps import CallerDep, OptionalCallerDep

router = APIRouter(tags=["opendata"])

Year = Annotated[int, Field(ge=2000, le=2100)]
_L = "/opendata/open-lists"
_I = "/opendata/open-list-items/{item_id}"
_R = "/opendata/reuses/{reuse_id}"


class ListCreate(BaseModel):
    year: Year


@router.get(_L, response_model=list[YearOut])
def list_years(caller: CallerDep) -> list[YearOut]:
    """Every year's list and its status (officers and the operator)."""
    with caller.act() as ctx:
        return openlist.list_years(ctx)


@router.post(_L, response_model=OpenListOut, status_code=201)
def create_list(caller: CallerDep, data: ListCreate) -> OpenListOut:
    """Start a year's list as a draft (the operator)."""
    with caller.act() as ctx:
        return openlist.create_list(ctx, data.year)


@router.get(_L + "/public", response_model=OpenListOut)
def public_latest(caller: OptionalCallerDep) -> OpenListOut:
    """The latest approved list with its progress (anyone)."""
    with caller.db.sessions() as s:
        return openlist.public_list(s, None, caller.actor.locale)


@router.get(_L + "/public/{year}", response_model=OpenListOut)
def public_year(caller: OptionalCallerDep, year: int) -> OpenListOut:
    """An approved year's list with its progress (anyone); drafts are 404."""
    with caller.db.sessions() as s:
        return openlist.public_list(s, year, caller.actor.locale)


@router.get(_L + "/{year}", response_model=OpenListOut)
def get_list(caller: CallerDep, year: int) -> OpenListOut:
    """A year's list as the workbench shows it: all items for the operator, an officer's
    own department's items; figures over the whole list."""
    with caller.act() as ctx:
        return openlist.get_list(ctx, year)


@router.post(_L + "/{year}/items", response_model=ItemOut, status_code=201)
def propose_item(caller: CallerDep, year: int, data: ItemIn) -> ItemOut:
    """Propose an item (an officer, for their department, while the list is a draft) or add
    one (the operator, any time; accepted at once)."""
    with caller.act() as ctx:
        return openlist.propose_item(ctx, year, data)


@router.post(_L + "/{year}/approve", response_model=OpenListOut)
def approve_list(caller: CallerDep, year: int) -> OpenListOut:
    """Approve the year's list: it goes public and is locked (the operator)."""
    with caller.act() as ctx:
        return openlist.approve_list(ctx, year)


@router.post(_I + "/review", response_model=ItemOut)
def review_item(caller: CallerDep, item_id: str, data: ItemReviewIn) -> ItemOut:
    """Accept or reject (with a reason) a proposed item (the operator)."""
    with caller.act() as ctx:
        return openlist.review_item(ctx, item_id, data)


@router.post(_I + "/link", response_model=ItemOut)
def link_entry(caller: CallerDep, item_id: str, data: LinkEntryIn) -> ItemOut:
    """Tie a planned item to its catalog entry (its department or the operator)."""
    with caller.act() as ctx:
        return openlist.link_entry(ctx, item_id, data)


@router.delete(_I, status_code=204)
def withdraw_item(caller: CallerDep, item_id: str) -> Response:
    """Take back an item not yet accepted, while the list is a draft (its department)."""
    with caller.act() as ctx:
        openlist.withdraw_item(ctx, item_id)
    return Response(status_code=204)


# -- reuses ------------------------------------------------------------------------------

Limit = Annotated[int, Query(ge=1, le=100)]


@router.get("/opendata/reuses", response_model=ReusePage)
def list_reuses(
    caller: OptionalCallerDep,
    dataset: str | None = None,
    topic: Annotated[str | None, Query(max_length=20)] = None,
    limit: Limit = 24,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ReusePage:
    """The showcase: published reuses, featured first; filter by a dataset they use (id or
    name) or a topic code (anyone)."""
    with caller.db.sessions() as s:
        return reuses.list_public(
            s,
            dataset=dataset,
            topic=topic,
            limit=limit,
            offset=offset,
            locale=caller.actor.locale,
        )


@router.get("/opendata/reuse-queue", response_model=ReusePage)
def reuse_queue(
    caller: CallerDep,
    status: str | None = None,
    limit: Limit = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ReusePage:
    """Every reuse, awaiting review first, with its evaluation (the operator)."""
    with caller.act() as ctx:
        return reuses.list_admin(ctx, status=status, limit=limit, offset=offset)


@router.get(_R, response_model=ReuseOut)
def get_reuse(caller: OptionalCallerDep, reuse_id: str) -> ReuseOut:
    """A published reuse with its evaluation (anyone; the operator sees any status). Views
    are counted on the portal page, not here."""
    if caller.actor.can(Perm.OPENDATA_MANAGE):
        with caller.act() as ctx:
            return reuses.get_reuse_admin(ctx, reuse_id)
    with caller.db.sessions() as s:
        return reuses.public_reuse(s, reuse_id, caller.actor.locale)


@router.post(_R + "/review", response_model=ReuseOut)
def review_reuse(caller: CallerDep, reuse_id: str, data: ReuseReviewIn) -> ReuseOut:
    """Approve (publish) or reject (with a reason) a submitted reuse (the operator)."""
    with caller.act() as ctx:
        return reuses.review_reuse(ctx, reuse_id, data)


@router.post(_R + "/feature", response_model=ReuseOut)
def feature_reuse(caller: CallerDep, reuse_id: str, data: ReuseFeatureIn) -> ReuseOut:
    """Feature a published reuse or stop featuring it (the operator)."""
    with caller.act() as ctx:
        return reuses.feature_reuse(ctx, reuse_id, data)


@router.post(_R + "/unpublish", response_model=ReuseOut)
def unpublish_reuse(caller: CallerDep, reuse_id: str, data: ReuseUnpublishIn) -> ReuseOut:
    """Take a published reuse off the showcase, with a reason (the operator)."""
    with caller.act() as ctx:
        return reuses.unpublish_reuse(ctx, reuse_id, data)
