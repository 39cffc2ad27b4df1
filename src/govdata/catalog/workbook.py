"""The Excel form of the catalog: one workbook layout for the template, import and export.

Sheet 「目录」 holds one row per entry, sheet 「信息项」 one row per item pointing at
its entry by 行号, and 「填写说明」 lists the columns and the allowed values that the
drop-downs offer. Enumerated cells carry the national standard's Chinese label;
reading also accepts codes and English labels (``vocab.parse_label``). Export
writes exactly what import reads, plus two informational columns (资源代码, 状态)
that import skips, so an exported file imports again unchanged.

This module knows cells and rows only; ``bulk`` holds the actions that use it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import ValidationError

from govdata.catalog import vocab
from govdata.core.errors import GovDataError, InvalidInput
from govdata.core.xlsx import cell_safe

ENTRY_SHEET = "目录"
ITEM_SHEET = "信息项"
HELP_SHEET = "填写说明"
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ENTRY_ROWS = 5_000
MAX_ITEM_ROWS = 100_000
# Rows the template's drop-downs cover; matches the import limit.
VALIDATION_ROWS = MAX_ENTRY_ROWS + 1
_SPLIT = re.compile(r"[,，、;；\n]+")
_YES = {"是", "y", "yes", "true", "1", "√"}
_NO = {"否", "n", "no", "false", "0"}


@dataclass(frozen=True)
class Col:
    """One column: its header, the schema field it fills, and how the cell is read.

    ``kind``: text, key, int, bool, date, grade, list, ``enum:<vocab kind>``,
    ``enums:<vocab kind>`` (several values in one cell) or info (export only).
    """

    header: str
    field: str
    kind: str = "text"
    required: bool = False
    width: int = 16
    hint: str = ""


ENTRY_COLS = (
    Col("行号", "key", "key", True, 8, "本表内唯一，信息项表按行号关联"),
    Col("资源分类代码", "classification_code", "text", True, 14, "类/项/目/细目代码，如 101001"),
    Col("资源名称", "name", "text", True, 28),
    Col("资源提供方代码", "provider_code", "text", False, 16, "部门代码；留空为本人所在部门"),
    Col("资源摘要", "summary", "text", False, 40),
    Col("资源格式", "format", "enum:format", True, 14),
    Col("共享类型", "share_type", "enum:share_type", True, 14),
    Col("共享条件", "share_condition", "text", False, 24, "有条件共享时必填"),
    Col("不予共享依据", "not_shared_basis", "text", False, 24, "不予共享时必填法律法规依据"),
    Col("共享方式", "share_modes", "enums:share_mode", False, 16, "可填多个，用顿号或逗号分隔"),
    Col("开放类型", "open_type", "enum:open_type", True, 14),
    Col("开放条件", "open_condition", "text", False, 24),
    Col("更新周期", "update_cycle", "enum:update_cycle", True, 12),
    Col("发布日期", "publish_date", "date", False, 12, "格式 YYYY-MM-DD"),
    Col("关联资源代码", "related_codes", "list", False, 24, "可填多个，用顿号或逗号分隔"),
    Col("关键词", "keywords", "list", False, 20, "可填多个，用顿号或逗号分隔"),
    Col("分级", "grade", "grade", True, 8, "1–4：1、2 一般数据，3 重要数据，4 核心数据"),
    Col("联系人", "contact_name", "text", False, 10),
    Col("联系电话", "contact_phone", "text", False, 14),
    Col("电子邮箱", "contact_email", "text", False, 22),
    Col("资源代码", "resource_code", "info", False, 22, "导出时填写，导入时忽略（由系统赋码）"),
    Col("状态", "status", "info", False, 10, "导出时填写，导入时忽略"),
)

ITEM_COLS = (
    Col("行号", "key", "key", True, 8, "所属目录在「目录」表中的行号"),
    Col("信息项名称", "name", "text", True, 20),
    Col("英文名称", "name_en", "text", False, 20),
    Col("数据类型", "data_type", "enum:data_type", True, 12),
    Col("长度", "length", "int", False, 8),
    Col("是否主键", "is_key", "bool", False, 10, "是 / 否"),
    Col("是否敏感", "is_sensitive", "bool", False, 10, "是 / 否"),
    Col("分级", "grade", "grade", False, 8, "1–4，留空为 1"),
    Col("共享类型", "share_type", "enum:share_type", False, 14, "留空同所属目录"),
    Col("描述", "description", "text", False, 30),
    Col("数据元标识符", "data_element", "text", False, 16),
)

_KIND_NAMES = {
    "format": "资源格式",
    "share_type": "共享类型",
    "share_mode": "共享方式",
    "open_type": "开放类型",
    "update_cycle": "更新周期",
    "data_type": "数据类型",
    "grade": "分级",
}


def error_dict(sheet: str, row: int, column: str, code: str, zh: str, en: str) -> dict[str, Any]:
    return {
        "sheet": sheet,
        "row": row,
        "column": column,
        "code": code,
        "message": zh,
        "message_en": en,
    }


# Template and export -----------------------------------------------------------------------

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
_REQUIRED_FILL = PatternFill("solid", fgColor="C00000")
_INFO_FILL = PatternFill("solid", fgColor="808080")


def _enum_kind(col: Col) -> str | None:
    return col.kind.split(":", 1)[1] if ":" in col.kind else None


def _write_header(ws: Worksheet, cols: tuple[Col, ...]) -> None:
    ws.append([c.header for c in cols])
    for i, col in enumerate(cols, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = _HEADER_FONT
        cell.fill = (
            _REQUIRED_FILL if col.required else _INFO_FILL if col.kind == "info" else _HEADER_FILL
        )
        cell.alignment = Alignment(horizontal="center", vertical="center")
        ws.column_dimensions[get_column_letter(i)].width = col.width
    ws.freeze_panes = "A2"


def _write_help(ws: Worksheet) -> dict[str, str]:
    """Column notes on the left, one allowed-value list per column from F on.

    Returns each enumerated kind's range for the drop-downs.
    """
    ws.append(["表", "列", "必填", "说明"])
    for sheet, cols in ((ENTRY_SHEET, ENTRY_COLS), (ITEM_SHEET, ITEM_COLS)):
        for col in cols:
            ws.append([sheet, col.header, "是" if col.required else "", col.hint])
    ranges: dict[str, str] = {}
    for offset, (kind, title) in enumerate(_KIND_NAMES.items()):
        column = 6 + offset
        letter = get_column_letter(column)
        ws.cell(row=1, column=column, value=title)
        values = vocab.LABELS[kind]
        for row, value in enumerate(values, start=2):
            text = str(value) if kind == "grade" else vocab.label(kind, value)
            ws.cell(row=row, column=column, value=int(text) if kind == "grade" else text)
        ranges[kind] = f"'{HELP_SHEET}'!${letter}$2:${letter}${len(values) + 1}"
        ws.column_dimensions[letter].width = 14
    for i, width in enumerate((8, 14, 6, 44), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    for cell in ws[1]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
    ws.freeze_panes = "A2"
    return ranges


def _add_validations(ws: Worksheet, cols: tuple[Col, ...], ranges: dict[str, str]) -> None:
    for i, col in enumerate(cols, start=1):
        kind = _enum_kind(col) or ("grade" if col.kind == "grade" else None)
        if kind is not None:
            dv = DataValidation(type="list", formula1=ranges[kind], allow_blank=True)
            # Several share modes go in one cell: the list only suggests values.
            dv.showErrorMessage = not col.kind.startswith("enums:")
            dv.error = "请从下拉列表中选择"
            dv.errorTitle = col.header
        elif col.kind == "bool":
            dv = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
        else:
            continue
        letter = get_column_letter(i)
        dv.add(f"{letter}2:{letter}{VALIDATION_ROWS}")
        ws.add_data_validation(dv)


def _cell_value(col: Col, value: Any) -> Any:
    kind = _enum_kind(col)
    if value is None:
        return None
    if col.kind.startswith("enums:") and kind:
        return "、".join(vocab.label(kind, v) for v in value)
    if kind:
        return vocab.label(kind, value)
    if col.kind == "list":
        return "、".join(value) or None
    if col.kind == "bool":
        return "是" if value else "否"
    return value


def write_workbook(rows: Iterable[tuple[dict[str, Any], list[dict[str, Any]]]]) -> bytes:
    wb = Workbook()
    entries = cast(Worksheet, wb.active)
    entries.title = ENTRY_SHEET
    items = wb.create_sheet(ITEM_SHEET)
    ranges = _write_help(wb.create_sheet(HELP_SHEET))
    _write_header(entries, ENTRY_COLS)
    _write_header(items, ITEM_COLS)
    for key, (entry, entry_items) in enumerate(rows, start=1):
        entries.append(
            [
                key if c.kind == "key" else cell_safe(_cell_value(c, entry.get(c.field)))
                for c in ENTRY_COLS
            ]
        )
        for item in entry_items:
            items.append(
                [
                    key if c.kind == "key" else cell_safe(_cell_value(c, item.get(c.field)))
                    for c in ITEM_COLS
                ]
            )
    date_col = get_column_letter(next(i for i, c in enumerate(ENTRY_COLS, 1) if c.kind == "date"))
    for cell in entries[date_col][1:]:
        cell.number_format = "yyyy-mm-dd"
    _add_validations(entries, ENTRY_COLS, ranges)
    _add_validations(items, ITEM_COLS, ranges)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template() -> bytes:
    """An empty .xlsx import template: headers (required in red), drop-downs, 填写说明."""
    return write_workbook([])


# Import ------------------------------------------------------------------------------------


def cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    text = str(value).strip()
    return text or None


def _read_sheet(wb: Any, name: str, cols: tuple[Col, ...], limit: int) -> Iterator[Any]:
    """Yield the header map then ``(excel_row, {header: value})`` for each non-empty row."""
    ws = wb[name]
    # Some spreadsheet programs write a wrong <dimension>; read what is really there.
    ws.reset_dimensions()
    rows = ws.iter_rows(values_only=True)
    header = next(rows, ())
    known = {c.header for c in cols}
    positions = {}
    for i, cell in enumerate(header):
        title = (cell_text(cell) or "").rstrip("*＊ ").removesuffix("（必填）")
        if title in known and title not in positions:
            positions[title] = i
    yield positions
    count = 0
    for excel_row, values in enumerate(rows, start=2):
        if not any(cell_text(v) for v in values):
            continue
        count += 1
        if count > limit:
            raise InvalidInput(
                f"「{name}」表超过 {limit} 行上限，请分批导入",
                f"Sheet {name} has more than {limit} rows; import in batches",
                code="too_many_rows",
                details={"sheet": name, "limit": limit},
            )
        yield excel_row, {h: values[i] if i < len(values) else None for h, i in positions.items()}


def load(data: bytes, filename: str | None) -> tuple[dict[str, int], list[Any], list[Any]]:
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(
            f"文件超过 {MAX_FILE_BYTES // (1024 * 1024)} MB 上限",
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB",
            code="file_too_large",
            details={"limit_bytes": MAX_FILE_BYTES},
        )
    bad = InvalidInput(
        "文件不是有效的 Excel（.xlsx）文件",
        "The file is not a valid Excel (.xlsx) workbook",
        code="invalid_file",
        details={"filename": filename},
    )
    wrong_name = filename is not None and not filename.lower().endswith((".xlsx", ".xlsm"))
    if wrong_name or data[:4] != b"PK\x03\x04":  # every .xlsx is a zip archive
        raise bad
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors on damaged files
        raise bad from exc
    try:
        if ENTRY_SHEET not in wb.sheetnames:
            raise InvalidInput(
                f"缺少「{ENTRY_SHEET}」工作表，请使用导入模板",
                f"The workbook has no sheet named {ENTRY_SHEET}; use the import template",
                code="missing_sheet",
                details={"sheet": ENTRY_SHEET},
            )
        entry_rows = _read_sheet(wb, ENTRY_SHEET, ENTRY_COLS, MAX_ENTRY_ROWS)
        entry_header = next(entry_rows)
        entries = list(entry_rows)
        items: list[Any] = []
        item_header: dict[str, int] = {}
        if ITEM_SHEET in wb.sheetnames:
            item_rows = _read_sheet(wb, ITEM_SHEET, ITEM_COLS, MAX_ITEM_ROWS)
            item_header = next(item_rows)
            items = list(item_rows)
    except GovDataError:
        raise
    except Exception as exc:
        raise bad from exc
    finally:
        wb.close()
    zh, en = MESSAGES["missing_column"]
    missing = [
        error_dict(
            sheet, 1, c.header, "missing_column", zh.format(col=c.header), en.format(col=c.header)
        )
        for sheet, header, cols, present in (
            (ENTRY_SHEET, entry_header, ENTRY_COLS, True),
            (ITEM_SHEET, item_header, ITEM_COLS, bool(items)),
        )
        for c in cols
        if present and c.required and c.header not in header
    ]
    if missing:
        raise failed(missing)
    return entry_header, entries, items


def failed(errors: list[dict[str, Any]]) -> InvalidInput:
    return InvalidInput(
        f"导入失败：{len(errors)} 处错误，未导入任何目录",
        f"Import failed with {len(errors)} errors; nothing was imported",
        code="import_failed",
        details={"errors": errors},
    )


# Row error codes and their messages; ``{col}`` is the column header.
MESSAGES: dict[str, tuple[str, str]] = {
    "missing_column": ("缺少必填列「{col}」", "Required column {col} is missing"),
    "missing_required": ("「{col}」不能为空", "{col} is required"),
    "invalid_choice": (
        "「{col}」的值“{value}”不在可选范围内（{allowed}）",
        "{value!r} is not an allowed value of {col} ({allowed})",
    ),
    "invalid_grade": ("「{col}」须为 1 到 4 级", "{col} must be a level from 1 to 4"),
    "invalid_number": ("「{col}」须为正整数", "{col} must be a whole number"),
    "invalid_boolean": ("「{col}」须填“是”或“否”", "{col} must be 是 (yes) or 否 (no)"),
    "invalid_date": ("「{col}」须为日期，如 2024-06-30", "{col} must be a date such as 2024-06-30"),
    "invalid_value": ("「{col}」取值不合法：{value}", "{col}: {value}"),
    "duplicate_row_key": (
        "行号“{value}”与第 {other} 行重复",
        "Row key {value} repeats row {other}",
    ),
    "unknown_row_key": (
        f"「{ENTRY_SHEET}」表中没有行号“{{value}}”",
        f"No row with key {{value}} in sheet {ENTRY_SHEET}",
    ),
    "unknown_classification": (
        "资源分类代码“{value}”不存在或已停用",
        "Classification {value} does not exist or is inactive",
    ),
    "classification_too_broad": (
        "资源分类须细化到“目”一级（“{value}”过粗）",
        "An entry must be classified at 目 level or below ({value} is too broad)",
    ),
    "provider_required": (
        "操作人不属于任何部门，须填写资源提供方代码",
        "You belong to no department: fill in the provider code",
    ),
    "unknown_provider": (
        "部门代码“{value}”不存在或已停用",
        "Department {value} does not exist or is inactive",
    ),
    "provider_not_allowed": (
        "无权为部门“{value}”编目",
        "You may not catalog for department {value}",
    ),
}


class RowReader:
    """Turns one sheet row into schema input, noting every bad cell."""

    def __init__(self, sheet: str, errors: list[dict[str, Any]]) -> None:
        self.sheet = sheet
        self.errors = errors

    def err(self, row: int, col: str, code: str, **values: Any) -> None:
        zh, en = MESSAGES[code]
        self.errors.append(
            error_dict(
                self.sheet,
                row,
                col,
                code,
                zh.format(col=col, **values),
                en.format(col=col, **values),
            )
        )

    def read(self, row: int, cells: dict[str, Any], cols: tuple[Col, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for col in cols:
            raw = cells.get(col.header)
            text = cell_text(raw)
            if col.kind == "info":
                continue
            if text is None:
                if col.required:
                    self.err(row, col.header, "missing_required")
                continue
            value = self._convert(col, raw, text)
            if isinstance(value, _Bad):
                self.err(row, col.header, value.code, value=text, allowed=value.allowed)
            else:
                out[col.field] = value
        return out

    @staticmethod
    def _convert(col: Col, raw: Any, text: str) -> Any:
        kind = _enum_kind(col)
        if kind:
            parts = _SPLIT.split(text) if col.kind.startswith("enums:") else [text]
            values = [vocab.parse_label(kind, p) for p in parts if p.strip()]
            if None in values:
                labels = "、".join(vocab.label(kind, v) for v in vocab.LABELS[kind])
                return _Bad("invalid_choice", labels)
            return values if col.kind.startswith("enums:") else values[0]
        if col.kind == "list":
            return [p.strip() for p in _SPLIT.split(text) if p.strip()]
        if col.kind == "grade":
            grade = vocab.parse_label("grade", text)
            return _Bad("invalid_grade") if grade is None else int(grade)
        if col.kind == "int":
            ok = not isinstance(raw, bool) and re.fullmatch(r"\d+", text)
            return int(text) if ok else _Bad("invalid_number")
        if col.kind == "bool":
            if isinstance(raw, bool):
                return raw
            if text.lower() in _YES | _NO:
                return text.lower() in _YES
            return _Bad("invalid_boolean")
        if col.kind == "date":
            return _date(raw, text)
        return text


@dataclass(frozen=True)
class _Bad:
    code: str
    allowed: str = ""


def _date(raw: Any, text: str) -> date | _Bad:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text)
    try:
        return date(int(m[1]), int(m[2]), int(m[3])) if m else _Bad("invalid_date")
    except ValueError:
        return _Bad("invalid_date")


def pydantic_errors(
    reader: RowReader, row: int, exc: ValidationError, cols: tuple[Col, ...]
) -> None:
    headers = {c.field: c.header for c in cols} | {"items": ITEM_SHEET}
    for e in exc.errors():
        field = str(e["loc"][0]) if e["loc"] else ""
        reader.err(row, headers.get(field, field), "invalid_value", value=e["msg"])


def dedupe(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One error per cell, ordered by sheet and row: a bad cell is reported once, not again
    by the schema check that follows."""
    seen: set[tuple[str, int, str]] = set()
    out = []
    for e in errors:
        key = (e["sheet"], e["row"], e["column"])
        if key not in seen:
            seen.add(key)
            out.append(e)
    order = {ENTRY_SHEET: 0, ITEM_SHEET: 1}
    return sorted(out, key=lambda e: (order.get(e["sheet"], 2), e["row"]))
