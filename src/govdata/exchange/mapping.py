"""Mount mappings: which source column feeds which catalog item, and as what type.

A mapping (``Mount.columns``) is a list of ``{"item", "column", "field", "type"}``:
``item`` is the entry item's name (or None for a source column carried without an
item), ``column`` the source column, ``field`` the output / lake column name and
``type`` its Arrow type string. The output schema is the fields in mapping order.

Types are chosen so the lake can hold them (Delta has no unsigned integers, times or
durations) and so a value never changes meaning silently: widening casts (int32 →
int64, int → string) are fine, while reading a typed item out of free text (a date
item from a string column) is refused when the mapping is made, not at 3 a.m. when a
row fails to parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from govdata.core.errors import InvalidInput
from govdata.sources.base import ColumnInfo, TableInfo

FIELD_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Item data types (catalog DataType values).
STRING, INTEGER, DECIMAL, DATE, DATETIME, BOOLEAN, BINARY = (
    "string",
    "integer",
    "decimal",
    "date",
    "datetime",
    "boolean",
    "binary",
)


class ItemLike(Protocol):
    """What mapping needs of a catalog entry item (``EntryItem`` rows fit)."""

    @property
    def name(self) -> str: ...
    @property
    def name_en(self) -> str | None: ...
    @property
    def data_type(self) -> str: ...
    @property
    def length(self) -> int | None: ...
    @property
    def is_key(self) -> bool: ...
    @property
    def data_element(self) -> str | None: ...


class HasMapping(Protocol):
    """A mount (ORM row or a snapshot of one): anything carrying its mapping."""

    @property
    def columns(self) -> Sequence[Mapping[str, Any]]: ...


# -- Arrow type strings ---------------------------------------------------------------------

_DECIMAL = re.compile(r"^decimal(128|256)\(\s*(\d+)\s*,\s*(-?\d+)\s*\)$")
_TIMESTAMP = re.compile(r"^timestamp\[(s|ms|us|ns)(?:,\s*tz=([^\]]+))?\]$")


def parse_type(text: str) -> pa.DataType:
    """``"decimal128(12, 2)"`` → ``pa.decimal128(12, 2)``: the inverse of ``str(type)``."""
    spec = text.strip()
    if m := _DECIMAL.match(spec):
        make = pa.decimal128 if m.group(1) == "128" else pa.decimal256
        return make(int(m.group(2)), int(m.group(3)))
    if m := _TIMESTAMP.match(spec):
        return pa.timestamp(m.group(1), tz=m.group(2))
    try:
        return pa.type_for_alias(spec)
    except (ValueError, KeyError) as exc:
        raise InvalidInput(
            f"无法识别的数据类型“{text}”",
            f"Unknown data type {text!r}",
            code="mount_type_unknown",
            details={"type": text},
        ) from exc


def type_string(t: pa.DataType) -> str:
    return str(t)


def lake_type(t: pa.DataType) -> pa.DataType:
    """The type a lake table keeps for a source type (Delta's type system is narrower)."""
    if pa.types.is_unsigned_integer(t):
        return pa.decimal128(20, 0) if t == pa.uint64() else pa.int64()
    if pa.types.is_integer(t):
        return pa.int64()
    if pa.types.is_floating(t):
        return pa.float64()
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_fixed_size_binary(t):
        return pa.binary()
    if pa.types.is_time(t) or pa.types.is_duration(t):
        return pa.string()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz=t.tz)
    if pa.types.is_date(t):
        return pa.date32()
    if pa.types.is_dictionary(t):
        return lake_type(t.value_type)
    if (
        pa.types.is_boolean(t)
        or pa.types.is_decimal(t)
        or pa.types.is_string(t)
        or pa.types.is_binary(t)
    ):
        return t
    return pa.string()


@dataclass(frozen=True)
class Issue:
    """One finding of ``check_mapping``: an error blocks the mount, a warning does not."""

    level: str  # "error" | "warning"
    code: str
    message_zh: str
    message_en: str
    item: str | None = None
    column: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "code": self.code,
            "item": self.item,
            "column": self.column,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


def _kind(t: pa.DataType) -> str:
    """The item data type family an Arrow type naturally belongs to."""
    if pa.types.is_boolean(t):
        return BOOLEAN
    if pa.types.is_integer(t):
        return INTEGER
    if pa.types.is_decimal(t):
        return INTEGER if t.scale == 0 else DECIMAL
    if pa.types.is_floating(t):
        return DECIMAL
    if pa.types.is_date(t):
        return DATE
    if pa.types.is_timestamp(t):
        return DATETIME
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return BINARY
    return STRING


def target_type(data_type: str, source: pa.DataType) -> pa.DataType | None:
    """The output type of an item of ``data_type`` fed from a ``source`` column.

    None when the source cannot feed the item without guessing (text into a typed item,
    a fraction into an integer, and so on).
    """
    kind = _kind(source)
    if data_type == STRING:
        return pa.string()
    if data_type == BINARY:
        return pa.binary() if kind in (BINARY, STRING) else None
    if data_type == INTEGER:
        if kind in (INTEGER, BOOLEAN):
            # Decimal(n, 0) and uint64 may exceed int64: keep them exact as decimals.
            if pa.types.is_decimal(source) or source == pa.uint64():
                return lake_type(source)
            return pa.int64()
        return None
    if data_type == DECIMAL:
        if pa.types.is_decimal(source):
            return source
        if pa.types.is_floating(source):
            return pa.float64()
        if kind == INTEGER:
            return lake_type(source)
        return None
    if data_type == DATE:
        if kind in (DATE, DATETIME):
            return pa.date32()
        return None
    if data_type == DATETIME:
        if kind == DATETIME:
            return lake_type(source)
        if kind == DATE:
            return pa.timestamp("us")
        return None
    if data_type == BOOLEAN:
        return pa.bool_() if kind in (BOOLEAN, INTEGER) else None
    return None


# -- field names ----------------------------------------------------------------------------


def field_name(item: ItemLike | None, column: str) -> str:
    """The item's English name when it is a valid field name, else the sanitised column."""
    if item is not None and item.name_en and FIELD_RE.fullmatch(item.name_en):
        return item.name_en
    slug = re.sub(r"[^a-z0-9_]", "_", column.lower()).strip("_") or "col"
    if slug[0].isdigit():
        slug = "c_" + slug
    return slug[:63]


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        suffix = f"_{n}"
        candidate, n = name[: 63 - len(suffix)] + suffix, n + 1
    taken.add(candidate)
    return candidate


# -- proposal -------------------------------------------------------------------------------


def _norm(text: str | None) -> str:
    return re.sub(r"[\s_\-.]", "", (text or "").lower())


def _score(item: ItemLike, col: ColumnInfo, element_names: Sequence[str]) -> int:
    cname = _norm(col.name)
    comment = (col.comment or "").strip()
    if item.name_en and col.name.lower() == item.name_en.lower():
        return 100
    if col.name == item.name:
        return 95
    if comment and comment == item.name:
        return 90
    if item.name_en and cname == _norm(item.name_en):
        return 80
    for name in element_names:
        if name and (cname == _norm(name) or comment == name):
            return 70
    # A comment such as “身份证号码（18位）” still names the item.
    if comment and item.name in comment:
        return 50
    return 0


def propose_mapping(
    items: Sequence[ItemLike],
    table: TableInfo,
    element_names: Mapping[str, Sequence[str]] | None = None,
) -> list[dict[str, Any]]:
    """A mapping of ``items`` onto ``table``'s columns, best matches first.

    A column matches an item by English name, by its own name or comment equal to the
    item's Chinese name, then by the item's data element (``element_names``: element
    identifier → its names), then by a comment mentioning the item. Each column feeds at
    most one item, and only an item its type can feed; items without a match are left
    out (``check_mapping`` flags them). The type is the item's, sized from the column's.
    """
    elements = element_names or {}
    pairs = []
    for i, item in enumerate(items):
        names = elements.get(item.data_element or "", ())
        for j, col in enumerate(table.columns):
            # A column that cannot feed the item (text into a date) is no match at all.
            if target_type(item.data_type, col.arrow_type) is None:
                continue
            score = _score(item, col, names)
            if score:
                pairs.append((-score, i, j))
    pairs.sort()
    chosen: dict[int, int] = {}
    used: set[int] = set()
    for _neg, i, j in pairs:
        if i in chosen or j in used:
            continue
        chosen[i] = j
        used.add(j)
    taken: set[str] = set()
    out = []
    for i, item in enumerate(items):
        if i not in chosen:
            continue
        col = table.columns[chosen[i]]
        t = target_type(item.data_type, col.arrow_type) or lake_type(col.arrow_type)
        out.append(
            {
                "item": item.name,
                "column": col.name,
                "field": _unique(field_name(item, col.name), taken),
                "type": type_string(t),
            }
        )
    return out


# -- checks ---------------------------------------------------------------------------------


@dataclass
class MappingCheck:
    """What ``check_mapping`` found: errors block, warnings and unmapped items inform."""

    issues: list[Issue] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "warning"]

    def raise_errors(self) -> None:
        """Raise the first error (code of that error), with every issue in ``details``."""
        errors = self.errors
        if not errors:
            return
        first = errors[0]
        raise InvalidInput(
            first.message_zh,
            first.message_en,
            code=first.code,
            details={
                "column": first.column,
                "item": first.item,
                "issues": [i.as_dict() for i in self.issues],
            },
        )


_NATIVE_LENGTH = re.compile(r"\(\s*(\d+)")


def _declared_length(col: ColumnInfo) -> int | None:
    if pa.types.is_decimal(col.arrow_type):
        return int(col.arrow_type.precision)
    m = _NATIVE_LENGTH.search(col.type or "")
    return int(m.group(1)) if m else None


def _error(code: str, zh: str, en: str, item: str | None, column: str | None) -> Issue:
    return Issue("error", code, zh, en, item=item, column=column)


def check_mapping(
    items: Sequence[ItemLike], table: TableInfo, columns: Sequence[Mapping[str, Any]]
) -> MappingCheck:
    """Check a mapping against the entry's items and the source's columns.

    Errors: a source column the table does not have (``mount_column_unknown``), an item the
    entry does not have (``mount_item_unknown``), an item or a column mapped twice, a field
    name that is invalid or repeated (``mount_field_invalid``), a type the column cannot feed
    (``mount_type_mismatch``). Warnings: a cast (``mount_type_cast``), a source length
    larger than the item's (``mount_length_overflow``). Unmapped items are listed.
    """
    by_item = {item.name: item for item in items}
    result = MappingCheck()
    seen_items: set[str] = set()
    seen_fields: set[str] = set()
    seen_columns: set[str] = set()
    known = {c.name: c for c in table.columns}
    if not columns:
        result.issues.append(
            _error(
                "mount_mapping_empty", "映射中没有任何列", "The mapping has no column", None, None
            )
        )
    for entry in columns:
        item_name = entry.get("item")
        column = str(entry.get("column") or "")
        fname = str(entry.get("field") or "")
        col = known.get(column)
        if column in seen_columns:
            # Pipelines map a changed source row back to one field per column.
            result.issues.append(
                _error(
                    "mount_column_duplicate",
                    f"源列“{column}”被映射了两次",
                    f"Source column {column!r} is mapped twice",
                    item_name,
                    column,
                )
            )
        seen_columns.add(column)
        if col is None:
            result.issues.append(
                _error(
                    "mount_column_unknown",
                    f"数据源 {table.name} 中没有列“{column}”",
                    f"The source {table.name} has no column {column!r}",
                    item_name,
                    column,
                )
            )
        item = None
        if item_name is not None:
            item = by_item.get(item_name)
            if item is None:
                result.issues.append(
                    _error(
                        "mount_item_unknown",
                        f"目录中没有信息项“{item_name}”",
                        f"The entry has no item {item_name!r}",
                        item_name,
                        column,
                    )
                )
            elif item_name in seen_items:
                result.issues.append(
                    _error(
                        "mount_item_duplicate",
                        f"信息项“{item_name}”被映射了两次",
                        f"Item {item_name!r} is mapped twice",
                        item_name,
                        column,
                    )
                )
            seen_items.add(item_name)
        if not FIELD_RE.fullmatch(fname) or fname in seen_fields:
            result.issues.append(
                _error(
                    "mount_field_invalid",
                    f"输出字段名“{fname}”不合法或重复（须为小写字母、数字、下划线）",
                    f"Field name {fname!r} is invalid or repeated (lower-case identifier)",
                    item_name,
                    column,
                )
            )
        seen_fields.add(fname)
        try:
            declared = parse_type(str(entry.get("type") or ""))
        except InvalidInput as exc:
            result.issues.append(
                _error("mount_type_unknown", exc.message_zh, exc.message_en, item_name, column)
            )
            continue
        if col is None:
            continue
        result.issues.extend(_type_issues(item, col, declared, item_name))
    result.unmapped = [item.name for item in items if item.name not in seen_items]
    return result


def _type_issues(
    item: ItemLike | None, col: ColumnInfo, declared: pa.DataType, item_name: str | None
) -> Iterable[Issue]:
    source = col.arrow_type
    if item is not None:
        fit = target_type(item.data_type, source)
        if fit is None:
            yield _error(
                "mount_type_mismatch",
                f"列“{col.name}”（{source}）不能填充{item.data_type}类型的信息项“{item.name}”",
                f"Column {col.name!r} ({source}) cannot feed item {item.name!r}"
                f" of type {item.data_type}",
                item.name,
                col.name,
            )
            return
        if not _item_accepts(item.data_type, declared):
            yield _error(
                "mount_type_mismatch",
                f"信息项“{item.name}”的输出类型 {declared} 与其类型 {item.data_type} 不符",
                f"Output type {declared} of item {item.name!r} does not match its"
                f" type {item.data_type}",
                item.name,
                col.name,
            )
            return
    if not _castable(source, declared):
        yield _error(
            "mount_type_mismatch",
            f"列“{col.name}”（{source}）不能转换为 {declared}",
            f"Column {col.name!r} ({source}) cannot be cast to {declared}",
            item_name,
            col.name,
        )
        return
    if lake_type(source) != declared and not (
        pa.types.is_string(declared) and _kind(source) == STRING
    ):
        yield Issue(
            "warning",
            "mount_type_cast",
            f"列“{col.name}”由 {source} 转换为 {declared}",
            f"Column {col.name!r} is cast from {source} to {declared}",
            item=item_name,
            column=col.name,
        )
    if item is not None and item.length:
        length = _declared_length(col)
        if length is not None and length > item.length:
            yield Issue(
                "warning",
                "mount_length_overflow",
                f"列“{col.name}”长度 {length} 超过信息项“{item.name}”的长度 {item.length}",
                f"Column {col.name!r} length {length} exceeds item {item.name!r}"
                f" length {item.length}",
                item=item.name,
                column=col.name,
            )


def _item_accepts(data_type: str, declared: pa.DataType) -> bool:
    """Whether an output type holds values of an item data type."""
    kind = _kind(declared)
    if data_type == DECIMAL:
        return kind in (INTEGER, DECIMAL)
    if data_type == STRING:
        return bool(pa.types.is_string(declared))
    return bool(kind == data_type)


def _castable(source: pa.DataType, target: pa.DataType) -> bool:
    """Whether Arrow has a cast from ``source`` to ``target`` and it keeps meaning."""
    if _kind(source) == STRING and _kind(target) not in (STRING, BINARY):
        return False
    try:
        pa.array([], type=source).cast(target)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return True


# -- runtime --------------------------------------------------------------------------------


def mount_schema(mount: HasMapping) -> pa.Schema:
    """The output (and lake table) schema of a mount: its fields in mapping order."""
    return pa.schema([pa.field(c["field"], parse_type(c["type"])) for c in mount.columns])


def source_columns(mount: HasMapping) -> list[str]:
    """The source columns a mount reads, in mapping order, each once."""
    return list(dict.fromkeys(str(c["column"]) for c in mount.columns))


def conform(batch: pa.RecordBatch | pa.Table, mount: HasMapping) -> pa.RecordBatch:
    """A source batch as the mount's output: select, rename to fields, cast.

    Raises ``mount_value_invalid`` naming the column when a value does not fit its type
    (an out-of-range integer, a too-precise decimal, invalid UTF-8).
    """
    if isinstance(batch, pa.Table):
        batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else _empty(batch)
    arrays = []
    fields = []
    for c in mount.columns:
        column, fname, t = str(c["column"]), str(c["field"]), parse_type(c["type"])
        idx = batch.schema.get_field_index(column)
        if idx < 0:
            raise InvalidInput(
                f"源数据缺少列“{column}”",
                f"The source data has no column {column!r}",
                code="mount_column_unknown",
                details={"column": column, "field": fname},
            )
        values = batch.column(idx)
        if values.type != t:
            try:
                values = values.cast(t, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                raise InvalidInput(
                    f"列“{column}”中有值无法转换为 {t}：{exc}",
                    f"Column {column!r} holds a value that cannot be cast to {t}: {exc}",
                    code="mount_value_invalid",
                    details={"column": column, "field": fname, "type": str(t), "reason": str(exc)},
                ) from exc
        arrays.append(values)
        fields.append(pa.field(fname, t))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def _empty(table: pa.Table) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=table.schema)
