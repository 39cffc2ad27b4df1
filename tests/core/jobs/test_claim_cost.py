"""A claim costs the same whatever the table holds: it reads its partial indexes, in order."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert

from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.jobs import queue, worker
from govdata.core.jobs.models import Job, JobQueue
from tests.core.jobs.conftest import all_jobs

KINDS = ["test.steps", "core.noop"]
BACKLOG = 1500
HISTORY = 1500
CLAIM_ALIASES = (["queued_job"], ["expired_job"])


def _fill(db: Database) -> None:
    """A backlog of due jobs behind a long history of finished ones."""
    t = now()
    rows = [
        {
            "kind": "core.noop",
            "status": "succeeded" if i < HISTORY else "queued",
            "max_attempts": 3,
            "run_after": t - timedelta(seconds=BACKLOG + HISTORY - i),
        }
        for i in range(HISTORY + BACKLOG)
    ]
    with db.transaction() as s:
        s.execute(insert(Job), rows)


@pytest.fixture
def claim_sql(jdb: Database) -> Iterator[list[tuple[str, Any]]]:
    """The SQL and parameters of each claim statement run (the one picking a queued job)."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "queued_job" in statement:
            seen.append((statement, params))

    event.listen(jdb.engine, "before_cursor_execute", capture)
    yield seen
    event.remove(jdb.engine, "before_cursor_execute", capture)


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


@pytest.mark.parametrize("limited", [False, True], ids=["unlimited", "limited"])
def test_claim_reads_its_indexes_not_the_backlog(
    jdb: Database, claim_sql: list[tuple[str, Any]], limited: bool
) -> None:
    _fill(jdb)
    if limited:
        with jdb.transaction() as s:
            s.add(JobQueue(name="other", concurrency=1, paused=False))
    job = queue.claim(jdb, "w", KINDS, lease_seconds=30, queue_limits=limited)
    assert job is not None and job.status == "running"
    statement, params = claim_sql[-1]
    with queue.writer_engine(jdb).connect() as conn:
        if jdb.dialect == "postgresql":
            with conn.begin() as tx:
                plan = conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params
                ).scalar()
                tx.rollback()
            root = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
            scans = [
                n
                for n in _plan_nodes(root)
                if n.get("Relation Name") == "jobs" and n["Node Type"] != "ModifyTable"
            ]
            assert {n["Node Type"] for n in scans} <= {"Index Scan", "Index Only Scan"}
            assert "ix_jobs_queued" in {n.get("Index Name") for n in scans}
            # A handful of index entries, out of thousands of rows.
            assert sum(n["Actual Rows"] * n["Actual Loops"] for n in scans) <= 5
        else:
            details = [
                row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            ]
            on_jobs = [d for d in details if d.split()[1:2] in (["jobs"], *CLAIM_ALIASES)]
            assert any("ix_jobs_queued" in d for d in on_jobs), details
            assert all("USING" in d for d in on_jobs), details


def test_abandoned_job_is_resumed_before_older_queued_ones(
    jdb: Database, add_job: Callable[..., str]
) -> None:
    t = now()
    older = add_job("core.noop", run_after=t - timedelta(seconds=20))
    abandoned = add_job("test.steps", run_after=t - timedelta(seconds=10))
    first = queue.claim(jdb, "crashed", ["test.steps"], lease_seconds=0.2)
    assert first is not None and first.id == abandoned
    time.sleep(0.3)
    got = [queue.claim(jdb, f"w{i}", KINDS, lease_seconds=30) for i in range(3)]
    assert [j.id if j else None for j in got] == [abandoned, older, None]
    assert got[0] is not None and got[0].attempts == 2 and got[0].lease_owner == "w0"
    assert {j.status for j in all_jobs(jdb)} == {"running"}


def test_worker_connection_plans_afresh_when_work_arrives(
    pg_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "REPLAN_MIN_SECONDS", 0.2)
    monkeypatch.setattr(worker, "REPLAN_MAX_SECONDS", 0.6)
    db = Database(pg_store_url)
    try:
        lane = worker._Lane(db)
        conn = lane.connection()

        def statements() -> int:
            return int(conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").one()[0])

        def refreshed() -> bool:
            """Whether the lane drops the statements prepared so far, before its next claim."""
            with conn.begin():
                # Run often enough that the driver prepares what it runs repeatedly.
                for _ in range(6):
                    conn.exec_driver_sql("SELECT count(*) FROM jobs WHERE status = 'queued'").all()
                assert statements() > 0
                lane.refresh_plans()
                return statements() == 0

        # The first claim in a transaction: plans may predate the lane.
        assert refreshed()
        # Work arrives (the lane starts idle), but the plans were made moments ago.
        lane.claimed(True)
        assert not refreshed()
        time.sleep(0.25)
        assert refreshed()
        # Busy all along: the plans are kept for a while...
        lane.claimed(True)
        time.sleep(0.25)
        assert not refreshed()
        # ... unless work arrives after an idle spell,
        lane.claimed(False)
        lane.claimed(True)
        assert refreshed()
        # ... or they are old.
        lane.claimed(True)
        assert not refreshed()
        time.sleep(0.65)
        assert refreshed()
    finally:
        db.dispose()
