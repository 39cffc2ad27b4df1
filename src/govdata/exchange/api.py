"""REST API of mounts, pipelines and runs (under /api/v1): thin shells over the actions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from govdata.core.errors import InvalidInput
from govdata.exchange import logical, mounts, pipelines, report
from govdata.exchange.schemas import (
    MountCreate,
    MountOut,
    MountPage,
    MountUpdate,
    PipelineCreate,
    PipelineOut,
    PipelinePage,
    PipelineUpdate,
    ProposalOut,
    ProposeIn,
    RowsOut,
    RunDetail,
    RunOut,
    RunPage,
)
from govdata.exchange.vocab import MountMode, PipelineKind, PipelineState
from govdata.web.deps import CallerDep

router = APIRouter(tags=["exchange"])


# -- mounts ---------------------------------------------------------------------------------


@router.get("/mounts", response_model=MountPage)
def list_mounts(
    caller: CallerDep,
    department_id: str | None = None,
    mode: MountMode | None = None,
    source_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> MountPage:
    """Mounts in the caller's scope, newest first; follow ``next_cursor`` for more."""
    with caller.act() as ctx:
        return mounts.list_mounts(
            ctx,
            department_id=department_id,
            mode=mode,
            source_id=source_id,
            limit=limit,
            cursor=cursor,
        )


@router.post("/mounts", response_model=MountOut, status_code=201)
def create_mount(caller: CallerDep, data: MountCreate) -> MountOut:
    """Mount a source table, query, file or API on a published entry (mapping proposed when
    omitted); warnings of the mapping check come back in ``issues``."""
    with caller.act() as ctx:
        return mounts.create_mount(ctx, data)


@router.post("/mounts/propose", response_model=ProposalOut)
def propose_mapping(caller: CallerDep, data: ProposeIn) -> ProposalOut:
    """A proposed mapping of the entry's items onto a source table or query, checked."""
    with caller.act() as ctx:
        return mounts.propose(ctx, data)


@router.get("/mounts/{mount_id}", response_model=MountOut)
def get_mount(caller: CallerDep, mount_id: str) -> MountOut:
    """One mount with its mapping, keys, unmapped items and drift."""
    with caller.act() as ctx:
        return mounts.get_mount(ctx, mount_id)


@router.patch("/mounts/{mount_id}", response_model=MountOut)
def update_mount(caller: CallerDep, mount_id: str, data: MountUpdate) -> MountOut:
    """Change a mount; it is checked again against the source as it is now."""
    with caller.act() as ctx:
        return mounts.update_mount(ctx, mount_id, data)


@router.delete("/mounts/{mount_id}", status_code=204)
def delete_mount(caller: CallerDep, mount_id: str, drop_lake_table: bool = False) -> Response:
    """Remove a mount and its pipelines; its lake table is kept unless ``drop_lake_table``."""
    with caller.act() as ctx:
        mounts.delete_mount(ctx, mount_id, drop_lake_table=drop_lake_table)
    return Response(status_code=204)


def _filters(raw: str | None) -> list[Any]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            'filter 须为 JSON 数组，如 [["age", ">", 30]]',
            'filter must be a JSON array, e.g. [["age", ">", 30]]',
            code="source_filter_invalid",
        ) from exc
    if not isinstance(value, list) or not all(isinstance(c, list) for c in value):
        raise InvalidInput(
            "filter 须为条件数组 [[字段, 运算符, 值], …]",
            "filter must be a list of [field, op, value] conditions",
            code="source_filter_invalid",
        )
    return value


@router.get("/mounts/{mount_id}/rows", response_model=RowsOut)
def mount_rows(
    caller: CallerDep,
    mount_id: str,
    columns: Annotated[str | None, Query(description="comma-separated field names")] = None,
    filter: Annotated[
        str | None, Query(description='JSON conditions, e.g. [["age", ">=", 18]]')
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> RowsOut:
    """Rows of a mount (source now for logical mounts, lake table for physical ones), at most
    the mount's row cap; needs ``data.preview``; audited."""
    fields = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    with caller.act() as ctx:
        table = logical.read_mount(
            ctx, mount_id, columns=fields, filters=_filters(filter), limit=limit
        )
    return logical.rows_out(table)


# -- pipelines ------------------------------------------------------------------------------


@router.get("/pipelines", response_model=PipelinePage)
def list_pipelines(
    caller: CallerDep,
    mount_id: str | None = None,
    kind: PipelineKind | None = None,
    state: PipelineState | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> PipelinePage:
    """Pipelines in the caller's scope, newest first."""
    with caller.act() as ctx:
        return pipelines.list_pipelines(
            ctx, mount_id=mount_id, kind=kind, state=state, limit=limit, cursor=cursor
        )


@router.post("/pipelines", response_model=PipelineOut, status_code=201)
def create_pipeline(caller: CallerDep, data: PipelineCreate) -> PipelineOut:
    """A full, incremental, CDC or return-flow pipeline on a physical mount (cron optional)."""
    with caller.act() as ctx:
        return pipelines.create_pipeline(ctx, data)


@router.get("/pipelines/{pipeline_id}", response_model=PipelineOut)
def get_pipeline(caller: CallerDep, pipeline_id: str) -> PipelineOut:
    """One pipeline with its schedule, state, position and last run."""
    with caller.act() as ctx:
        return pipelines.get_pipeline(ctx, pipeline_id)


@router.patch("/pipelines/{pipeline_id}", response_model=PipelineOut)
def update_pipeline(caller: CallerDep, pipeline_id: str, data: PipelineUpdate) -> PipelineOut:
    """Rename, change options, or set / remove (``schedule: null``) the schedule."""
    with caller.act() as ctx:
        return pipelines.update_pipeline(ctx, pipeline_id, data)


@router.delete("/pipelines/{pipeline_id}", status_code=204)
def delete_pipeline(caller: CallerDep, pipeline_id: str) -> Response:
    """Remove a pipeline with its schedule and run history (not while it runs)."""
    with caller.act() as ctx:
        pipelines.delete_pipeline(ctx, pipeline_id)
    return Response(status_code=204)


@router.post("/pipelines/{pipeline_id}/run", response_model=RunOut, status_code=202)
def run_pipeline(caller: CallerDep, pipeline_id: str) -> RunOut:
    """Queue a run now (409 ``pipeline_busy`` while one is queued or running)."""
    with caller.act() as ctx:
        return pipelines.run_now(ctx, pipeline_id)


@router.post("/pipelines/{pipeline_id}/pause", response_model=PipelineOut)
def pause_pipeline(caller: CallerDep, pipeline_id: str) -> PipelineOut:
    """Pause: no scheduled runs, queued runs cancelled, a CDC stream stops."""
    with caller.act() as ctx:
        return pipelines.pause_pipeline(ctx, pipeline_id)


@router.post("/pipelines/{pipeline_id}/resume", response_model=PipelineOut)
def resume_pipeline(caller: CallerDep, pipeline_id: str) -> PipelineOut:
    """Resume: the schedule fires again; a CDC stream starts again where it stopped."""
    with caller.act() as ctx:
        return pipelines.resume_pipeline(ctx, pipeline_id)


@router.get("/pipelines/{pipeline_id}/runs", response_model=RunPage)
def list_runs(
    caller: CallerDep,
    pipeline_id: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: str | None = None,
) -> RunPage:
    """The pipeline's runs, newest first."""
    with caller.act() as ctx:
        return pipelines.list_runs(ctx, pipeline_id, limit=limit, cursor=cursor)


@router.get("/runs/{run_id}", response_model=RunDetail)
def get_run(caller: CallerDep, run_id: str) -> RunDetail:
    """One run with its counts, positions, error and log lines."""
    with caller.act() as ctx:
        return pipelines.get_run(ctx, run_id)


# -- collection report (归集通报) -------------------------------------------------------------


@router.get("/exchange/report", response_model=report.CollectionReport)
def collection_report(
    caller: CallerDep,
    region_code: str | None = None,
    department_id: str | None = None,
    as_of: datetime | None = None,
    since: datetime | None = None,
) -> report.CollectionReport:
    """Entries catalogued vs mounted, rows collected, last success, failures and freshness
    per region, department and entry, over what the caller may read (default: 30 days)."""
    with caller.act() as ctx:
        return report.collection_report(ctx, region_code, department_id, as_of, since=since)


@router.get("/exchange/report.xlsx", response_class=Response)
def export_collection_report(
    caller: CallerDep,
    region_code: str | None = None,
    department_id: str | None = None,
    as_of: datetime | None = None,
    since: datetime | None = None,
) -> Response:
    """The same report as an Excel workbook (sheets 地区 / 部门 / 目录明细); audited."""
    with caller.act() as ctx:
        data = report.export_collection_report(ctx, region_code, department_id, as_of, since=since)
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"content-disposition": 'attachment; filename="collection-report.xlsx"'},
    )
