"""REST API of base libraries (基础库) and duplicate checks.

Reading libraries, builds and cluster sizes needs ``quality.read``; building a library and
attaching its catalog entry is the operator's (``governance.manage``); a duplicate check
of an entry needs ``quality.manage`` over its department. Row values (golden fields,
linked source records, duplicate keys) come back masked unless the caller holds
``data.preview`` on the department owning them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from govdata.governance import baselib, baselib_catalog, baselib_dupes
from govdata.governance.baselib_schemas import (
    AttachIn,
    BuildIn,
    BuildOut,
    DuplicateCheckIn,
    DuplicateCheckOut,
    GoldenRecordOut,
    LibraryOut,
    RecordPage,
)
from govdata.web.deps import CallerDep

router = APIRouter(prefix="/governance", tags=["governance"])


@router.get("/baselibs", response_model=list[LibraryOut])
def list_libraries(caller: CallerDep) -> list[LibraryOut]:
    """Every base library (人口, 法人): sources, authority order per field, last build."""
    with caller.act() as ctx:
        return baselib.list_libraries(ctx)


@router.get("/baselibs/{code}", response_model=LibraryOut)
def get_library(caller: CallerDep, code: str) -> LibraryOut:
    """One library with its recent builds and cluster sizes."""
    with caller.act() as ctx:
        return baselib.get_library(ctx, code)


@router.post("/baselibs/{code}/builds", response_model=BuildOut, status_code=202)
def start_build(caller: CallerDep, code: str, data: BuildIn | None = None) -> BuildOut:
    """Queue a build as a job (incremental unless ``retrain``). Operator."""
    with caller.act() as ctx:
        return baselib.start_build(ctx, code, data)


@router.get("/baselibs/{code}/builds/{build_id}", response_model=BuildOut)
def get_build(caller: CallerDep, code: str, build_id: str) -> BuildOut:
    """One build: status, mode, sources and lake versions read, counts and timings."""
    with caller.act() as ctx:
        return baselib.get_build(ctx, code, build_id)


@router.put("/baselibs/{code}/entry", response_model=LibraryOut)
def attach_entry(caller: CallerDep, code: str, data: AttachIn) -> LibraryOut:
    """Catalog the library with a published entry (mounted on its golden table). Operator."""
    with caller.act() as ctx:
        return baselib_catalog.attach_entry(ctx, code, data)


@router.get("/baselibs/{code}/records", response_model=RecordPage)
def search_records(
    caller: CallerDep, code: str, q: Annotated[str, Query(max_length=128)] = ""
) -> RecordPage:
    """Golden records by key (ID number / credit code), entity id or name (≤ 50)."""
    with caller.act() as ctx:
        return baselib.search_records(ctx, code, q)


@router.get("/baselibs/{code}/records/{entity_id}", response_model=GoldenRecordOut)
def get_record(caller: CallerDep, code: str, entity_id: str) -> GoldenRecordOut:
    """A golden record: fields with provenance, and its linked source records."""
    with caller.act() as ctx:
        return baselib.get_record(ctx, code, entity_id)


@router.post("/duplicate-checks", response_model=DuplicateCheckOut, status_code=202)
def start_duplicate_check(caller: CallerDep, data: DuplicateCheckIn) -> DuplicateCheckOut:
    """Queue a duplicate check of one entry (a source of the subject) as a job."""
    with caller.act() as ctx:
        return baselib_dupes.start_check(ctx, data)


@router.get("/duplicate-checks", response_model=list[DuplicateCheckOut])
def list_duplicate_checks(caller: CallerDep) -> list[DuplicateCheckOut]:
    """The latest duplicate checks the caller may read."""
    with caller.act() as ctx:
        return baselib_dupes.list_checks(ctx)


@router.get("/duplicate-checks/{check_id}", response_model=DuplicateCheckOut)
def get_duplicate_check(caller: CallerDep, check_id: str) -> DuplicateCheckOut:
    """One duplicate check: counts and a sample of clusters by record key."""
    with caller.act() as ctx:
        return baselib_dupes.get_check(ctx, check_id)
