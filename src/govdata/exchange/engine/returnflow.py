# ruff: noqa: S608 - SQL here is built from identifiers passed through the target's quote()
# and the fixed delivery table name; every value is a bound parameter.
"""Return flow (回流): deliver a mount's lake table down to a region's or department's database.

Pipeline options: ``{"target_source_id": <a registered mariadb/postgresql source>,
"target_table": "...", "create_table": true}`` (plus ``batch_rows`` and ``commit_rows``).

The first run copies the lake table as it is at one version; later runs apply the change
feed since the version last delivered: inserts and update post-images are upserted by the
mount's key (MariaDB ``INSERT … ON DUPLICATE KEY UPDATE``, PostgreSQL ``INSERT … ON
CONFLICT … DO UPDATE``), deletes delete by key, one lake version after the other. A commit
that replaced the whole lake table (an overwrite) is delivered as a fresh copy of the
version it made, and so is everything when the change feed is gone (vacuumed).

Where the delivery stands is kept IN THE TARGET DATABASE, in ``govdata_delivery
(pipeline_id, lake_version, delivered_at)``, written in the same transaction as the rows
it covers (brief contract 4 for return flow): a crash rolls both back together, so the
target always holds exactly the lake table at the version its row names, and the next run
continues from there, neither losing nor repeating a change.
"""

from __future__ import annotations

import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pymysql

from govdata.core.clock import now
from govdata.core.errors import Conflict, GovDataError, InvalidInput, NotFound
from govdata.core.sqlident import quote_identifier
from govdata.exchange.engine.context import PipelineFacts, RunContext
from govdata.exchange.engine.full import Stopped
from govdata.lake.tables import Lake
from govdata.sources.base import auth_failed, database_missing, unreachable
from govdata.sources.registry import SourceFacts, connection_params, source_facts

DELIVERY_TABLE = "govdata_delivery"
DEFAULT_BATCH_ROWS = 5_000
# A transaction is committed at the first lake version boundary past this many rows, so a
# long backlog is delivered in steps that each survive a crash.
DEFAULT_COMMIT_ROWS = 100_000
MAX_PARAMS = 30_000
TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
UPSERTS = pa.array(["insert", "update_postimage"])
# Commits that replace the table's content: delivered as a copy of the version they made.
# Within any other commit a key is inserted, updated or deleted at most once, so its
# changes apply in any order.
_REPLACING = {("WRITE", "Overwrite"), ("CREATE OR REPLACE TABLE", None), ("RESTORE", None)}


def _option_error(name: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(
        f"回流管道参数 {name} 无效：{zh}",
        f"Return flow option {name} is invalid: {en}",
        code="return_option_invalid",
        details={"option": name},
    )


@dataclass(frozen=True)
class ReturnOptions:
    target_source_id: str
    target_table: str
    create_table: bool
    batch_rows: int
    commit_rows: int

    @classmethod
    def of(cls, pipeline: PipelineFacts) -> ReturnOptions:
        source_id = pipeline.options.get("target_source_id")
        if not isinstance(source_id, str) or not source_id:
            raise _option_error(
                "target_source_id", "须指定目标数据源", "a target source is required"
            )
        table = pipeline.options.get("target_table")
        if not isinstance(table, str) or not TABLE_RE.fullmatch(table):
            raise _option_error(
                "target_table",
                "须为字母或下划线开头、仅含字母数字下划线的表名",
                "it must be a table name of letters, digits and underscores",
            )
        batch_rows = int(pipeline.option("batch_rows", DEFAULT_BATCH_ROWS))
        commit_rows = int(pipeline.option("commit_rows", DEFAULT_COMMIT_ROWS))
        if batch_rows < 1 or commit_rows < 1:
            raise _option_error("batch_rows", "须为正整数", "it must be a positive integer")
        return cls(
            target_source_id=source_id,
            target_table=table,
            create_table=bool(pipeline.option("create_table", False)),
            batch_rows=batch_rows,
            commit_rows=commit_rows,
        )


# -- the receiving database ----------------------------------------------------------------


def _rejected(target: str, reason: str) -> InvalidInput:
    return InvalidInput(
        f"回流目标数据库 {target} 拒绝了写入：{reason}",
        f"The return flow target {target} refused the write: {reason}",
        code="return_target_rejected",
        details={"target": target, "reason": reason},
    )


class Target(ABC):
    """One receiving database and the delivery table in it, over one connection."""

    # Driver errors meaning the connection is gone rather than the statement refused.
    _lost: tuple[type[Exception], ...]
    _failed: type[Exception]
    naive_timestamps = False
    ph = "%s"

    def __init__(self, params: dict[str, Any], table: str) -> None:
        self.params = params
        self.table = table
        self.target = ""
        self.conn: Any = None

    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def quote(self, name: str) -> str: ...

    @abstractmethod
    def qualified(self, name: str) -> str: ...

    @abstractmethod
    def sql_type(self, dtype: pa.DataType, key: bool) -> str: ...

    @abstractmethod
    def existing_columns(self) -> set[str] | None:
        """Lower-cased column names of the target table, None if it does not exist."""

    @abstractmethod
    def delivery_ddl(self) -> str: ...

    @abstractmethod
    def upsert_sql(self, columns: Sequence[str], keys: Sequence[str]) -> str: ...

    @abstractmethod
    def delivered_upsert_sql(self) -> str: ...

    def close(self) -> None:
        if self.conn is not None:
            # Closing a connection the server already dropped may fail as well.
            with suppress(Exception):
                self.conn.close()
            self.conn = None

    @contextmanager
    def guard(self) -> Iterator[None]:
        try:
            yield
        except self._lost as exc:
            raise unreachable(self.target, str(exc).strip().splitlines()[-1]) from exc
        except self._failed as exc:
            raise _rejected(self.target, str(exc).strip().splitlines()[0]) from exc

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        with self.guard(), self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else cur.rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.guard(), self.conn.cursor() as cur:
            cur.executemany(sql, rows)

    def commit(self) -> None:
        with self.guard():
            self.conn.commit()

    def rollback(self) -> None:
        if self.conn is not None:
            try:
                self.conn.rollback()
            except (*self._lost, self._failed):
                self.close()

    # -- structure (before any data: DDL commits on its own in MariaDB) -----------------

    def prepare(self, schema: pa.Schema, keys: Sequence[str], *, create: bool) -> bool:
        """Make sure the delivery table and the target table with every lake column exist;
        True when the target table was created just now."""
        self.execute(self.delivery_ddl())
        self.commit()
        existing = self.existing_columns()
        if existing is None:
            if not create:
                raise NotFound(
                    f"回流目标表 {self.table} 不存在，且管道未设置自动建表",
                    f"The return flow target table {self.table} does not exist and the "
                    "pipeline does not create it",
                    code="return_target_missing",
                    details={"table": self.table},
                )
            columns = [
                f"{self.quote(f.name)} {self.sql_type(f.type, f.name in keys)}"
                + (" NOT NULL" if f.name in keys else "")
                for f in schema
            ]
            pk = ", ".join(self.quote(k) for k in keys)
            self.execute(
                f"CREATE TABLE {self.qualified(self.table)} "
                f"({', '.join(columns)}, PRIMARY KEY ({pk}))"
            )
            self.commit()
            return True
        missing = [f for f in schema if f.name.lower() not in existing]
        if missing and not create:
            raise InvalidInput(
                f"回流目标表 {self.table} 缺少列：{[f.name for f in missing]}",
                f"The return flow target table {self.table} lacks columns "
                f"{[f.name for f in missing]}",
                code="return_target_columns_missing",
                details={"table": self.table, "columns": [f.name for f in missing]},
            )
        # Columns the lake gained since the table was made (schema drift) are added.
        for f in missing:
            self.execute(
                f"ALTER TABLE {self.qualified(self.table)} "
                f"ADD COLUMN {self.quote(f.name)} {self.sql_type(f.type, False)}"
            )
        self.commit()
        return False

    # -- delivery state --------------------------------------------------------------------

    def delivered(self, pipeline_id: str, *, lock: bool = False) -> int | None:
        rows = self.execute(
            f"SELECT lake_version FROM {self.qualified(DELIVERY_TABLE)} WHERE pipeline_id = "
            f"{self.ph}" + (" FOR UPDATE" if lock else ""),
            (pipeline_id,),
        )
        return int(rows[0][0]) if rows else None

    def set_delivered(self, pipeline_id: str, version: int) -> None:
        at = now()
        self.execute(
            self.delivered_upsert_sql(),
            (pipeline_id, version, at.replace(tzinfo=None) if self.naive_timestamps else at),
        )

    # -- rows ------------------------------------------------------------------------------

    def rows(self, batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
        columns = []
        for col in batch.columns:
            if self.naive_timestamps and pa.types.is_timestamp(col.type) and col.type.tz:
                # Arrow keeps UTC instants; dropping the zone leaves the UTC wall clock,
                # which is what the session (time_zone +00:00) reads it as.
                col = col.cast(pa.timestamp(col.type.unit))
            columns.append(col.to_pylist())
        return list(zip(*columns, strict=True))

    def upsert(self, batch: pa.RecordBatch, keys: Sequence[str]) -> None:
        if batch.num_rows:
            self.executemany(self.upsert_sql(batch.schema.names, keys), self.rows(batch))

    def delete(self, keys_batch: pa.RecordBatch) -> int:
        # PostgreSQL takes at most 65,535 parameters in one statement.
        step = max(1, MAX_PARAMS // max(1, keys_batch.num_columns))
        return sum(
            self._delete(keys_batch.slice(offset, step))
            for offset in range(0, keys_batch.num_rows, step)
        )

    def _delete(self, keys_batch: pa.RecordBatch) -> int:
        names = keys_batch.schema.names
        rows = self.rows(keys_batch)
        if len(names) == 1:
            column = self.quote(names[0])
            marks = ", ".join([self.ph] * len(rows))
            params: list[Any] = [r[0] for r in rows]
        else:
            column = "(" + ", ".join(self.quote(n) for n in names) + ")"
            one = "(" + ", ".join([self.ph] * len(names)) + ")"
            marks = ", ".join([one] * len(rows))
            params = [v for r in rows for v in r]
        count = self.execute(
            f"DELETE FROM {self.qualified(self.table)} WHERE {column} IN ({marks})", params
        )
        return int(count)

    def delete_all(self) -> int:
        # DELETE rather than TRUNCATE: TRUNCATE would commit by itself in MariaDB.
        return int(self.execute(f"DELETE FROM {self.qualified(self.table)}"))


class MariaDBTarget(Target):
    _lost = (pymysql.err.OperationalError, pymysql.err.InterfaceError)
    _failed = pymysql.err.MySQLError
    naive_timestamps = True

    def connect(self) -> None:
        p = self.params
        self.target = f"mysql://{p['host']}:{p['port']}/{p['database']}"
        try:
            self.conn = pymysql.connect(
                host=p["host"],
                port=int(p["port"]),
                user=p["user"],
                password=p.get("password") or "",
                database=p["database"],
                connect_timeout=10,
                charset="utf8mb4",
                autocommit=False,
            )
        except pymysql.err.OperationalError as exc:
            errno = exc.args[0] if exc.args else None
            if errno in (1044, 1045, 1698):
                raise auth_failed(self.target, p["user"]) from exc
            if errno == 1049:
                raise database_missing(self.target, p["database"]) from exc
            raise unreachable(self.target, str(exc.args[-1]) if exc.args else str(exc)) from exc
        self.execute("SET time_zone = '+00:00'")
        self.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")

    def quote(self, name: str) -> str:
        return quote_identifier(name, "mysql")

    def qualified(self, name: str) -> str:
        return self.quote(name)

    def sql_type(self, dtype: pa.DataType, key: bool) -> str:
        return _mariadb_type(dtype, key)

    def existing_columns(self) -> set[str] | None:
        rows = self.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND table_name = %s",
            (self.table,),
        )
        return {str(r[0]).lower() for r in rows} or None

    def delivery_ddl(self) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {DELIVERY_TABLE} ("
            "pipeline_id VARCHAR(36) NOT NULL PRIMARY KEY, "
            "lake_version BIGINT NOT NULL, "
            "delivered_at DATETIME(6) NOT NULL) ENGINE=InnoDB"
        )

    def upsert_sql(self, columns: Sequence[str], keys: Sequence[str]) -> str:
        names = ", ".join(self.quote(c) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        rest = [c for c in columns if c not in keys] or list(keys)
        update = ", ".join(f"{self.quote(c)} = VALUES({self.quote(c)})" for c in rest)
        return (
            f"INSERT INTO {self.qualified(self.table)} ({names}) VALUES ({marks}) "
            f"ON DUPLICATE KEY UPDATE {update}"
        )

    def delivered_upsert_sql(self) -> str:
        return (
            f"INSERT INTO {DELIVERY_TABLE} (pipeline_id, lake_version, delivered_at) "
            "VALUES (%s, %s, %s) ON DUPLICATE KEY UPDATE "
            "lake_version = VALUES(lake_version), delivered_at = VALUES(delivered_at)"
        )


class PostgresTarget(Target):
    _lost = (psycopg.OperationalError, psycopg.InterfaceError)
    _failed = psycopg.Error

    def __init__(self, params: dict[str, Any], table: str) -> None:
        super().__init__(params, table)
        self.schema = str(params.get("schema") or "public")

    def connect(self) -> None:
        p = self.params
        self.target = f"postgresql://{p['host']}:{p['port']}/{p['database']}"
        try:
            self.conn = psycopg.connect(
                host=p["host"],
                port=int(p["port"]),
                user=p["user"],
                password=p.get("password") or None,
                dbname=p["database"],
                connect_timeout=10,
                options="-c TimeZone=UTC",
            )
        except psycopg.OperationalError as exc:
            text = str(exc)
            if getattr(exc, "sqlstate", None) in ("28P01", "28000") or "authentication" in text:
                raise auth_failed(self.target, p["user"]) from exc
            if f'database "{p["database"]}" does not exist' in text:
                raise database_missing(self.target, p["database"]) from exc
            raise unreachable(self.target, text.strip().splitlines()[-1] if text else "") from exc

    def quote(self, name: str) -> str:
        return quote_identifier(name, "postgresql")

    def qualified(self, name: str) -> str:
        return f"{self.quote(self.schema)}.{self.quote(name)}"

    def sql_type(self, dtype: pa.DataType, key: bool) -> str:
        return _postgres_type(dtype)

    def existing_columns(self) -> set[str] | None:
        rows = self.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            (self.schema, self.table),
        )
        return {str(r[0]).lower() for r in rows} or None

    def delivery_ddl(self) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {self.qualified(DELIVERY_TABLE)} ("
            "pipeline_id VARCHAR(36) PRIMARY KEY, "
            "lake_version BIGINT NOT NULL, "
            "delivered_at TIMESTAMPTZ NOT NULL)"
        )

    def upsert_sql(self, columns: Sequence[str], keys: Sequence[str]) -> str:
        names = ", ".join(self.quote(c) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        conflict = ", ".join(self.quote(k) for k in keys)
        rest = [c for c in columns if c not in keys]
        action = (
            "DO UPDATE SET "
            + ", ".join(f"{self.quote(c)} = EXCLUDED.{self.quote(c)}" for c in rest)
            if rest
            else "DO NOTHING"
        )
        return (
            f"INSERT INTO {self.qualified(self.table)} ({names}) VALUES ({marks}) "
            f"ON CONFLICT ({conflict}) {action}"
        )

    def delivered_upsert_sql(self) -> str:
        return (
            f"INSERT INTO {self.qualified(DELIVERY_TABLE)} "
            "(pipeline_id, lake_version, delivered_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (pipeline_id) DO UPDATE SET "
            "lake_version = EXCLUDED.lake_version, delivered_at = EXCLUDED.delivered_at"
        )


class SQLiteTarget(Target):
    """A department's own SQLite database file (small offices, the demo's consumer)."""

    _lost = ()
    _failed = sqlite3.Error
    ph = "?"

    def connect(self) -> None:
        path = Path(str(self.params["path"]))
        self.target = f"sqlite:{path.name}"
        if not path.parent.is_dir():
            raise unreachable(self.target, f"folder {path.parent} does not exist")
        try:
            self.conn = sqlite3.connect(path, timeout=30)
        except sqlite3.Error as exc:
            raise unreachable(self.target, str(exc)) from exc

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        with self.guard():
            cur = self.conn.execute(sql, params or ())
            rows = cur.fetchall() if cur.description else cur.rowcount
            cur.close()
            return rows

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.guard():
            self.conn.executemany(sql, rows).close()

    def delivered(self, pipeline_id: str, *, lock: bool = False) -> int | None:
        if lock and not self.conn.in_transaction:
            # SQLite has no row locks: the write lock, taken now, keeps other writers out.
            self.execute("BEGIN IMMEDIATE")
        return super().delivered(pipeline_id)

    def rows(self, batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
        return [tuple(_sqlite_value(v) for v in row) for row in super().rows(batch)]

    def quote(self, name: str) -> str:
        return quote_identifier(name, "sqlite")

    def qualified(self, name: str) -> str:
        return self.quote(name)

    def sql_type(self, dtype: pa.DataType, key: bool) -> str:
        if pa.types.is_boolean(dtype) or pa.types.is_integer(dtype):
            return "INTEGER"
        if pa.types.is_floating(dtype):
            return "REAL"
        if pa.types.is_decimal(dtype):
            return "NUMERIC"
        if pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype):
            return "BLOB"
        if (
            pa.types.is_string(dtype)
            or pa.types.is_large_string(dtype)
            or pa.types.is_string_view(dtype)
            or pa.types.is_date(dtype)
            or pa.types.is_timestamp(dtype)
        ):
            return "TEXT"
        raise _unsupported_type(dtype)

    def existing_columns(self) -> set[str] | None:
        rows = self.execute(f"PRAGMA table_info({self.quote(self.table)})")
        return {str(r[1]).lower() for r in rows} or None

    def delivery_ddl(self) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {DELIVERY_TABLE} ("
            "pipeline_id TEXT NOT NULL PRIMARY KEY, "
            "lake_version INTEGER NOT NULL, "
            "delivered_at TEXT NOT NULL)"
        )

    def upsert_sql(self, columns: Sequence[str], keys: Sequence[str]) -> str:
        names = ", ".join(self.quote(c) for c in columns)
        marks = ", ".join(["?"] * len(columns))
        conflict = ", ".join(self.quote(k) for k in keys)
        rest = [c for c in columns if c not in keys]
        action = (
            "DO UPDATE SET "
            + ", ".join(f"{self.quote(c)} = excluded.{self.quote(c)}" for c in rest)
            if rest
            else "DO NOTHING"
        )
        return (
            f"INSERT INTO {self.qualified(self.table)} ({names}) VALUES ({marks}) "
            f"ON CONFLICT ({conflict}) {action}"
        )

    def delivered_upsert_sql(self) -> str:
        return (
            f"INSERT INTO {DELIVERY_TABLE} (pipeline_id, lake_version, delivered_at) "
            "VALUES (?, ?, ?) ON CONFLICT (pipeline_id) DO UPDATE SET "
            "lake_version = excluded.lake_version, delivered_at = excluded.delivered_at"
        )


def _sqlite_value(value: Any) -> Any:
    # SQLite stores what it can bind: decimals as text (no float rounding), times as ISO text.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _unsupported_type(dtype: pa.DataType) -> InvalidInput:
    return InvalidInput(
        f"湖表列类型 {dtype} 无法回流到数据库",
        f"Lake column type {dtype} cannot be delivered to a database",
        code="return_type_unsupported",
        details={"type": str(dtype)},
    )


def _mariadb_type(t: pa.DataType, key: bool) -> str:
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return "SMALLINT"
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return "INT"
    if pa.types.is_int64(t) or pa.types.is_uint32(t):
        return "BIGINT"
    if pa.types.is_uint64(t):
        return "BIGINT UNSIGNED"
    if pa.types.is_float32(t):
        return "FLOAT"
    if pa.types.is_float64(t):
        return "DOUBLE"
    if pa.types.is_decimal(t):
        return f"DECIMAL({min(int(t.precision), 65)}, {int(t.scale)})"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "DATETIME(6)"
    # A primary key column needs a bounded length in InnoDB.
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "VARCHAR(255)" if key else "MEDIUMTEXT"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "VARBINARY(255)" if key else "LONGBLOB"
    raise _unsupported_type(t)


def _postgres_type(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return "SMALLINT"
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return "INTEGER"
    if pa.types.is_int64(t) or pa.types.is_uint32(t):
        return "BIGINT"
    if pa.types.is_uint64(t):
        return "NUMERIC(20, 0)"
    if pa.types.is_float32(t):
        return "REAL"
    if pa.types.is_float64(t):
        return "DOUBLE PRECISION"
    if pa.types.is_decimal(t):
        return f"NUMERIC({int(t.precision)}, {int(t.scale)})"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "TEXT"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "BYTEA"
    raise _unsupported_type(t)


TARGETS: dict[str, type[Target]] = {
    "mariadb": MariaDBTarget,
    "postgresql": PostgresTarget,
    "sqlite": SQLiteTarget,
}


def open_target(source: SourceFacts, params: dict[str, Any], table: str) -> Target:
    cls = TARGETS.get(source.kind)
    if cls is None:
        raise InvalidInput(
            f"回流目标须为 MariaDB、PostgreSQL 或 SQLite 数据源，{source.name} 是 {source.kind}",
            f"A return flow target must be a MariaDB, PostgreSQL or SQLite source; "
            f"{source.name} is {source.kind}",
            code="return_target_unsupported",
            details={"source_id": source.id, "kind": source.kind},
        )
    target = cls(params, table)
    target.connect()
    return target


# -- the delivery --------------------------------------------------------------------------


class ChangesGone(Exception):
    """The change feed of a version to deliver is no longer readable (vacuumed, or the log
    was cleaned): the delivery starts again from a copy."""


@dataclass(frozen=True)
class Step:
    version: int
    copy: bool  # deliver a copy of the table at ``version`` rather than its changes


# Shared with subscription deliveries (sharing/delivery.py), which walk the lake the same way.


def delivery_steps(lake: Lake, lake_table: str, delivered: int | None, version: int) -> list[Step]:
    """What brings a target from ``delivered`` to ``version``: the changes of each version
    after it, or a copy (of the newest replacing commit, or of ``version`` when nothing was
    delivered yet or the log no longer reaches back)."""
    if delivered is None or delivered > version:
        # Never delivered, or the lake table was made anew since: start from a copy.
        return [Step(version, copy=True)]
    latest = lake.table(lake_table).version()
    commits = {
        int(c["version"]): c for c in lake.history(lake_table, latest - delivered) if "version" in c
    }
    steps: list[Step] = []
    for v in range(delivered + 1, version + 1):
        commit = commits.get(v)
        if commit is None:
            return [Step(version, copy=True)]
        operation = commit.get("operation")
        mode = (commit.get("operationParameters") or {}).get("mode")
        replacing = (operation, mode) in _REPLACING or (operation, None) in _REPLACING
        if replacing:
            steps = []
        steps.append(Step(v, copy=replacing))
    return steps


def version_changes(lake: Lake, lake_table: str, version: int) -> Iterator[pa.RecordBatch]:
    """The change feed of one version; ChangesGone when its files are no longer there
    (vacuum keeps only what recent versions need), which shows only while reading."""
    try:
        reader = lake.changes(lake_table, version, version)
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            yield batch
    except GovDataError as exc:
        if exc.code in ("lake_changes_unavailable", "lake_version_not_found"):
            raise ChangesGone() from exc
        raise
    except (pa.ArrowInvalid, OSError) as exc:
        raise ChangesGone() from exc


class _Delivery:
    def __init__(
        self,
        rc: RunContext,
        target: Target,
        lake_table: str,
        keys: list[str],
        fields: list[str],
        options: ReturnOptions,
    ) -> None:
        self.rc = rc
        self.target = target
        self.lake_table = lake_table
        self.keys = keys
        self.fields = fields
        self.options = options
        # The version the target holds as of its last commit (None: nothing yet).
        self.committed: int | None = None
        self.pending_rows = 0
        self.open = False

    def plan(self, delivered: int | None, version: int) -> list[Step]:
        return delivery_steps(self.rc.lake, self.lake_table, delivered, version)

    def begin(self) -> None:
        """Open a transaction, holding the delivery row: nobody else delivers meanwhile."""
        found = self.target.delivered(self.rc.pipeline_id, lock=True)
        if found != self.committed:
            raise Conflict(
                "回流目标已被其他运行更新，本次未写入",
                "The return flow target was advanced by another run; nothing was written",
                code="return_delivery_moved",
                details={"expected": self.committed, "found": found},
            )
        self.open = True

    def commit(self, version: int) -> None:
        self.target.set_delivered(self.rc.pipeline_id, version)
        self.target.commit()
        self.open = False
        self.committed = version
        self.pending_rows = 0
        self.rc.record_commit(version, {"lake_version": version})
        self.rc.save_run_state()

    def copy(self, version: int) -> None:
        deleted = self.target.delete_all()
        self.rc.add_counts(deleted=deleted)
        reader = self.rc.lake.scan(
            self.lake_table, version=version, batch_size=self.options.batch_rows
        )
        for batch in reader:
            self.target.upsert(batch.select(self.fields), self.keys)
            n = batch.num_rows
            self.pending_rows += n
            self.rc.add_counts(read=n, written=n, inserted=n)

    def apply(self, version: int) -> None:
        for big in self._changes(version):
            for offset in range(0, big.num_rows, self.options.batch_rows):
                self._apply_batch(big.slice(offset, self.options.batch_rows))

    def _changes(self, version: int) -> Iterator[pa.RecordBatch]:
        return version_changes(self.rc.lake, self.lake_table, version)

    def _apply_batch(self, batch: pa.RecordBatch) -> None:
        kind = batch.column("_change_type")
        deletes = batch.filter(pc.equal(kind, "delete")).select(self.keys)
        upserts = batch.filter(pc.is_in(kind, value_set=UPSERTS)).select(self.fields)
        removed = self.target.delete(deletes)
        self.target.upsert(upserts, self.keys)
        inserted = pc.sum(pc.equal(kind, "insert")).as_py() or 0
        n = deletes.num_rows + upserts.num_rows
        self.pending_rows += n
        self.rc.add_counts(
            read=batch.num_rows,
            written=upserts.num_rows + removed,
            inserted=inserted,
            updated=upserts.num_rows - inserted,
            deleted=removed,
        )

    def run(self, delivered: int | None, version: int, *, new_table: bool) -> None:
        self.committed = delivered
        # A table made just now (the first run, or someone dropped it) needs everything.
        steps = [Step(version, copy=True)] if new_table else self.plan(delivered, version)
        try:
            self._deliver(steps)
        except ChangesGone:
            self.target.rollback()
            self.open = False
            self.rc.log(
                "warning",
                f"湖表 {self.lake_table} 的变更记录已不可读，改为整表回流（版本 {version}）"
                f" / the change feed of {self.lake_table} is gone; delivering a copy of "
                f"version {version}",
            )
            self._deliver([Step(version, copy=True)])

    def _deliver(self, steps: list[Step]) -> None:
        total = len(steps)
        for i, step in enumerate(steps, start=1):
            if not self.open:
                self.begin()
            if step.copy:
                self.copy(step.version)
            else:
                self.apply(step.version)
            last = i == total
            if last or self.pending_rows >= self.options.commit_rows:
                self.commit(step.version)
                self.rc.progress(i, total, f"lake version {step.version}")
                if not last and self.rc.should_stop():
                    # The target holds a whole version; the next run continues from it.
                    raise Stopped()


def _target_source(rc: RunContext, source_id: str) -> SourceFacts:
    with rc.db.transaction() as session:
        source = source_facts(session, source_id)
    if source is None:
        raise NotFound(
            "回流目标数据源不存在",
            "The return flow target source does not exist",
            code="source_not_found",
            details={"source_id": source_id},
        )
    return source


def run_return(rc: RunContext) -> None:
    """Deliver the mount's lake table to the target database: a copy first, changes after."""
    options = ReturnOptions.of(rc.pipeline)
    lake_table = rc.mount.lake_table
    if lake_table is None or not rc.lake.exists(lake_table):
        raise InvalidInput(
            "该挂载还没有湖表数据，无法回流",
            "The mount has no lake table yet; there is nothing to deliver",
            code="return_lake_missing",
            details={"mount_id": rc.mount.id},
        )
    keys = list(rc.mount.key_columns)
    if not keys:
        raise InvalidInput(
            "回流须按主键写入，该挂载未设置主键列",
            "Return flow writes by key; the mount has no key columns",
            code="return_keys_missing",
            details={"mount_id": rc.mount.id},
        )
    source = _target_source(rc, options.target_source_id)
    params = connection_params(rc.settings, source)
    # Everything below delivers this version: later commits wait for the next run.
    pinned = rc.lake.table(lake_table)
    version = pinned.version()
    schema = pa.schema(pinned.schema().to_arrow())
    fields = list(schema.names)
    target = open_target(source, params, options.target_table)
    try:
        new_table = target.prepare(schema, keys, create=options.create_table)
        delivered = target.delivered(rc.pipeline_id)
        target.commit()
        if delivered == version and not new_table:
            rc.log(
                "info",
                f"湖表 {lake_table} 版本 {version} 已回流，无新变更"
                f" / version {version} of {lake_table} already delivered; nothing new",
            )
            rc.record_commit(version, {"lake_version": version})
            return
        rc.log(
            "info",
            f"回流 {lake_table} 到 {target.target}/{options.target_table}："
            + ("整表复制" if delivered is None else f"版本 {delivered} 之后的变更")
            + f"，至版本 {version} / delivering {lake_table} to "
            f"{target.target}/{options.target_table}: "
            + ("a full copy" if delivered is None else f"the changes after version {delivered}")
            + f", up to version {version}",
        )
        delivery = _Delivery(rc, target, lake_table, keys, fields, options)
        try:
            delivery.run(delivered, version, new_table=new_table)
        except BaseException:
            target.rollback()
            raise
    finally:
        target.close()
