"""What every source connector offers, and the shapes discovery returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from govdata.core.errors import InvalidInput, NotFound, ServiceUnavailable

# A structured filter condition: (column, op, value). Never raw SQL.
Filter = tuple[str, str, Any]
FILTER_OPS = frozenset({"=", "<", "<=", ">", ">=", "IN", "IS NULL", "IS NOT NULL"})

Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str  # the native type as the source database spells it
    arrow_type: pa.DataType
    nullable: bool
    is_key: bool = False
    comment: str | None = None


@dataclass(frozen=True)
class TableInfo:
    schema: str
    name: str
    columns: tuple[ColumnInfo, ...]
    primary_key: tuple[str, ...] = ()
    row_estimate: int | None = None
    comment: str | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> ColumnInfo:
        for col in self.columns:
            if col.name == name:
                return col
        raise InvalidInput(
            f"表 {self.name} 中没有列 {name}",
            f"Table {self.name} has no column {name}",
            code="source_column_unknown",
            details={"table": self.qualified_name, "column": name},
        )

    def arrow_schema(self, columns: Sequence[str] | None = None) -> pa.Schema:
        cols = self.columns if columns is None else [self.column(c) for c in columns]
        return pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in cols])


class SourceConnector(ABC):
    """One source system. Every method opens its own connection and closes it."""

    @abstractmethod
    def test_connection(self) -> None:
        """Connect and run a trivial query; raise a GovDataError saying what failed."""

    @abstractmethod
    def discover(self) -> list[TableInfo]:
        """Tables and views with columns, native and Arrow types, keys, estimates, comments."""

    @abstractmethod
    def preview(self, table: str, limit: int = 20) -> pa.Table:
        """The first ``limit`` rows of a discovered table."""

    @abstractmethod
    def read_batches(
        self,
        table: str,
        columns: Sequence[str] | None = None,
        where: Sequence[Filter] | None = None,
        batch_rows: int = 50_000,
        limit: int | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Stream a table as record batches of at most ``batch_rows`` rows, in bounded memory.

        ``columns`` (projection), ``where`` and ``limit`` are applied at the source where it
        can (SQL sources always), so a narrow read moves only what was asked for.
        """


def unreachable(target: str, reason: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"无法连接数据源 {target}：{reason}",
        f"Cannot reach the data source {target}: {reason}",
        code="source_unreachable",
        details={"target": target, "reason": reason},
    )


def auth_failed(target: str, user: str) -> InvalidInput:
    return InvalidInput(
        f"数据源 {target} 拒绝了用户 {user} 的登录：用户名或密码错误",
        f"The data source {target} rejected user {user}: wrong user name or password",
        code="source_auth_failed",
        details={"target": target, "user": user},
    )


def database_missing(target: str, database: str) -> InvalidInput:
    return InvalidInput(
        f"数据源 {target} 上不存在数据库 {database}",
        f"The data source {target} has no database {database}",
        code="source_database_missing",
        details={"target": target, "database": database},
    )


def table_unknown(table: str) -> NotFound:
    return NotFound(
        f"数据源中没有表 {table}",
        f"The data source has no table {table}",
        code="source_table_unknown",
        details={"table": table},
    )


def bad_filter(reason_zh: str, reason_en: str, condition: Any) -> InvalidInput:
    return InvalidInput(
        f"过滤条件不合法：{reason_zh}",
        f"Invalid filter: {reason_en}",
        code="source_filter_invalid",
        details={"condition": repr(condition)},
    )


def check_limit(limit: int, *, maximum: int = 10_000) -> int:
    if not 1 <= limit <= maximum:
        raise InvalidInput(
            f"行数上限须在 1 到 {maximum} 之间",
            f"limit must be between 1 and {maximum}",
            code="source_limit_invalid",
            details={"limit": limit},
        )
    return limit


def rows_to_batch(
    rows: Sequence[Sequence[Any]],
    schema: pa.Schema,
    converters: Sequence[Converter | None],
) -> pa.RecordBatch:
    """Turn one fetched chunk of row tuples into a record batch of ``schema``."""
    arrays = []
    for i, field in enumerate(schema):
        values = [row[i] for row in rows]
        conv = converters[i]
        try:
            if conv is not None:
                values = [None if v is None else conv(v) for v in values]
            arrays.append(pa.array(values, type=field.type))
        except (pa.ArrowException, ValueError, TypeError, ArithmeticError) as exc:
            raise InvalidInput(
                f"列 {field.name} 中有值不符合其类型 {field.type}",
                f"Column {field.name} holds a value that does not fit its type {field.type}",
                code="source_value_invalid",
                details={"column": field.name, "type": str(field.type), "reason": str(exc)},
            ) from exc
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
