"""REST API of the standards registry (mounted under /api/v1): HTTP in, one action, JSON out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from govdata.catalog.standards import actions
from govdata.catalog.standards.schemas import (
    CodeSetFields,
    CodeSetIn,
    CodeSetOut,
    CodeSetPage,
    DataElementFields,
    DataElementIn,
    DataElementOut,
    DataElementPage,
    ElementStatus,
    ExportFormat,
    ImportReport,
    StandardKind,
)
from govdata.web.deps import CallerDep

router = APIRouter(tags=["standards"])


# Data elements -----------------------------------------------------------------------------


@router.get("/standards/data-elements", response_model=DataElementPage)
def list_data_elements(
    caller: CallerDep,
    q: str | None = None,
    status: ElementStatus | None = None,
    code_set: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> DataElementPage:
    with caller.act() as ctx:
        return actions.list_data_elements(
            ctx, q=q, status=status, code_set=code_set, limit=limit, cursor=cursor
        )


@router.post("/standards/data-elements", response_model=DataElementOut, status_code=201)
def create_data_element(data: DataElementIn, caller: CallerDep) -> DataElementOut:
    with caller.act() as ctx:
        return actions.create_data_element(ctx, data)


@router.get("/standards/data-elements/{identifier}", response_model=DataElementOut)
def get_data_element(identifier: str, caller: CallerDep) -> DataElementOut:
    with caller.act() as ctx:
        return actions.get_data_element(ctx, identifier)


@router.put("/standards/data-elements/{identifier}", response_model=DataElementOut)
def update_data_element(
    identifier: str, data: DataElementFields, caller: CallerDep
) -> DataElementOut:
    with caller.act() as ctx:
        return actions.update_data_element(ctx, identifier, data)


@router.post("/standards/data-elements/{identifier}/retire", response_model=DataElementOut)
def retire_data_element(identifier: str, caller: CallerDep) -> DataElementOut:
    with caller.act() as ctx:
        return actions.retire_data_element(ctx, identifier)


# Code sets ---------------------------------------------------------------------------------
# Identifiers are standard numbers such as "GB/T 2261.1-2003": the path converter lets the
# slash through (clients may send it plainly or as %2F).


@router.get("/standards/code-sets", response_model=CodeSetPage)
def list_code_sets(
    caller: CallerDep, q: str | None = None, limit: int = 50, cursor: str | None = None
) -> CodeSetPage:
    with caller.act() as ctx:
        return actions.list_code_sets(ctx, q=q, limit=limit, cursor=cursor)


@router.post("/standards/code-sets", response_model=CodeSetOut, status_code=201)
def create_code_set(data: CodeSetIn, caller: CallerDep) -> CodeSetOut:
    with caller.act() as ctx:
        return actions.create_code_set(ctx, data)


@router.get("/standards/code-sets/{identifier:path}", response_model=CodeSetOut)
def get_code_set(identifier: str, caller: CallerDep) -> CodeSetOut:
    with caller.act() as ctx:
        return actions.get_code_set(ctx, identifier)


@router.put("/standards/code-sets/{identifier:path}", response_model=CodeSetOut)
def update_code_set(identifier: str, data: CodeSetFields, caller: CallerDep) -> CodeSetOut:
    with caller.act() as ctx:
        return actions.update_code_set(ctx, identifier, data)


# Import and export -------------------------------------------------------------------------


@router.post("/standards/import", response_model=ImportReport)
def import_standards(
    caller: CallerDep,
    file: Annotated[UploadFile, File(description=".json or .xlsx")],
    kind: Annotated[StandardKind, Form()],
) -> ImportReport:
    """All or nothing: a bad row rejects the whole file with a per-row report (422)."""
    content = file.file.read(actions.MAX_IMPORT_BYTES + 1)
    with caller.act() as ctx:
        return actions.import_standards(ctx, kind, file.filename or "", content)


@router.get("/standards/export")
def export_standards(
    caller: CallerDep,
    kind: StandardKind,
    format: Annotated[ExportFormat, Query()] = "json",
) -> Response:
    with caller.act() as ctx:
        out = actions.export_standards(ctx, kind, format)
    return Response(
        out.content,
        media_type=out.media_type,
        headers={"Content-Disposition": f'attachment; filename="{out.filename}"'},
    )
