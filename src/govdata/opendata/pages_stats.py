"""Usage-statistics pages: the public ``/open/stats`` (public datasets only) with its CSV and
Excel exports, and the government side's ``/opendata/stats`` (every dataset in the
actor's scope, per department). Thin shells over ``opendata.stats``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Query
from fastapi.responses import Response
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.core.errors import GovDataError, NotFound
from govdata.identity.models import Department
from govdata.opendata import stats
from govdata.opendata.models import OpenDataset
from govdata.opendata.public_web import PublicPage, render
from govdata.web.portal import Page, PortalRouter, UserPage

router = PortalRouter()

MonthQ = Annotated[str | None, Query(max_length=7)]
FromQ = Annotated[str | None, Query(alias="from", max_length=7)]
EXPORTS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
TOP_DATASETS = 20


def _blank(value: str | None) -> str | None:
    return value or None


def _three(
    s: Session,
    start: str | None,
    end: str | None,
    scope: ColumnElement[bool] | None,
) -> dict[str, Any]:
    by_month = stats.usage_stats(s, by="month", from_month=start, to_month=end, scope=scope)
    start, end = by_month.from_month, by_month.to_month
    return {
        "by_month": by_month,
        "by_publisher": stats.usage_stats(
            s, by="publisher", from_month=start, to_month=end, scope=scope
        ),
        "top": stats.usage_stats(
            s, by="dataset", from_month=start, to_month=end, scope=scope, limit=TOP_DATASETS
        ),
    }


def _typed(
    data: dict[str, Any], error: str | None, start: str | None, end: str | None
) -> dict[str, str]:
    """The range form's values: as typed after an error, else the range shown."""
    if error:
        return {"from": start or "", "to": end or ""}
    return {"from": data["by_month"].from_month, "to": data["by_month"].to_month}


def _export(
    page: Page,
    s: Session,
    fmt: str,
    start: str | None,
    end: str | None,
    scope: ColumnElement[bool] | None,
    stem: str,
) -> Response:
    if fmt not in EXPORTS:
        raise NotFound("不支持的导出格式", "Unsupported export format", code="not_found")
    make = stats.export_csv if fmt == "csv" else stats.export_xlsx
    body = make(s, from_month=start, to_month=end, scope=scope, locale=page.locale)
    start, end = stats.month_range(start, end)
    name = f"{stem}-{start}-{end}.{fmt}"
    zh = f"开放数据使用统计-{start}-{end}.{fmt}"
    return Response(
        body,
        media_type=EXPORTS[fmt],
        headers={
            "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(zh)}"
        },
    )


# -- the public portal -------------------------------------------------------------------


@router.get("/open/stats")
def public_stats(page: PublicPage, from_: FromQ = None, to: MonthQ = None) -> Response:
    start, end = _blank(from_), _blank(to)
    error = None
    with page.caller.db.sessions() as s:
        try:
            data = _three(s, start, end, None)
        except GovDataError as exc:
            error = page.message(exc)
            start = end = None
            data = _three(s, None, None, None)
    query = urlencode({"from": data["by_month"].from_month, "to": data["by_month"].to_month})
    return render(
        page,
        "opendata/stats.html",
        status=422 if error else 200,
        error=error,
        typed=_typed(data, error, from_, to),
        export_query=query,
        **data,
    )


@router.get("/open/stats/export.{fmt}")
def public_export(page: PublicPage, fmt: str, from_: FromQ = None, to: MonthQ = None) -> Response:
    with page.caller.db.sessions() as s:
        return _export(page, s, fmt, _blank(from_), _blank(to), None, "opendata-usage")


# -- the government side -----------------------------------------------------------------


def _departments(s: Session, scope: ColumnElement[bool]) -> list[tuple[str, str]]:
    """Departments with open datasets (any status) in the actor's scope, for the filter."""
    rows = s.execute(
        select(Department.id, Department.name)
        .join(CatalogEntry, CatalogEntry.provider_department_id == Department.id)
        .join(OpenDataset, OpenDataset.entry_id == CatalogEntry.id)
        .where(scope)
        .distinct()
        .order_by(Department.name)
    )
    return [(i, n) for i, n in rows]


@router.get("/opendata/stats")
def internal_stats(
    page: UserPage,
    from_: FromQ = None,
    to: MonthQ = None,
    department: Annotated[str | None, Query(max_length=36)] = None,
) -> Response:
    start, end, dept = _blank(from_), _blank(to), _blank(department)
    error = None
    with page.act() as ctx:
        everything = stats.internal_scope(ctx)
        scope = stats.internal_scope(ctx, dept)
        try:
            data = _three(ctx.session, start, end, scope)
        except GovDataError as exc:
            error = page.message(exc)
            data = _three(ctx.session, None, None, scope)
        departments = _departments(ctx.session, everything)
    query = {"from": data["by_month"].from_month, "to": data["by_month"].to_month}
    if dept:
        query["department"] = dept
    return page.render(
        "opendata/stats_internal.html",
        status=422 if error else 200,
        error=error,
        typed={**_typed(data, error, from_, to), "department": dept or ""},
        departments=departments,
        export_query=urlencode(query),
        **data,
    )


@router.get("/opendata/stats/export.{fmt}")
def internal_export(
    page: UserPage,
    fmt: str,
    from_: FromQ = None,
    to: MonthQ = None,
    department: Annotated[str | None, Query(max_length=36)] = None,
) -> Response:
    with page.act() as ctx:
        scope = stats.internal_scope(ctx, _blank(department))
        return _export(
            page, ctx.session, fmt, _blank(from_), _blank(to), scope, "opendata-usage-internal"
        )
