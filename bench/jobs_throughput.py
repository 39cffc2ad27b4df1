"""Job queue throughput, as a ratio to raw INSERT + UPDATE round trips on the same database.

Each queued job costs a claim (one transaction) and a completion (another),
so the natural limit is one single-row INSERT and one single-row UPDATE, each
committed on its own. This script measures that limit, then empty jobs
(``core.noop``) per second through one and two worker processes, and prints
each figure and the ratios.

    python bench/jobs_throughput.py                 # PostgreSQL on 127.0.0.1:5432
    python bench/jobs_throughput.py --sqlite        # a temporary SQLite file
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, delete, func, select, text

from govdata.core.db import Database
from govdata.core.jobs import queue
from govdata.core.jobs.models import SUCCEEDED, Job

BENCH_DB = "govdata_bench_jobs"
WORKER_CMD = [sys.executable, "-c", "from govdata.cli import main; main()", "worker"]


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


def queue_jobs_per_second(db: Database, url: str, workdir: Path, n: int, workers: int) -> float:
    """Start ``workers`` idle worker processes, commit N jobs at once, time until all succeed."""
    with db.transaction() as s:
        s.execute(delete(Job))
    env = {
        **os.environ,
        "GOVDATA_DATABASE_URL": url,
        "GOVDATA_DATA_DIR": str(workdir),
        "GOVDATA_JOB_POLL_SECONDS": "0.02",
    }
    procs = [
        subprocess.Popen(WORKER_CMD, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    try:
        time.sleep(4)  # imports and migration check; they then poll an empty queue
        for p in procs:
            if p.poll() is not None:
                raise SystemExit(f"worker exited early with {p.returncode}")
        with db.transaction() as s:
            for _ in range(n):
                queue.enqueue(s, "core.noop", max_attempts=3)
        start = time.perf_counter()
        while True:
            with db.transaction() as s:
                done = s.scalar(select(func.count()).where(Job.status == SUCCEEDED)) or 0
            if done >= n:
                break
            time.sleep(0.05)
        return n / (time.perf_counter() - start)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
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
        try:
            db.migrate()
            print(f"store: {db.dialect}, {args.jobs} jobs, {os.cpu_count()} CPUs")
            for workers in (1, 2):
                # The baseline is measured right before each queue run, so both
                # see the same machine load.
                raw = raw_pairs_per_second(db, args.jobs)
                rate = queue_jobs_per_second(db, url, workdir, args.jobs, workers)
                print(f"raw INSERT+UPDATE pairs/s (1 connection):  {raw:9.1f}")
                print(
                    f"queue jobs/s through {workers} worker(s):        {rate:9.1f}"
                    f"   ratio to raw: {rate / raw:.2f}"
                )
        finally:
            db.dispose()
            if not args.sqlite:
                pg_admin(args.pg, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
