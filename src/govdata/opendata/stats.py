"""Usage statistics of open data: views, downloads and API calls by dataset, publisher and
month, from the per-month counts in ``OpenUsage``.

Two audiences: the public sees only datasets that are public now (a withdrawn or
re-graded dataset's name does not leak through its history); the government side sees
every dataset in the actor's scope (the operator all, an officer its department's).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Literal

from openpyxl import Workbook
from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.core.errors import InvalidInput
from govdata.core.xlsx import cell_safe
from govdata.identity.models import Department
from govdata.opendata.access import public_clause
from govdata.opendata.models import OpenDataset, OpenUsage
from govdata.opendata.usage import month_now
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm
from govdata.security.scopes import scope_clause

By = Literal["dataset", "publisher", "month"]
BY_VALUES: tuple[By, ...] = ("dataset", "publisher", "month")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
DEFAULT_MONTHS = 12
MAX_MONTHS = 120


class Counts(BaseModel):
    views: int = 0
    downloads: int = 0
    calls: int = 0


class StatsRow(Counts):
    key: str  # dataset name, publisher (department) code, or YYYY-MM
    label: str  # dataset title, publisher name, or YYYY-MM
    publisher: str | None = None  # a dataset's publisher name


class UsageStats(BaseModel):
    by: By
    from_month: str
    to_month: str
    totals: Counts
    rows: list[StatsRow]


def _bad_month(value: str) -> InvalidInput:
    return InvalidInput(
        "月份格式应为 YYYY-MM，且起始月份不晚于结束月份",
        "Months are YYYY-MM and the range must not end before it starts",
        code="opendata_month_invalid",
        details={"month": value},
    )


def _shift(month: str, delta: int) -> str:
    year, mon = int(month[:4]), int(month[5:])
    n = year * 12 + mon - 1 + delta
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def month_range(from_month: str | None, to_month: str | None) -> tuple[str, str]:
    """The asked range, by default the last 12 months (Asia/Shanghai) up to this one."""
    for value in (from_month, to_month):
        if value and not _MONTH.match(value):
            raise _bad_month(value)
    end = to_month or month_now()
    start = from_month or _shift(end, -(DEFAULT_MONTHS - 1))
    if start > end or _shift(start, MAX_MONTHS) <= end:
        raise _bad_month(f"{start}..{end}")
    return start, end


def months(start: str, end: str) -> list[str]:
    out = [start]
    while out[-1] < end:
        out.append(_shift(out[-1], 1))
    return out


def _sums() -> tuple[ColumnElement[int], ColumnElement[int], ColumnElement[int]]:
    return (
        func.coalesce(func.sum(OpenUsage.views), 0),
        func.coalesce(func.sum(OpenUsage.downloads), 0),
        func.coalesce(func.sum(OpenUsage.calls), 0),
    )


def _counts(row: tuple[int, int, int]) -> Counts:
    return Counts(views=int(row[0]), downloads=int(row[1]), calls=int(row[2]))


def _scoped(stmt: Any, scope: ColumnElement[bool]) -> Any:
    # ``Any``: the select's column types vary by caller and SQLAlchemy's variadic generics
    # do not survive the joins below in mypy.
    return (
        stmt.join(OpenDataset, OpenDataset.id == OpenUsage.dataset_id)
        .join(CatalogEntry, CatalogEntry.id == OpenDataset.entry_id)
        .where(scope)
    )


def usage_stats(
    s: Session,
    *,
    by: str = "month",
    from_month: str | None = None,
    to_month: str | None = None,
    scope: ColumnElement[bool] | None = None,
    limit: int | None = None,
) -> UsageStats:
    """Totals and rows ``by`` dataset, publisher or month over a range of months.

    ``scope``: which datasets count (a WHERE over ``OpenDataset`` and ``CatalogEntry``);
    None is the public's view. Dataset and publisher rows come most viewed first (then
    downloads, calls, key), ``limit`` of them; month rows are every month of the range,
    zeros included, oldest first.
    """
    if by not in BY_VALUES:
        raise InvalidInput(
            "统计维度应为 dataset、publisher 或 month",
            "Group by dataset, publisher or month",
            code="opendata_stats_by_invalid",
            details={"by": by, "allowed": list(BY_VALUES)},
        )
    start, end = month_range(from_month, to_month)
    where = public_clause() if scope is None else scope
    in_range = OpenUsage.month.between(start, end)
    totals = s.execute(_scoped(select(*_sums()), where).where(in_range)).one()
    rows: list[StatsRow]
    if by == "month":
        found = {
            m: _counts((v, d, c))
            for m, v, d, c in s.execute(
                _scoped(select(OpenUsage.month, *_sums()), where)
                .where(in_range)
                .group_by(OpenUsage.month)
            )
        }
        rows = [
            StatsRow(key=m, label=m, **found.get(m, Counts()).model_dump())
            for m in months(start, end)
        ]
    elif by == "dataset":
        views, downloads, calls = _sums()
        stmt = (
            _scoped(
                select(OpenDataset.name, CatalogEntry.name, CatalogEntry.provider_name, *_sums()),
                where,
            )
            .where(in_range)
            .group_by(OpenDataset.name, CatalogEntry.name, CatalogEntry.provider_name)
            .order_by(views.desc(), downloads.desc(), calls.desc(), OpenDataset.name)
            .limit(limit)
        )
        rows = [
            StatsRow(key=n, label=t, publisher=p, **_counts((v, d, c)).model_dump())
            for n, t, p, v, d, c in s.execute(stmt)
        ]
    else:
        views, downloads, calls = _sums()
        stmt = (
            _scoped(select(Department.code, Department.name, *_sums()), where)
            .join(Department, Department.id == OpenUsage.department_id)
            .where(in_range)
            .group_by(Department.code, Department.name)
            .order_by(views.desc(), downloads.desc(), calls.desc(), Department.code)
            .limit(limit)
        )
        rows = [
            StatsRow(key=code, label=name, **_counts((v, d, c)).model_dump())
            for code, name, v, d, c in s.execute(stmt)
        ]
    return UsageStats(by=by, from_month=start, to_month=end, totals=_counts(totals), rows=rows)  # type: ignore[arg-type]


def public_stats(
    s: Session,
    *,
    by: str = "month",
    from_month: str | None = None,
    to_month: str | None = None,
    limit: int | None = None,
) -> UsageStats:
    """What the public sees: only datasets that are public now."""
    return usage_stats(s, by=by, from_month=from_month, to_month=to_month, limit=limit)


def internal_scope(ctx: ActionContext, department_id: str | None = None) -> ColumnElement[bool]:
    """The government side's datasets: the operator's all, an officer's its department's.

    Needs ``opendata.manage`` or ``opendata.publish``; ``department_id`` narrows further.
    """
    if ctx.actor.can(Perm.OPENDATA_MANAGE):
        clause: ColumnElement[bool] = true()
    else:
        ctx.require(Perm.OPENDATA_PUBLISH)
        clause = scope_clause(
            ctx.actor,
            Perm.OPENDATA_PUBLISH,
            CatalogEntry.provider_department_id,
            CatalogEntry.region_path,
        )
    if department_id:
        clause = clause & (CatalogEntry.provider_department_id == department_id)
    return clause


def internal_stats(
    ctx: ActionContext,
    *,
    by: str = "month",
    from_month: str | None = None,
    to_month: str | None = None,
    department_id: str | None = None,
    limit: int | None = None,
) -> UsageStats:
    """Usage of every dataset in the actor's scope, whatever its status now."""
    return usage_stats(
        ctx.session,
        by=by,
        from_month=from_month,
        to_month=to_month,
        scope=internal_scope(ctx, department_id),
        limit=limit,
    )


# -- exports ----------------------------------------------------------------------------

_HEAD_ZH = ["月份", "数据集", "数据集标识", "提供部门", "浏览量", "下载量", "接口调用量"]
_HEAD_EN = ["Month", "Dataset", "Dataset name", "Publisher", "Views", "Downloads", "API calls"]


def _detail_rows(
    s: Session, start: str, end: str, scope: ColumnElement[bool] | None
) -> list[tuple[str, str, str, str, int, int, int]]:
    stmt = (
        _scoped(
            select(
                OpenUsage.month,
                CatalogEntry.name,
                OpenDataset.name,
                CatalogEntry.provider_name,
                OpenUsage.views,
                OpenUsage.downloads,
                OpenUsage.calls,
            ),
            public_clause() if scope is None else scope,
        )
        .where(OpenUsage.month.between(start, end))
        .order_by(OpenUsage.month, OpenDataset.name)
    )
    return [tuple(r) for r in s.execute(stmt)]  # type: ignore[misc]


def export_csv(
    s: Session,
    *,
    from_month: str | None = None,
    to_month: str | None = None,
    scope: ColumnElement[bool] | None = None,
    locale: str = "zh_CN",
) -> bytes:
    """One row per dataset and month in the range (UTF-8 with BOM, for Excel)."""
    start, end = month_range(from_month, to_month)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_HEAD_EN if locale.startswith("en") else _HEAD_ZH)
    writer.writerows(_detail_rows(s, start, end, scope))
    return "\ufeff".encode() + out.getvalue().encode()


def export_xlsx(
    s: Session,
    *,
    from_month: str | None = None,
    to_month: str | None = None,
    scope: ColumnElement[bool] | None = None,
    locale: str = "zh_CN",
) -> bytes:
    """A workbook: totals by month, by publisher, by dataset, and the monthly detail."""
    en = locale.startswith("en")
    start, end = month_range(from_month, to_month)
    counts = ["Views", "Downloads", "API calls"] if en else ["浏览量", "下载量", "接口调用量"]
    wb = Workbook(write_only=True)
    sheets: list[tuple[str, str, list[str]]] = [
        ("month", "By month" if en else "按月", ["Month" if en else "月份"]),
        ("publisher", "By publisher" if en else "按部门", ["Code" if en else "部门代码"]),
        ("dataset", "By dataset" if en else "按数据集", ["Dataset name" if en else "数据集标识"]),
    ]
    for by, title, head in sheets:
        ws = wb.create_sheet(title)
        label = {"month": [], "publisher": ["Publisher" if en else "提供部门"]}.get(
            by, ["Dataset" if en else "数据集", "Publisher" if en else "提供部门"]
        )
        ws.append([*head, *label, *counts])
        stats = usage_stats(s, by=by, from_month=start, to_month=end, scope=scope)
        for r in stats.rows:
            extra = {"month": [], "publisher": [r.label]}.get(by, [r.label, r.publisher or ""])
            ws.append([cell_safe(v) for v in (r.key, *extra, r.views, r.downloads, r.calls)])
        ws.append(
            ["Total" if en else "合计", *[""] * len(label), *stats.totals.model_dump().values()]
        )
    detail = wb.create_sheet("Detail" if en else "明细")
    detail.append(_HEAD_EN if en else _HEAD_ZH)
    for row in _detail_rows(s, start, end, scope):
        detail.append([cell_safe(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
