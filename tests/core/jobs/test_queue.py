"""The queue's store operations and one worker, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.errors import Conflict
from govdata.core.jobs import queue
from govdata.core.jobs.models import Job, JobQueue
from govdata.core.jobs.worker import Worker
from tests.core.jobs.conftest import all_jobs, wait_for

KINDS = ["test.record", "test.steps", "test.fail", "core.noop"]


def test_enqueue_with_same_key_returns_existing_job(jdb: Database) -> None:
    with jdb.transaction() as s:
        first, created = queue.enqueue(
            s, "core.noop", {"a": 1}, max_attempts=3, idempotency_key="k1"
        )
        assert created
    with jdb.transaction() as s:
        again, created = queue.enqueue(
            s, "core.noop", {"a": 2}, max_attempts=3, idempotency_key="k1"
        )
        assert not created
        assert again.id == first.id
        assert again.payload == {"a": 1}
        other, created = queue.enqueue(s, "core.noop", None, max_attempts=3, idempotency_key="k2")
        assert created and other.id != first.id
    with jdb.transaction() as s, pytest.raises(Conflict) as err:
        queue.enqueue(s, "test.record", None, max_attempts=3, idempotency_key="k1")
    assert err.value.code == "idempotency_key_conflict"
    assert len(all_jobs(jdb)) == 2


def test_concurrent_enqueues_with_one_key_make_one_job(jdb: Database) -> None:
    barrier = threading.Barrier(4)
    ids: list[str] = []

    def enqueue() -> None:
        barrier.wait()
        with jdb.transaction() as s:
            job, _ = queue.enqueue(s, "core.noop", None, max_attempts=3, idempotency_key="race")
            ids.append(job.id)

    threads = [threading.Thread(target=enqueue) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 4 and len(set(ids)) == 1
    assert len(all_jobs(jdb)) == 1


def test_claims_oldest_due_job_first_and_skips_future_ones(
    jdb: Database, add_job: Callable[..., str]
) -> None:
    t = now()
    later = add_job("core.noop", run_after=t - timedelta(seconds=1))
    earlier = add_job("core.noop", run_after=t - timedelta(seconds=2))
    add_job("core.noop", run_after=t + timedelta(hours=1))
    add_job("unknown.kind", run_after=t - timedelta(seconds=3))
    got = [queue.claim(jdb, f"w{i}", KINDS, lease_seconds=30) for i in range(3)]
    assert [j.id if j else None for j in got] == [earlier, later, None]
    assert got[0] is not None and got[0].status == "running" and got[0].attempts == 1
    assert got[0].lease_owner == "w0" and got[0].lease_expires_at is not None


def test_expired_lease_is_reclaimed_and_the_old_owner_is_locked_out(
    jdb: Database, add_job: Callable[..., str], load: Callable[[str], Job]
) -> None:
    job_id = add_job("core.noop")
    first = queue.claim(jdb, "old", KINDS, lease_seconds=0.3)
    assert first is not None and first.id == job_id
    assert queue.claim(jdb, "new", KINDS, lease_seconds=30) is None
    assert queue.heartbeat(jdb, job_id, "old", 0.3) is False
    time.sleep(0.45)
    second = queue.claim(jdb, "new", KINDS, lease_seconds=30)
    assert second is not None and second.id == job_id
    assert second.attempts == 2 and second.lease_owner == "new"
    # The first worker lost its lease: none of its writes land any more.
    assert queue.heartbeat(jdb, job_id, "old", 30) is None
    assert queue.save_checkpoint(jdb, job_id, "old", {"x": 1}, 30) is None
    assert queue.succeed(jdb, job_id, "old", {"by": "old"}) is None
    assert queue.succeed(jdb, job_id, "new", {"by": "new"}) == "succeeded"
    job = load(job_id)
    assert job.status == "succeeded" and job.result == {"by": "new"} and job.checkpoint is None


def test_abandoned_job_on_its_last_attempt_goes_dead(
    jdb: Database, add_job: Callable[..., str], load: Callable[[str], Job]
) -> None:
    job_id = add_job("core.noop", max_attempts=1)
    assert queue.claim(jdb, "crashed", KINDS, lease_seconds=0.1) is not None
    time.sleep(0.2)
    assert queue.claim(jdb, "next", KINDS, lease_seconds=30) is None
    job = load(job_id)
    assert job.status == "dead" and "lease expired" in (job.last_error or "")


def test_backoff_doubles_and_is_capped() -> None:
    assert [queue.backoff_delay(2.0, n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert queue.backoff_delay(2.0, 40) == queue.BACKOFF_CAP_SECONDS


def test_failures_retry_with_exponential_backoff_then_go_dead(
    jdb: Database, jobs_settings: Settings, add_job: Callable[..., str], load: Callable[[str], Job]
) -> None:
    job_id = add_job("test.fail", max_attempts=3)
    worker = Worker(jdb, jobs_settings)
    base = jobs_settings.job_backoff_seconds
    for attempt in (1, 2):
        before = now()
        assert worker.run_one()
        job = load(job_id)
        assert job.status == "queued" and job.attempts == attempt
        assert f"boom on attempt {attempt}" in (job.last_error or "")
        delay = (job.run_after - before).total_seconds()
        expected = base * 2 ** (attempt - 1)
        assert expected <= delay < expected + 0.5
        # Not due yet: nothing to claim until the backoff has passed.
        assert not worker.run_one()
        time.sleep(max(0.0, (job.run_after - now()).total_seconds()) + 0.02)
    assert worker.run_one()
    job = load(job_id)
    assert job.status == "dead" and job.attempts == 3 and job.finished_at is not None
    assert not worker.run_one()


def test_retry_succeeds_on_a_later_attempt(
    jdb: Database, jobs_settings: Settings, add_job: Callable[..., str], load: Callable[[str], Job]
) -> None:
    job_id = add_job("test.fail", {"succeed_on": 2})
    worker = Worker(jdb, jobs_settings.model_copy(update={"job_backoff_seconds": 0}))
    assert worker.run_until_idle() == 2
    job = load(job_id)
    assert job.status == "succeeded" and job.result == {"attempt": 2}
    assert job.last_error and "boom on attempt 1" in job.last_error


def test_permanent_failure_and_unstorable_result(
    jdb: Database, jobs_settings: Settings, add_job: Callable[..., str], load: Callable[[str], Job]
) -> None:
    permanent = add_job("test.permanent")
    bad = add_job("test.bad_result", max_attempts=1)
    Worker(jdb, jobs_settings).run_until_idle()
    job = load(permanent)
    assert job.status == "failed" and job.attempts == 1
    assert job.last_error == "payload names no table"
    job = load(bad)
    assert job.status == "dead" and "not JSON serializable" in (job.last_error or "")


def test_checkpoint_and_progress_are_stored(
    jdb: Database,
    jobs_settings: Settings,
    add_job: Callable[..., str],
    load: Callable[[str], Job],
    tmp_path: Path,
) -> None:
    log = tmp_path / "steps.log"
    job_id = add_job("test.steps", {"steps": 3, "log": str(log)})
    assert Worker(jdb, jobs_settings).run_until_idle() == 1
    job = load(job_id)
    assert job.status == "succeeded" and job.checkpoint == {"next": 3}
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.progress_message == "step 3 of 3"
    assert job.result == {"steps": 3, "resumed_from": 0}
    assert len(log.read_text().splitlines()) == 3


def test_stopping_worker_hands_the_job_back_at_a_checkpoint(
    jdb: Database,
    jobs_settings: Settings,
    add_job: Callable[..., str],
    load: Callable[[str], Job],
    tmp_path: Path,
) -> None:
    log = tmp_path / "steps.log"
    job_id = add_job("test.steps", {"steps": 50, "sleep": 0.05, "log": str(log)})
    worker = Worker(jdb, jobs_settings)
    worker.start()
    wait_for(lambda: log.exists() and len(log.read_text().splitlines()) >= 2)
    worker.stop(grace=10)
    job = load(job_id)
    assert job.status == "queued" and job.attempts == 0 and job.lease_owner is None
    done = job.checkpoint["next"] if job.checkpoint else 0
    assert 2 <= done < 50
    # The next worker starts where the first one stopped.
    assert Worker(jdb, jobs_settings).run_until_idle() == 1
    job = load(job_id)
    assert job.status == "succeeded" and job.result == {"steps": 50, "resumed_from": done}
    steps = [int(line.split()[0]) for line in log.read_text().splitlines()]
    assert sorted(steps) == list(range(50))


def test_cancel_queued_job_never_runs(
    jdb: Database,
    jobs_settings: Settings,
    add_job: Callable[..., str],
    load: Callable[[str], Job],
    tmp_path: Path,
) -> None:
    log = tmp_path / "record.log"
    job_id = add_job("test.record", {"log": str(log)})
    with jdb.transaction() as s:
        assert queue.request_cancel(s, job_id).status == "cancelled"
    assert Worker(jdb, jobs_settings).run_until_idle() == 0
    job = load(job_id)
    assert job.status == "cancelled" and job.finished_at is not None
    assert not log.exists()
    with jdb.transaction() as s, pytest.raises(Conflict) as err:
        queue.request_cancel(s, job_id)
    assert err.value.code == "job_finished"


def test_cancel_running_job_stops_its_handler(
    jdb: Database, jobs_settings: Settings, add_job: Callable[..., str], load: Callable[[str], Job]
) -> None:
    job_id = add_job("test.wait_cancel")
    worker = Worker(jdb, jobs_settings)
    worker.start()
    try:
        wait_for(lambda: load(job_id).status == "running")
        with jdb.transaction() as s:
            assert queue.request_cancel(s, job_id).status == "running"
        assert load(job_id).cancel_requested
        job = wait_for(lambda: (j := load(job_id)).status == "cancelled" and j, timeout=10)
    finally:
        worker.stop(grace=5)
    assert job.result == {"saw_cancel": True} and job.finished_at is not None


def test_queue_concurrency_limit_and_pause_at_claim(
    jdb: Database, add_job: Callable[..., str]
) -> None:
    with jdb.transaction() as s:
        s.add(JobQueue(name="narrow", concurrency=1, paused=False))
        s.add(JobQueue(name="held", concurrency=5, paused=True))
    narrow = [add_job("core.noop", queue="narrow") for _ in range(2)]
    add_job("core.noop", queue="held")
    wide = add_job("core.noop")
    first = queue.claim(jdb, "a", KINDS, lease_seconds=30)
    second = queue.claim(jdb, "b", KINDS, lease_seconds=30)
    assert first is not None and first.id == narrow[0]
    # The narrow queue is full, the held one paused: only the default queue's job is left.
    assert second is not None and second.id == wide
    assert queue.claim(jdb, "c", KINDS, lease_seconds=30) is None
    assert queue.succeed(jdb, narrow[0], "a", None) == "succeeded"
    third = queue.claim(jdb, "c", KINDS, lease_seconds=30)
    assert third is not None and third.id == narrow[1]
    assert queue.claim(jdb, "d", KINDS, lease_seconds=30, queues=["held", "narrow"]) is None
