"""Change data capture from PostgreSQL logical replication (``pgoutput``), via psycopg2.

psycopg 3 has no replication protocol; psycopg2's ``LogicalReplicationConnection`` does.
Each stream owns a publication of its table and a logical slot, both named after the
stream (``govdata_<pipeline short id>``). The publication is created before the slot: the
output plugin looks publications up as of each decoded change, so one created later would
be missing for changes between the two.

pgoutput (protocol version 1) is decoded here: the only PyPI decoders are unmaintained
(pypgoutput, last release 2022) or brand new and single-release, and the protocol is
small and documented ("Logical Replication Message Formats"). Values arrive as text and
are converted by the column's type OID.

A position is ``{"lsn": "X/Y"}``, the end LSN of the last complete transaction. Restarting
at a position asks the server for transactions committed after it (the server also never
goes back before the slot's confirmed flush point), and transactions ending at or before it
are skipped here as well. ``acknowledge`` confirms the flush point to the slot — only after
the lake commit — so the server can recycle older WAL.

``TRUNCATE`` of the table arrives as a ``truncate`` change: the pipeline replaces the lake
table's content with the rows that follow it (a reload in one commit), rather than failing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import select
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras

from govdata.core.errors import Conflict, GovDataError
from govdata.core.sqlident import quote_identifier
from govdata.exchange.cdc.base import (
    DEFAULT_SPLIT_ROWS,
    Change,
    ChangeBatch,
    Position,
    cdc_unavailable,
    stream_lost,
)
from govdata.sources.base import auth_failed, unreachable

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


# -- LSNs --------------------------------------------------------------------------------------


def lsn_to_int(text: str) -> int:
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def lsn_to_text(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


# -- values ------------------------------------------------------------------------------------


def _bool(text: str) -> bool:
    return text == "t"


def _numeric(text: str) -> Decimal | None:
    value = Decimal(text)
    # NaN and infinities have no decimal column to land in.
    return value if value.is_finite() else None


def _date(text: str) -> dt.date | None:
    if text in ("infinity", "-infinity") or text.endswith(" BC"):
        return None
    return dt.date.fromisoformat(text)


def _timestamp(text: str) -> dt.datetime | None:
    if text in ("infinity", "-infinity") or text.endswith(" BC"):
        return None
    return dt.datetime.fromisoformat(text)


def _time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def _bytea(text: str) -> bytes:
    # bytea_output=hex (the default since 9.0) is what we ask the server for.
    return bytes.fromhex(text[2:]) if text.startswith("\\x") else text.encode()


def _json(text: str) -> str:
    # Kept as text, but normalised so json and jsonb columns compare alike.
    return json.dumps(json.loads(text), ensure_ascii=False)


# Type OID → text → Python. Anything else stays text.
TYPE_PARSERS: dict[int, Callable[[str], Any]] = {
    16: _bool,
    17: _bytea,
    20: int,  # int8
    21: int,  # int2
    23: int,  # int4
    26: int,  # oid
    700: float,
    701: float,
    1700: _numeric,
    114: _json,
    3802: _json,
    1082: _date,
    1114: _timestamp,
    1184: _timestamp,
    1083: _time,
}


def parse_value(type_oid: int, text: str) -> Any:
    parser = TYPE_PARSERS.get(type_oid)
    return text if parser is None else parser(text)


# -- pgoutput decoding -------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    type_oid: int
    is_key: bool


@dataclass(frozen=True)
class Relation:
    oid: int
    namespace: str
    name: str
    replica_identity: str
    columns: tuple[Column, ...]


# An unchanged TOASTed value in an update (not sent by the server).
UNCHANGED = object()


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def byte(self) -> str:
        value = chr(self.data[self.at])
        self.at += 1
        return value

    def int8(self) -> int:
        value: int = self.data[self.at]
        self.at += 1
        return value

    def int16(self) -> int:
        (value,) = struct.unpack_from("!h", self.data, self.at)
        self.at += 2
        return int(value)

    def int32(self) -> int:
        (value,) = struct.unpack_from("!i", self.data, self.at)
        self.at += 4
        return int(value)

    def uint32(self) -> int:
        (value,) = struct.unpack_from("!I", self.data, self.at)
        self.at += 4
        return int(value)

    def int64(self) -> int:
        (value,) = struct.unpack_from("!q", self.data, self.at)
        self.at += 8
        return int(value)

    def string(self) -> str:
        end = self.data.index(0, self.at)
        value = self.data[self.at : end].decode("utf-8")
        self.at = end + 1
        return value

    def raw(self, n: int) -> bytes:
        value = self.data[self.at : self.at + n]
        self.at += n
        return value


@dataclass(frozen=True)
class Begin:
    final_lsn: int
    commit_time: dt.datetime
    xid: int


@dataclass(frozen=True)
class Commit:
    commit_lsn: int
    end_lsn: int
    commit_time: dt.datetime


@dataclass(frozen=True)
class RowChange:
    op: str  # insert, update, delete
    relation: Relation
    row: dict[str, Any]
    old: dict[str, Any] | None = None


@dataclass(frozen=True)
class Truncate:
    relations: tuple[Relation, ...]


Message = Begin | Commit | Relation | RowChange | Truncate | None


class PgOutputDecoder:
    """Decodes pgoutput protocol-1 messages, keeping the relations it has been sent."""

    def __init__(self) -> None:
        self.relations: dict[int, Relation] = {}

    def decode(self, payload: bytes) -> Message:
        r = _Reader(payload)
        kind = r.byte()
        if kind == "B":
            return Begin(r.int64(), _pg_time(r.int64()), r.uint32())
        if kind == "C":
            r.int8()  # flags, unused
            return Commit(r.int64(), r.int64(), _pg_time(r.int64()))
        if kind == "R":
            oid = r.uint32()
            namespace, name = r.string(), r.string()
            identity = r.byte()
            columns = []
            for _ in range(r.int16()):
                flags = r.int8()
                col_name = r.string()
                type_oid = r.uint32()
                r.int32()  # type modifier
                columns.append(Column(col_name, type_oid, bool(flags & 1)))
            relation = Relation(oid, namespace or "pg_catalog", name, identity, tuple(columns))
            self.relations[oid] = relation
            return relation
        if kind == "I":
            rel = self.relations[r.uint32()]
            r.byte()  # 'N'
            return RowChange("insert", rel, self._tuple(r, rel))
        if kind == "U":
            rel = self.relations[r.uint32()]
            marker = r.byte()
            old = None
            if marker in ("K", "O"):
                old = self._tuple(r, rel)
                marker = r.byte()
            return RowChange("update", rel, self._tuple(r, rel), old)
        if kind == "D":
            rel = self.relations[r.uint32()]
            r.byte()  # 'K' or 'O'
            return RowChange("delete", rel, self._tuple(r, rel))
        if kind == "T":
            count = r.int32()
            r.int8()  # options (CASCADE, RESTART IDENTITY)
            return Truncate(tuple(self.relations[r.uint32()] for _ in range(count)))
        # Origin, Type and logical-decoding Message carry nothing a lake table needs.
        return None

    def _tuple(self, r: _Reader, rel: Relation) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for column in rel.columns[: r.int16()]:
            kind = r.byte()
            if kind == "n":
                row[column.name] = None
            elif kind == "u":
                row[column.name] = UNCHANGED
            else:
                text = r.raw(r.int32()).decode("utf-8")
                row[column.name] = parse_value(column.type_oid, text)
        return row


def _pg_time(micros: int) -> dt.datetime:
    return _PG_EPOCH + dt.timedelta(microseconds=micros)


def _quote(identifier: str) -> str:
    return quote_identifier(identifier, "postgresql")


# -- the stream --------------------------------------------------------------------------------


def unavailable_reason(
    *,
    wal_level: str,
    can_replicate: bool,
    table_found: bool,
    replica_identity: str,
    has_key: bool,
    can_publish: bool,
) -> tuple[str, str] | None:
    """Why logical-replication CDC cannot work on this server/table, as (English, Chinese)."""
    if wal_level != "logical":
        return f"wal_level is {wal_level}", f"wal_level 为 {wal_level}，须为 logical"
    if not can_replicate:
        return (
            "missing privilege REPLICATION (role attribute)",
            "账号缺少 REPLICATION 属性",
        )
    if not table_found:
        return "table not found", "数据表不存在"
    if replica_identity == "n" or (replica_identity == "d" and not has_key):
        return (
            "table has no replica identity (no primary key; set REPLICA IDENTITY)",
            "数据表没有复制标识（无主键，须设置 REPLICA IDENTITY）",
        )
    if not can_publish:
        return (
            "not the table owner: cannot create its publication",
            "账号不是数据表的所有者，无法为其创建发布",
        )
    return None


class PostgresChangeStream:
    """Row changes of one table, from a pgoutput slot."""

    def __init__(
        self,
        *,
        host: str,
        database: str,
        table: str,
        user: str,
        password: str | None = None,
        port: int = 5432,
        schema: str = "public",
        name: str,
        split_rows: int = DEFAULT_SPLIT_ROWS,
        connect_timeout: float = 5.0,
    ) -> None:
        if not _NAME.match(name):
            raise ValueError(f"slot name must be a lower-case identifier: {name!r}")
        self.host, self.port, self.database = host, port, database
        self.schema, self.table = schema, table
        self.user, self.password = user, password
        self.slot = self.publication = name
        self.split_rows = split_rows
        self.connect_timeout = connect_timeout
        self.target = f"postgresql://{host}:{port}/{database}"
        self._conn: Any = None
        self._cursor: Any = None
        self._decoder = PgOutputDecoder()
        self._position: Position | None = None
        # Acknowledged by the pipeline, and last confirmed to the server.
        self._ack = 0
        self._flushed = 0

    # -- connections -----------------------------------------------------------------------

    def _dsn(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.database,
            "user": self.user,
            "connect_timeout": max(1, int(self.connect_timeout)),
            # Text output of timestamptz follows the session zone; bytea in hex.
            "options": "-c TimeZone=UTC -c bytea_output=hex -c DateStyle=ISO",
        }
        if self.password:
            params["password"] = self.password
        return params

    def _connect(self, replication: bool = False) -> Any:
        try:
            if replication:
                return psycopg2.connect(
                    **self._dsn(), connection_factory=psycopg2.extras.LogicalReplicationConnection
                )
            conn = psycopg2.connect(**self._dsn())
            conn.autocommit = True
            return conn
        except psycopg2.OperationalError as exc:
            text = str(exc)
            if "authentication failed" in text or "no password supplied" in text:
                raise auth_failed(self.target, self.user) from exc
            if "must have replication" in text or "permission denied" in text:
                raise cdc_unavailable(
                    self.target,
                    "missing privilege REPLICATION (role attribute)",
                    "账号缺少 REPLICATION 属性",
                ) from exc
            raise unreachable(self.target, text.strip()) from exc

    def _qualified(self) -> str:
        return f"{_quote(self.schema)}.{_quote(self.table)}"

    # -- ChangeStream ----------------------------------------------------------------------

    def check(self) -> None:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW wal_level")
                wal_level = str(cur.fetchone()[0])
                cur.execute(
                    "SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user"
                )
                can_replicate = bool(cur.fetchone()[0])
                cur.execute(
                    "SELECT c.relreplident, pg_has_role(c.relowner, 'USAGE'),"
                    " EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid"
                    " AND i.indisprimary)"
                    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = %s AND c.relname = %s",
                    (self.schema, self.table),
                )
                row = cur.fetchone()
                cur.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (self.publication,))
                published = cur.fetchone() is not None
        finally:
            conn.close()
        reason = unavailable_reason(
            wal_level=wal_level,
            can_replicate=can_replicate,
            table_found=row is not None,
            replica_identity=str(row[0]) if row else "",
            has_key=bool(row[2]) if row else False,
            can_publish=published or (row is not None and bool(row[1])),
        )
        if reason is not None:
            raise cdc_unavailable(self.target, *reason)

    def start_position(self) -> Position:
        """Create the publication and the slot if missing; the slot's start (or, for an
        existing slot, the server's current WAL position)."""
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (self.publication,))
                if cur.fetchone() is None:
                    cur.execute(
                        f"CREATE PUBLICATION {_quote(self.publication)} "
                        f"FOR TABLE {self._qualified()}"
                    )
                cur.execute(
                    "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = %s",
                    (self.slot,),
                )
                exists = cur.fetchone() is not None
                if exists:
                    cur.execute("SELECT pg_current_wal_lsn()")
                    return {"lsn": str(cur.fetchone()[0])}
        finally:
            conn.close()
        repl = self._connect(replication=True)
        try:
            with repl.cursor() as cur:
                cur.create_replication_slot(self.slot, output_plugin="pgoutput")
                _name, consistent_point, _snapshot, _plugin = cur.fetchone()
        finally:
            repl.close()
        return {"lsn": str(consistent_point)}

    def _open(self, position: Position) -> None:
        self.close()
        self._conn = self._connect(replication=True)
        self._cursor = self._conn.cursor()
        try:
            self._cursor.start_replication(
                slot_name=self.slot,
                decode=False,
                start_lsn=str(position["lsn"]),
                options={"proto_version": "1", "publication_names": self.publication},
                status_interval=10,
            )
        except psycopg2.errors.UndefinedObject as exc:
            self.close()
            raise stream_lost(self.target, f"replication slot {self.slot} does not exist") from exc
        except psycopg2.Error as exc:
            self.close()
            raise stream_lost(self.target, str(exc).strip()) from exc
        self._decoder = PgOutputDecoder()
        self._position = dict(position)

    def _message(self, timeout: float) -> Any:
        try:
            msg = self._cursor.read_message()
            if msg is None and timeout > 0:
                select.select([self._cursor], [], [], timeout)
                msg = self._cursor.read_message()
        except psycopg2.Error as exc:
            self.close()
            raise unreachable(self.target, str(exc).strip()) from exc
        return msg

    def read(
        self, position: Position, *, max_rows: int = 10_000, max_wait_seconds: float = 0.2
    ) -> ChangeBatch:
        if self._cursor is None or position != self._position:
            self._open(position)
        floor = lsn_to_int(str(position["lsn"]))
        deadline = time.monotonic() + max_wait_seconds
        pos: Position = dict(position)
        changes: list[Change] = []
        pending: list[Change] = []
        in_txn = skip = False
        transactions = 0
        committed_at: dt.datetime | None = None
        while True:
            remaining = deadline - time.monotonic()
            if not in_txn and (len(changes) >= max_rows or remaining <= 0):
                break
            if len(changes) + len(pending) >= max(self.split_rows, max_rows):
                changes.extend(pending)
                pending = []
                break
            self._send_ack()
            msg = self._message(max(0.0, min(remaining, 0.05)) if not in_txn else 0.05)
            if msg is None:
                continue
            decoded = self._decoder.decode(msg.payload)
            if isinstance(decoded, Begin):
                in_txn = True
                # Already in the lake: the server may resend it when the slot is behind.
                skip = decoded.final_lsn < floor
            elif isinstance(decoded, Commit):
                in_txn = False
                if skip or decoded.end_lsn <= floor:
                    pending = []
                    continue
                pos = {"lsn": lsn_to_text(decoded.end_lsn)}
                if pending:
                    changes.extend(pending)
                    pending = []
                    transactions += 1
                    committed_at = decoded.commit_time
            elif isinstance(decoded, RowChange) and not skip and self._watched(decoded.relation):
                pending.append(self._change(decoded))
            elif (
                isinstance(decoded, Truncate)
                and not skip
                and any(self._watched(rel) for rel in decoded.relations)
            ):
                pending.append(Change("truncate", {}))
        self._position = pos
        return ChangeBatch(changes, pos, transactions, committed_at)

    def _change(self, decoded: RowChange) -> Change:
        row = decoded.row
        if decoded.op == "update" and any(v is UNCHANGED for v in row.values()):
            old = decoded.old or {}
            # REPLICA IDENTITY FULL sends the old row whole, unchanged TOASTed values too.
            row = {k: old.get(k, UNCHANGED) if v is UNCHANGED else v for k, v in row.items()}
            if any(v is UNCHANGED for v in row.values()):
                row = self._fill_unchanged(decoded.relation, row)
        # PostgreSQL sends the old key only when the update changed it.
        return Change(decoded.op, row, decoded.old)  # type: ignore[arg-type]

    def _fill_unchanged(self, relation: Relation, row: dict[str, Any]) -> dict[str, Any]:
        """Large values an update left alone are not in the log: read them at the source.

        The source may be further ahead than this change; a later change of the same row
        then follows in the stream, so the lake still ends up equal to the source.
        """
        missing = [k for k, v in row.items() if v is UNCHANGED]
        keys = [c.name for c in relation.columns if c.is_key]
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cols = ", ".join(_quote(c) for c in missing)
                where = " AND ".join(f"{_quote(k)} = %s" for k in keys)
                # Identifiers come from the server's relation message, quoted; values bound.
                cur.execute(
                    f"SELECT {cols} FROM {self._qualified()} WHERE {where}",  # noqa: S608
                    [row[k] for k in keys],
                )
                found = cur.fetchone()
        finally:
            conn.close()
        filled = dict(row)
        for i, name in enumerate(missing):
            filled[name] = None if found is None else found[i]
        return filled

    def _watched(self, relation: Relation) -> bool:
        return relation.namespace == self.schema and relation.name == self.table

    def acknowledge(self, position: Position) -> None:
        """Noted here, sent by the reading side at its next step (or on close): the
        connection is not shared between threads, and the pipeline acknowledges from the
        thread that commits while another one reads."""
        lsn = lsn_to_int(str(position["lsn"]))
        if lsn > self._ack:
            self._ack = lsn

    def _send_ack(self) -> None:
        lsn = self._ack
        if self._cursor is None or lsn <= self._flushed:
            return
        try:
            self._cursor.send_feedback(flush_lsn=lsn, reply=False)
        except psycopg2.Error as exc:
            raise unreachable(self.target, str(exc).strip()) from exc
        self._flushed = lsn

    def close(self) -> None:
        if self._conn is not None:
            try:
                # A broken connection cannot confirm anything; the slot then resends.
                with contextlib.suppress(GovDataError):
                    self._send_ack()
                self._conn.close()
            finally:
                self._conn = self._cursor = None
                self._position = None

    def drop(self) -> None:
        """Drop the slot (so the server stops keeping WAL for it) and the publication."""
        self.close()
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                # A walsender that has not noticed the closed stream yet still holds the slot.
                for _ in range(50):
                    cur.execute(
                        "SELECT active FROM pg_replication_slots WHERE slot_name = %s",
                        (self.slot,),
                    )
                    row = cur.fetchone()
                    if row is None or not row[0]:
                        break
                    time.sleep(0.1)
                if row is not None and row[0]:
                    raise Conflict(
                        f"复制槽 {self.slot} 仍在使用中，请先停止其管道",
                        f"Replication slot {self.slot} is still in use; stop its pipeline first",
                        code="cdc_slot_busy",
                        details={"slot": self.slot},
                    )
                if row is not None:
                    cur.execute("SELECT pg_drop_replication_slot(%s)", (self.slot,))
                cur.execute(f"DROP PUBLICATION IF EXISTS {_quote(self.publication)}")
        finally:
            conn.close()
