"""Cron schedules enqueue exactly one job per due time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs import actions, registry, schedules
from govdata.core.jobs.models import JobSchedule
from govdata.core.jobs.schemas import ScheduleIn
from govdata.core.jobs.worker import Worker
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from tests.core.jobs.conftest import all_jobs


def test_next_run_reads_cron_in_the_display_time_zone() -> None:
    after = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # 01:30 in Shanghai
    assert schedules.next_run("0 2 * * *", after) == datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
    assert schedules.next_run("0 2 * * *", after, ZoneInfo("UTC")) == datetime(
        2026, 3, 2, 2, 0, tzinfo=UTC
    )


def _schedule(db: Database, settings: Settings, cron: str = "*/5 * * * *") -> str:
    with Caller(db, settings, SYSTEM).act() as ctx:
        out = actions.save_schedule(
            ctx, ScheduleIn(name="tick", cron=cron, kind="core.noop", payload={"n": 1})
        )
    return out.id


def _set_due(db: Database, schedule_id: str, due: datetime) -> None:
    with db.transaction() as s:
        s.execute(update(JobSchedule).where(JobSchedule.id == schedule_id).values(next_run_at=due))


def test_due_schedule_enqueues_once_and_advances(jdb: Database, jobs_settings: Settings) -> None:
    sched_id = _schedule(jdb, jobs_settings)
    assert schedules.run_due(jdb, jobs_settings) == []
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    _set_due(jdb, sched_id, due)
    created = schedules.run_due(jdb, jobs_settings)
    assert len(created) == 1
    assert schedules.run_due(jdb, jobs_settings) == []
    with jdb.transaction() as s:
        sched = s.get(JobSchedule, sched_id)
        assert sched is not None
        assert sched.last_run_at == due
        assert sched.next_run_at > datetime.now(UTC)
        assert sched.next_run_at.minute % 5 == 0
    # The same due time seen again (a second worker with a stale view) adds nothing.
    _set_due(jdb, sched_id, due)
    assert schedules.run_due(jdb, jobs_settings) == []
    [job] = all_jobs(jdb)
    assert job.schedule_id == sched_id and job.payload == {"n": 1}
    assert job.idempotency_key == schedules.schedule_key(sched_id, due)


def test_workers_racing_on_a_due_schedule_make_one_job(
    jdb: Database, jobs_settings: Settings
) -> None:
    sched_id = _schedule(jdb, jobs_settings)
    _set_due(jdb, sched_id, datetime.now(UTC) - timedelta(seconds=1))
    barrier = threading.Barrier(4)
    results: list[list[str]] = []

    def step() -> None:
        db = Database(jobs_settings.db_url)
        try:
            barrier.wait()
            results.append(schedules.run_due(db, jobs_settings))
        finally:
            db.dispose()

    threads = [threading.Thread(target=step) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    assert len(all_jobs(jdb)) == 1


def test_worker_runs_scheduled_jobs(jdb: Database, jobs_settings: Settings) -> None:
    sched_id = _schedule(jdb, jobs_settings, cron="0 0 1 1 *")
    _set_due(jdb, sched_id, datetime.now(UTC) - timedelta(seconds=1))
    assert Worker(jdb, jobs_settings).run_until_idle() == 1
    [job] = all_jobs(jdb)
    assert job.status == "succeeded" and job.schedule_id == sched_id


def test_standing_schedules_are_created_once_at_their_next_slot(db: Database) -> None:
    registry.load_handlers()
    before = datetime.now(UTC)
    # Every domain's standing schedules, each created once.
    assert sorted(schedules.ensure_standing(db)) == sorted(
        s.name for s in registry.standing_schedules()
    )
    assert {"sharing.sweep", "ledger.seal", "ledger.verify.nightly"} <= {
        s.name for s in registry.standing_schedules()
    }
    assert schedules.ensure_standing(db) == []
    with db.transaction() as s:
        sweep = s.scalars(select(JobSchedule).where(JobSchedule.name == "sharing.sweep")).one()
        assert sweep.kind == "sharing.sweep" and sweep.cron == "*/5 * * * *"
        assert before < sweep.next_run_at <= before + timedelta(minutes=5)
