"""The accountability report (谁提供谁负责): per department, what it provides and the tickets
against it, what it uses and the tickets it reported, and how fast it fixes.

For each department the reader's ``sharing.read`` covers (an officer or user: its own; a
region operator: the region's; the operator: all):

- provided: published catalog entries, tickets against its data (all, open = not closed,
  overdue = deadline passed while its clock runs, escalated, closed, reopenings);
- used: active grants it holds, tickets it reported;
- mean time to fix: the mean of ``closed_at − created_at`` over its closed tickets, in hours
  (and days), overall and by severity.

Counted by grouped SQL in the metadata store; the Excel export has the same numbers.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import ColumnElement, Float, case, func, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import EntryStatus
from govdata.core.clock import local, now
from govdata.core.xlsx import cell_safe
from govdata.governance.models import Ticket
from govdata.governance.schemas import (
    AccountabilityReport,
    DepartmentAccountability,
    SeverityLine,
)
from govdata.governance.vocab import RUNNING, TicketStatus
from govdata.identity.models import Department, Region
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm
from govdata.security.scopes import scope_clause
from govdata.sharing.models import Grant
from govdata.sharing.vocab import GrantStatus

SEVERITIES = (5, 4, 3, 2, 1)


def _hours(s: Session) -> ColumnElement[Any]:
    """closed_at − created_at in hours, in the store's own dialect."""
    if s.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", Ticket.closed_at - Ticket.created_at) / 3600.0
    return (func.julianday(Ticket.closed_at) - func.julianday(Ticket.created_at)) * 24.0


@dataclass
class _Tally:
    tickets: int = 0
    open: int = 0
    overdue: int = 0
    escalated: int = 0
    closed: int = 0
    reopened: int = 0
    hours: float = 0.0

    def add(self, other: _Tally) -> None:
        for name in ("tickets", "open", "overdue", "escalated", "closed", "reopened", "hours"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def mean_hours(self) -> float | None:
        return round(self.hours / self.closed, 2) if self.closed else None


@dataclass
class _Dept:
    id: str
    code: str
    name: str
    region_path: str
    entries: int = 0
    grants_held: int = 0
    reported: int = 0
    by_severity: dict[int, _Tally] = field(default_factory=dict)


def _tally_rows(s: Session, dept_ids: list[str], at: datetime) -> Any:
    closed = Ticket.status == TicketStatus.CLOSED.value
    late = Ticket.status.in_([st.value for st in RUNNING]) & (Ticket.due_at <= at)
    escalated = (Ticket.escalation_level > 0) | Ticket.escalated_at.is_not(None)
    return s.execute(
        select(
            Ticket.provider_department_id,
            Ticket.severity,
            func.count(),
            func.sum(case((~closed, 1), else_=0)),
            func.sum(case((late, 1), else_=0)),
            func.sum(case((escalated, 1), else_=0)),
            func.sum(case((closed, 1), else_=0)),
            func.sum(Ticket.reopen_count),
            func.sum(case((closed, sql_cast(_hours(s), Float)), else_=0.0)),
        )
        .where(Ticket.provider_department_id.in_(dept_ids))
        .group_by(Ticket.provider_department_id, Ticket.severity)
    )


def accountability_report(
    ctx: ActionContext, *, department_id: str | None = None
) -> AccountabilityReport:
    """Per department in the reader's scope (or the one ``department_id``): entries
    provided, tickets against them (open, overdue, escalated, closed, reopened), grants held,
    tickets reported, mean time to fix overall and by severity, with totals."""
    ctx.require(Perm.SHARING_READ)
    s = ctx.session
    at = now()
    stmt = (
        select(Department.id, Department.code, Department.name, Region.path)
        .join(Region, Region.id == Department.region_id)
        .where(
            Department.is_active,
            scope_clause(ctx.actor, Perm.SHARING_READ, Department.id, Region.path),
        )
        .order_by(Region.path, Department.code)
    )
    if department_id:
        stmt = stmt.where(Department.id == department_id)
    depts = {row[0]: _Dept(*row) for row in s.execute(stmt)}
    ids = list(depts)
    if ids:
        for dept_id, count in s.execute(
            select(CatalogEntry.provider_department_id, func.count())
            .where(
                CatalogEntry.provider_department_id.in_(ids),
                CatalogEntry.status == EntryStatus.PUBLISHED.value,
            )
            .group_by(CatalogEntry.provider_department_id)
        ):
            depts[dept_id].entries = count
        for dept_id, count in s.execute(
            select(Grant.consumer_department_id, func.count())
            .where(
                Grant.consumer_department_id.in_(ids),
                Grant.status == GrantStatus.ACTIVE.value,
                Grant.expires_at > at,
            )
            .group_by(Grant.consumer_department_id)
        ):
            depts[dept_id].grants_held = count
        for reporter, count in s.execute(
            select(Ticket.reporter_department_id, func.count())
            .where(Ticket.reporter_department_id.in_(ids))
            .group_by(Ticket.reporter_department_id)
        ):
            depts[str(reporter)].reported = count
        for dept_id, severity, *numbers in _tally_rows(s, ids, at):
            tickets, open_, overdue, escalated, closed, reopened, hours = numbers
            depts[dept_id].by_severity[severity] = _Tally(
                int(tickets),
                int(open_ or 0),
                int(overdue or 0),
                int(escalated or 0),
                int(closed or 0),
                int(reopened or 0),
                float(hours or 0.0),
            )
    lines = [_line(d) for d in depts.values()]
    total = _Dept("", "", "合计", "")
    for d in depts.values():
        total.entries += d.entries
        total.grants_held += d.grants_held
        total.reported += d.reported
        for severity, tally in d.by_severity.items():
            total.by_severity.setdefault(severity, _Tally()).add(tally)
    return AccountabilityReport(as_of=at, departments=lines, totals=_line(total))


def _line(d: _Dept) -> DepartmentAccountability:
    overall = _Tally()
    for tally in d.by_severity.values():
        overall.add(tally)
    mean = overall.mean_hours
    return DepartmentAccountability(
        department_id=d.id,
        department_code=d.code,
        department_name=d.name,
        region_path=d.region_path,
        entries=d.entries,
        tickets=overall.tickets,
        open=overall.open,
        overdue=overall.overdue,
        escalated=overall.escalated,
        closed=overall.closed,
        reopened=overall.reopened,
        mean_hours_to_fix=mean,
        mean_days_to_fix=None if mean is None else round(mean / 24, 2),
        grants_held=d.grants_held,
        tickets_reported=d.reported,
        by_severity=[
            SeverityLine(
                severity=sev,
                tickets=d.by_severity[sev].tickets,
                open=d.by_severity[sev].open,
                overdue=d.by_severity[sev].overdue,
                closed=d.by_severity[sev].closed,
                mean_hours_to_fix=d.by_severity[sev].mean_hours,
            )
            for sev in SEVERITIES
            if sev in d.by_severity
        ],
    )


# -- the Excel export --------------------------------------------------------------------

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
INT, HOURS = "#,##0", "#,##0.00"


@dataclass(frozen=True)
class Col:
    header: str
    value: Callable[[Any], Any]
    width: int = 12
    number_format: str | None = None


DEPARTMENT_COLS = [
    Col("部门代码", lambda d: d.department_code, 14),
    Col("部门", lambda d: d.department_name, 28),
    Col("提供目录数", lambda d: d.entries, 12, INT),
    Col("被反馈问题数", lambda d: d.tickets, 12, INT),
    Col("未关闭", lambda d: d.open, 10, INT),
    Col("超期", lambda d: d.overdue, 8, INT),
    Col("已督办", lambda d: d.escalated, 10, INT),
    Col("已关闭", lambda d: d.closed, 10, INT),
    Col("重开次数", lambda d: d.reopened, 10, INT),
    Col("平均整改时长（小时）", lambda d: d.mean_hours_to_fix, 18, HOURS),
    Col("平均整改时长（天）", lambda d: d.mean_days_to_fix, 16, HOURS),
    Col("持有授权数", lambda d: d.grants_held, 12, INT),
    Col("反馈问题数", lambda d: d.tickets_reported, 12, INT),
]
SEVERITY_COLS = [
    Col("部门", lambda r: r[0], 28),
    Col("严重程度", lambda r: r[1].severity, 10, INT),
    Col("问题数", lambda r: r[1].tickets, 10, INT),
    Col("未关闭", lambda r: r[1].open, 10, INT),
    Col("超期", lambda r: r[1].overdue, 8, INT),
    Col("已关闭", lambda r: r[1].closed, 10, INT),
    Col("平均整改时长（小时）", lambda r: r[1].mean_hours_to_fix, 18, HOURS),
]


def _sheet(ws: Worksheet, heading: str, cols: Sequence[Col], rows: Sequence[Any]) -> None:
    ws.cell(row=1, column=1, value=cell_safe(heading)).font = Font(bold=True, size=13)
    for i, col in enumerate(cols, start=1):
        cell = ws.cell(row=2, column=i, value=col.header)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        ws.column_dimensions[get_column_letter(i)].width = col.width
    for r, row in enumerate(rows, start=3):
        for i, col in enumerate(cols, start=1):
            cell = ws.cell(row=r, column=i, value=cell_safe(col.value(row)))
            if col.number_format:
                cell.number_format = col.number_format
    ws.freeze_panes = ws.cell(row=3, column=1)


def write_workbook(report: AccountabilityReport) -> bytes:
    wb = Workbook()
    heading = f"问题数据整改问责报告　统计时点：{local(report.as_of)[:16]}"
    ws = cast(Worksheet, wb.active)
    ws.title = "部门"
    _sheet(ws, heading, DEPARTMENT_COLS, [*report.departments, report.totals])
    rows = [(d.department_name, line) for d in report.departments for line in d.by_severity]
    _sheet(wb.create_sheet("按严重程度"), heading, SEVERITY_COLS, rows)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def export_accountability(ctx: ActionContext, *, department_id: str | None = None) -> bytes:
    """The accountability report as an Excel workbook (sheets 部门 / 按严重程度); audited."""
    report = accountability_report(ctx, department_id=department_id)
    ctx.audit(
        "governance.accountability.export",
        target_type="report",
        details={"departments": len(report.departments), "department_id": department_id},
    )
    return write_workbook(report)
