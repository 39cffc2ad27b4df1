"""REST API of cross-source checks (多源校核) and authoritative sources (权威数据源).

Reading subjects, runs and agreement figures needs ``quality.read``; changing subjects,
sources, the authority order and starting runs is the operator's (``governance.manage``).
Conflict values come back masked unless the caller holds ``data.preview`` on the source's
department.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from govdata.governance import authority, crosscheck, crosscheck_runs
from govdata.governance.crosscheck_schemas import (
    AuthorityIn,
    AuthorityOut,
    ConflictPage,
    RunOut,
    RunPage,
    SourceIn,
    SourceOut,
    SourceUpdate,
    SubjectIn,
    SubjectOut,
    SubjectUpdate,
)
from govdata.web.deps import CallerDep

router = APIRouter(prefix="/governance/crosscheck", tags=["governance"])


@router.get("/subjects", response_model=list[SubjectOut])
def list_subjects(caller: CallerDep) -> list[SubjectOut]:
    """Every subject (人口, 法人, ...) with its sources and latest run."""
    with caller.act() as ctx:
        return crosscheck.list_subjects(ctx)


@router.post("/subjects", response_model=SubjectOut, status_code=201)
def create_subject(caller: CallerDep, data: SubjectIn) -> SubjectOut:
    """Add a subject: its key field and the fields compared, each with a kind. Operator."""
    with caller.act() as ctx:
        return crosscheck.create_subject(ctx, data)


@router.get("/subjects/{subject}", response_model=SubjectOut)
def get_subject(caller: CallerDep, subject: str) -> SubjectOut:
    """One subject (code or id): fields, sources, the authority order per field, latest run."""
    with caller.act() as ctx:
        return crosscheck.get_subject(ctx, subject)


@router.patch("/subjects/{subject}", response_model=SubjectOut)
def update_subject(caller: CallerDep, subject: str, data: SubjectUpdate) -> SubjectOut:
    """Change a subject's name, description, key or fields. Operator."""
    with caller.act() as ctx:
        return crosscheck.update_subject(ctx, subject, data)


@router.post("/subjects/{subject}/sources", response_model=SourceOut, status_code=201)
def add_source(caller: CallerDep, subject: str, data: SourceIn) -> SourceOut:
    """Add a catalog entry with a lake table as a source, with its field → column mapping."""
    with caller.act() as ctx:
        return crosscheck.add_source(ctx, subject, data)


@router.patch("/sources/{source_id}", response_model=SourceOut)
def update_source(caller: CallerDep, source_id: str, data: SourceUpdate) -> SourceOut:
    """Change a source's label or mapping. Operator."""
    with caller.act() as ctx:
        return crosscheck.update_source(ctx, source_id, data)


@router.delete("/sources/{source_id}", status_code=204)
def remove_source(caller: CallerDep, source_id: str) -> Response:
    """Remove a source from its subject and from every authority order. Operator."""
    with caller.act() as ctx:
        crosscheck.remove_source(ctx, source_id)
    return Response(status_code=204)


@router.put("/subjects/{subject}/authority/{field}", response_model=list[AuthorityOut])
def set_authority(
    caller: CallerDep, subject: str, field: str, data: AuthorityIn
) -> list[AuthorityOut]:
    """Set the order of sources for a field: the first is authoritative, the rest the
    fallback order. Operator. Returns every field's order."""
    with caller.act() as ctx:
        return authority.set_authority(ctx, subject, field, data)


@router.post("/subjects/{subject}/runs", response_model=RunOut, status_code=202)
def start_run(caller: CallerDep, subject: str) -> RunOut:
    """Queue a check of the subject as a job; follow it on the run. Operator."""
    with caller.act() as ctx:
        return crosscheck_runs.start_run(ctx, subject)


@router.get("/subjects/{subject}/runs", response_model=RunPage)
def list_runs(
    caller: CallerDep,
    subject: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> RunPage:
    """A subject's runs, newest first."""
    with caller.act() as ctx:
        return crosscheck_runs.list_runs(ctx, subject, limit=limit, cursor=cursor)


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(caller: CallerDep, run_id: str) -> RunOut:
    """One run: what it compared, agreement per field (all sources and per pair), counts."""
    with caller.act() as ctx:
        return crosscheck_runs.get_run(ctx, run_id)


@router.get("/runs/{run_id}/conflicts", response_model=ConflictPage)
def list_conflicts(
    caller: CallerDep,
    run_id: str,
    field: str | None = None,
    source: Annotated[str | None, Query(description="a source id holding a value")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ConflictPage:
    """A run's conflicts by field and key, a page at a time, with each source's value
    (masked without ``data.preview`` on the source) and the authority's winner."""
    with caller.act() as ctx:
        return crosscheck_runs.list_conflicts(
            ctx, run_id, field=field, source=source, page=page, size=size
        )
