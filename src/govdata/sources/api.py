"""REST API of source systems: register, test, discover, preview (under /api/v1/sources).

Each route calls one action in ``sources/actions.py``; see its docstring for the rules.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile

from govdata.sources import actions
from govdata.sources.schemas import (
    DiscoveryOut,
    PreviewOut,
    ProposalOut,
    SourceCreate,
    SourceKind,
    SourceOut,
    SourcePage,
    SourceStatus,
    SourceTestOut,
    SourceUpdate,
    UploadOut,
)
from govdata.web.deps import CallerDep

router = APIRouter(prefix="/sources", tags=["sources"])

Table = Annotated[str, Query(min_length=1, max_length=300, description="name or schema.name")]


@router.get("", response_model=SourcePage)
def list_sources(
    caller: CallerDep,
    department_id: str | None = None,
    kind: SourceKind | None = None,
    status: SourceStatus | None = None,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> SourcePage:
    """Sources the caller may read (own department, region, or all), ordered by name."""
    with caller.act() as ctx:
        return actions.list_sources(
            ctx,
            department_id=department_id,
            kind=kind,
            status=status,
            q=q,
            limit=limit,
            cursor=cursor,
        )


@router.post("", response_model=SourceOut, status_code=201)
def create_source(data: SourceCreate, caller: CallerDep) -> SourceOut:
    """Register a source; ``secret`` is sealed with SM4 and never returned."""
    with caller.act() as ctx:
        return actions.create_source(ctx, data)


@router.get("/{source_id}", response_model=SourceOut)
def get_source(source_id: str, caller: CallerDep) -> SourceOut:
    with caller.act() as ctx:
        return actions.get_source(ctx, source_id)


@router.patch("/{source_id}", response_model=SourceOut)
def update_source(source_id: str, data: SourceUpdate, caller: CallerDep) -> SourceOut:
    """Change settings; the secret keys given replace those credentials."""
    with caller.act() as ctx:
        return actions.update_source(ctx, source_id, data)


@router.delete("/{source_id}", status_code=204)
def delete_source(source_id: str, caller: CallerDep) -> Response:
    """Remove a source; 409 ``source_in_use`` while a mount or pipeline uses it."""
    with caller.act() as ctx:
        actions.delete_source(ctx, source_id)
    return Response(status_code=204)


@router.post("/{source_id}/test", response_model=SourceTestOut)
def test_source(source_id: str, caller: CallerDep) -> SourceTestOut:
    """Test the connection and record the outcome (a failure is ``status: failed``)."""
    with caller.act() as ctx:
        return actions.test_source(ctx, source_id)


@router.get("/{source_id}/tables", response_model=DiscoveryOut, response_model_by_alias=True)
def discover(source_id: str, caller: CallerDep) -> DiscoveryOut:
    """Tables with columns, native and Arrow types, keys, row estimates."""
    with caller.act() as ctx:
        return actions.discover_source(ctx, source_id)


@router.get("/{source_id}/preview", response_model=PreviewOut)
def preview(
    source_id: str,
    caller: CallerDep,
    table: Table,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> PreviewOut:
    """The first rows of a table; department officers only, audited."""
    with caller.act() as ctx:
        return actions.preview_source(ctx, source_id, table, limit)


@router.get("/{source_id}/proposals", response_model=ProposalOut)
def proposals(
    source_id: str,
    caller: CallerDep,
    table: Table,
    sample_rows: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> ProposalOut:
    """Catalog items proposed from a table, with sensitivity and grade guesses and reasons."""
    with caller.act() as ctx:
        return actions.propose_items(ctx, source_id, table, sample_rows)


@router.post("/{source_id}/files", response_model=UploadOut, status_code=201)
def upload(source_id: str, caller: CallerDep, file: Annotated[UploadFile, File()]) -> UploadOut:
    """Upload a CSV, XLSX or JSON file into a file source's folder (multipart ``file``)."""
    with caller.act() as ctx:
        return actions.upload_file(ctx, source_id, file.filename, file.file)
