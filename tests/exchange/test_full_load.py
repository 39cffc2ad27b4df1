"""Full loads from real MariaDB, PostgreSQL and SQLite sources into the lake, through a worker."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pyarrow as pa
import pymysql
import pytest
from sqlalchemy import select

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.exchange.models import Pipeline
from govdata.lake.tables import Lake
from govdata.security.models import AuditRecord
from govdata.sources import SQLiteConnector
from tests import services
from tests.exchange import engine_fixtures as ef
from tests.exchange.sourcedb import SourceDb, mariadb_db, postgres_db
from tests.identity.conftest import Org

PEOPLE = """
CREATE TABLE people (
  id BIGINT PRIMARY KEY,
  name VARCHAR(50) NOT NULL,
  gender CHAR(1),
  birth DATE,
  income DECIMAL(12, 2),
  updated_at TIMESTAMP NULL
)
"""
ROWS = [
    (1, "张三", "1", date(1980, 5, 1), Decimal("1234.50"), datetime(2024, 1, 1, 8, 0)),
    (2, "李四", "2", date(1992, 12, 31), Decimal("0.01"), datetime(2024, 1, 2, 9, 30)),
    (3, "王五", None, None, None, None),
]


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"job_backoff_seconds": 0.0})


def _people(src: SourceDb) -> None:
    src.execute(
        PEOPLE if src.kind == "mariadb" else PEOPLE.replace("TIMESTAMP NULL", "TIMESTAMPTZ")
    )
    src.executemany(
        "INSERT INTO people VALUES (%s, %s, %s, %s, %s, %s)",
        [(*r[:5], r[5].replace(tzinfo=UTC) if r[5] else None) for r in ROWS],
    )


def _setup(org: Org, src: SourceDb, **kw: object) -> ef.Setup:
    kind = "mariadb" if src.kind == "mariadb" else "postgresql"
    info = src.connector().discover()[0]
    return ef.make_pipeline(
        org,
        kind=kind,
        config=src.config(),
        target="people",
        columns=ef.mapping_of(info),
        key_columns=["id"],
        **kw,  # type: ignore[arg-type]
    )


def _expected() -> list[dict[str, object]]:
    return [
        {
            "id": r[0],
            "name": r[1],
            "gender": r[2],
            "birth": r[3],
            "income": r[4],
            "updated_at": r[5].replace(tzinfo=UTC) if r[5] else None,
        }
        for r in ROWS
    ]


@pytest.mark.parametrize("source", [mariadb_db, postgres_db], ids=["mariadb", "postgres"])
def test_full_load_copies_the_table_and_records_the_run(
    org: Org, db: Database, settings: Settings, source: Callable[[], object]
) -> None:
    with source() as src:  # type: ignore[attr-defined]
        _people(src)
        setup = _setup(org, src)
        run = ef.run(db, settings, setup)
        assert run.status == "succeeded", run.error_message
        assert ef.lake_rows(settings, setup.lake_table, "id") == _expected()
        assert (run.rows_read, run.rows_written, run.rows_inserted) == (3, 3, 3)
        lake = Lake.from_settings(settings)
        version = lake.table(setup.lake_table).version()
        assert run.lake_version_after == version
        assert run.position_after == {"run_id": run.id, "complete": True}
        commit = lake.history(setup.lake_table, 1)[0]
        assert commit["govdata.run_id"] == run.id
        assert commit["govdata.pipeline_id"] == setup.pipeline_id
        with db.transaction() as s:
            pipeline = s.get(Pipeline, setup.pipeline_id)
            assert pipeline is not None
            assert pipeline.last_run_id == run.id
            assert pipeline.last_success_at is not None
            assert pipeline.position == {"run_id": run.id, "complete": True}
            audit = s.scalars(
                select(AuditRecord).where(AuditRecord.action == "exchange.pipeline.run")
            ).all()
            assert [(a.target_id, a.outcome, a.row_count) for a in audit] == [
                (setup.pipeline_id, "success", 3)
            ]
        assert any("wrote 3 rows" in line for line in ef.run_log(db, run.id))

        # A second load replaces the content: a deleted source row leaves the lake too.
        src.execute("DELETE FROM people WHERE id = 2")
        src.execute("UPDATE people SET name = '王五五' WHERE id = 3")
        again = ef.run(db, settings, setup)
        assert again.status == "succeeded", again.error_message
        rows = ef.lake_rows(settings, setup.lake_table, "id")
        assert [(r["id"], r["name"]) for r in rows] == [(1, "张三"), (3, "王五五")]
        assert again.lake_version_before == version
        assert again.lake_version_after == version + 1


def test_full_load_from_sqlite(org: Org, db: Database, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "dept.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT, amount NUMERIC(8, 2))")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, f"行{i}", i * 1.5) for i in range(50)])
    conn.commit()
    conn.close()
    info = SQLiteConnector(path).discover()[0]
    setup = ef.make_pipeline(
        org,
        kind="sqlite",
        config={"path": str(path)},
        target="t",
        columns=ef.mapping_of(info),
        key_columns=["id"],
    )
    run = ef.run(db, settings, setup)
    assert run.status == "succeeded", run.error_message
    rows = ef.lake_rows(settings, setup.lake_table, "id")
    assert len(rows) == 50
    assert rows[7] == {"id": 7, "label": "行7", "amount": Decimal("10.50")}
    # The staged files became the table's files, with the statistics merges skip files by.
    files = pa.table(Lake.from_settings(settings).table(setup.lake_table).get_add_actions(True))
    assert files["num_records"].to_pylist() == [50]
    assert (files["min.id"].to_pylist(), files["max.id"].to_pylist()) == ([0], [49])

    # An emptied source empties the table (one commit without files).
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM t")
    conn.commit()
    conn.close()
    empty = ef.run(db, settings, setup)
    assert empty.status == "succeeded", empty.error_message
    assert empty.rows_written == 0
    assert ef.lake_table(settings, setup.lake_table).num_rows == 0


@pytest.mark.parametrize("source", [mariadb_db, postgres_db], ids=["mariadb", "postgres"])
def test_large_table_is_read_in_parallel_chunks_and_committed_once(
    org: Org, db: Database, settings: Settings, source: Callable[[], object]
) -> None:
    with source() as src:  # type: ignore[attr-defined]
        src.execute("CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(20))")
        # Gaps in the keys: ranges split by value, not by row number.
        src.executemany(
            "INSERT INTO big VALUES (%s, %s)", [(i * 3, f"v{i}") for i in range(1, 4001)]
        )
        info = src.connector().discover()[0]
        setup = ef.make_pipeline(
            org,
            kind="mariadb" if src.kind == "mariadb" else "postgresql",
            config=src.config(),
            target="big",
            columns=ef.mapping_of(info),
            key_columns=["id"],
            options={"chunk_rows": 700, "parallelism": 2, "batch_rows": 300},
        )
        lake = Lake.from_settings(settings)
        run = ef.run(db, settings, setup)
        assert run.status == "succeeded", run.error_message
        log = ef.run_log(db, run.id)
        assert any("chunks read in parallel" in line for line in log), log
        table = ef.lake_table(settings, setup.lake_table)
        assert table.num_rows == 4000
        assert sorted(table.column("id").to_pylist()) == [i * 3 for i in range(1, 4001)]
        # Created (version 0) and loaded in exactly one commit: no half table was ever visible.
        assert [h["version"] for h in lake.history(setup.lake_table)] == [1, 0]
        staging = settings.lake_dir / "_staging" / setup.pipeline_id
        assert not staging.exists()


def test_readers_keep_the_old_version_until_the_new_one_is_committed(
    org: Org, db: Database, settings: Settings
) -> None:
    with mariadb_db() as src:
        src.execute("CREATE TABLE big (id INT PRIMARY KEY, v INT)")
        src.execute("INSERT INTO big SELECT seq, 1 FROM seq_1_to_60000")
        info = src.connector().discover()[0]
        setup = ef.make_pipeline(
            org,
            kind="mariadb",
            config=src.config(),
            target="big",
            columns=ef.mapping_of(info),
            key_columns=["id"],
            options={"chunk_rows": 5000, "parallelism": 2, "batch_rows": 1000},
        )
        assert ef.run(db, settings, setup).status == "succeeded"
        src.execute("UPDATE big SET v = 2")
        lake = Lake.from_settings(settings)
        seen: set[tuple[int, int]] = set()
        done = threading.Event()

        def read() -> None:
            while not done.is_set():
                t = lake.read(setup.lake_table, columns=["v"])
                counts = t.group_by("v").aggregate([("v", "count")]).to_pylist()
                seen.update((r["v"], r["v_count"]) for r in counts)
                time.sleep(0.01)

        reader = threading.Thread(target=read)
        reader.start()
        try:
            run = ef.run(db, settings, setup)
        finally:
            done.set()
            reader.join()
        assert run.status == "succeeded", run.error_message
        # Every read saw a whole table: all 60000 rows old, or all new.
        assert seen <= {(1, 60000), (2, 60000)}
        assert ef.lake_table(settings, setup.lake_table).column("v").unique().to_pylist() == [2]


def _killer(src: SourceDb, table: str, stop: threading.Event) -> threading.Thread:
    """Kill the connection reading the rows of ``table`` (column ``v``) as soon as one shows
    up; returns once the killer is connected and watching."""
    ready = threading.Event()

    def loop() -> None:
        if src.kind == "mariadb":
            admin = pymysql.connect(**services.MARIADB, autocommit=True)
            ready.set()
            sql = (
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s "
                "AND INFO LIKE %s AND ID <> CONNECTION_ID()"
            )
            while not stop.is_set():
                with admin.cursor() as cur:
                    cur.execute(sql, (src.name, f"SELECT%`v`%FROM%{table}%"))
                    for (pid,) in cur.fetchall():
                        cur.execute(f"KILL CONNECTION {int(pid)}")
                        stop.set()
            admin.close()
        else:
            with psycopg.connect(
                host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True
            ) as admin:
                ready.set()
                while not stop.is_set():
                    rows = admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND state = 'active' AND query ILIKE %s "
                        "AND pid <> pg_backend_pid()",
                        (src.name, f'%"v"%FROM%{table}%'),
                    ).fetchall()
                    if rows:
                        stop.set()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    assert ready.wait(30)
    return thread


@pytest.mark.parametrize("source", [mariadb_db, postgres_db], ids=["mariadb", "postgres"])
def test_source_going_away_mid_load_fails_the_run_and_leaves_the_lake_alone(
    org: Org, db: Database, fast_settings: Settings, source: Callable[[], object]
) -> None:
    settings = fast_settings
    with source() as src:  # type: ignore[attr-defined]
        src.execute("CREATE TABLE wide (id INT PRIMARY KEY, v VARCHAR(400))")
        if src.kind == "mariadb":
            src.execute("INSERT INTO wide SELECT seq, REPEAT('x', 400) FROM seq_1_to_300000")
        else:
            src.execute(
                "INSERT INTO wide SELECT s, repeat('x', 400) FROM generate_series(1, 300000) s"
            )
        info = src.connector().discover()[0]
        setup = ef.make_pipeline(
            org,
            kind="mariadb" if src.kind == "mariadb" else "postgresql",
            config=src.config(),
            target="wide",
            columns=ef.mapping_of(info),
            key_columns=["id"],
            options={"batch_rows": 2000},
        )
        lake = Lake.from_settings(settings)
        stop = threading.Event()
        killer = _killer(src, "wide", stop)
        try:
            run = ef.run(db, settings, setup)
        finally:
            stop.set()
            killer.join()
        assert run.status == "failed", ef.run_log(db, run.id)
        assert run.error_code == "source_unreachable", run.error_message
        # The table was created empty at the start; the failed load committed nothing.
        assert lake.table(setup.lake_table).version() == 0
        assert lake.read(setup.lake_table).num_rows == 0
        job = ef.job_of(db, run.id)
        assert job.status == "queued"  # retried: the source may well be back

        ef.run_jobs(db, settings, one=True)
        again = ef.run_row(db, run.id)
        assert again.status == "succeeded", again.error_message
        assert lake.read(setup.lake_table).num_rows == 300000


def test_bad_credentials_fail_for_good(org: Org, db: Database, settings: Settings) -> None:
    with mariadb_db() as src:
        _people(src)
        setup = _setup(org, src, secret={"password": "not-the-password"})
        run = ef.run(db, settings, setup)
        assert run.status == "failed"
        assert run.error_code == "source_auth_failed"
        assert "root" in (run.error_message or "")
        assert ef.job_of(db, run.id).status == "failed"  # not retried
        with db.transaction() as s:
            pipeline = s.get(Pipeline, setup.pipeline_id)
            assert pipeline is not None and pipeline.last_failure_at is not None


@pytest.mark.parametrize(
    "text",
    [
        # What connectorx panics with when PostgreSQL terminates the backend mid-stream.
        "cx writer failed: Source(PostgresError(Error { kind: Closed, cause: None }))",
        # ... and when MariaDB kills the connection.
        "cx writer failed: Source(MySQLError(IoError { server disconnected }))",
        'Source(MysqlError(Io(Custom { kind: UnexpectedEof, error: "unexpected EOF" })))',
        "error communicating with database: Connection reset by peer (os error 104)",
    ],
)
def test_a_lost_connection_in_the_fast_reader_is_the_source_going_away(text: str) -> None:
    from govdata.exchange.engine.full import _classify

    err = _classify("postgresql://db", Exception(text))
    assert isinstance(err, GovDataError) and err.code == "source_unreachable"
