"""Relational sources: MariaDB/MySQL (PyMySQL), PostgreSQL (psycopg 3) and SQLite.

Table names only ever come from discovery, and identifiers are quoted per dialect; filter values
travel as bound parameters. Reads stream through server-side cursors, one fetched chunk at a time,
so memory stays bounded by ``batch_rows`` whatever the table size.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import sqlite3
import time
import uuid
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pymysql
import pymysql.cursors
import sqlglot
from pymysql.constants import FIELD_TYPE
from sqlglot import exp
from sqlglot.errors import ParseError

from govdata.core.errors import InvalidInput, ServiceUnavailable
from govdata.core.sqlident import quote_identifier
from govdata.sources.base import (
    FILTER_OPS,
    ColumnInfo,
    Converter,
    Filter,
    SourceConnector,
    TableInfo,
    auth_failed,
    bad_filter,
    check_limit,
    database_missing,
    rows_to_batch,
    table_unknown,
    unreachable,
)
from govdata.sources.types import mariadb_arrow_type, postgres_arrow_type, sqlite_arrow_type

_TEXT_TYPES = (pa.string(), pa.large_string())
# The pseudo table a read-only query mount reads from (``read_query``).
QUERY_TABLE = "query"


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


class SqlConnector(SourceConnector):
    """Shared SQL generation and streaming; dialects supply connect, discover and quoting."""

    placeholder = "%s"
    target = ""
    # SQLGlot's name for the dialect: read-only queries are parsed as the source speaks.
    sql_dialect = ""
    # Driver errors that mean the source went away or broke off mid-operation.
    _lost: tuple[type[Exception], ...] = ()

    def __init__(self) -> None:
        self._tables: dict[str, TableInfo] | None = None

    # -- dialect hooks ---------------------------------------------------------------------

    @abstractmethod
    def _connect(self) -> Any: ...

    @abstractmethod
    def _discover(self, conn: Any) -> list[TableInfo]: ...

    @abstractmethod
    def _stream_cursor(self, conn: Any) -> Any: ...

    @abstractmethod
    def quote(self, identifier: str) -> str: ...

    @abstractmethod
    def _table_ref(self, info: TableInfo) -> str: ...

    @abstractmethod
    def _query_columns(self, cursor: Any) -> list[ColumnInfo]:
        """The columns of the result ``cursor`` just produced, with their Arrow types."""

    def _timed(self, conn: Any, sql: str, timeout: float | None) -> str:
        """Make the source itself stop ``sql`` after ``timeout`` seconds; returns the SQL to run."""
        return sql

    def _is_timeout(self, exc: Exception) -> bool:
        return False

    def _read_only(self, conn: Any) -> None:
        """Run what follows in a read-only transaction (a second lock behind ``check_query``)."""

    def _converter(self, col: ColumnInfo) -> Converter | None:
        if col.arrow_type == pa.bool_():
            return bool
        if col.arrow_type in _TEXT_TYPES:
            return _to_text
        return None

    # -- the interface ---------------------------------------------------------------------

    def test_connection(self) -> None:
        conn = self._connect()
        try:
            with self._guard():
                cur = conn.cursor()
                cur.execute("SELECT 1")
                cur.fetchall()
        finally:
            self._close(conn)

    def discover(self) -> list[TableInfo]:
        conn = self._connect()
        try:
            with self._guard():
                tables = self._discover(conn)
        finally:
            self._close(conn)
        index: dict[str, TableInfo] = {t.qualified_name: t for t in tables}
        names: dict[str, list[TableInfo]] = {}
        for t in tables:
            names.setdefault(t.name, []).append(t)
        for name, found in names.items():
            if len(found) == 1 and name not in index:
                index[name] = found[0]
        self._tables = index
        return tables

    def table(self, table: str) -> TableInfo:
        """The discovered table called ``table`` (``name`` or ``schema.name``)."""
        if self._tables is None:
            self.discover()
        assert self._tables is not None
        info = self._tables.get(table)
        if info is None:
            raise table_unknown(table)
        return info

    def preview(self, table: str, limit: int = 20) -> pa.Table:
        info = self.table(table)
        check_limit(limit)
        sql, params, schema, converters = self._select(info, None, None)
        if info.primary_key:
            sql += " ORDER BY " + ", ".join(self._ident(c) for c in info.primary_key)
        sql += f" LIMIT {int(limit)}"
        conn = self._connect()
        try:
            with self._guard():
                cur = conn.cursor()
                cur.execute(sql, params)
                rows = cur.fetchall()
        finally:
            self._close(conn)
        return pa.Table.from_batches([rows_to_batch(rows, schema, converters)], schema=schema)

    def read_batches(
        self,
        table: str,
        columns: Sequence[str] | None = None,
        where: Sequence[Filter] | None = None,
        batch_rows: int = 50_000,
        limit: int | None = None,
        timeout: float | None = None,
        order_by: Sequence[str] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """As ``SourceConnector.read_batches``; ``timeout`` (seconds) has the source stop the
        statement (``source_timeout``), protecting it from a read that runs too long;
        ``order_by`` (columns, ascending) sorts at the source, for keyset paging."""
        # Validate now, not at the first next(): a bad request fails where it is made.
        info = self.table(table)
        check_limit(batch_rows, maximum=1_000_000)
        sql, params, schema, converters = self._select(info, columns, where)
        sql += self._order(info, order_by)
        if limit is not None:
            sql += f" LIMIT {check_limit(limit, maximum=100_000_000)}"
        return self._stream(sql, params, schema, converters, batch_rows, timeout)

    def check_query(self, sql: str) -> str:
        """``sql`` without a trailing semicolon if it is one read-only SELECT; else InvalidInput."""
        return check_read_only(sql, self.sql_dialect)

    def query_info(self, sql: str, *, timeout: float | None = None) -> TableInfo:
        """The result columns of a read-only query (run with ``LIMIT 0``), as a pseudo table."""
        body = self.check_query(sql)
        conn = self._connect()
        try:
            self._read_only(conn)
            with self._guard():
                cur = conn.cursor()
                cur.execute(self._timed(conn, self._wrapped(body, "*") + " LIMIT 0", timeout))
                cur.fetchall()
                columns = self._query_columns(cur)
                cur.close()
        finally:
            self._close(conn)
        return TableInfo(schema=QUERY_TABLE, name=QUERY_TABLE, columns=tuple(columns))

    def read_query(
        self,
        sql: str,
        *,
        columns: Sequence[str] | None = None,
        where: Sequence[Filter] | None = None,
        limit: int | None = None,
        timeout: float | None = None,
        batch_rows: int = 50_000,
        info: TableInfo | None = None,
        order_by: Sequence[str] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Stream the result of one read-only SELECT (checked with SQLGlot).

        The query runs as written inside ``SELECT <columns> FROM (<sql>) q WHERE … LIMIT n``,
        in a read-only transaction, so projection, filters and the row cap reach the source;
        ``timeout`` (seconds) has the source stop it (``source_timeout``). ``info`` is the
        query's ``query_info`` when the caller has it (saves a round trip).
        """
        body = self.check_query(sql)
        check_limit(batch_rows, maximum=1_000_000)
        info = info or self.query_info(body, timeout=timeout)
        _sql, params, schema, converters = self._select(info, columns, where)
        projection = ", ".join(self._ident(c) for c in schema.names)
        text = self._wrapped(body, projection)
        clauses, _params = self._where(info, where or ())
        if clauses:
            text += " WHERE " + " AND ".join(clauses)
        text += self._order(info, order_by)
        if limit is not None:
            text += f" LIMIT {check_limit(limit, maximum=100_000_000)}"
        return self._stream(text, params, schema, converters, batch_rows, timeout, read_only=True)

    def _order(self, info: TableInfo, order_by: Sequence[str] | None) -> str:
        if not order_by:
            return ""
        return " ORDER BY " + ", ".join(self._ident(info.column(c).name) for c in order_by)

    def _wrapped(self, body: str, projection: str) -> str:
        if self.placeholder == "%s":
            # Formatted by the driver with bound parameters: a literal % must be doubled.
            body = body.replace("%", "%%")
        return f"SELECT {projection} FROM ({body}) AS {self.quote('q')}"  # noqa: S608 (checked)

    def key_range(self, table: str, column: str) -> tuple[Any, Any] | None:
        """The smallest and largest value of ``column`` (an indexed key), None when empty.

        Full loads split a large table into key ranges read in parallel; MIN and MAX of
        an indexed column cost the source two index lookups, not a scan.
        """
        info = self.table(table)
        # No bound parameters here, so no %-doubling either.
        col = self.quote(info.column(column).name)
        ref = self._table_ref(info)
        conn = self._connect()
        try:
            with self._guard():
                cur = conn.cursor()
                cur.execute(f"SELECT MIN({col}), MAX({col}) FROM {ref}")  # noqa: S608
                low, high = cur.fetchone()
                cur.close()
        finally:
            self._close(conn)
        return None if low is None else (low, high)

    # -- internals -------------------------------------------------------------------------

    def _stream(
        self,
        sql: str,
        params: tuple[Any, ...],
        schema: pa.Schema,
        converters: list[Converter | None],
        batch_rows: int,
        timeout: float | None = None,
        *,
        read_only: bool = False,
    ) -> Iterator[pa.RecordBatch]:
        conn = self._connect()
        cur = None
        try:
            if read_only:
                self._read_only(conn)
            with self._guard():
                sql = self._timed(conn, sql, timeout)
                cur = self._stream_cursor(conn)
                cur.execute(sql, params)
            while True:
                with self._guard():
                    rows = cur.fetchmany(batch_rows)
                if not rows:
                    break
                yield rows_to_batch(rows, schema, converters)
            with self._guard():
                cur.close()
            cur = None
        finally:
            if cur is not None:
                self._abandon(cur)
            self._close(conn)

    def _abandon(self, cursor: Any) -> None:
        """Drop a cursor whose stream was cut short (consumer stopped, or the source failed)."""
        with suppress(Exception):
            cursor.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except self._lost as exc:
            if self._is_timeout(exc):
                raise source_timeout(self.target) from exc
            raise unreachable(self.target, str(exc).strip() or type(exc).__name__) from exc

    def _close(self, conn: Any) -> None:
        # Closing a connection the server already dropped must not hide the real error.
        with suppress(Exception):
            conn.close()

    def _ident(self, identifier: str) -> str:
        quoted = self.quote(identifier)
        # With bound parameters the driver formats the query, so a literal % must be doubled.
        return quoted.replace("%", "%%") if self.placeholder == "%s" else quoted

    def _select(
        self, info: TableInfo, columns: Sequence[str] | None, where: Sequence[Filter] | None
    ) -> tuple[str, tuple[Any, ...], pa.Schema, list[Converter | None]]:
        if columns is not None and not columns:
            raise bad_filter("至少选择一列", "select at least one column", columns)
        cols = list(info.columns) if columns is None else [info.column(c) for c in columns]
        schema = info.arrow_schema([c.name for c in cols])
        converters = [self._converter(c) for c in cols]
        ref = self._table_ref(info)
        if self.placeholder == "%s":
            ref = ref.replace("%", "%%")
        # Identifiers are discovered names, quoted; values go through bound parameters.
        sql = f"SELECT {', '.join(self._ident(c.name) for c in cols)} FROM {ref}"  # noqa: S608
        clauses, params = self._where(info, where or ())
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return sql, tuple(params), schema, converters

    def _where(self, info: TableInfo, where: Sequence[Filter]) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        ph = self.placeholder
        for cond in where:
            if not isinstance(cond, (tuple, list)) or len(cond) not in (2, 3):
                raise bad_filter(
                    "每个条件须为 (列, 运算符, 值)", "each condition is (column, op, value)", cond
                )
            column, op = cond[0], str(cond[1]).upper().strip()
            value = cond[2] if len(cond) == 3 else None
            if not isinstance(column, str):
                raise bad_filter("列名须为字符串", "the column must be a string", cond)
            col = self._ident(info.column(column).name)
            if op not in FILTER_OPS:
                raise bad_filter(f"不支持运算符 {op}", f"unsupported operator {op}", cond)
            if op in ("IS NULL", "IS NOT NULL"):
                clauses.append(f"{col} {op}")
            elif op == "IN":
                if not isinstance(value, (list, tuple, set, frozenset)) or not value:
                    raise bad_filter("IN 需要非空列表", "IN needs a non-empty list", cond)
                clauses.append(f"{col} IN ({', '.join([ph] * len(value))})")
                params.extend(value)
            else:
                if value is None:
                    raise bad_filter("空值请用 IS NULL", "compare with NULL via IS NULL", cond)
                clauses.append(f"{col} {op} {ph}")
                params.append(value)
        return clauses, params


def _blank(text: str | None) -> str | None:
    return text or None


class MariaDBConnector(SqlConnector):
    """A MariaDB or MySQL database, read through PyMySQL."""

    _lost = (pymysql.err.OperationalError, pymysql.err.InterfaceError)
    sql_dialect = "mysql"

    def __init__(
        self,
        *,
        host: str,
        database: str,
        user: str,
        password: str = "",
        port: int = 3306,
        connect_timeout: float = 5.0,
        read_timeout: float | None = 600.0,
    ) -> None:
        super().__init__()
        self.host, self.port, self.database = host, port, database
        self.user, self.password, self.connect_timeout = user, password, connect_timeout
        self.read_timeout = read_timeout
        self.target = f"mysql://{host}:{port}/{database}"

    def _connect(self) -> Any:
        try:
            conn = pymysql.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password,
                database=self.database,
                connect_timeout=self.connect_timeout,
                # PyMySQL reads the server greeting under read_timeout, not connect_timeout:
                # a host that accepts TCP but never answers would otherwise hang the caller.
                read_timeout=self.connect_timeout,
                charset="utf8mb4",
            )
        except pymysql.err.OperationalError as exc:
            errno = exc.args[0] if exc.args else None
            if errno in (1044, 1045, 1698):
                raise auth_failed(self.target, self.user) from exc
            if errno == 1049:
                raise database_missing(self.target, self.database) from exc
            raise unreachable(self.target, str(exc.args[-1]) if exc.args else str(exc)) from exc
        # PyMySQL applies this before every read; per read, so long streams are not cut short.
        conn._read_timeout = self.read_timeout
        try:
            with self._guard(), conn.cursor() as cur:
                # TIMESTAMP columns come back in the session zone; read them as UTC.
                cur.execute("SET time_zone = '+00:00'")
        except BaseException:
            self._close(conn)
            raise
        return conn

    def quote(self, identifier: str) -> str:
        return quote_identifier(identifier, "mysql")

    def _table_ref(self, info: TableInfo) -> str:
        return f"{self.quote(info.schema)}.{self.quote(info.name)}"

    def _stream_cursor(self, conn: Any) -> Any:
        return conn.cursor(pymysql.cursors.SSCursor)

    def _timed(self, conn: Any, sql: str, timeout: float | None) -> str:
        if timeout is None:
            return sql
        # The server kills the statement itself (error 1969), wherever the time goes.
        return f"SET STATEMENT max_statement_time={float(timeout):.3f} FOR {sql}"

    def _is_timeout(self, exc: Exception) -> bool:
        return bool(exc.args) and exc.args[0] == _MARIADB_STATEMENT_TIMEOUT

    def _read_only(self, conn: Any) -> None:
        with self._guard(), conn.cursor() as cur:
            cur.execute("START TRANSACTION READ ONLY")

    def _query_columns(self, cursor: Any) -> list[ColumnInfo]:
        fields = cursor._result.fields if cursor._result is not None else []
        return [_mariadb_result_column(f) for f in fields]

    def _abandon(self, cursor: Any) -> None:
        # An unbuffered result still marked active tries to drain the dead socket again when
        # garbage-collected; the connection is closed next, so there is nothing left to drain.
        result = getattr(cursor, "_result", None)
        if result is not None:
            result.unbuffered_active = False
        super()._abandon(cursor)

    def _converter(self, col: ColumnInfo) -> Converter | None:
        if pa.types.is_date(col.arrow_type) or pa.types.is_timestamp(col.arrow_type):
            # Zero dates ('0000-00-00') come back as strings: they are no date at all.
            return _drop_strings
        return super()._converter(col)

    def _discover(self, conn: Any) -> list[TableInfo]:
        db = self.database
        with conn.cursor() as cur:
            cur.execute(
                "SELECT TABLE_NAME, TABLE_TYPE, TABLE_ROWS, TABLE_COMMENT"
                " FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME",
                (db,),
            )
            tables = cur.fetchall()
            cur.execute(
                "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION,"
                " NUMERIC_SCALE, IS_NULLABLE, COLUMN_COMMENT FROM information_schema.COLUMNS"
                " WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION",
                (db,),
            )
            columns = cur.fetchall()
            cur.execute(
                "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE"
                " WHERE TABLE_SCHEMA = %s AND CONSTRAINT_NAME = 'PRIMARY'"
                " ORDER BY TABLE_NAME, ORDINAL_POSITION",
                (db,),
            )
            keys = cur.fetchall()
        pks: dict[str, list[str]] = {}
        for tname, cname in keys:
            pks.setdefault(tname, []).append(cname)
        cols: dict[str, list[ColumnInfo]] = {}
        for tname, cname, dtype, ctype, prec, scale, nullable, comment in columns:
            cols.setdefault(tname, []).append(
                ColumnInfo(
                    name=cname,
                    type=ctype,
                    arrow_type=mariadb_arrow_type(dtype, ctype, prec, scale),
                    nullable=nullable == "YES",
                    is_key=cname in pks.get(tname, ()),
                    comment=_blank(comment),
                )
            )
        out = []
        for tname, ttype, rows, comment in tables:
            is_view = ttype == "VIEW"
            out.append(
                TableInfo(
                    schema=db,
                    name=tname,
                    columns=tuple(cols.get(tname, ())),
                    primary_key=tuple(pks.get(tname, ())),
                    row_estimate=None if rows is None else int(rows),
                    comment=None if is_view else _blank(comment),
                )
            )
        return out


def _drop_strings(value: Any) -> Any:
    return None if isinstance(value, str) else value


_MARIADB_STATEMENT_TIMEOUT = 1969  # ER_STATEMENT_TIMEOUT: max_statement_time exceeded
_MARIADB_BINARY_CHARSET = 63
_UNSIGNED_FLAG = 32
_MARIADB_RESULT_TYPES = {
    FIELD_TYPE.TINY: "tinyint",
    FIELD_TYPE.SHORT: "smallint",
    FIELD_TYPE.INT24: "mediumint",
    FIELD_TYPE.LONG: "int",
    FIELD_TYPE.LONGLONG: "bigint",
    FIELD_TYPE.FLOAT: "float",
    FIELD_TYPE.DOUBLE: "double",
    FIELD_TYPE.DECIMAL: "decimal",
    FIELD_TYPE.NEWDECIMAL: "decimal",
    FIELD_TYPE.TIMESTAMP: "timestamp",
    FIELD_TYPE.DATETIME: "datetime",
    FIELD_TYPE.DATE: "date",
    FIELD_TYPE.NEWDATE: "date",
    FIELD_TYPE.TIME: "time",
    FIELD_TYPE.YEAR: "year",
    FIELD_TYPE.BIT: "bit",
    FIELD_TYPE.JSON: "json",
    FIELD_TYPE.ENUM: "enum",
    FIELD_TYPE.SET: "set",
}
_MARIADB_BYTES = frozenset(
    {
        FIELD_TYPE.VARCHAR,
        FIELD_TYPE.VAR_STRING,
        FIELD_TYPE.STRING,
        FIELD_TYPE.TINY_BLOB,
        FIELD_TYPE.MEDIUM_BLOB,
        FIELD_TYPE.LONG_BLOB,
        FIELD_TYPE.BLOB,
    }
)


def _mariadb_result_column(field: Any) -> ColumnInfo:
    """A result-set column as discovery would describe it, from the protocol's field packet."""
    code, flags, scale = field.type_code, field.flags, field.scale
    unsigned = bool(flags & _UNSIGNED_FLAG)
    if code in _MARIADB_BYTES:
        data_type = "varbinary" if field.charsetnr == _MARIADB_BINARY_CHARSET else "varchar"
    else:
        data_type = _MARIADB_RESULT_TYPES.get(code, "varchar")
    precision = None
    if data_type == "decimal":
        # The wire length counts the sign and the decimal point besides the digits.
        precision = field.length - (1 if scale else 0) - (0 if unsigned else 1)
    column_type = data_type
    if data_type == "tinyint" and field.length == 1:
        column_type = "tinyint(1)"
    if unsigned:
        column_type += " unsigned"
    return ColumnInfo(
        name=field.name,
        type=column_type,
        arrow_type=mariadb_arrow_type(data_type, column_type, precision, scale),
        nullable=True,
    )


_PG_AUTH_MESSAGES = (
    "authentication failed",
    "no password supplied",
    "no pg_hba.conf entry",
    'role "',  # role "x" does not exist
)

# System schemas (pg_catalog, pg_toast, information_schema) are not the department's data.
_PG_TABLES = """
SELECT n.nspname, c.relname, c.relkind, c.reltuples, obj_description(c.oid, 'pg_class')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
ORDER BY 1, 2
"""
_PG_COLUMNS = """
SELECT n.nspname, c.relname, a.attname, t.typname, a.atttypmod, NOT a.attnotnull,
       col_description(c.oid, a.attnum)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
ORDER BY 1, 2, a.attnum
"""
_PG_KEYS = """
SELECT n.nspname, c.relname, a.attname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
WHERE i.indisprimary AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
ORDER BY 1, 2, array_position(i.indkey::int2[], a.attnum)
"""


class PostgresConnector(SqlConnector):
    """A PostgreSQL database, read through psycopg 3 with named (server-side) cursors."""

    _lost = (psycopg.OperationalError, psycopg.InterfaceError)
    sql_dialect = "postgres"

    def __init__(
        self,
        *,
        host: str,
        database: str,
        user: str,
        password: str | None = None,
        port: int = 5432,
        connect_timeout: float = 5.0,
    ) -> None:
        super().__init__()
        self.host, self.port, self.database = host, port, database
        self.user, self.password, self.connect_timeout = user, password, connect_timeout
        self.target = f"postgresql://{host}:{port}/{database}"

    def _connect(self) -> Any:
        try:
            return psycopg.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password,
                dbname=self.database,
                # libpq takes whole seconds; 1 is its minimum meaningful value.
                connect_timeout=max(1, math.ceil(self.connect_timeout)),
                options="-c TimeZone=UTC",
            )
        except psycopg.OperationalError as exc:
            text = str(exc)
            state = getattr(exc, "sqlstate", None)
            # libpq reports most connect failures without a SQLSTATE: read its message.
            if state in ("28P01", "28000") or any(m in text for m in _PG_AUTH_MESSAGES):
                raise auth_failed(self.target, self.user) from exc
            if state == "3D000" or f'database "{self.database}" does not exist' in text:
                raise database_missing(self.target, self.database) from exc
            raise unreachable(self.target, text.strip().splitlines()[-1] if text else "") from exc

    def quote(self, identifier: str) -> str:
        return quote_identifier(identifier, "postgresql")

    def _table_ref(self, info: TableInfo) -> str:
        return f"{self.quote(info.schema)}.{self.quote(info.name)}"

    def _stream_cursor(self, conn: Any) -> Any:
        return conn.cursor(name=f"govdata_read_{uuid.uuid4().hex}")

    def _timed(self, conn: Any, sql: str, timeout: float | None) -> str:
        if timeout is not None:
            # Session-wide on this connection, which serves this one read only: it bounds
            # the DECLARE and every FETCH of the server-side cursor.
            with conn.cursor() as cur:
                cur.execute(f"SET statement_timeout = {max(1, round(timeout * 1000))}")
        return sql

    def _is_timeout(self, exc: Exception) -> bool:
        return isinstance(exc, psycopg.errors.QueryCanceled)

    def _read_only(self, conn: Any) -> None:
        conn.read_only = True

    def _query_columns(self, cursor: Any) -> list[ColumnInfo]:
        types = cursor.connection.adapters.types
        out = []
        for col in cursor.description or ():
            info = types.get(col.type_code)
            typname = info.name if info is not None else "text"
            out.append(
                ColumnInfo(
                    name=col.name,
                    type=typname,
                    arrow_type=postgres_arrow_type(typname, col.precision, col.scale),
                    nullable=True,
                )
            )
        return out

    _NATIVE_TEXT = frozenset({"varchar", "bpchar", "text", "name"})

    def _converter(self, col: ColumnInfo) -> Converter | None:
        if col.arrow_type in _TEXT_TYPES and col.type in self._NATIVE_TEXT:
            return None
        return super()._converter(col)

    def _discover(self, conn: Any) -> list[TableInfo]:
        with conn.cursor() as cur:
            cur.execute(_PG_TABLES)
            tables = cur.fetchall()
            cur.execute(_PG_COLUMNS)
            columns = cur.fetchall()
            cur.execute(_PG_KEYS)
            keys = cur.fetchall()
        conn.rollback()
        pks: dict[tuple[str, str], list[str]] = {}
        for schema, tname, cname in keys:
            pks.setdefault((schema, tname), []).append(cname)
        cols: dict[tuple[str, str], list[ColumnInfo]] = {}
        for schema, tname, cname, typname, typmod, nullable, comment in columns:
            prec = scale = None
            if typname == "numeric" and typmod >= 4:
                prec, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
            cols.setdefault((schema, tname), []).append(
                ColumnInfo(
                    name=cname,
                    type=typname,
                    arrow_type=postgres_arrow_type(typname, prec, scale),
                    nullable=bool(nullable),
                    is_key=cname in pks.get((schema, tname), ()),
                    comment=_blank(comment),
                )
            )
        return [
            TableInfo(
                schema=schema,
                name=tname,
                columns=tuple(cols.get((schema, tname), ())),
                primary_key=tuple(pks.get((schema, tname), ())),
                # reltuples is -1 until the table is first vacuumed or analyzed: unknown.
                row_estimate=None if kind == "v" or reltuples < 0 else round(reltuples),
                comment=_blank(comment),
            )
            for schema, tname, kind, reltuples, comment in tables
        ]


class SQLiteConnector(SqlConnector):
    """A SQLite database file, opened read-only."""

    placeholder = "?"
    _lost = (sqlite3.OperationalError,)
    sql_dialect = "sqlite"

    def __init__(self, path: str | Path, *, timeout: float = 5.0) -> None:
        super().__init__()
        self.path = Path(path)
        self.timeout = timeout
        self.target = f"sqlite:///{self.path}"

    def _connect(self) -> Any:
        if not self.path.is_file():
            raise database_missing(self.target, str(self.path))
        try:
            conn = sqlite3.connect(
                self.path.resolve().as_uri() + "?mode=ro", uri=True, timeout=self.timeout
            )
        except sqlite3.Error as exc:
            raise unreachable(self.target, str(exc)) from exc
        try:
            # sqlite3 opens any file; only the first read tells whether it is a database.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise database_missing(self.target, str(self.path)) from exc
        return conn

    def quote(self, identifier: str) -> str:
        return quote_identifier(identifier, "sqlite")

    def _table_ref(self, info: TableInfo) -> str:
        return self.quote(info.name)

    def _stream_cursor(self, conn: Any) -> Any:
        # sqlite3 steps the statement lazily: fetchmany never materializes the whole result.
        return conn.cursor()

    def _timed(self, conn: Any, sql: str, timeout: float | None) -> str:
        if timeout is not None:
            deadline = time.monotonic() + timeout
            # Called every N virtual-machine steps; a true result interrupts the statement.
            conn.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        return sql

    def _is_timeout(self, exc: Exception) -> bool:
        return "interrupted" in str(exc)

    def _query_columns(self, cursor: Any) -> list[ColumnInfo]:
        # A result column of SQLite has no declared type; text is the one that holds any value.
        return [
            ColumnInfo(name=d[0], type="", arrow_type=pa.string(), nullable=True)
            for d in cursor.description or ()
        ]

    def _converter(self, col: ColumnInfo) -> Converter | None:
        t = col.arrow_type
        if pa.types.is_decimal(t):
            quantum = Decimal(1).scaleb(-t.scale)
            return lambda v: Decimal(str(v)).quantize(quantum)
        if pa.types.is_date(t):
            return _sqlite_date
        if pa.types.is_timestamp(t):
            return _sqlite_timestamp
        return super()._converter(col)

    def _discover(self, conn: Any) -> list[TableInfo]:
        tables = conn.execute(
            "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')"
            " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        ).fetchall()
        out = []
        for name, _kind in tables:
            info = conn.execute(f"PRAGMA table_info({self.quote(name)})").fetchall()
            pk = [r[1] for r in sorted((r for r in info if r[5] > 0), key=lambda r: r[5])]
            columns = tuple(
                ColumnInfo(
                    name=cname,
                    type=ctype or "",
                    arrow_type=sqlite_arrow_type(ctype),
                    nullable=not notnull and cname not in pk,
                    is_key=cname in pk,
                )
                for _cid, cname, ctype, notnull, _default, _pk in info
            )
            # SQLite keeps no statistics worth the name; counting is the honest estimate.
            count_sql = f"SELECT count(*) FROM {self.quote(name)}"  # noqa: S608 (quoted name)
            (count,) = conn.execute(count_sql).fetchone()
            out.append(
                TableInfo(
                    schema="main",
                    name=name,
                    columns=columns,
                    primary_key=tuple(pk),
                    row_estimate=int(count),
                )
            )
        return out


def source_timeout(target: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"数据源 {target} 的查询超时，已被中止",
        f"The query at the data source {target} ran too long and was stopped",
        code="source_timeout",
        details={"target": target},
    )


# Statement kinds refused anywhere in a query mount's SQL.
_WRITES: tuple[type[Any], ...] = (
    exp.DML,
    exp.DDL,
    exp.Command,
    exp.Into,
    exp.Lock,
    exp.Set,
    exp.Use,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Copy,
    exp.Pragma,
    exp.Attach,
    exp.Detach,
)


def _not_allowed(reason_zh: str, reason_en: str, sql: str) -> InvalidInput:
    return InvalidInput(
        f"只允许一条只读的 SELECT 查询：{reason_zh}",
        f"Only one read-only SELECT is allowed: {reason_en}",
        code="sql_not_allowed",
        details={"sql": sql[:2000]},
    )


def check_read_only(sql: str, dialect: str) -> str:
    """``sql`` (without a trailing semicolon) if it is exactly one read-only SELECT.

    Refuses several statements, anything but SELECT / WITH … SELECT / set operations, and
    writes, ``SELECT … INTO``, ``FOR UPDATE`` and session changes nested anywhere.
    """
    log = logging.getLogger("sqlglot")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        statements = [t for t in sqlglot.parse(sql, read=dialect or None) if t is not None]
    except ParseError as exc:
        raise _not_allowed(f"语法错误 {exc}", f"syntax error {exc}", sql) from exc
    finally:
        log.setLevel(level)
    if len(statements) != 1:
        raise _not_allowed(
            f"收到 {len(statements)} 条语句", f"got {len(statements)} statements", sql
        )
    tree = statements[0]
    if not isinstance(tree, exp.Select | exp.SetOperation):
        kind = type(tree).__name__.upper()
        raise _not_allowed(f"{kind} 不是 SELECT", f"{kind} is not a SELECT", sql)
    for node in tree.walk():
        if isinstance(node, _WRITES):
            kind = type(node).__name__.upper()
            raise _not_allowed(f"包含 {kind}", f"contains {kind}", sql)
    return sql.strip().rstrip(";").strip()


def _sqlite_date(value: Any) -> Any:
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def _sqlite_timestamp(value: Any) -> Any:
    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
        return parsed
    return value
