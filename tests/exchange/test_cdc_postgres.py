"""Logical-replication (pgoutput) change data capture against the machine's real PostgreSQL.

Changes are merged into a real lake table the way the pipeline does it (collapse, one
merge with deletes), and the lake is compared with the source read by the SQL connector.
"""

from __future__ import annotations

import datetime as dt
import secrets
import struct
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from govdata.core.errors import GovDataError
from govdata.exchange.cdc.base import CdcUnavailable, ChangeBatch, collapse, merge_frame
from govdata.exchange.cdc.postgres import (
    Begin,
    Commit,
    PgOutputDecoder,
    PostgresChangeStream,
    Relation,
    RowChange,
    lsn_to_int,
    lsn_to_text,
    parse_value,
)
from govdata.exchange.mapping import lake_type
from govdata.lake.tables import Lake
from tests.exchange.sourcedb import SourceDb, postgres_db

TYPES_DDL = """
CREATE TABLE people (
  id bigint PRIMARY KEY,
  name varchar(64),
  note text,
  amount numeric(12, 2),
  ratio double precision,
  small smallint,
  born date,
  seen timestamp,
  stamp timestamptz,
  active boolean,
  doc jsonb,
  raw json,
  photo bytea,
  code uuid
)
"""
ROW_SQL = "INSERT INTO people VALUES (" + ", ".join(["%s"] * 14) + ")"


def _row(i: int) -> tuple[object, ...]:
    return (
        i,
        f"张三{i}号",
        "备注：户籍迁入" * (i % 3),
        f"{i}.25",
        i / 7,
        i,
        f"1990-03-0{1 + i % 9}",
        f"2024-05-06 07:08:09.{i:06d}",
        "2024-05-06 07:08:09.123+08",
        bool(i % 2),
        '{"地址": "西宁", "n": [1, 2]}',
        '{"b": 1,  "a": "二"}',
        bytes([0, 255, i % 256]),
        f"00000000-0000-0000-0000-{i:012d}",
    )


def _stream(db: SourceDb, table: str = "people", **kw: object) -> PostgresChangeStream:
    return PostgresChangeStream(
        host=db.host,
        port=db.port,
        database=db.name,
        table=table,
        user=db.user,
        password=db.password,
        name=f"govdata_t{secrets.token_hex(4)}",
        **kw,  # type: ignore[arg-type]
    )


class LakeMirror:
    """A lake table kept equal to a source table by merging collapsed batches."""

    def __init__(self, root: Path, db: SourceDb, table: str) -> None:
        self.lake = Lake(root)
        self.db, self.table = db, table
        info = db.connector().table(table)
        self.schema = info.arrow_schema()
        self.lake_schema = pa.schema([pa.field(f.name, lake_type(f.type)) for f in self.schema])
        self.keys = list(info.primary_key)
        self.name = "t.mirror"
        self.lake.create(self.name, self.lake_schema)

    def apply(self, batch: ChangeBatch) -> None:
        if not batch.changes:
            return
        result = collapse(batch, self.keys, self.schema)
        upserts = result.upserts.cast(self.lake_schema)
        if result.truncated:
            self.lake.overwrite(self.name, upserts)
            return
        deletes = result.deletes.cast(pa.schema([self.lake_schema.field(k) for k in self.keys]))
        frame = merge_frame(upserts, deletes, "_deleted")
        self.lake.merge(self.name, frame, self.keys, delete_column="_deleted")

    def lake_rows(self) -> pa.Table:
        return self.lake.read(self.name).sort_by("id")

    def source_rows(self) -> pa.Table:
        batches = list(self.db.connector().read_batches(self.table))
        table = pa.Table.from_batches(batches, schema=self.schema)
        return table.cast(self.lake_schema).sort_by("id")


def _drain(
    stream: PostgresChangeStream, position: dict[str, object], **kw: object
) -> list[ChangeBatch]:
    """Read until 3 reads in a row come back empty: one empty read under load can be the
    decoder still working through a large transaction, not the end of the changes."""
    batches = []
    empty = 0
    while empty < 3:
        batch = stream.read(position, max_wait_seconds=0.5, **kw)  # type: ignore[arg-type]
        position = batch.position
        if batch.changes:
            batches.append(batch)
            empty = 0
        else:
            empty += 1
    return batches


def test_insert_update_delete_of_every_common_type_reach_the_lake(tmp_path: Path) -> None:
    with postgres_db() as db:
        db.execute(TYPES_DDL)
        mirror = LakeMirror(tmp_path, db, "people")
        stream = _stream(db)
        stream.check()
        start = stream.start_position()
        try:
            db.executemany(ROW_SQL, [_row(i) for i in range(1, 21)])
            db.execute("INSERT INTO people (id) VALUES (99)")
            db.execute("UPDATE people SET name = '李四', amount = NULL, doc = '[]' WHERE id <= 5")
            db.execute("DELETE FROM people WHERE id IN (6, 7)")
            db.execute("UPDATE people SET id = 100 WHERE id = 8")  # a key change
            batches = _drain(stream, start)
            for batch in batches:
                mirror.apply(batch)
                stream.acknowledge(batch.position)
        finally:
            stream.close()
            stream.drop()
        ops = [c.op for b in batches for c in b.changes]
        assert ops.count("insert") == 21 and ops.count("delete") == 2
        assert ops.count("update") == 6
        lake, source = mirror.lake_rows(), mirror.source_rows()
        assert lake.num_rows == 19
        assert lake.equals(source), (lake.to_pylist()[:2], source.to_pylist()[:2])
        first = lake.slice(0, 1).to_pylist()[0]
        assert first["name"] == "李四" and first["amount"] is None
        assert first["photo"] == b"\x00\xff\x01"
        assert lsn_to_int(str(batches[-1].position["lsn"])) > lsn_to_int(str(start["lsn"]))


def test_a_5000_row_transaction_gets_a_position_only_after_its_commit() -> None:
    with postgres_db() as db:
        db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        stream = _stream(db, table="t", split_rows=1_000)
        start = stream.start_position()
        try:
            db.execute("INSERT INTO t VALUES (-1, 'first')")
            with db._conn.transaction():
                db.executemany(
                    "INSERT INTO t VALUES (%s, %s)", [(i, f"第{i}行") for i in range(1, 5001)]
                )
            batches = _drain(stream, start, max_rows=200)
            stream.close()
            unsplit = _drain(_stream_like(stream, split_rows=100_000), start, max_rows=200)
        finally:
            stream.close()
            stream.drop()
        assert sum(len(b) for b in batches) == 5001
        after_first = batches[0].position
        assert batches[0].transactions == 1 and batches[0].changes[0].row["id"] == -1
        assert len(batches) >= 5 and all(len(b) <= 1_000 for b in batches)
        assert all(b.position == after_first for b in batches[:-1])
        assert batches[-1].transactions == 1
        assert lsn_to_int(str(batches[-1].position["lsn"])) > lsn_to_int(str(after_first["lsn"]))
        # Without a split limit: the big transaction is one batch with one position.
        assert [len(b) for b in unsplit] == [1, 5000] or [len(b) for b in unsplit] == [5001]
        assert unsplit[-1].position == batches[-1].position


def _stream_like(stream: PostgresChangeStream, **kw: object) -> PostgresChangeStream:
    other = PostgresChangeStream(
        host=stream.host,
        port=stream.port,
        database=stream.database,
        table=stream.table,
        user=stream.user,
        password=stream.password,
        name=stream.slot,
        **kw,  # type: ignore[arg-type]
    )
    return other


def test_restart_mid_stream_loses_and_repeats_nothing(tmp_path: Path) -> None:
    with postgres_db() as db:
        db.execute("CREATE TABLE t (id int PRIMARY KEY, v text, n int)")
        mirror = LakeMirror(tmp_path, db, "t")
        stream = _stream(db, table="t")
        position = stream.start_position()
        try:
            for step in range(60):
                db.execute("INSERT INTO t VALUES (%s, %s, 0)", (step, f"第{step}行"))
                if step % 3 == 0:
                    db.execute("UPDATE t SET n = n + 1, v = v || '改' WHERE id <= %s", (step,))
                if step % 7 == 0:
                    db.execute("DELETE FROM t WHERE id = %s", (step // 2,))
            seen = 0
            for i in range(4):
                batch = stream.read(position, max_rows=25, max_wait_seconds=0.5)
                mirror.apply(batch)
                seen += len(batch)
                position = batch.position
                if i < 2:
                    # Only what is in the lake is confirmed; the rest the slot keeps.
                    stream.acknowledge(position)
            stream.close()
            assert 0 < seen < 150
            # A new reader at the lake's position, while the slot is only confirmed up to an
            # older one: the server resends, the reader skips what the lake already has.
            again = _stream_like(stream)
            db.execute("INSERT INTO t VALUES (1000, '重启后', 0)")
            for batch in _drain(again, position, max_rows=25):
                mirror.apply(batch)
            again.close()
        finally:
            stream.close()
            stream.drop()
        assert mirror.lake_rows().equals(mirror.source_rows())
        assert mirror.lake_rows().num_rows == db.rows("SELECT count(*) FROM t")[0][0]


def test_updates_leaving_large_values_alone_keep_them(tmp_path: Path) -> None:
    with postgres_db() as db:
        db.execute("CREATE TABLE t (id int PRIMARY KEY, big text, n int)")
        # Incompressible, so PostgreSQL stores it out of line (TOAST) and an update that
        # does not touch it logs it as "unchanged" without the value.
        big = "".join(secrets.token_hex(16) for _ in range(400))
        db.execute("INSERT INTO t VALUES (1, %s, 0), (2, %s, 0)", (big, big[::-1]))
        mirror = LakeMirror(tmp_path, db, "t")
        stream = _stream(db, table="t")
        start = stream.start_position()
        try:
            db.execute("UPDATE t SET n = 1")
            batches = _drain(stream, start)
        finally:
            stream.close()
            stream.drop()
        rows = {c.row["id"]: c.row for b in batches for c in b.changes}
        assert rows[1]["big"] == big and rows[2]["big"] == big[::-1]
        for batch in batches:
            mirror.apply(batch)
        assert mirror.lake_rows().column("big").to_pylist() == [big, big[::-1]]


def test_truncate_replaces_the_lake_content(tmp_path: Path) -> None:
    with postgres_db() as db:
        db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        mirror = LakeMirror(tmp_path, db, "t")
        stream = _stream(db, table="t")
        start = stream.start_position()
        try:
            db.executemany("INSERT INTO t VALUES (%s, 'a')", [(i,) for i in range(5)])
            db.execute("TRUNCATE t")
            db.execute("INSERT INTO t VALUES (7, 'b')")
            batches = _drain(stream, start)
        finally:
            stream.close()
            stream.drop()
        assert "truncate" in [c.op for b in batches for c in b.changes]
        for batch in batches:
            mirror.apply(batch)
        assert mirror.lake_rows().to_pylist() == [{"id": 7, "v": "b"}]


def test_drop_removes_the_slot_and_the_publication() -> None:
    with postgres_db() as db:
        db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        stream = _stream(db, table="t")
        start = stream.start_position()
        assert stream.read(start, max_wait_seconds=0.1).changes == []
        stream.close()
        stream.drop()
        slots = db.rows("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (stream.slot,))
        pubs = db.rows("SELECT 1 FROM pg_publication WHERE pubname = %s", (stream.publication,))
        assert slots == [] and pubs == []
        with pytest.raises(GovDataError) as caught:
            stream.read(start, max_wait_seconds=0.1)
        assert caught.value.code == "cdc_position_lost"


def test_check_reports_a_role_without_replication_and_a_table_without_key() -> None:
    with postgres_db() as db:
        db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        db.execute("CREATE TABLE nokey (v text)")
        _stream(db, table="t").check()
        with pytest.raises(CdcUnavailable) as no_key:
            _stream(db, table="nokey").check()
        assert "replica identity" in no_key.value.details["reason"]
        role = f"gd_norepl_{secrets.token_hex(3)}"
        db.execute(f"CREATE ROLE {role} LOGIN NOREPLICATION")
        try:
            db.execute(f"GRANT SELECT ON t TO {role}")
            stream = PostgresChangeStream(
                host=db.host, port=db.port, database=db.name, table="t", user=role, name="x"
            )
            with pytest.raises(CdcUnavailable) as caught:
                stream.check()
        finally:
            db.execute(f"DROP OWNED BY {role}")
            db.execute(f"DROP ROLE {role}")
        assert caught.value.code == "cdc_unavailable"
        assert caught.value.details["reason"] == "missing privilege REPLICATION (role attribute)"
        assert "REPLICATION" in caught.value.message_zh


def test_check_reports_wal_level_replica() -> None:
    # The server runs with wal_level=logical; the decision for other levels is checked here.
    from govdata.exchange.cdc.postgres import unavailable_reason

    base = {
        "can_replicate": True,
        "table_found": True,
        "replica_identity": "d",
        "has_key": True,
        "can_publish": True,
    }
    assert unavailable_reason(wal_level="logical", **base) is None  # type: ignore[arg-type]
    reason = unavailable_reason(wal_level="replica", **base)  # type: ignore[arg-type]
    assert reason is not None and reason[0] == "wal_level is replica"
    full = {**base, "has_key": False, "replica_identity": "f"}
    assert unavailable_reason(wal_level="logical", **full) is None  # type: ignore[arg-type]


def test_idle_read_returns_empty_within_the_wait() -> None:
    with postgres_db() as db:
        db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        stream = _stream(db, table="t")
        start = stream.start_position()
        try:
            began = time.monotonic()
            batch = stream.read(start, max_wait_seconds=0.2)
            waited = time.monotonic() - began
        finally:
            stream.close()
            stream.drop()
        assert batch.changes == [] and batch.position == start
        assert 0.15 <= waited < 1.0


# -- the decoder, on hand-made messages -------------------------------------------------------


def _s(text: str) -> bytes:
    return text.encode() + b"\0"


def _tuple(*values: str | None) -> bytes:
    out = struct.pack("!h", len(values))
    for v in values:
        if v is None:
            out += b"n"
        else:
            data = v.encode()
            out += b"t" + struct.pack("!i", len(data)) + data
    return out


def test_decoder_reads_relation_begin_rows_and_commit() -> None:
    d = PgOutputDecoder()
    relation = (
        b"R"
        + struct.pack("!I", 16384)
        + _s("public")
        + _s("户籍")
        + b"d"
        + struct.pack("!h", 3)
        + b"\x01"
        + _s("id")
        + struct.pack("!Ii", 23, -1)
        + b"\x00"
        + _s("名字")
        + struct.pack("!Ii", 25, -1)
        + b"\x00"
        + _s("ok")
        + struct.pack("!Ii", 16, -1)
    )
    rel = d.decode(relation)
    assert isinstance(rel, Relation) and rel.name == "户籍" and rel.columns[0].is_key
    begin = d.decode(b"B" + struct.pack("!qqI", 0x1_0000_0010, 86_400_000_000, 7))
    assert isinstance(begin, Begin) and begin.xid == 7 and begin.commit_time.day == 2
    ins = d.decode(b"I" + struct.pack("!I", 16384) + b"N" + _tuple("5", "张三", "t"))
    assert isinstance(ins, RowChange) and ins.row == {"id": 5, "名字": "张三", "ok": True}
    upd = d.decode(
        b"U"
        + struct.pack("!I", 16384)
        + b"K"
        + _tuple("4", None, None)
        + b"N"
        + _tuple("5", None, "f")
    )
    assert isinstance(upd, RowChange) and upd.old == {"id": 4, "名字": None, "ok": None}
    assert upd.row == {"id": 5, "名字": None, "ok": False}
    dele = d.decode(b"D" + struct.pack("!I", 16384) + b"K" + _tuple("5", None, None))
    assert isinstance(dele, RowChange) and dele.op == "delete" and dele.row["id"] == 5
    commit = d.decode(b"C\x00" + struct.pack("!qqq", 0x1_0000_0010, 0x1_0000_0040, 0))
    assert isinstance(commit, Commit) and lsn_to_text(commit.end_lsn) == "1/40"


@pytest.mark.parametrize(
    ("oid", "text", "value"),
    [
        (16, "f", False),
        (20, "-9223372036854775808", -9223372036854775808),
        (1700, "12.50", Decimal("12.50")),
        (1700, "NaN", None),
        (17, "\\x00ff", b"\x00\xff"),
        (1082, "2024-02-29", dt.date(2024, 2, 29)),
        (1082, "infinity", None),
        (
            1184,
            "2024-01-02 03:04:05.5+00",
            dt.datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=dt.UTC),
        ),
        (3802, '{"a": "二"}', '{"a": "二"}'),
        (25, "文本", "文本"),
        (2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ],
)
def test_values_are_converted_by_type_oid(oid: int, text: str, value: object) -> None:
    assert parse_value(oid, text) == value


def test_lsn_text_round_trips() -> None:
    for text in ("0/0", "0/16B3748", "1A/FFFFFFFF"):
        assert lsn_to_text(lsn_to_int(text)) == text
