"""Crash test: a full load of a 200k-row MariaDB table in real worker processes, SIGKILLed at
random points ten times; afterwards the lake table equals the source exactly.

Worker processes take seconds to import, so spare workers are kept started and waiting: the
one holding the job's lease is killed, and a spare takes the job over once the (short) lease
has expired, resuming from the checkpoint and the lake.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import func, select

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs.models import Job
from govdata.exchange.models import PipelineRun, PipelineRunLog
from govdata.lake.tables import Lake
from tests.exchange import engine_fixtures as ef
from tests.exchange.sourcedb import SourceDb, mariadb_db
from tests.identity.conftest import Org

REPO = Path(__file__).resolve().parents[2]
ROWS = 200_000
KILLS = 10
SPARES = 2

SOURCE_ROW = (
    "CONCAT_WS('|', id, name, amount, birth, DATE_FORMAT(updated, '%Y-%m-%d %H:%i:%s'), note)"
)
LAKE_ROW = (
    "concat_ws('|', id, name, amount::VARCHAR, birth::VARCHAR, "
    "strftime(updated, '%Y-%m-%d %H:%M:%S'), note)"
)


def _source_checksum(src: SourceDb) -> tuple[int, int]:
    ((count, total),) = src.rows(
        f"SELECT COUNT(*), SUM(CAST(CONV(LEFT(MD5({SOURCE_ROW}), 8), 16, 10) AS UNSIGNED)) "
        "FROM people"
    )
    return int(count), int(total)


def _lake_checksum(settings: Settings, table: str) -> tuple[int, int]:
    people = Lake.from_settings(settings).dataset(table)
    con = duckdb.connect()
    con.register("people", people)
    count, total = con.execute(
        f"SELECT count(*), sum(('0x' || left(md5({LAKE_ROW}), 8))::UBIGINT) FROM people"
    ).fetchone() or (0, 0)
    return int(count), int(total or 0)


# A "zygote": imports the worker and the engine once, then forks a worker process for each
# line read on stdin and prints its pid. Forked workers start at once, which keeps the test
# short on a busy machine; each is a real process with its own store connections, killed
# with a real SIGKILL.
ZYGOTE = """
import os, signal, sys, time
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs.worker import Worker
import govdata.cli, govdata.exchange.jobs, connectorx, deltalake, pyarrow.parquet
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
for _line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        sys.stdin.close()
        settings = Settings()
        worker = Worker(Database(settings.db_url), settings)
        worker.start()
        while True:
            time.sleep(60)
    print(pid, flush=True)
"""


class Workers:
    """Worker processes of the test's store and data folder, forked by a zygote."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "GOVDATA_DATA_DIR": str(settings.data_dir),
            "GOVDATA_DATABASE_URL": settings.db_url,
            "GOVDATA_SECRET_KEY": settings.secret_key,
            "GOVDATA_SOURCE_KEY": settings.source_key,
            "GOVDATA_JOB_LEASE_SECONDS": "1.0",
            "GOVDATA_JOB_POLL_SECONDS": "0.05",
        }
        self.log = (tmp_path / "workers.out").open("wb")
        self.zygote = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        self.pids: set[int] = set()

    def spawn(self) -> None:
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        self.zygote.stdin.write(b"\n")
        self.zygote.stdin.flush()
        self.pids.add(int(self.zygote.stdout.readline()))

    def kill(self, pid: int) -> None:
        self.pids.discard(pid)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(pid):
            assert time.monotonic() < deadline, f"worker {pid} survived SIGKILL"
            time.sleep(0.01)

    def stop_all(self) -> None:
        for pid in list(self.pids):
            self.kill(pid)
        self.zygote.kill()
        self.zygote.wait(timeout=10)
        self.log.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _job(db: Database, job_id: str) -> Job:
    with db.transaction() as s:
        job = s.get(Job, job_id)
        assert job is not None
        s.expunge(job)
        return job


def _owner_pid(job: Job) -> int | None:
    # Lease owners are "<host>:<pid>/<claim id>".
    if job.status != "running" or not job.lease_owner:
        return None
    return int(job.lease_owner.split("/", 1)[0].rsplit(":", 1)[1])


def _staged(db: Database, job_id: str, pid: int, chunks: int) -> Job:
    """The job once ``chunks`` chunks are checkpointed, or once ``pid`` no longer holds it."""
    while True:
        job = _job(db, job_id)
        done = ((job.checkpoint or {}).get("full") or {}).get("done") or {}
        if _owner_pid(job) != pid or len(done) >= chunks:
            return job
        time.sleep(0.01)


def _change_source(src: SourceDb, round_no: int) -> None:
    """Between completed runs the source moves on: the next load must follow it."""
    src.execute(f"UPDATE people SET note = 'round {round_no}' WHERE id % 97 = {round_no % 97}")
    src.execute(f"DELETE FROM people WHERE id % 1009 = {round_no}")
    src.execute(
        "INSERT INTO people SELECT id + 1000000, name, amount, birth, updated, note "
        f"FROM people WHERE id BETWEEN {round_no * 10 + 1} AND {round_no * 10 + 10}"
    )


def test_full_load_survives_ten_sigkills(
    org: Org, db: Database, settings: Settings, tmp_path: Path
) -> None:
    if db.dialect != "sqlite":
        pytest.skip("one metadata store is enough for the crash test; SQLite is the embedded one")
    rng = random.Random()
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
            options={"chunk_rows": 20_000, "parallelism": 2, "batch_rows": 2_000},
        )
        workers = Workers(settings, tmp_path)
        kills, rounds = 0, 0
        run_id = ef.enqueue(db, setup, max_attempts=KILLS + 5)
        deadline = time.monotonic() + 90
        try:
            for _ in range(SPARES):
                workers.spawn()
            while True:
                assert time.monotonic() < deadline, f"only {kills} kills in time"
                job = _job(db, ef.run_row(db, run_id).job_id or "")
                if job.status == "succeeded":
                    if kills >= KILLS:
                        break
                    rounds += 1
                    _change_source(src, rounds)
                    run_id = ef.enqueue(db, setup, max_attempts=KILLS + 5)
                    continue
                assert job.status in ("queued", "running"), (job.status, job.last_error)
                pid = _owner_pid(job)
                if pid is None or pid not in workers.pids or kills >= KILLS:
                    time.sleep(0.05)
                    continue
                if kills % 2 == 0:
                    # A random moment of this attempt: starting, reading, committing, recording.
                    time.sleep(rng.uniform(0.0, 1.2))
                    job = _job(db, job.id)
                else:
                    # Right after a random number of chunks were staged and checkpointed.
                    job = _staged(db, job.id, pid, rng.randint(1, 9))
                if _owner_pid(job) != pid:
                    continue
                workers.kill(pid)
                kills += 1
                workers.spawn()
        finally:
            workers.stop_all()

        assert kills == KILLS
        final = ef.run_row(db, run_id)
        assert final.status == "succeeded", final.error_message
        assert _lake_checksum(settings, setup.lake_table) == _source_checksum(src)
        with db.transaction() as s:
            resumed = s.scalar(
                select(func.count())
                .select_from(PipelineRunLog)
                .where(PipelineRunLog.message.like("%already staged%"))
            )
            runs = s.scalars(
                select(PipelineRun).where(PipelineRun.pipeline_id == setup.pipeline_id)
            ).all()
        assert resumed and resumed >= 1
        assert {r.status for r in runs} == {"succeeded"}
        # Each run committed exactly once, however often it was killed.
        history = Lake.from_settings(settings).history(setup.lake_table)
        committed = [h.get("govdata.run_id") for h in history if h.get("govdata.run_id")]
        assert sorted(committed) == sorted(r.id for r in runs)
