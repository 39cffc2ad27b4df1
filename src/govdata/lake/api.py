"""REST API of lake tables (under /api/v1/lake): metadata, versions and a capped row preview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from govdata.exchange import logical
from govdata.exchange.schemas import LakeTableOut, LakeVersionOut, RowsOut
from govdata.web.deps import CallerDep

router = APIRouter(prefix="/lake", tags=["lake"])


@router.get("/tables", response_model=list[LakeTableOut])
def list_tables(caller: CallerDep) -> list[LakeTableOut]:
    """Lake tables in the caller's scope: entry, version, row count and size."""
    with caller.act() as ctx:
        return logical.list_lake_tables(ctx)


@router.get("/tables/{name}/versions", response_model=list[LakeVersionOut])
def table_versions(
    caller: CallerDep, name: str, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[LakeVersionOut]:
    """The table's commits, newest first, with the pipeline run that made each."""
    with caller.act() as ctx:
        return logical.lake_table_versions(ctx, name, limit=limit)


@router.get("/tables/{name}/rows", response_model=RowsOut)
def table_rows(
    caller: CallerDep,
    name: str,
    version: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RowsOut:
    """The first rows of the table (or of a past version); needs ``data.preview``; audited."""
    with caller.act() as ctx:
        table = logical.read_lake_table(ctx, name, version=version, limit=limit)
    return logical.rows_out(table)
