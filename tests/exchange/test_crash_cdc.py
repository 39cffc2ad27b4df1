"""Crash test, CDC half: a change stream of a 200k-row MariaDB table, run by real worker
processes that are SIGKILLed ten times at random points while a writer keeps committing
inserts, updates and deletes; afterwards the lake table equals the source exactly.

The kills land during the initial full load (after a random delay, or once a few more chunks
are staged), right after a lake commit, shortly after one (mid-batch), and at random moments
of the stream. Each time a spare worker (forked by the full-load test's zygote) takes the job
over once its short lease has expired, and resumes the SAME run: the staged chunks and the
start position from the job checkpoint, the stream position from the newest lake commit.
"""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pymysql
import pytest
from sqlalchemy import select, update

from govdata.config import Settings
from govdata.core.db import Database
from govdata.exchange import pipelines
from govdata.exchange.engine.context import META_PIPELINE, META_POSITION, META_RUN
from govdata.exchange.models import Pipeline, PipelineRun
from govdata.exchange.vocab import PipelineState
from govdata.lake.tables import Lake
from tests.exchange import engine_fixtures as ef
from tests.exchange import test_crash as crash
from tests.exchange.sourcedb import SourceDb, mariadb_db
from tests.identity.conftest import Org

ROWS = 200_000
KILLS = 10
SPARES = 2
FIRST_NEW_ID = 1_000_001
# What each kill waits for once a worker holds the job. The first four aim at the initial
# full load (small chunks make it last a second or two): while the job is being taken up,
# right after the stream's start position was saved, and after a few more chunks were staged.
PLAN = [
    "delay-short",
    "start",
    "chunks",
    "chunks",
    "commit",
    "delay",
    "after-commit",
    "commit",
    "delay",
    "after-commit",
]
BinlogPos = tuple[str, int]


class Writer(threading.Thread):
    """Commits inserts, updates (some moving a row to a new key) and deletes, alone and in
    multi-statement transactions, on its own connection until stopped; then one last
    transaction, whose binlog end position it finds (``last_end``)."""

    def __init__(self, src: SourceDb, rng: random.Random) -> None:
        super().__init__(name="crash-cdc-writer", daemon=True)
        self.src = src
        self.rng = rng
        self.conn = pymysql.connect(
            host=src.host,
            port=src.port,
            user=src.user,
            password=src.password,
            database=src.name,
            charset="utf8mb4",
            autocommit=False,
        )
        self.next_id = FIRST_NEW_ID
        self.stop = threading.Event()
        self.transactions = 0
        self.statements = 0
        self.error: BaseException | None = None
        self.last_end: BinlogPos | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self._transaction()
                time.sleep(self.rng.uniform(0.0, 0.02))
            before = _master_status(self.conn)
            self._transaction(final=True)
            self.last_end = _transaction_end(self.conn, before, self.src.name)
        except BaseException as exc:
            self.error = exc
        finally:
            self.conn.close()

    def _new_rows(self, n: int) -> str:
        rows = []
        for _ in range(n):
            i = self.next_id
            self.next_id += 1
            note = "NULL" if i % 7 == 0 else f"'写入 {self.rng.randint(0, 10**6)}'"
            rows.append(
                f"({i}, '新增{i}', {self.rng.randint(0, 10**7) / 100:.2f}, "
                f"DATE_ADD('1960-01-01', INTERVAL {i % 20000} DAY), NOW(), {note})"
            )
        return "INSERT INTO people VALUES " + ", ".join(rows)

    def _any_id(self) -> int:
        # Mostly loaded rows, sometimes rows this writer added (some already gone: no-ops).
        if self.next_id == FIRST_NEW_ID or self.rng.random() < 0.8:
            return self.rng.randint(1, ROWS)
        return self.rng.randint(FIRST_NEW_ID, self.next_id - 1)

    def _statements(self) -> list[str]:
        r = self.rng.random()
        i = self._any_id()
        if r < 0.25:
            return [self._new_rows(self.rng.randint(1, 5))]
        if r < 0.50:
            return [
                f"UPDATE people SET note = '改 {self.rng.randint(0, 10**6)}', "
                f"amount = amount + 1.01, updated = NOW() WHERE id = {i}"
            ]
        if r < 0.60:
            return [
                "UPDATE people SET note = NULL, birth = DATE_ADD(birth, INTERVAL 1 DAY) "
                f"WHERE id BETWEEN {i} AND {i + self.rng.randint(2, 30)}"
            ]
        if r < 0.75:
            return [f"DELETE FROM people WHERE id = {i}"]
        if r < 0.80:
            return [f"DELETE FROM people WHERE id BETWEEN {i} AND {i + self.rng.randint(2, 20)}"]
        if r < 0.88:
            # The key itself changes: the row under the old key must leave the lake.
            new = self.next_id
            self.next_id += 1
            return [f"UPDATE people SET id = {new}, name = CONCAT(name, '迁') WHERE id = {i}"]
        # Gone and back in one transaction: the last change of the key wins.
        return [
            f"DELETE FROM people WHERE id = {i}",
            f"INSERT INTO people VALUES ({i}, '重建{i}', 1.00, '2000-02-29', NOW(), '重建')",
        ]

    def _transaction(self, *, final: bool = False) -> None:
        with self.conn.cursor() as cur:
            if final:
                # Surely a change of the table, whatever follows.
                cur.execute(self._new_rows(2))
            count = 3 if final else self.rng.choice([1, 1, 1, 2, 3, 5, 8])
            for _ in range(count):
                for statement in self._statements():
                    cur.execute(statement)
                    self.statements += 1
            if not final and self.rng.random() < 0.03:
                # Never committed: must never reach the lake.
                self.conn.rollback()
                return
        self.conn.commit()
        self.transactions += 1


def _master_status(conn: Any) -> BinlogPos:
    with conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        row = cur.fetchone()
    conn.commit()
    return str(row[0]), int(row[1])


def _transaction_end(conn: Any, before: BinlogPos, database: str) -> BinlogPos:
    """Where the first transaction on ``database``.people after ``before`` ends in the binary
    log (the end of its Xid event). Other databases' transactions may be interleaved."""
    log_file, pos = before
    mapped = False
    with conn.cursor() as cur:
        while True:
            cur.execute(f"SHOW BINLOG EVENTS IN '{log_file}' FROM {pos} LIMIT 200")
            events = cur.fetchall()
            assert events, f"no transaction of {database} after {before}"
            for name, _start, kind, _server, end, info in events:
                if kind == "Table_map" and f"({database}.people)" in str(info):
                    mapped = True
                elif kind == "Xid" and mapped:
                    return str(name), int(end)
                elif kind == "Rotate":
                    log_file, pos = str(info).split(";")[0], 4
                    break
                pos = int(end)


def _lake_version(log_dir: Path) -> int:
    versions = [int(p.stem) for p in log_dir.glob("*.json") if p.stem.isdigit()]
    return max(versions, default=-1)


def _position(commit: dict[str, Any] | None) -> BinlogPos | None:
    raw = (commit or {}).get(META_POSITION)
    if not raw:
        return None
    position = json.loads(raw)
    return str(position["log_file"]), int(position["log_pos"])


def _lake_facts(settings: Settings, table: str) -> tuple[int, int, int]:
    """Rows, distinct keys and the content checksum of the lake table (as the source's)."""
    con = duckdb.connect()
    con.register("people", Lake.from_settings(settings).dataset(table))
    rows, keys, total = con.execute(
        "SELECT count(*), count(DISTINCT id), "
        f"sum(('0x' || left(md5({crash.LAKE_ROW}), 8))::UBIGINT) FROM people"
    ).fetchone() or (0, 0, 0)
    return int(rows), int(keys), int(total or 0)


def test_cdc_stream_survives_ten_sigkills(
    org: Org, db: Database, settings: Settings, tmp_path: Path
) -> None:
    if db.dialect != "sqlite":
        pytest.skip("one metadata store is enough for the crash test; SQLite is the embedded one")
    began = time.monotonic()
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    with mariadb_db() as src:
        src.execute(
            "CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, "
            "amount DECIMAL(12, 2), birth DATE, updated DATETIME, note VARCHAR(100))"
        )
        src.execute(
            "INSERT INTO people SELECT seq, CONCAT('姓名', seq), (seq % 100000) / 100, "
            "DATE_ADD('1950-01-01', INTERVAL seq % 25000 DAY), "
            "DATE_ADD('2024-01-01', INTERVAL seq SECOND), "
            f"IF(seq % 10 = 0, NULL, 'note') FROM seq_1_to_{ROWS}"
        )
        info = src.connector().discover()[0]
        setup = ef.make_pipeline(
            org,
            kind="mariadb",
            config=src.config(),
            target="people",
            columns=ef.mapping_of(info),
            key_columns=["id"],
            pipeline_kind="cdc",
            options={
                "chunk_rows": 4_000,
                "parallelism": 2,
                "batch_rows": 5_000,
                "batch_window_ms": 100,
            },
        )
        log_dir = Lake.from_settings(settings).path(setup.lake_table) / "_delta_log"
        workers = crash.Workers(settings, tmp_path)
        writer = Writer(src, random.Random(seed + 1))
        phases: list[str] = []
        try:
            for _ in range(SPARES):
                workers.spawn()
            writer.start()
            with org.as_("xn_officer").act() as ctx:
                run_id = pipelines.run_now(ctx, setup.pipeline_id).id
            job_id = ef.run_row(db, run_id).job_id or ""
            deadline = time.monotonic() + 90
            while len(phases) < KILLS:
                assert time.monotonic() < deadline, f"only {len(phases)} kills in time"
                assert writer.error is None, writer.error
                job = crash._job(db, job_id)
                assert job.status in ("queued", "running"), (job.status, job.last_error)
                pid = crash._owner_pid(job)
                if pid is None or pid not in workers.pids:
                    time.sleep(0.02)
                    continue
                how = PLAN[len(phases)]
                version = _lake_version(log_dir)
                loads = _loads_begun(db, run_id)
                if how == "delay-short":
                    time.sleep(rng.uniform(0.0, 0.3))
                elif how == "delay":
                    time.sleep(rng.uniform(0.2, 2.0))
                elif how == "start":
                    _wait_load_begun(db, run_id, job_id, pid, log_dir, loads)
                elif how == "chunks":
                    _wait_staged(db, job_id, pid, log_dir, rng.randint(1, 5))
                else:
                    _wait_commit(db, job_id, pid, log_dir, version)
                    if how == "after-commit":
                        time.sleep(rng.uniform(0.0, 0.4))
                if crash._owner_pid(crash._job(db, job_id)) != pid:
                    continue
                loaded = _lake_version(log_dir) >= 1
                workers.kill(pid)
                phases.append(f"{how}/{'stream' if loaded else 'load'}")
                workers.spawn()
            kills_done = time.monotonic()

            # The writer stops; the worker that took over the last time catches up with it.
            writer.stop.set()
            writer.join(timeout=20)
            assert writer.error is None, writer.error
            assert writer.last_end is not None
            lake = Lake.from_settings(settings)
            caught_up = time.monotonic() + 45
            while True:
                newest = lake.last_commit(setup.lake_table, {META_PIPELINE: setup.pipeline_id})
                at = _position(newest)
                if at is not None and at >= writer.last_end:
                    break
                assert time.monotonic() < caught_up, (
                    f"the stream did not catch up: lake at {at}, writer at {writer.last_end}; "
                    f"run log: {ef.run_log(db, run_id)[-10:]}"
                )
                time.sleep(0.1)
            caught = time.monotonic()

            count, total = crash._source_checksum(src)
            assert _lake_facts(settings, setup.lake_table) == (count, count, total), (seed, phases)

            # Pausing ends the stream: the one run, resumed by every worker, succeeds.
            with db.transaction(immediate=True) as s:
                s.execute(
                    update(Pipeline)
                    .where(Pipeline.id == setup.pipeline_id)
                    .values(state=PipelineState.PAUSED.value)
                )
            ended = time.monotonic() + 20
            while crash._job(db, job_id).status in ("queued", "running"):
                assert time.monotonic() < ended, "the stream did not stop when paused"
                time.sleep(0.05)
        finally:
            writer.stop.set()
            workers.stop_all()

        history = [
            h
            for h in Lake.from_settings(settings).history(setup.lake_table)
            if h.get(META_PIPELINE) == setup.pipeline_id
        ]
        print(
            f"\nseed {seed}; kills: {phases}\nwriter: {writer.transactions} transactions, "
            f"{writer.statements} statements; lake commits: {len(history)}; rows: {count}\n"
            f"kills done {kills_done - began:.1f}s, caught up in {caught - kills_done:.1f}s, "
            f"total {time.monotonic() - began:.1f}s"
        )
        job = crash._job(db, job_id)
        assert job.status == "succeeded", job.last_error
        # One claim by the first worker, one takeover after each kill.
        assert job.attempts == KILLS + 1
        with db.transaction() as s:
            runs = s.scalars(
                select(PipelineRun).where(PipelineRun.pipeline_id == setup.pipeline_id)
            ).all()
        assert [(r.id, r.status) for r in runs] == [(run_id, "succeeded")]
        assert {h.get(META_RUN) for h in history} == {run_id}
        # Positions only move forward, whatever was killed when.
        positions = [p for h in reversed(history) if (p := _position(h)) is not None]
        assert len(positions) == len(history)
        assert positions == sorted(positions)
        # The initial load committed once, as the lake's first data version.
        assert [h["version"] for h in history if h.get("operation") != "MERGE"] == [1]
        assert any(p.endswith("/load") for p in phases), (seed, phases)
        assert sum(p.endswith("/stream") for p in phases) >= 5, (seed, phases)


def _loads_begun(db: Database, run_id: str) -> int:
    return sum("initial full load" in m for m in ef.run_log(db, run_id))


def _wait_load_begun(
    db: Database, run_id: str, job_id: str, pid: int, log_dir: Path, loads: int
) -> None:
    """Until ``pid``'s attempt holds the stream's start position (taken, or reused from the
    checkpoint) and begins staging: the run log shows one more initial load than ``loads``."""
    while _loads_begun(db, run_id) <= loads:
        if crash._owner_pid(crash._job(db, job_id)) != pid or _lake_version(log_dir) >= 1:
            return
        time.sleep(0.005)


def _wait_staged(db: Database, job_id: str, pid: int, log_dir: Path, more: int) -> None:
    """Until ``pid``'s attempt saved the stream's start position and staged ``more`` further
    chunks, the load committed, or ``pid`` lost the job."""
    start: int | None = None
    while True:
        job = crash._job(db, job_id)
        checkpoint = job.checkpoint or {}
        done = len((checkpoint.get("full") or {}).get("done") or {})
        start = done if start is None else start
        if (
            crash._owner_pid(job) != pid
            or _lake_version(log_dir) >= 1
            or ((checkpoint.get("cdc") or {}).get("start") and done >= start + more)
        ):
            return
        time.sleep(0.005)


def _wait_commit(db: Database, job_id: str, pid: int, log_dir: Path, version: int) -> None:
    """Until the lake table has a version newer than ``version``, or ``pid`` lost the job."""
    checked = 0.0
    while _lake_version(log_dir) <= version:
        t = time.monotonic()
        if t - checked > 0.2:
            checked = t
            if crash._owner_pid(crash._job(db, job_id)) != pid:
                return
        time.sleep(0.005)
