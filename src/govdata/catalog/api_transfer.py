"""REST API of bulk catalog transfer (under /api/v1): the Excel template, import, export, and
the national catalog exchange."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, File, Query, Response, UploadFile

from govdata.catalog import bulk, national, search, workbook
from govdata.catalog.bulk import ImportReport
from govdata.catalog.national import UpperImportReport
from govdata.core.clock import now
from govdata.web.deps import CallerDep

router = APIRouter(tags=["catalog"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Params = Annotated[search.SearchParams, Depends(search.search_params)]


def _download(body: bytes, media_type: str, filename: str) -> Response:
    """A file response; ``filename*`` carries the Chinese name, ``filename`` an ASCII fallback."""
    ascii_name = filename.encode("ascii", "ignore").decode().lstrip("-_") or "download"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})


def _stamp() -> str:
    return now().strftime("%Y%m%d-%H%M%S")


@router.get("/catalog/template.xlsx", response_class=Response)
def template(caller: CallerDep) -> Response:
    """The Excel import template (catalog.edit): sheets 目录, 信息项, 填写说明, drop-downs."""
    with caller.act() as ctx:
        body = bulk.download_template(ctx)
    return _download(body, XLSX, "政务数据目录导入模板.xlsx")


@router.post("/catalog/import", response_model=ImportReport, status_code=201)
def import_entries(caller: CallerDep, file: Annotated[UploadFile, File()]) -> ImportReport:
    """Import drafts from a filled-in template (multipart field ``file``); all or nothing.

    422 ``import_failed`` lists every error in ``details.errors`` (sheet, row,
    column, code, message, message_en). See ``bulk.import_entries``.
    """
    # One byte past the limit is enough to know the file is too large.
    data = file.file.read(workbook.MAX_FILE_BYTES + 1)
    with caller.act() as ctx:
        return bulk.import_entries(ctx, data, file.filename)


@router.get("/catalog/export.xlsx", response_class=Response)
def export_xlsx(caller: CallerDep, params: Params) -> Response:
    """The entries a search finds (same query as ``GET /catalog/entries``) as an importable
    workbook; at most 10,000 (422 ``export_too_large``)."""
    with caller.act() as ctx:
        body = bulk.export_xlsx(ctx, params)
    return _download(body, XLSX, f"政务数据目录-{_stamp()}.xlsx")


@router.get("/catalog/export.json", response_class=Response)
def export_json(caller: CallerDep, params: Params) -> Response:
    """The entries a search finds as JSON (stored codes, items included); at most 10,000."""
    with caller.act() as ctx:
        body = bulk.export_json(ctx, params)
    return _download(body, "application/json", f"政务数据目录-{_stamp()}.json")


@router.get("/catalog/national/export")
def national_export(
    caller: CallerDep, since: Annotated[datetime | None, Query()] = None
) -> dict[str, Any]:
    """Published entries in the national exchange form (catalog.manage); ``since`` (ISO 8601)
    keeps those published or withdrawn since then. See docs/catalog-exchange.md."""
    with caller.act() as ctx:
        return national.export_national(ctx, since=since)


@router.post("/catalog/national/import", response_model=UpperImportReport)
def national_import(
    caller: CallerDep,
    provider_code: Annotated[str, Query(min_length=1, max_length=32)],
    payload: Annotated[dict[str, Any], Body()],
) -> UpperImportReport:
    """Take entries applied for from the upper level (申领) as drafts of ``provider_code``
    (catalog.manage); upper codes imported before are skipped. All or nothing."""
    with caller.act() as ctx:
        return national.import_upper(ctx, payload, provider_code=provider_code)
