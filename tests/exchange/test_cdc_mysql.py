"""Binlog change data capture against the machine's real MariaDB (log_bin, ROW, FULL metadata).

Changes are merged into a real lake table the way the pipeline does it (collapse, one
merge with deletes), and the lake is compared with the source read by the SQL connector.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pyarrow as pa
import pymysql
import pytest

from govdata.core.errors import GovDataError
from govdata.exchange.cdc.base import CdcUnavailable, ChangeBatch, collapse, merge_frame
from govdata.exchange.cdc.mysql import MariaDBChangeStream, unavailable_reason
from govdata.exchange.mapping import lake_type
from govdata.lake.tables import Lake
from tests import services
from tests.exchange.sourcedb import SourceDb, mariadb_db

TYPES_DDL = """
CREATE TABLE people (
  id BIGINT PRIMARY KEY,
  name VARCHAR(64) CHARACTER SET utf8mb4,
  note TEXT,
  amount DECIMAL(12, 2),
  ratio DOUBLE,
  born DATE,
  seen DATETIME(6),
  stamp TIMESTAMP(3) NULL,
  active TINYINT(1),
  small SMALLINT UNSIGNED,
  doc JSON,
  photo BLOB,
  flags BIT(10),
  colour ENUM('红', 'green', 'blue'),
  tags SET('a', 'b', 'c'),
  span TIME
)
"""

ROW_SQL = (
    "INSERT INTO people VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, b'1000000101',"
    " %s, %s, %s)"
)


def _row(i: int) -> tuple[object, ...]:
    return (
        i,
        f"张三{i}号",
        "备注：户籍迁入" * (i % 3),
        f"{i}.25",
        i / 7,
        "1990-03-0" + str(1 + i % 9),
        f"2024-05-06 07:08:09.{i:06d}",
        "2024-05-06 07:08:09.123",
        i % 2,
        i,
        '{"地址": "西宁", "n": [1, 2]}',
        bytes([0, 255, i % 256]),
        "红" if i % 2 else "green",
        "c,a",
        "12:34:56",
    )


def _stream(db: SourceDb, table: str = "people", **kw: object) -> MariaDBChangeStream:
    return MariaDBChangeStream(
        host=db.host,
        port=db.port,
        database=db.name,
        table=table,
        user=db.user,
        password=db.password,
        name=f"test-{secrets.token_hex(4)}",
        **kw,  # type: ignore[arg-type]
    )


class LakeMirror:
    """A lake table kept equal to a source table by merging collapsed batches."""

    def __init__(self, root: Path, db: SourceDb, table: str) -> None:
        self.lake = Lake(root)
        self.db, self.table = db, table
        info = db.connector().table(table)
        # Changes are converted to the source's Arrow types (as a full load reads them),
        # then cast to the lake's (as the mount mapping does).
        self.schema = info.arrow_schema()
        self.lake_schema = pa.schema([pa.field(f.name, lake_type(f.type)) for f in self.schema])
        self.keys = list(info.primary_key)
        self.name = "t.mirror"
        self.lake.create(self.name, self.lake_schema)
        self.commits = 0

    def apply(self, batch: ChangeBatch) -> None:
        if not batch.changes:
            return
        result = collapse(batch, self.keys, self.schema)
        upserts = result.upserts.cast(self.lake_schema)
        if result.truncated:
            self.lake.overwrite(self.name, upserts)
        else:
            deletes = result.deletes.cast(pa.schema([self.lake_schema.field(k) for k in self.keys]))
            frame = merge_frame(upserts, deletes, "_deleted")
            self.lake.merge(self.name, frame, self.keys, delete_column="_deleted")
        self.commits += 1

    def lake_rows(self) -> pa.Table:
        return self.lake.read(self.name).sort_by("id")

    def source_rows(self) -> pa.Table:
        batches = list(self.db.connector().read_batches(self.table))
        table = pa.Table.from_batches(batches, schema=self.schema)
        return table.cast(self.lake_schema).sort_by("id")


def _drain(
    stream: MariaDBChangeStream, position: dict[str, object], **kw: object
) -> list[ChangeBatch]:
    """Read until 2 reads in a row come back empty: one empty read under load can be the
    decoder still working through a large transaction, not the end of the changes."""
    batches = []
    empty = 0
    while empty < 2:
        batch = stream.read(position, max_wait_seconds=0.3, **kw)  # type: ignore[arg-type]
        position = batch.position
        if batch.changes:
            batches.append(batch)
            empty = 0
        else:
            empty += 1
    return batches


def test_insert_update_delete_of_every_common_type_reach_the_lake(tmp_path: Path) -> None:
    with mariadb_db() as db:
        db.execute(TYPES_DDL)
        mirror = LakeMirror(tmp_path, db, "people")
        stream = _stream(db)
        stream.check()
        start = stream.start_position()
        db.executemany(ROW_SQL, [_row(i) for i in range(1, 21)])
        db.execute("INSERT INTO people (id) VALUES (99)")  # a row of NULLs
        db.execute("UPDATE people SET name = '李四', amount = NULL, doc = '[]' WHERE id <= 5")
        db.execute("DELETE FROM people WHERE id IN (6, 7)")
        db.execute("UPDATE people SET id = 100 WHERE id = 8")  # a key change
        try:
            batches = _drain(stream, start)
        finally:
            stream.close()
        ops = [c.op for b in batches for c in b.changes]
        assert ops.count("insert") == 21 and ops.count("delete") == 2
        assert ops.count("update") == 6
        for batch in batches:
            mirror.apply(batch)
        lake, source = mirror.lake_rows(), mirror.source_rows()
        assert lake.num_rows == 19
        assert lake.equals(source), (lake.to_pylist()[:2], source.to_pylist()[:2])
        first = lake.slice(0, 1).to_pylist()[0]
        assert first["name"] == "李四"
        assert first["doc"] == "[]"
        assert first["flags"] == b"\x02\x05"
        assert first["tags"] == "a,c"
        assert batches[-1].position["log_pos"] > start["log_pos"]  # type: ignore[operator]


EDGE_DDL = """
CREATE TABLE edge (
  id INT PRIMARY KEY,
  t TINYINT, tu TINYINT UNSIGNED, m MEDIUMINT, mu MEDIUMINT UNSIGNED,
  b BIGINT, bu BIGINT UNSIGNED, f FLOAT, y YEAR,
  d1 DECIMAL(5, 0), d2 DECIMAL(30, 12), d3 DECIMAL(10, 10), d4 DECIMAL(19, 4),
  dt0 DATETIME, dt1 DATETIME(1), dt3 DATETIME(3), dt5 DATETIME(5),
  ts0 TIMESTAMP NULL, ts2 TIMESTAMP(2) NULL, ts6 TIMESTAMP(6) NULL,
  tm0 TIME, tm4 TIME(4), dd DATE,
  c CHAR(3), vb VARBINARY(300), bn BINARY(4), lt LONGTEXT, tb TINYBLOB,
  gbk VARCHAR(20) CHARACTER SET gbk, lat VARCHAR(300) CHARACTER SET latin1,
  e ENUM('a', 'b'), s SET('x', 'y', 'z'), bit1 BIT(1), bit17 BIT(17)
)
"""
EDGE_ROWS = [
    "(1, -128, 255, -8388608, 16777215, -9223372036854775808, 18446744073709551615, 1.5,"
    " 2155, -99999, -123456789012345678.123456789012, -0.0000000001, 123456789012345.6789,"
    " '1000-01-01 00:00:00', '9999-12-31 23:59:59.9', '2024-02-29 12:00:00.007',"
    " '2024-01-01 00:00:00.00001', '1970-01-01 00:00:01', '2038-01-19 03:14:07.99',"
    " '2024-05-06 07:08:09.000001', '-838:59:59', '-00:00:00.0001', '2024-02-29',"
    " 'ab', x'000102', x'ff', REPEAT('长', 70000), x'00', '中文', REPEAT('é', 300),"
    " 'b', 'x,z', b'1', b'10000000000000001')",
    "(2, 0, 0, 0, 0, 0, 0, 0, 1901, 0, 0, 0, -0.0001, '0000-00-00 00:00:00', NULL,"
    " NULL, NULL, NULL, NULL, NULL, '838:59:59', '12:34:56.7891', '0000-00-00',"
    " '', '', x'00000000', '', '', '', '', 'a', '', b'0', b'0')",
    "(3" + ", NULL" * 33 + ")",
]


def test_the_fast_row_decoder_gives_what_the_library_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from govdata.exchange.cdc import mysql

    with mariadb_db() as db:
        db.execute("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'")
        db.execute(EDGE_DDL)
        stream = _stream(db, table="edge")
        start = stream.start_position()
        for values in EDGE_ROWS:
            db.execute(f"INSERT INTO edge VALUES {values}")
        db.execute("UPDATE edge SET d2 = -d2, tm0 = '-01:02:03', e = 'a' WHERE id = 1")
        db.execute("DELETE FROM edge WHERE id = 2")
        try:
            fast = [c for b in _drain(stream, start) for c in b.changes]
        finally:
            stream.close()
        used: list[int] = []
        real = mysql._fast_rows
        monkeypatch.setattr(mysql, "_fast_rows", lambda event: used.append(1) or real(event))
        check = _stream(db, table="edge")
        try:
            assert [c for b in _drain(check, start) for c in b.changes] == fast
        finally:
            check.close()
        assert used  # the fast path did decode those events
        monkeypatch.setattr(mysql, "_fast_rows", lambda event: None)
        library = _stream(db, table="edge")
        try:
            slow = [c for b in _drain(library, start) for c in b.changes]
        finally:
            library.close()
    assert [c.op for c in fast] == ["insert"] * 3 + ["update", "delete"]
    for a, b in zip(fast, slow, strict=True):
        assert a.op == b.op
        # The library hands an empty binary value over as '' (CPython decodes b"" with any
        # codec name without looking it up); the fast path keeps it b"".
        diff = {
            k: (a.row[k], b.row.get(k))
            for k in a.row
            if a.row[k] != b.row.get(k) and (a.row[k], b.row.get(k)) != (b"", "")
        }
        assert not diff, diff
        assert a.old == b.old
    first = fast[0].row
    assert first["bu"] == 18446744073709551615 and first["m"] == -8388608
    assert str(first["d2"]) == "-123456789012345678.123456789012"
    assert first["gbk"] == "中文" and len(first["lt"]) == 70000


def test_a_5000_row_transaction_gets_a_position_only_after_its_commit(tmp_path: Path) -> None:
    with mariadb_db() as db:
        db.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(200))")
        db.execute("INSERT INTO t VALUES (0, 'before')")
        stream = _stream(db, table="t", split_rows=1_000)
        start = stream.start_position()
        db.execute("INSERT INTO t VALUES (-1, 'first')")
        db.execute("START TRANSACTION")
        db.executemany(
            "INSERT INTO t VALUES (%s, %s)", [(i, f"第{i}行" * 8) for i in range(1, 5001)]
        )
        db.execute("COMMIT")
        try:
            batches = _drain(stream, start, max_rows=200)
            # The same transaction without a split limit: one batch, one position.
            whole = _stream(db, table="t")
            try:
                unsplit = _drain(whole, start, max_rows=200)
            finally:
                whole.close()
        finally:
            stream.close()
        assert sum(len(b) for b in batches) == 5001
        # The one-row transaction commits first: the first batch's position is after it.
        # The big one comes in pieces of about split_rows (the server packs rows into
        # events of ~8 kB, so a piece can overshoot by one event); every piece but the last
        # still carries the position from before the big transaction.
        after_first = batches[0].position
        assert batches[0].transactions == 1 and batches[0].changes[0].row["id"] == -1
        assert len(batches) >= 5
        assert all(len(b) < 1_000 + 400 for b in batches)
        assert all(b.position == after_first for b in batches[:-1])
        assert all(b.transactions == 0 for b in batches[1:-1])
        assert batches[-1].transactions == 1
        assert batches[-1].position["log_pos"] > after_first["log_pos"]  # type: ignore[operator]
        # Without a split limit the whole transaction travels in one batch, one position.
        assert sum(len(b) for b in unsplit) == 5001
        assert unsplit[-1].position == batches[-1].position
        assert max(len(b) for b in unsplit) >= 5000 - 400


def test_restart_mid_stream_loses_and_repeats_nothing(tmp_path: Path) -> None:
    with mariadb_db() as db:
        db.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40), n INT)")
        mirror = LakeMirror(tmp_path, db, "t")
        stream = _stream(db, table="t")
        position = stream.start_position()
        for step in range(60):
            db.execute("INSERT INTO t VALUES (%s, %s, 0)", (step, f"第{step}行"))
            if step % 3 == 0:
                db.execute("UPDATE t SET n = n + 1, v = CONCAT(v, '改') WHERE id <= %s", (step,))
            if step % 7 == 0:
                db.execute("DELETE FROM t WHERE id = %s", (step // 2,))
        seen = 0
        try:
            for _ in range(4):
                batch = stream.read(position, max_rows=25, max_wait_seconds=0.5)
                mirror.apply(batch)
                seen += len(batch)
                position = batch.position
        finally:
            stream.close()
        assert 0 < seen < 150
        # A new reader (another process, after a crash) from the committed position.
        again = _stream(db, table="t")
        try:
            db.execute("INSERT INTO t VALUES (1000, '重启后', 0)")
            for batch in _drain(again, position, max_rows=25):
                mirror.apply(batch)
        finally:
            again.close()
        assert mirror.lake_rows().equals(mirror.source_rows())
        assert mirror.lake_rows().num_rows == db.rows("SELECT COUNT(*) FROM t")[0][0]


def test_truncate_replaces_the_lake_content(tmp_path: Path) -> None:
    with mariadb_db() as db:
        db.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
        mirror = LakeMirror(tmp_path, db, "t")
        stream = _stream(db, table="t")
        start = stream.start_position()
        db.executemany("INSERT INTO t VALUES (%s, 'a')", [(i,) for i in range(5)])
        try:
            for batch in _drain(stream, start):
                mirror.apply(batch)
            assert mirror.lake_rows().num_rows == 5
            position = stream.start_position()
            db.execute("TRUNCATE TABLE t")
            db.execute("INSERT INTO t VALUES (7, 'b')")
            batches = _drain(stream, position)
        finally:
            stream.close()
        assert batches[0].changes[0].op == "truncate"
        for batch in batches:
            mirror.apply(batch)
        assert mirror.lake_rows().to_pylist() == [{"id": 7, "v": "b"}]


def test_idle_read_returns_empty_within_the_wait() -> None:
    with mariadb_db() as db:
        db.execute("CREATE TABLE t (id INT PRIMARY KEY)")
        stream = _stream(db, table="t")
        start = stream.start_position()
        try:
            began = time.monotonic()
            batch = stream.read(start, max_wait_seconds=0.2)
            waited = time.monotonic() - began
        finally:
            stream.close()
        assert batch.changes == [] and batch.position == start
        assert 0.15 <= waited < 1.0


def test_a_purged_position_is_reported() -> None:
    with mariadb_db() as db:
        db.execute("CREATE TABLE t (id INT PRIMARY KEY)")
        stream = _stream(db, table="t")
        try:
            with pytest.raises(GovDataError) as caught:
                stream.read({"log_file": "mysql-bin.999999", "log_pos": 4}, max_wait_seconds=0.2)
        finally:
            stream.close()
        assert caught.value.code == "cdc_position_lost"


def test_check_names_a_missing_replication_privilege() -> None:
    with mariadb_db() as db:
        db.execute("CREATE TABLE t (id INT PRIMARY KEY)")
        _stream(db, table="t").check()  # the test server is configured for CDC
        user = f"gd_norepl_{secrets.token_hex(3)}"
        admin = pymysql.connect(**services.MARIADB, autocommit=True)
        try:
            with admin.cursor() as cur:
                cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw-1'")
                cur.execute(f"GRANT SELECT ON {db.name}.* TO '{user}'@'%'")
            stream = MariaDBChangeStream(
                host=db.host,
                port=db.port,
                database=db.name,
                table="t",
                user=user,
                password="pw-1",
                name="norepl",
            )
            with pytest.raises(CdcUnavailable) as caught:
                stream.check()
        finally:
            with admin.cursor() as cur:
                cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            admin.close()
        assert caught.value.code == "cdc_unavailable"
        assert caught.value.details["reason"] == "missing privilege REPLICATION SLAVE"
        assert "REPLICATION SLAVE" in caught.value.message_zh


GOOD = {
    "log_bin": "ON",
    "binlog_format": "ROW",
    "binlog_row_image": "FULL",
    "binlog_row_metadata": "FULL",
}
ALL = ["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"]


@pytest.mark.parametrize(
    ("change", "grants", "reason"),
    [
        ({}, ALL, None),
        ({"log_bin": "OFF"}, ALL, "log_bin is OFF"),
        ({"binlog_format": "MIXED"}, ALL, "binlog_format is MIXED"),
        ({"binlog_format": "STATEMENT"}, ALL, "binlog_format is STATEMENT"),
        ({"binlog_row_image": "MINIMAL"}, ALL, "binlog_row_image is MINIMAL"),
        ({"binlog_row_metadata": "MINIMAL"}, ALL, "binlog_row_metadata is MINIMAL"),
        ({"binlog_row_metadata": ""}, ALL, "binlog_row_metadata is unsupported"),
        ({}, ["GRANT SELECT ON `d`.* TO `u`@`%`"], "missing privilege REPLICATION SLAVE"),
        (
            {},
            ["GRANT REPLICATION SLAVE ON *.* TO `u`@`%`"],
            "missing privilege BINLOG MONITOR (REPLICATION CLIENT)",
        ),
        ({}, ["GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `u`@`%`"], None),
        ({}, ["GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `u`@`%`"], None),
    ],
)
def test_unavailable_reason_decides_from_variables_and_grants(
    change: dict[str, str], grants: list[str], reason: str | None
) -> None:
    found = unavailable_reason({**GOOD, **change}, grants)
    assert (found[0] if found else None) == reason
    if found:
        assert found[1]  # a Chinese reason for the message
