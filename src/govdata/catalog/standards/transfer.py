"""Reading and writing standards files: JSON and Excel (.xlsx, Chinese headers).

Pure functions over bytes and schemas; the actions decide what reaches the store.
Parsing never stops at the first problem: it returns every row it could read and
a report of every one it could not, so one import attempt shows all the fixes needed.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any, TypeVar

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from pydantic import BaseModel, ValidationError

from govdata.catalog.standards.schemas import (
    CodeSetIn,
    CodeValueIn,
    DataElementIn,
    ExportFormat,
    ImportRowError,
    StandardKind,
)
from govdata.catalog.vocab import label, parse_label
from govdata.core.errors import InvalidInput
from govdata.core.xlsx import cell_safe

M = TypeVar("M", bound=BaseModel)

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ELEMENT_SHEET = "数据元"
SET_SHEET = "代码集"
VALUE_SHEET = "代码值"

# field -> Chinese header, in column order.
ELEMENT_COLUMNS = {
    "identifier": "标识符",
    "name": "中文名称",
    "name_en": "英文名称",
    "definition": "定义",
    "data_type": "数据类型",
    "format": "表示格式",
    "max_length": "最大长度",
    "value_domain": "值域",
    "code_set": "代码集",
    "unit": "计量单位",
    "version": "版本",
    "status": "状态",
}
SET_COLUMNS = {
    "identifier": "标识符",
    "name": "名称",
    "name_en": "英文名称",
    "standard": "依据标准",
    "version": "版本",
    "status": "状态",
    "description": "说明",
}
VALUE_COLUMNS = {
    "code_set": "代码集标识符",
    "code": "代码",
    "label": "名称",
    "label_en": "英文名称",
    "parent_code": "上级代码",
}
REQUIRED = {
    ELEMENT_SHEET: ("identifier", "name", "data_type"),
    SET_SHEET: ("identifier", "name"),
    VALUE_SHEET: ("code_set", "code", "label"),
}
STATUS_LABELS = {"draft": "草稿", "current": "现行", "retired": "废止"}


@dataclass
class Parsed:
    """Rows read from a file, each with where it came from, and the problems found."""

    rows: list[tuple[str | None, int, Any]] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)

    def error(
        self, sheet: str | None, row: int, column: str | None, code: str, zh: str, en: str
    ) -> None:
        self.errors.append(
            ImportRowError(
                sheet=sheet, row=row, column=column, code=code, message=zh, message_en=en
            )
        )


def file_format(filename: str) -> ExportFormat:
    lower = filename.lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith(".xlsx"):
        return "xlsx"
    raise InvalidInput(
        "只支持 .json 和 .xlsx 文件",
        "Only .json and .xlsx files can be imported",
        code="unsupported_format",
        details={"filename": filename},
    )


# Validation --------------------------------------------------------------------------------


def _validate(
    model: type[M],
    data: dict[str, Any],
    out: Parsed,
    sheet: str | None,
    row: int,
    headers: dict[str, str] | None,
) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            name = loc[0] if loc else None
            if headers is not None and name is not None:
                column: str | None = headers.get(name, name)
            elif loc:
                column = loc[0] + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc[1:])
            else:
                column = None
            kind = err["type"]
            if kind == "missing":
                out.error(sheet, row, column, "required", "必填项未填写", "This value is required")
            elif kind == "extra_forbidden":
                out.error(sheet, row, column, "unknown_column", "不认识的字段", "Unknown field")
            else:
                out.error(
                    sheet,
                    row,
                    column,
                    "invalid_value",
                    f"取值不合法：{err['msg']}",
                    f"Invalid value: {err['msg']}",
                )
        return None


ValueRow = tuple[str | None, int, str | None, CodeValueIn]


def _check_codes(values: list[ValueRow], out: Parsed) -> None:
    """Duplicate codes and unknown parents, reported at the value's own row."""
    seen: set[str] = set()
    for sheet, row, column, value in values:
        if value.code in seen:
            out.error(
                sheet,
                row,
                column,
                "duplicate_code",
                f"代码“{value.code}”重复",
                f"Code '{value.code}' appears twice",
            )
        seen.add(value.code)
    codes = {v.code for _, _, _, v in values}
    for sheet, row, column, value in values:
        if value.parent_code and value.parent_code not in codes:
            out.error(
                sheet,
                row,
                column,
                "unknown_parent_code",
                f"上级代码“{value.parent_code}”不在本代码集中",
                f"Parent code '{value.parent_code}' is not in this code set",
            )


# JSON --------------------------------------------------------------------------------------


def _json_items(content: bytes, kind: StandardKind) -> list[Any]:
    try:
        doc = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(
            "文件不是有效的 UTF-8 JSON", "The file is not valid UTF-8 JSON", code="invalid_file"
        ) from exc
    if isinstance(doc, dict):
        if doc.get("kind", kind) != kind:
            raise InvalidInput(
                "文件内容与所选导入类型不符",
                "The file holds a different kind of standard",
                code="wrong_kind",
                details={"expected": kind, "found": doc.get("kind")},
            )
        doc = doc.get("items")
    if not isinstance(doc, list):
        raise InvalidInput(
            "JSON 文件应为列表，或含 items 列表的对象",
            "The JSON file must be a list or an object with an 'items' list",
            code="invalid_file",
        )
    return doc


def parse_json(content: bytes, kind: StandardKind) -> Parsed:
    out = Parsed()
    model: type[BaseModel] = DataElementIn if kind == "data_elements" else CodeSetIn
    for i, raw in enumerate(_json_items(content, kind), start=1):
        if not isinstance(raw, dict):
            out.error(None, i, None, "invalid_row", "应为对象", "Each entry must be an object")
            continue
        if kind == "code_sets" and isinstance(raw.get("values"), list):
            # Per-value checks first, so a duplicate points at its own position.
            values: list[ValueRow] = []
            for j, v in enumerate(raw["values"]):
                if isinstance(v, dict):
                    try:
                        values.append((None, i, f"values[{j}].code", CodeValueIn(**v)))
                    except (ValidationError, TypeError):
                        continue  # reported by the full validation below
            before = len(out.errors)
            _check_codes(values, out)
            if len(out.errors) > before:
                continue
        parsed = _validate(model, raw, out, None, i, None)
        if parsed is not None:
            out.rows.append((None, i, parsed))
    return out


def dump_json(kind: StandardKind, items: list[BaseModel]) -> bytes:
    doc = {"kind": kind, "items": [m.model_dump(mode="json") for m in items]}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


# Excel -------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _as_text(value: Any) -> Any:
    # Excel turns codes like 1 or 630102 into numbers; codes are text here.
    return str(value) if isinstance(value, int | float) else value


def _sheet_rows(
    wb: Any, sheet: str, columns: dict[str, str], out: Parsed, *, first: bool = False
) -> list[tuple[int, dict[str, Any]]]:
    if sheet in wb.sheetnames:
        ws = wb[sheet]
    elif first:
        ws = wb.worksheets[0]
    else:
        out.error(
            sheet, 1, None, "missing_sheet", f"缺少工作表“{sheet}”", f"Sheet '{sheet}' is missing"
        )
        return []
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None) or ()
    by_header = {h: f for f, h in columns.items()} | {f: f for f in columns}
    positions: dict[int, str] = {}
    for i, text in enumerate(header):
        name = by_header.get(str(text).strip()) if text is not None else None
        if name is not None:
            positions[i] = name
    missing = [f for f in REQUIRED[sheet] if f not in positions.values()]
    for f in missing:
        out.error(
            sheet,
            1,
            columns[f],
            "missing_column",
            f"缺少列“{columns[f]}”",
            f"Column '{f}' is missing",
        )
    if missing:
        return []
    found = []
    for number, values in enumerate(rows, start=2):
        data = {positions[i]: _cell(v) for i, v in enumerate(values) if i in positions}
        if any(v is not None for v in data.values()):
            found.append((number, {k: v for k, v in data.items() if v is not None}))
    return found


def _load_workbook(content: bytes) -> Any:
    try:
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidInput(
            "文件不是有效的 Excel (.xlsx) 文件",
            "The file is not a valid Excel (.xlsx) workbook",
            code="invalid_file",
        ) from exc


def _parse_status(data: dict[str, Any], out: Parsed, sheet: str, row: int) -> None:
    text = data.get("status")
    if text is None:
        return
    by_label = {zh: code for code, zh in STATUS_LABELS.items()}
    value = by_label.get(str(text), str(text))
    if value not in STATUS_LABELS:
        out.error(
            sheet,
            row,
            "状态",
            "invalid_status",
            f"状态“{text}”无法识别",
            f"Unknown status '{text}'",
        )
    data["status"] = value


def parse_xlsx(content: bytes, kind: StandardKind) -> Parsed:
    out = Parsed()
    wb = _load_workbook(content)
    try:
        if kind == "data_elements":
            _parse_element_sheet(wb, out)
        else:
            _parse_code_set_sheets(wb, out)
    finally:
        wb.close()
    return out


def _parse_element_sheet(wb: Any, out: Parsed) -> None:
    for row, data in _sheet_rows(wb, ELEMENT_SHEET, ELEMENT_COLUMNS, out, first=True):
        before = len(out.errors)
        for key in ("identifier", "code_set", "format", "version"):
            if key in data:
                data[key] = _as_text(data[key])
        if "data_type" in data:
            value = parse_label("data_type", str(data["data_type"]))
            if value is None:
                out.error(
                    ELEMENT_SHEET,
                    row,
                    ELEMENT_COLUMNS["data_type"],
                    "invalid_data_type",
                    f"数据类型“{data['data_type']}”无法识别",
                    f"Unknown data type '{data['data_type']}'",
                )
            data["data_type"] = value
        _parse_status(data, out, ELEMENT_SHEET, row)
        if len(out.errors) > before:
            continue
        parsed = _validate(DataElementIn, data, out, ELEMENT_SHEET, row, ELEMENT_COLUMNS)
        if parsed is not None:
            out.rows.append((ELEMENT_SHEET, row, parsed))


def _parse_code_set_sheets(wb: Any, out: Parsed) -> None:
    sets = _sheet_rows(wb, SET_SHEET, SET_COLUMNS, out)
    values = _sheet_rows(wb, VALUE_SHEET, VALUE_COLUMNS, out)
    grouped: dict[str, list[ValueRow]] = {}
    for row, data in values:
        data = {k: _as_text(v) for k, v in data.items()}
        owner = data.pop("code_set", None)
        value = _validate(CodeValueIn, data, out, VALUE_SHEET, row, VALUE_COLUMNS)
        if value is not None and owner is not None:
            grouped.setdefault(owner, []).append((VALUE_SHEET, row, VALUE_COLUMNS["code"], value))
    faulty = set()
    for owner, group in grouped.items():
        before = len(out.errors)
        _check_codes(group, out)
        if len(out.errors) > before:
            faulty.add(owner)
    declared = set()
    for row, data in sets:
        data = {k: _as_text(v) for k, v in data.items()}
        _parse_status(data, out, SET_SHEET, row)
        ident = str(data.get("identifier"))
        declared.add(ident)
        # Value problems are already reported at their own rows; check the rest alone.
        members = [] if ident in faulty else grouped.get(ident, [])
        data["values"] = [v.model_dump() for _, _, _, v in members]
        parsed = _validate(CodeSetIn, data, out, SET_SHEET, row, SET_COLUMNS)
        if parsed is not None and ident not in faulty:
            out.rows.append((SET_SHEET, row, parsed))
    for owner, group in grouped.items():
        if owner not in declared:
            out.error(
                VALUE_SHEET,
                group[0][1],
                VALUE_COLUMNS["code_set"],
                "unknown_code_set",
                f"代码集“{owner}”未在“{SET_SHEET}”工作表中列出",
                f"Code set '{owner}' is not listed on the '{SET_SHEET}' sheet",
            )


def _sheet(wb: Workbook, title: str, headers: list[str], rows: list[list[Any]]) -> None:
    ws = wb.create_sheet(title)
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for row in rows:
        ws.append([cell_safe(v) for v in row])
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            # openpyxl would store text starting with "=" as a formula; keep it text.
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    for i, h in enumerate(headers):
        width = max([len(h) * 2, *(len(str(r[i] or "")) for r in rows[:200])]) + 2
        ws.column_dimensions[ws.cell(row=1, column=i + 1).column_letter].width = min(width, 60)


def dump_xlsx(kind: StandardKind, items: list[BaseModel]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    if kind == "data_elements":
        rows = []
        for m in items:
            d = m.model_dump(mode="json")
            d["data_type"] = label("data_type", d["data_type"])
            d["status"] = STATUS_LABELS[d["status"]]
            rows.append([d[f] for f in ELEMENT_COLUMNS])
        _sheet(wb, ELEMENT_SHEET, list(ELEMENT_COLUMNS.values()), rows)
    else:
        set_rows, value_rows = [], []
        for m in items:
            d = m.model_dump(mode="json")
            d["status"] = STATUS_LABELS[d["status"]]
            set_rows.append([d[f] for f in SET_COLUMNS])
            for v in d["values"]:
                value_rows.append(
                    [d["identifier"], v["code"], v["label"], v["label_en"], v["parent_code"]]
                )
        _sheet(wb, SET_SHEET, list(SET_COLUMNS.values()), set_rows)
        _sheet(wb, VALUE_SHEET, list(VALUE_COLUMNS.values()), value_rows)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
