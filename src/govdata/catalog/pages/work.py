"""The cataloguers' and reviewers' work lists, and the Excel import."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from starlette.datastructures import UploadFile

from govdata.catalog import actions, bulk
from govdata.catalog.pages.common import PAGE_SIZE, context, query, refusal
from govdata.catalog.schemas import EntryPage
from govdata.catalog.vocab import EntryStatus
from govdata.core import i18n
from govdata.core.errors import GovDataError, InvalidInput, PermissionDenied
from govdata.security.permissions import Perm
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage

router = PortalRouter()

MINE_TABS = ("", *(s.value for s in EntryStatus))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/catalog/mine")
def mine(page: UserPage, status: str = "", cursor: str = "") -> Response:
    error = None
    if page.actor.department_id is None:
        # Platform-wide editors (the operator) have no department list of their own.
        no_department = InvalidInput(
            "当前用户不属于任何部门，请在目录检索中查找目录",
            "You do not belong to a department; use the catalog search",
            code="no_department",
        )
        return page.render(
            "catalog/mine.html",
            result=EntryPage(items=[], total=0, next_cursor=None),
            tabs=(),
            filter_status="",
            cursor="",
            base_query="",
            error=page.message(no_department),
            **context(page),
        )
    with page.act() as ctx:
        try:
            result = actions.list_department_entries(
                ctx, status=status or None, limit=PAGE_SIZE, cursor=cursor or None
            )
        except GovDataError as exc:
            if refusal(exc):
                raise
            error = page.message(exc)
            status = cursor = ""
            result = actions.list_department_entries(ctx, limit=PAGE_SIZE)
    return page.render(
        "catalog/mine.html",
        result=result,
        tabs=MINE_TABS,
        filter_status=status,
        cursor=cursor,
        base_query=query({"status": status}),
        error=error,
        **context(page),
    )


@router.get("/catalog/review")
def review(page: UserPage, cursor: str = "") -> Response:
    error = None
    with page.act() as ctx:
        try:
            result = actions.review_queue(ctx, limit=PAGE_SIZE, cursor=cursor or None)
        except GovDataError as exc:
            if refusal(exc):
                raise
            error = page.message(exc)
            cursor = ""
            result = actions.review_queue(ctx, limit=PAGE_SIZE)
    return page.render(
        "catalog/review.html",
        result=result,
        cursor=cursor,
        base_query="",
        error=error,
        **context(page),
    )


def _require_editor(page: Page) -> None:
    if not page.can(Perm.CATALOG_EDIT):
        raise PermissionDenied()


def _import_page(page: Page, *, status: int = 200, **extra: Any) -> Response:
    extra.setdefault("report", None)
    extra.setdefault("errors", [])
    extra.setdefault("error", None)
    return page.render("catalog/import.html", status=status, **extra, **context(page))


@router.get("/catalog/import")
def import_form(page: UserPage) -> Response:
    _require_editor(page)
    return _import_page(page)


@router.get("/catalog/import/template.xlsx")
def import_template(page: UserPage) -> Response:
    with page.act() as ctx:
        body = bulk.download_template(ctx)
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="catalog-template.xlsx"'},
    )


@router.post("/catalog/import")
def import_upload(page: UserForm) -> Response:
    _require_editor(page)
    assert page.form is not None
    upload = page.form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = InvalidInput("请选择要导入的 Excel 文件", "Choose an Excel file", code="no_file")
        return _import_page(page, status=422, error=page.message(error))
    data = upload.file.read()
    try:
        with page.act() as ctx:
            report = bulk.import_entries(ctx, data, upload.filename)
    except GovDataError as exc:
        if refusal(exc):
            raise
        details = exc.details if isinstance(exc.details, dict) else {}
        return _import_page(
            page,
            status=exc.status,
            error=page.message(exc),
            errors=details.get("errors", []),
            filename=upload.filename,
        )
    return _import_page(page, report=report, notice=_imported(page, report.entry_count))


def _imported(page: Page, count: int) -> str:
    tr = i18n.translations(page.locale)
    message = tr.ngettext(
        "Imported %(num)d entry as a draft.", "Imported %(num)d entries as drafts.", count
    )
    return message % {"num": count}
