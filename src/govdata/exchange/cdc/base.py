"""What every change-data-capture reader returns, and how a batch of changes becomes lake writes.

A reader turns a source's change log (MariaDB binlog, PostgreSQL pgoutput) into batches of
row changes. A batch's ``position`` is where the source log stands after the last complete
transaction in the batch, so data merged from a batch and the position written in the same
lake commit always agree: a restart from that position neither skips nor repeats a
transaction. Changes that arrive before a transaction's commit may travel in a batch whose
position is still the previous commit's (only when a transaction is larger than the reader's
split limit); replaying them after a crash is harmless because merges are idempotent upserts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NamedTuple, Protocol

import pyarrow as pa

from govdata.core.errors import Conflict, InvalidInput

Op = Literal["insert", "update", "delete", "truncate"]
Position = dict[str, Any]

# A transaction larger than this many changes is handed over in pieces (bounded memory); the
# pieces before its commit carry the previous commit's position.
DEFAULT_SPLIT_ROWS = 100_000
POSITION_LOST = "cdc_position_lost"


@dataclass(frozen=True, slots=True)
class Change:
    """One row change. ``row`` is the whole row after the change; for a delete, at least the
    key columns. ``old`` is the row before an update when the source sends it (it tells a
    changed key). ``truncate`` (no row) empties the table at that point of the stream."""

    op: Op
    row: dict[str, Any]
    old: dict[str, Any] | None = None


@dataclass(frozen=True)
class ChangeBatch:
    changes: list[Change]
    position: Position
    # Complete source transactions that touched the watched table(s) in this batch.
    transactions: int = 0
    # When the newest change in the batch was committed at the source (latency measurement).
    committed_at: dt.datetime | None = None

    def __len__(self) -> int:
        return len(self.changes)


class CdcUnavailable(Conflict):
    """The source cannot feed change-data-capture as configured; the reason says why."""

    code = "cdc_unavailable"


def cdc_unavailable(target: str, reason: str, reason_zh: str) -> CdcUnavailable:
    return CdcUnavailable(
        f"数据源 {target} 不支持实时变更捕获：{reason_zh}（{reason}）",
        f"Change data capture is not available on {target}: {reason}",
        details={"target": target, "reason": reason},
    )


def stream_lost(target: str, reason: str) -> Conflict:
    return Conflict(
        f"数据源 {target} 的变更日志已不可用：{reason}",
        f"The change log of {target} is no longer available: {reason}",
        code=POSITION_LOST,
        details={"target": target, "reason": reason},
    )


class ChangeStream(Protocol):
    """A change log of one source table, read from a position, in batches."""

    def check(self) -> None:
        """Raise ``CdcUnavailable`` (with the reason) when CDC cannot work on this source."""

    def start_position(self) -> Position:
        """The current source position. Take it BEFORE a full load: changes after it are then
        replayed on top of the load, and replays are idempotent upserts."""

    def read(
        self, position: Position, *, max_rows: int = 10_000, max_wait_seconds: float = 0.2
    ) -> ChangeBatch:
        """Changes after ``position``. Blocks up to ``max_wait_seconds`` for the first one;
        returns an empty batch at the same position when nothing happened."""

    def acknowledge(self, position: Position) -> None:
        """Tell the source everything up to ``position`` is safely in the lake. May be called
        from another thread than ``read`` (it takes effect at the reader's next step)."""

    def close(self) -> None: ...

    def drop(self) -> None:
        """Remove what the stream keeps on the source (slot, publication) for good."""


class Collapsed(NamedTuple):
    upserts: pa.Table
    deletes: pa.Table  # key columns only
    # The batch emptied the table: apply ``upserts`` as the table's whole new content.
    truncated: bool


def collapse(batch: ChangeBatch, key_fields: Sequence[str], schema: pa.Schema) -> Collapsed:
    """The net effect of a batch per key: the last change of a key wins.

    Insert then delete → delete; delete then insert → upsert. Rows are converted to
    ``schema`` (whose names are the keys of ``Change.row``); deletes keep only the keys.
    """
    if not key_fields:
        raise InvalidInput(
            "实时变更捕获须指定主键列",
            "Change data capture needs key columns",
            code="cdc_keys_missing",
        )
    last: dict[tuple[Any, ...], Change] = {}
    truncated = False
    for change in batch.changes:
        if change.op == "truncate":
            last.clear()
            truncated = True
            continue
        key = _key(change.row, key_fields, change.op)
        if change.op == "update" and change.old is not None:
            old_key = _key(change.old, key_fields, change.op, missing_ok=True)
            if old_key is not None and old_key != key:
                # The key itself changed: the row under the old key is gone.
                last.pop(old_key, None)
                last[old_key] = Change("delete", change.old)
        # Re-inserting keeps the key at its newest place in the order of arrival.
        last.pop(key, None)
        last[key] = change
    upserts = [c.row for c in last.values() if c.op != "delete"]
    deletes = [c.row for c in last.values() if c.op == "delete"]
    key_schema = pa.schema([schema.field(k) for k in key_fields])
    return Collapsed(rows_to_table(upserts, schema), rows_to_table(deletes, key_schema), truncated)


def _key(
    row: Mapping[str, Any], key_fields: Sequence[str], op: str, *, missing_ok: bool = False
) -> Any:
    try:
        return tuple(_key_value(row[k]) for k in key_fields)
    except KeyError as exc:
        if missing_ok:
            return None
        raise InvalidInput(
            f"变更记录缺少主键列 {exc.args[0]}",
            f"A change lacks the key column {exc.args[0]}",
            code="cdc_key_missing",
            details={"column": exc.args[0], "op": op},
        ) from exc


def _key_value(value: Any) -> Any:
    # Keys must hash the same whichever form a source delivered them in (bytes vs str).
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


# -- values → Arrow ---------------------------------------------------------------------------


def rows_to_table(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows as dicts (by column name) to a table of ``schema``; absent columns become null."""
    arrays = []
    for f in schema:
        conv = converter_for(f.type)
        values = [row.get(f.name) for row in rows]
        try:
            arrays.append(pa.array([None if v is None else conv(v) for v in values], f.type))
        except (pa.ArrowException, ValueError, TypeError, ArithmeticError, InvalidOperation) as e:
            raise InvalidInput(
                f"变更数据列 {f.name} 中有值不符合其类型 {f.type}",
                f"Column {f.name} of a change holds a value that does not fit {f.type}",
                code="mount_value_invalid",
                details={"column": f.name, "type": str(f.type), "reason": str(e)},
            ) from e
    return pa.Table.from_arrays(arrays, schema=schema)


def converter_for(t: pa.DataType) -> Callable[[Any], Any]:
    """How a value a change reader produced becomes one that ``pa.array(..., t)`` takes."""
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _to_text
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return _to_bytes
    if pa.types.is_boolean(t):
        return _to_bool
    if pa.types.is_integer(t):
        return _to_int
    if pa.types.is_floating(t):
        return float
    if pa.types.is_decimal(t):
        return _to_decimal
    if pa.types.is_timestamp(t):
        return _to_timestamp if t.tz else _to_naive_utc
    if pa.types.is_date(t):
        return _to_date
    if pa.types.is_time(t):
        return _to_time
    return _same


def _same(value: Any) -> Any:
    return value


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, (set, frozenset)):
        return ",".join(sorted(str(v) for v in value))
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("t", "true", "1", "y", "yes"):
            return True
        if lowered in ("f", "false", "0", "n", "no"):
            return False
        raise ValueError(f"not a boolean: {value!r}")
    return bool(value)


def _to_int(value: Any) -> int:
    if isinstance(value, (bool, int)):
        return int(value)
    if isinstance(value, (bytes, bytearray)):
        return int.from_bytes(value, "big")
    if isinstance(value, str) and set(value) <= {"0", "1"} and len(value) > 1:
        return int(value, 2)  # BIT(n) as the binlog library spells it
    number = Decimal(value) if not isinstance(value, float) else value
    if number != int(number):
        raise ValueError(f"not an integer: {value!r}")
    return int(number)


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def _to_timestamp(value: Any) -> dt.datetime:
    stamp = _to_datetime(value)
    if stamp.tzinfo is None:
        # Sources hand over zone-less instants in UTC (binlog TIMESTAMP, session zone UTC).
        return stamp.replace(tzinfo=dt.UTC)
    return stamp


def _to_naive_utc(value: Any) -> dt.datetime:
    stamp = _to_datetime(value)
    if stamp.tzinfo is not None:
        return stamp.astimezone(dt.UTC).replace(tzinfo=None)
    return stamp


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    raise TypeError(f"not a date/time: {value!r}")


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value  # type: ignore[no-any-return]


def _to_time(value: Any) -> dt.time:
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
        if not 0 <= seconds < 86_400:
            raise ValueError(f"time of day out of range: {value}")
        return (dt.datetime.min + value).time()
    if isinstance(value, str):
        return dt.time.fromisoformat(value)
    return value  # type: ignore[no-any-return]


def merge_frame(upserts: pa.Table, deletes: pa.Table, flag: str) -> pa.Table:
    """Upserts and deletes as one table for ``Lake.merge(..., delete_column=flag)``: a batch
    lands in ONE lake commit. Delete rows carry their keys and nulls elsewhere."""
    n = deletes.num_rows
    columns = [
        deletes.column(f.name) if f.name in deletes.column_names else pa.nulls(n, f.type)
        for f in upserts.schema
    ]
    removed = pa.Table.from_arrays(columns, schema=upserts.schema)
    return pa.concat_tables(
        [
            upserts.append_column(flag, pa.array([False] * upserts.num_rows, pa.bool_())),
            removed.append_column(flag, pa.array([True] * n, pa.bool_())),
        ]
    )
