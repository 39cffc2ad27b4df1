"""The collection report as an Excel workbook: sheets 地区, 部门 and 目录明细.

Each sheet opens with a title row (what the report covers and when it was taken), then
a header row, then one row per region, department or entry. Counts are numbers, the
mount rate a percentage and times are local (Asia/Shanghai) date-times, so the file
sorts and sums in Excel as it should.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from govdata.catalog import vocab as catalog_vocab
from govdata.core.clock import DISPLAY_TZ, as_utc, local
from govdata.core.xlsx import cell_safe
from govdata.exchange.report import (
    FRESHNESS_LABELS,
    CollectionReport,
    Counts,
    DepartmentLine,
    EntryLine,
    RegionLine,
    ReportScope,
)
from govdata.exchange.vocab import MODE_LABELS, MountMode

REGION_SHEET = "地区"
DEPARTMENT_SHEET = "部门"
ENTRY_SHEET = "目录明细"

INT = "#,##0"
RATE = "0.0%"
TIME = "yyyy-mm-dd hh:mm"
TITLE_ROW, HEADER_ROW = 1, 2

_TITLE_FONT = Font(bold=True, size=13)
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
_TOTAL_FONT = Font(bold=True)
_LEVELS = {"province": "省", "prefecture": "市（州）", "county": "县（区）"}


@dataclass(frozen=True)
class Col:
    header: str
    value: Callable[[Any], Any]
    width: int = 12
    number_format: str | None = None


def _local(value: datetime | None) -> datetime | None:
    # Excel has no time zones: write the wall-clock time people read on the portal.
    if value is None:
        return None
    return as_utc(value).astimezone(DISPLAY_TZ).replace(tzinfo=None)


def _counts_cols() -> list[Col]:
    return [
        Col("编目数", lambda c: c.entries, 10, INT),
        Col("已挂载", lambda c: c.mounted, 10, INT),
        Col("逻辑接入", lambda c: c.mounted_logical, 10, INT),
        Col("物理汇聚", lambda c: c.mounted_physical, 10, INT),
        Col("挂载率", lambda c: c.mount_rate, 10, RATE),
        Col("归集数据量（行）", lambda c: c.rows_collected, 16, INT),
        Col("最近成功归集", lambda c: _local(c.last_success_at), 18, TIME),
        Col("统计期内失败次数", lambda c: c.failed_runs, 16, INT),
        Col("当前失败管道", lambda c: c.failing_pipelines, 14, INT),
        Col("及时", lambda c: c.fresh, 8, INT),
        Col("超期未更新", lambda c: c.stale, 12, INT),
        Col("从未归集", lambda c: c.never, 10, INT),
    ]


REGION_COLS: list[Col] = [
    Col("区划代码", lambda r: r.code, 10),
    Col("地区", lambda r: r.name, 24),
    Col("层级", lambda r: _LEVELS.get(r.level, r.level), 10),
    Col("部门数", lambda r: r.departments, 8, INT),
    *_counts_cols(),
]
DEPARTMENT_COLS: list[Col] = [
    Col("部门代码", lambda d: d.code, 14),
    Col("部门", lambda d: d.name, 28),
    Col("所属地区", lambda d: d.region_name, 20),
    *_counts_cols(),
]
ENTRY_COLS: list[Col] = [
    Col("资源代码", lambda e: e.resource_code, 26),
    Col("目录名称", lambda e: e.name, 32),
    Col("提供部门", lambda e: e.department_name, 24),
    Col("更新周期", lambda e: catalog_vocab.label("update_cycle", e.update_cycle), 10),
    Col("接入方式", lambda e: _mode(e.mode), 12),
    Col("湖表", lambda e: e.lake_table, 30),
    Col("归集数据量（行）", lambda e: e.rows, 16, INT),
    Col("最近成功归集", lambda e: _local(e.last_success_at), 18, TIME),
    Col("超期时间", lambda e: _local(e.stale_after), 18, TIME),
    Col("统计期内失败次数", lambda e: e.failed_runs, 16, INT),
    Col("当前失败管道", lambda e: e.failing_pipelines, 14, INT),
    Col("时效状态", lambda e: FRESHNESS_LABELS[e.freshness][0], 12),
]


def _mode(mode: str | None) -> str:
    return MODE_LABELS[MountMode(mode)][0] if mode else "未挂载"


def title(report: CollectionReport) -> str:
    if report.scope == ReportScope.PLATFORM:
        scope = "全平台"
    elif report.scope == ReportScope.VISIBLE:
        scope = "本人可查看范围"
    else:
        scope = f"{report.scope_name}（{report.scope_code}）"
    since, as_of = local(report.since), local(report.as_of)
    return f"数据归集通报 — {scope}　统计时点：{as_of[:16]}　统计期：{since[:10]} 至 {as_of[:10]}"


def _sheet(
    ws: Worksheet,
    heading: str,
    cols: Sequence[Col],
    rows: Sequence[Any],
    total: tuple[str, Counts] | None = None,
) -> None:
    ws.cell(row=TITLE_ROW, column=1, value=cell_safe(heading)).font = _TITLE_FONT
    ws.merge_cells(start_row=TITLE_ROW, start_column=1, end_row=TITLE_ROW, end_column=len(cols))
    for i, col in enumerate(cols, start=1):
        cell = ws.cell(row=HEADER_ROW, column=i, value=col.header)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(i)].width = col.width
    for r, row in enumerate(rows, start=HEADER_ROW + 1):
        _write_row(ws, r, cols, row)
    if total is not None:
        label, counts = total
        r = HEADER_ROW + 1 + len(rows)
        # The counts columns sit at the end of the sheet; the label goes in the first column.
        first = len(cols) - len(_counts_cols())
        ws.cell(row=r, column=1, value=cell_safe(label)).font = _TOTAL_FONT
        for i, col in enumerate(cols[first:], start=first + 1):
            cell = ws.cell(row=r, column=i, value=cell_safe(col.value(counts)))
            cell.font = _TOTAL_FONT
            if col.number_format:
                cell.number_format = col.number_format
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)


def _write_row(ws: Worksheet, r: int, cols: Sequence[Col], row: Any) -> None:
    for i, col in enumerate(cols, start=1):
        cell = ws.cell(row=r, column=i, value=cell_safe(col.value(row)))
        if col.number_format:
            cell.number_format = col.number_format


def write_report(report: CollectionReport) -> bytes:
    wb = Workbook()
    heading = title(report)
    regions = cast(Worksheet, wb.active)
    regions.title = REGION_SHEET
    region_rows: list[RegionLine] = report.regions
    _sheet(regions, heading, REGION_COLS, region_rows)
    dept_rows: list[DepartmentLine] = report.departments
    _sheet(
        wb.create_sheet(DEPARTMENT_SHEET),
        heading,
        DEPARTMENT_COLS,
        dept_rows,
        ("合计", report.totals),
    )
    entry_rows: list[EntryLine] = report.entries
    _sheet(wb.create_sheet(ENTRY_SHEET), heading, ENTRY_COLS, entry_rows)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
