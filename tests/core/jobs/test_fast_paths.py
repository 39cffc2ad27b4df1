"""The worker's fast paths keep the queue's guarantees: one commit per job, leases, limits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs import queue
from govdata.core.jobs.models import Job, JobQueue
from govdata.core.jobs.worker import Worker
from tests.core.jobs.conftest import all_jobs, wait_for

KINDS = ["test.concurrent", "core.noop"]


def test_worker_commits_once_per_job(jdb: Database, jobs_settings: Settings) -> None:
    for _ in range(20):
        with jdb.transaction() as s:
            queue.enqueue(s, "core.noop", max_attempts=3)
    commits: list[Any] = []

    def count(conn: Any) -> None:
        commits.append(conn)

    event.listen(jdb.engine, "commit", count)
    try:
        assert Worker(jdb, jobs_settings).run_until_idle() == 20
    finally:
        event.remove(jdb.engine, "commit", count)
    assert {j.status for j in all_jobs(jdb)} == {"succeeded"}
    # Each outcome shares its commit with the next claim; the rest is the
    # first claim, the schedule check and the queue-limits check.
    assert len(commits) <= 20 + 3


def test_job_longer_than_its_lease_keeps_it(
    jdb: Database, jobs_settings: Settings, add_job: Callable[..., str], load: Callable[[str], Job]
) -> None:
    lease = jobs_settings.job_lease_seconds
    job_id = add_job("test.concurrent", {"sleep": lease * 2.5})
    worker = Worker(jdb, jobs_settings)
    worker.start()
    try:
        wait_for(lambda: load(job_id).status == "running")
        stolen: list[queue.ClaimedJob | None] = []
        # Past the first lease's end, no other worker may take the job over.
        timer = threading.Timer(
            lease * 1.5,
            lambda: stolen.append(queue.claim(jdb, "thief", KINDS, lease_seconds=30)),
        )
        timer.start()
        timer.join()
        assert stolen == [None]
        job = wait_for(lambda: (j := load(job_id)).status == "succeeded" and j, timeout=10)
    finally:
        worker.stop(grace=5)
    assert job.attempts == 1 and job.heartbeat_at is not None


def test_queue_rule_added_after_the_worker_looked_is_honoured(
    jdb: Database, jobs_settings: Settings, add_job: Callable[..., str], load: Callable[[str], Job]
) -> None:
    worker = Worker(jdb, jobs_settings)
    add_job("core.noop")
    # The worker now believes, for a while, that no queue has limits.
    assert worker.run_one()
    with jdb.transaction() as s:
        s.add(JobQueue(name="held", concurrency=1, paused=True))
    held = add_job("core.noop", queue="held")
    assert not worker.run_one()
    assert load(held).status == "queued"
