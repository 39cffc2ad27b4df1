"""Run records of the ``exchange.pipeline`` job: one run at a time, paused pipelines, stale
runs, scheduled runs, and the log."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs import queue as jobqueue
from govdata.core.jobs.embedded import EmbeddedWorker
from govdata.core.jobs.models import Job
from govdata.core.jobs.registry import load_handlers
from govdata.exchange.models import Pipeline, PipelineRun
from govdata.lake.tables import Lake
from tests.core.jobs import handlers
from tests.exchange import engine_fixtures as ef
from tests.exchange.sourcedb import SourceDb, mariadb_db
from tests.identity.conftest import Org


@pytest.fixture
def src() -> Iterator[SourceDb]:
    with mariadb_db() as source:
        source.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
        source.executemany("INSERT INTO t VALUES (%s, %s)", [(i, f"v{i}") for i in range(10)])
        yield source


def _setup(org: Org, src: SourceDb) -> ef.Setup:
    info = src.connector().discover()[0]
    return ef.make_pipeline(
        org,
        kind="mariadb",
        config=src.config(),
        target="t",
        columns=ef.mapping_of(info),
        key_columns=["id"],
    )


def _scheduled_job(db: Database, setup: ef.Setup) -> str:
    with db.transaction() as s:
        job, _ = jobqueue.enqueue(
            s,
            ef.JOB_KIND,
            {"pipeline_id": setup.pipeline_id, "trigger": "schedule"},
            max_attempts=3,
        )
        return job.id


def _runs(db: Database, setup: ef.Setup) -> list[PipelineRun]:
    with db.transaction() as s:
        rows = list(
            s.scalars(
                select(PipelineRun)
                .where(PipelineRun.pipeline_id == setup.pipeline_id)
                .order_by(PipelineRun.started_at)
            )
        )
        s.expunge_all()
        return rows


def _job(db: Database, job_id: str) -> Job:
    with db.transaction() as s:
        job = s.get(Job, job_id)
        assert job is not None
        s.expunge(job)
        return job


def test_scheduled_job_creates_its_run(
    org: Org, db: Database, settings: Settings, src: SourceDb
) -> None:
    setup = _setup(org, src)
    job_id = _scheduled_job(db, setup)
    assert ef.run_jobs(db, settings) == 1
    (run,) = _runs(db, setup)
    assert (run.status, run.trigger, run.job_id) == ("succeeded", "schedule", job_id)
    assert run.rows_written == 10
    log = ef.run_log(db, run.id)
    assert log[0].startswith("开始full运行") and "succeeded" in log[-1]
    assert _job(db, job_id).result is not None


def test_second_concurrent_run_is_refused(
    org: Org, db: Database, settings: Settings, src: SourceDb
) -> None:
    setup = _setup(org, src)
    scheduled = _scheduled_job(db, setup)
    queued_run = ef.enqueue(db, setup)  # "run now": a queued run whose job is alive
    assert ef.run_jobs(db, settings, one=True)
    job = _job(db, scheduled)
    assert job.status == "failed"
    assert "pipeline_busy" in (job.last_error or "")
    assert [r.id for r in _runs(db, setup)] == [queued_run]  # no run recorded for it
    ef.run_jobs(db, settings)
    assert ef.run_row(db, queued_run).status == "succeeded"


def test_run_left_by_a_dead_job_does_not_block(
    org: Org, db: Database, settings: Settings, src: SourceDb
) -> None:
    setup = _setup(org, src)
    stale = ef.enqueue(db, setup)
    with db.transaction() as s:
        run = s.get(PipelineRun, stale)
        assert run is not None
        run.status = "running"
        job = s.get(Job, run.job_id)
        assert job is not None
        job.status = "dead"
    fresh = ef.run(db, settings, setup)
    assert fresh.status == "succeeded", fresh.error_message
    old = ef.run_row(db, stale)
    assert (old.status, old.error_code) == ("failed", "pipeline_worker_lost")


def test_paused_pipeline_cancels_its_queued_run_and_skips_schedules(
    org: Org, db: Database, settings: Settings, src: SourceDb
) -> None:
    setup = _setup(org, src)
    queued = ef.enqueue(db, setup)
    scheduled = _scheduled_job(db, setup)
    with db.transaction() as s:
        pipeline = s.get(Pipeline, setup.pipeline_id)
        assert pipeline is not None
        pipeline.state = "paused"
    assert ef.run_jobs(db, settings) == 2
    run = ef.run_row(db, queued)
    assert (run.status, run.error_code) == ("cancelled", "pipeline_paused")
    assert [r.id for r in _runs(db, setup)] == [queued]
    assert _job(db, scheduled).status == "succeeded"
    assert not Lake.from_settings(settings).exists(setup.lake_table)


def _wait(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_embedded_profile_runs_cdc_streams_beside_ordinary_jobs(
    db: Database, settings: Settings
) -> None:
    load_handlers(handlers.MODULE)
    settings = settings.model_copy(
        update={
            "job_poll_seconds": 0.05,
            "job_lease_seconds": 5.0,
            "job_handler_modules": handlers.MODULE,
            "cdc_streams": 2,
        }
    )
    with db.transaction() as s:
        streams = [
            jobqueue.enqueue(s, "test.wait_cancel", max_attempts=1, queue="cdc")[0].id
            for _ in range(2)
        ]
    embedded = EmbeddedWorker(db, settings)
    embedded.start()
    try:
        _wait(lambda: all(_job(db, j).status == "running" for j in streams))
        # Both streams hold a thread of the CDC worker; the ordinary worker is still free.
        assert all("/cdc/" in (_job(db, j).lease_owner or "") for j in streams)
        with db.transaction() as s:
            noop = jobqueue.enqueue(s, "core.noop", max_attempts=1)[0].id
        _wait(lambda: _job(db, noop).status == "succeeded", timeout=5.0)
        assert "/cdc/" not in (_job(db, noop).lease_owner or "")
        with db.transaction() as s:
            for j in streams:
                jobqueue.request_cancel(s, j)
        _wait(lambda: all(_job(db, j).status != "running" for j in streams))
    finally:
        embedded.stop()
