"""Arrow plumbing shared by the file and HTTP connectors.

SQL sources push projection, filters and limits into their query; files and HTTP APIs cannot,
so these helpers apply them batch by batch with pyarrow.compute, re-cut the stream into batches
of exactly ``batch_rows`` rows, and stop reading once ``limit`` rows are out. JSON records
(JSON files, JSON Lines, HTTP responses) share one typing rule set, also here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from govdata.core.errors import InvalidInput
from govdata.sources.base import FILTER_OPS, Filter, TableInfo, bad_filter

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def value_invalid(
    table: str, column: str, type_: pa.DataType, row: int, value: Any, reason: str = ""
) -> InvalidInput:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return InvalidInput(
        f"{table} 第 {row} 行列 {column} 的值 {shown} 不符合该列类型 {type_}",
        f"{table} row {row}: the value {shown} of column {column} does not fit its type {type_}",
        code="source_value_invalid",
        details={
            "table": table,
            "column": column,
            "type": str(type_),
            "row": row,
            "value": shown,
            "reason": reason,
        },
    )


# -- filters ---------------------------------------------------------------------------------


def _literal(value: Any, type_: pa.DataType, cond: Any) -> pa.Scalar:
    try:
        return pa.scalar(value, type=type_)
    except (pa.ArrowException, TypeError, ValueError):
        pass
    try:
        # A string for a date or number column ("2024-01-02", "42"): let Arrow parse it.
        return pa.scalar(value).cast(type_)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise bad_filter(
            f"值 {value!r} 不符合列类型 {type_}", f"{value!r} does not fit the type {type_}", cond
        ) from exc


class RowFilter:
    """``where`` conditions checked against a table's columns, applied to one batch at a time."""

    def __init__(self, info: TableInfo, where: Sequence[Filter] | None) -> None:
        self.conditions: list[tuple[str, str, Any]] = []
        for cond in where or ():
            if not isinstance(cond, (tuple, list)) or len(cond) not in (2, 3):
                raise bad_filter(
                    "每个条件须为 (列, 运算符, 值)", "each condition is (column, op, value)", cond
                )
            column, op = cond[0], str(cond[1]).upper().strip()
            value = cond[2] if len(cond) == 3 else None
            if not isinstance(column, str):
                raise bad_filter("列名须为字符串", "the column must be a string", cond)
            col = info.column(column)
            if op not in FILTER_OPS:
                raise bad_filter(f"不支持运算符 {op}", f"unsupported operator {op}", cond)
            if op == "IN":
                if not isinstance(value, (list, tuple, set, frozenset)) or not value:
                    raise bad_filter("IN 需要非空列表", "IN needs a non-empty list", cond)
                literal: Any = pa.array(
                    [_literal(v, col.arrow_type, cond).as_py() for v in value], col.arrow_type
                )
            elif op in ("IS NULL", "IS NOT NULL"):
                literal = None
            else:
                if value is None:
                    raise bad_filter("空值请用 IS NULL", "compare with NULL via IS NULL", cond)
                literal = _literal(value, col.arrow_type, cond)
            self.conditions.append((col.name, op, literal))

    @property
    def columns(self) -> list[str]:
        return [c for c, _, _ in self.conditions]

    def __bool__(self) -> bool:
        return bool(self.conditions)

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        mask: Any = None
        for name, op, literal in self.conditions:
            arr = batch.column(name)
            if op == "IS NULL":
                cond = pc.is_null(arr)
            elif op == "IS NOT NULL":
                cond = pc.is_valid(arr)
            elif op == "IN":
                cond = pc.is_in(arr, value_set=literal)
            else:
                cond = _COMPARE[op](arr, literal)
            mask = cond if mask is None else pc.and_kleene(mask, cond)
        # A comparison with NULL is NULL, and filter drops it: SQL's three-valued logic.
        return batch if mask is None else batch.filter(mask, null_selection_behavior="drop")


_COMPARE = {
    "=": pc.equal,
    "<": pc.less,
    "<=": pc.less_equal,
    ">": pc.greater,
    ">=": pc.greater_equal,
}


def needed_columns(info: TableInfo, columns: Sequence[str] | None, rows: RowFilter) -> list[str]:
    """Source columns a read must produce: the projection plus what the filters look at."""
    if columns is not None and not columns:
        raise bad_filter("至少选择一列", "select at least one column", columns)
    wanted = [c.name for c in info.columns] if columns is None else list(columns)
    for name in wanted:
        info.column(name)
    return wanted + [c for c in rows.columns if c not in wanted]


def finish(
    batches: Iterable[pa.RecordBatch],
    columns: Sequence[str],
    rows: RowFilter,
    batch_rows: int,
    limit: int | None,
) -> Iterator[pa.RecordBatch]:
    """Filter, project, re-cut into ``batch_rows``-row batches and stop after ``limit`` rows.

    Closing the returned generator closes ``batches`` too, so a reader stopped early (by
    ``limit`` or by its consumer) releases its file or connection at once.
    """
    pending: list[pa.RecordBatch] = []
    held = 0
    sent = 0
    source = iter(batches)
    try:
        for batch in source:
            if rows:
                batch = rows.apply(batch)
            batch = batch.select(list(columns))
            if limit is not None and sent + held + batch.num_rows >= limit:
                batch = batch.slice(0, limit - sent - held)
            if batch.num_rows:
                pending.append(batch)
                held += batch.num_rows
            while held >= batch_rows:
                whole = pending[0] if len(pending) == 1 else pa.concat_batches(pending)
                yield whole.slice(0, batch_rows)
                sent += batch_rows
                rest = whole.slice(batch_rows)
                pending, held = ([rest], rest.num_rows) if rest.num_rows else ([], 0)
            if limit is not None and sent + held >= limit:
                break
        if held:
            yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


# -- JSON records ----------------------------------------------------------------------------


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become ``parent.child`` columns; arrays stay whole (read as JSON text)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if _INT64_MIN <= value <= _INT64_MAX else "text"
    if isinstance(value, float):
        return "float"
    return "text"


def infer_record_types(records: Iterable[Mapping[str, Any]]) -> dict[str, pa.DataType]:
    """Column → Arrow type over flattened sample records, columns in first-seen order.

    JSON says what a value is, so no string is reinterpreted (a date stays text until a
    mount maps it to a date item). Booleans, integers and floats keep their kind; integers
    and floats together read as float64; any other mixture, arrays and objects read as text.
    """
    kinds: dict[str, set[str]] = {}
    for record in records:
        for name, value in record.items():
            seen = kinds.setdefault(name, set())
            if value is not None:
                seen.add(_kind(value))
    types: dict[str, pa.DataType] = {}
    for name, seen in kinds.items():
        if seen == {"bool"}:
            types[name] = pa.bool_()
        elif seen == {"int"}:
            types[name] = pa.int64()
        elif seen and seen <= {"int", "float"}:
            types[name] = pa.float64()
        else:
            types[name] = pa.string()
    return types


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def _as_int(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if _INT64_MIN <= value <= _INT64_MAX:
            return value
        raise ValueError("out of the int64 range")
    raise ValueError("not an integer")


def _as_float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ValueError("not a number")


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("not a boolean")


_CONVERT = {
    pa.string(): _as_text,
    pa.int64(): _as_int,
    pa.float64(): _as_float,
    pa.bool_(): _as_bool,
}


def records_to_batch(
    records: Sequence[Mapping[str, Any]], schema: pa.Schema, table: str, first_row: int
) -> pa.RecordBatch:
    """Flattened records → one batch of ``schema``; fields not in the schema are left out.

    ``first_row`` is the 1-based number of ``records[0]`` in the whole table, for errors.
    """
    arrays = []
    for field in schema:
        convert = _CONVERT[field.type]
        values: list[Any] = []
        for offset, record in enumerate(records):
            value = record.get(field.name)
            if value is not None:
                try:
                    value = convert(value)
                except (ValueError, OverflowError) as exc:
                    raise value_invalid(
                        table, field.name, field.type, first_row + offset, value, str(exc)
                    ) from exc
            values.append(value)
        arrays.append(pa.array(values, type=field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def file_invalid(name: str, reason: str) -> InvalidInput:
    return InvalidInput(
        f"文件 {name} 无法读取：格式不正确或已损坏（{reason}）",
        f"The file {name} cannot be read: it is malformed or damaged ({reason})",
        code="source_file_invalid",
        details={"file": name, "reason": reason},
    )


def unique_names(raw: Sequence[str]) -> list[str]:
    """Header cells → column names: trimmed, blanks named ``column_<n>``, repeats suffixed."""
    names: list[str] = []
    seen: set[str] = set()
    for i, cell in enumerate(raw, start=1):
        base = cell.strip() or f"column_{i}"
        name, n = base, 2
        while name in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name)
        names.append(name)
    return names
