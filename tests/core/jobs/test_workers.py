"""Several workers at once: no job runs twice, queue limits hold across workers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs.models import JobQueue
from govdata.core.jobs.worker import Worker
from tests.core.jobs import handlers
from tests.core.jobs.conftest import all_jobs


def _drain(settings: Settings, workers: int, concurrency: int) -> list[Worker]:
    """Run ``workers`` workers, each with its own connection pool, until nothing is runnable."""
    pool = [
        Worker(Database(settings.db_url), settings, concurrency=concurrency, name=f"w{i}")
        for i in range(workers)
    ]
    for w in pool:
        w.start(drain=True)
    for w in pool:
        assert w.wait(timeout=60)
        w.db.dispose()
    return pool


def test_concurrent_workers_never_run_a_job_twice(
    jdb: Database, jobs_settings: Settings, add_job: Callable[..., str], tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    ids = {add_job("test.record", {"log": str(log), "sleep": 0.01}) for _ in range(60)}
    pool = _drain(jobs_settings, workers=2, concurrency=2)
    runs = Counter(log.read_text().split())
    assert set(runs) == ids
    assert max(runs.values()) == 1
    assert sum(w.executed for w in pool) == 60
    assert {j.status for j in all_jobs(jdb)} == {"succeeded"}
    # Both workers took part.
    assert all(w.executed > 0 for w in pool)


def test_queue_concurrency_limit_holds_across_workers(
    jdb: Database, jobs_settings: Settings, add_job: Callable[..., str]
) -> None:
    with jdb.transaction() as s:
        s.add(JobQueue(name="narrow", concurrency=2, paused=False))
    for _ in range(8):
        add_job("test.concurrent", {"sleep": 0.15}, queue="narrow")
    handlers.GAUGE.reset()
    _drain(jobs_settings, workers=2, concurrency=3)
    assert handlers.GAUGE.peak == 2
    assert {j.status for j in all_jobs(jdb)} == {"succeeded"}
