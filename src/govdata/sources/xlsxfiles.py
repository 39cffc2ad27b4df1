"""XLSX workbooks through python-calamine (read-only, native code).

Each worksheet with a header row is a table named ``<file>#<sheet>``. The header is the first
row with a non-empty cell; empty rows are skipped; a column with neither a header nor a value
in the sample is dropped. calamine holds one sheet's cells in native memory while it is read
(an XLSX sheet is at most 1,048,576 rows); Python objects exist for one batch at a time.

Cell types come from the workbook: numbers that are all whole read as int64, otherwise
float64; dates as date32, date-times as timestamp[us] (naive, as Excel stores them); booleans;
any mixture reads as text. A file that is not a readable XLSX workbook, whatever its name,
fails with ``source_file_invalid`` naming the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from python_calamine import CalamineSheet, CalamineWorkbook, SheetTypeEnum

from govdata.core.errors import InvalidInput
from govdata.sources.records import file_invalid, unique_names, value_invalid

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_CONTROL = (KeyboardInterrupt, SystemExit, GeneratorExit)


@dataclass(frozen=True)
class SheetLayout:
    sheet: str
    names: tuple[str, ...]
    indexes: tuple[int, ...]  # the cell index of each column within a row
    header_row: int  # rows before the first data row (the header and blank rows above it)


class _Guard:
    """Turns whatever calamine raises into a clear error naming the file.

    calamine reports damage as its own errors and, on some inputs, as a Rust panic (a
    BaseException): all of them mean the same to the user.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> None:
        if exc is not None and not isinstance(exc, (*_CONTROL, InvalidInput)):
            text = str(exc).strip()
            reason = text.splitlines()[0][:300] if text else type(exc).__name__
            raise file_invalid(self.name, reason) from exc


@contextmanager
def workbook(path: Path, name: str) -> Iterator[CalamineWorkbook]:
    with _Guard(name):
        book = CalamineWorkbook.from_path(str(path))
    try:
        yield book
    finally:
        book.close()


def _open_sheet(book: CalamineWorkbook, sheet: str, name: str) -> CalamineSheet:
    # Each call parses the whole sheet again: open it once per read.
    with _Guard(name):
        return book.get_sheet_by_name(sheet)


def _sheet_rows(cells: CalamineSheet, name: str) -> Iterator[list[Any]]:
    with _Guard(name):
        yield from cells.iter_rows()


def _blank(row: Sequence[Any]) -> bool:
    return all(cell == "" or cell is None for cell in row)


def _header_text(cell: Any) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, (dt.date, dt.time)):
        return cell.isoformat()
    return "" if cell is None else str(cell)


@dataclass(frozen=True)
class SheetTable:
    layout: SheetLayout
    schema: pa.Schema
    rows: int  # exact when the sample held every row, else from the sheet's used range


def inspect(path: Path, name: str, sample_rows: int, only: str | None = None) -> list[SheetTable]:
    """Every worksheet with a header row (or only the sheet ``only``), opening the file once."""
    out = []
    with workbook(path, name) as book:
        for meta in book.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet or only not in (None, meta.name):
                continue
            found = _inspect_sheet(book, name, meta.name, sample_rows)
            if found is not None:
                out.append(found)
    return out


def _inspect_sheet(
    book: CalamineWorkbook, name: str, sheet: str, sample_rows: int
) -> SheetTable | None:
    cells = _open_sheet(book, sheet, name)
    first, height = (cells.start or (0, 0))[0], cells.height
    header: list[Any] | None = None
    skipped = 0
    sample: list[list[Any]] = []
    complete = True
    for row in _sheet_rows(cells, name):
        if header is None:
            skipped += 1
            if not _blank(row):
                header = row
            continue
        if _blank(row):
            continue
        if len(sample) >= sample_rows:
            complete = False
            break
        sample.append(row)
    if header is None:
        return None
    width = max([len(header), *(len(r) for r in sample)])
    texts = [_header_text(header[i]) if i < len(header) else "" for i in range(width)]
    indexes = [
        i
        for i in range(width)
        if texts[i].strip() or any(i < len(r) and r[i] not in ("", None) for r in sample)
    ]
    names = unique_names([texts[i] for i in indexes])
    fields = [
        pa.field(n, _infer([r[i] for r in sample if i < len(r)]))
        for n, i in zip(names, indexes, strict=True)
    ]
    rows = len(sample) if complete else first + height - skipped
    return SheetTable(
        SheetLayout(sheet, tuple(names), tuple(indexes), skipped), pa.schema(fields), rows
    )


def _kind(cell: Any) -> str:
    if isinstance(cell, bool):
        return "bool"
    if isinstance(cell, (int, float)):
        whole = float(cell).is_integer() and _INT64_MIN <= cell <= _INT64_MAX
        return "int" if whole else "float"
    if isinstance(cell, dt.datetime):
        return "datetime"
    if isinstance(cell, dt.date):
        return "date"
    if isinstance(cell, dt.time):
        return "time"
    if isinstance(cell, dt.timedelta):
        return "duration"
    return "text"


def _infer(cells: Sequence[Any]) -> pa.DataType:
    kinds = {_kind(c) for c in cells if c not in ("", None)}
    if kinds == {"int"}:
        return pa.int64()
    if kinds and kinds <= {"int", "float"}:
        return pa.float64()
    if kinds == {"bool"}:
        return pa.bool_()
    if kinds == {"date"}:
        return pa.date32()
    if kinds and kinds <= {"date", "datetime"}:
        return pa.timestamp("us")
    if kinds == {"time"}:
        return pa.time64("us")
    if kinds == {"duration"}:
        return pa.duration("us")
    return pa.string()


def _convert(cell: Any, type_: pa.DataType) -> Any:
    kind = _kind(cell)
    if type_ == pa.string():
        if kind == "int" and isinstance(cell, float):
            return str(int(cell))
        if kind == "bool":
            return "true" if cell else "false"
        if isinstance(cell, (dt.date, dt.time)):
            return cell.isoformat()
        return str(cell)
    if type_ == pa.int64() and kind == "int":
        return int(cell)
    if type_ == pa.float64() and kind in ("int", "float"):
        return float(cell)
    if type_ == pa.bool_() and kind == "bool":
        return cell
    if type_ == pa.date32():
        if kind == "date":
            return cell
        if kind == "datetime" and cell.time() == dt.time():
            return cell.date()
    if pa.types.is_timestamp(type_):
        if kind == "datetime":
            return cell
        if kind == "date":
            return dt.datetime.combine(cell, dt.time())
    if pa.types.is_time(type_) and kind == "time":
        return cell
    if pa.types.is_duration(type_) and kind == "duration":
        return cell
    raise ValueError(f"a {kind} cell")


def batches(
    path: Path,
    name: str,
    layout: SheetLayout,
    schema: pa.Schema,
    columns: Sequence[str],
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    table = f"{name}#{layout.sheet}"
    wanted = pa.schema([schema.field(c) for c in columns])
    where = [layout.indexes[layout.names.index(c)] for c in columns]
    with workbook(path, name) as book:
        rows = _sheet_rows(_open_sheet(book, layout.sheet, name), name)
        for _ in range(layout.header_row):
            next(rows, None)
        chunk: list[list[Any]] = []
        number = 1
        for row in rows:
            if _blank(row):
                continue
            chunk.append([row[i] if i < len(row) else "" for i in where])
            if len(chunk) >= batch_rows:
                yield _to_batch(chunk, wanted, table, number)
                number += len(chunk)
                chunk = []
        if chunk:
            yield _to_batch(chunk, wanted, table, number)


def _to_batch(
    rows: list[list[Any]], schema: pa.Schema, table: str, first_row: int
) -> pa.RecordBatch:
    arrays = []
    for i, field in enumerate(schema):
        values: list[Any] = []
        for offset, row in enumerate(rows):
            cell = row[i]
            if cell in ("", None):
                values.append(None)
                continue
            try:
                values.append(_convert(cell, field.type))
            except ValueError as exc:
                raise value_invalid(
                    table, field.name, field.type, first_row + offset, cell, str(exc)
                ) from exc
        arrays.append(pa.array(values, type=field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
