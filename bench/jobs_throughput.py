"""Job queue throughput, as a ratio to raw INSERT + UPDATE round trips on the same database.

The baseline is N single-row INSERTs, each committed on its own, then N
single-row UPDATEs, each committed on its own, on one connection: the cost of
writing a row once and changing it once, durably. The queue figure is empty
jobs (``core.noop``) per second through one and then two worker processes
(``govdata worker``, default settings except a 20 ms idle poll), counted
from the moment N queued jobs are committed to the moment the last of them
is recorded as succeeded. Each configuration runs ``--runs`` times, its
baseline measured right before it so both see the same machine load; the
summary gives medians.

    python bench/jobs_throughput.py                 # PostgreSQL on 127.0.0.1:5432
    python bench/jobs_throughput.py --sqlite        # a temporary SQLite file
"""

from __future__ import annotations

import argparse
import os
import select as io_select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, delete, func, select, text

from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.jobs import queue
from govdata.core.jobs.models import SUCCEEDED, Job

BENCH_DB = "govdata_bench_jobs"
WORKER_CMD = [sys.executable, "-c", "from govdata.cli import main; main()", "worker"]
WORKER_START_TIMEOUT = 60.0


def pg_admin(base: str, sql: str) -> None:
    engine = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def raw_pairs_per_second(db: Database, n: int) -> float:
    """N single-row INSERTs, then N single-row UPDATEs, each its own transaction."""
    with db.engine.connect() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_raw")
        conn.exec_driver_sql("CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, v INTEGER)")
        conn.commit()
        params = "%(id)s" if db.dialect == "postgresql" else "?"
        insert = f"INSERT INTO bench_raw (id, v) VALUES ({params}, 0)"
        upd = f"UPDATE bench_raw SET v = 1 WHERE id = {params}"
        as_arg = (lambda i: {"id": i}) if db.dialect == "postgresql" else (lambda i: (i,))
        start = time.perf_counter()
        for i in range(n):
            conn.exec_driver_sql(insert, as_arg(i))
            conn.commit()
        for i in range(n):
            conn.exec_driver_sql(upd, as_arg(i))
            conn.commit()
        elapsed = time.perf_counter() - start
        conn.exec_driver_sql("DROP TABLE bench_raw")
        conn.commit()
    return n / elapsed


def empty_jobs_table(db: Database) -> None:
    """Every run starts from an empty, vacuumed table, whatever the previous run left."""
    with db.transaction() as s:
        s.execute(delete(Job))
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM jobs")


def start_workers(env: dict[str, str], count: int) -> list[subprocess.Popen[bytes]]:
    """Start ``count`` workers and return once each has printed its banner (it then polls)."""
    procs = [
        subprocess.Popen(WORKER_CMD, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    for p in procs:
        assert p.stdout is not None
        ready, _, _ = io_select.select([p.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready or not p.stdout.readline():
            stop_workers(procs)
            raise SystemExit(f"worker did not start (exit code {p.poll()})")
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.communicate(timeout=30)


def queue_jobs_per_second(db: Database, url: str, workdir: Path, n: int, workers: int) -> float:
    """Start ``workers`` idle worker processes, commit N jobs at once, time until all succeed."""
    empty_jobs_table(db)
    env = {
        **os.environ,
        "GOVDATA_DATABASE_URL": url,
        "GOVDATA_DATA_DIR": str(workdir),
        "GOVDATA_JOB_POLL_SECONDS": "0.02",
        # The banner that says a worker is up must not wait in a pipe buffer.
        "PYTHONUNBUFFERED": "1",
    }
    procs = start_workers(env, workers)
    try:
        with db.transaction() as s:
            for _ in range(n):
                queue.enqueue(s, "core.noop", max_attempts=3)
        start = now()
        while (last := _all_succeeded_at(db, n)) is None:
            time.sleep(0.05)
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a worker exited during the run")
    finally:
        stop_workers(procs)
    # The workers stamp each finish; the last stamp ends the run, so how
    # often this process looks does not change the figure.
    return n / (last - start).total_seconds()


def _all_succeeded_at(db: Database, n: int) -> datetime | None:
    with db.transaction() as s:
        done, last = s.execute(
            select(func.count(), func.max(Job.finished_at)).where(Job.status == SUCCEEDED)
        ).one()
    return last if done >= n else None


@dataclass
class Runs:
    raw: list[float]
    queue: list[float]

    def ratios(self) -> list[float]:
        return [q / r for q, r in zip(self.queue, self.raw, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration (median)")
    parser.add_argument("--sqlite", action="store_true", help="measure a SQLite file instead")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432", help="server URL")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="govdata-bench-") as tmp:
        workdir = Path(tmp)
        if args.sqlite:
            url = f"sqlite:///{workdir / 'bench.db'}"
        else:
            pg_admin(args.pg, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            pg_admin(args.pg, f"CREATE DATABASE {BENCH_DB}")
            url = f"{args.pg}/{BENCH_DB}"
        db = Database(url)
        results = {workers: Runs([], []) for workers in (1, 2)}
        try:
            db.migrate()
            print(
                f"store: {db.dialect}, {args.jobs} jobs, {args.runs} run(s), {os.cpu_count()} CPUs"
            )
            for run in range(1, args.runs + 1):
                for workers, got in results.items():
                    # The baseline is measured right before each queue run, so
                    # both see the same machine load.
                    got.raw.append(raw_pairs_per_second(db, args.jobs))
                    got.queue.append(queue_jobs_per_second(db, url, workdir, args.jobs, workers))
                    print(
                        f"run {run}, {workers} worker(s): raw pairs/s {got.raw[-1]:8.1f}"
                        f"   queue jobs/s {got.queue[-1]:8.1f}   ratio {got.ratios()[-1]:.2f}"
                    )
        finally:
            db.dispose()
            if not args.sqlite:
                pg_admin(args.pg, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    print(f"median of {args.runs} run(s):")
    for workers, got in results.items():
        print(f"raw INSERT+UPDATE pairs/s (1 connection):  {statistics.median(got.raw):9.1f}")
        print(
            f"queue jobs/s through {workers} worker(s):        "
            f"{statistics.median(got.queue):9.1f}"
            f"   ratio to raw: {statistics.median(got.ratios()):.2f}"
        )


if __name__ == "__main__":
    main()
