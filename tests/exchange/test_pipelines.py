"""Pipeline management: create with checks, schedules (JobSchedule rows), run now and busy,
pause (cancels queued runs, stops the schedule) and resume, runs and their logs, delete."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from govdata.core.clock import now
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.jobs import schedules
from govdata.core.jobs.models import Job, JobSchedule
from govdata.exchange import pipelines
from govdata.exchange.models import Pipeline, PipelineRun, PipelineRunLog
from govdata.exchange.schemas import PipelineCreate, PipelineUpdate
from govdata.security.models import AuditRecord
from tests.catalog.conftest import published_entry
from tests.exchange.sourcedb import mariadb_db
from tests.exchange.test_mounts import add_source, fill_people, mount_people
from tests.identity.conftest import Org


@dataclass
class World:
    org: Org
    physical: str
    logical: str
    no_watermark: str


@pytest.fixture
def world(org: Org) -> Iterator[World]:
    with mariadb_db() as src:
        fill_people(src, 3)
        source_id = add_source(org, "xn_stats", src)
        a = published_entry(org, "xn_officer")
        b = published_entry(org, "xn_officer", name="逻辑目录")
        c = published_entry(org, "xn_officer", name="无水位目录")
        physical = mount_people(org, source_id, a.id, watermark_column="updated_at")
        logical = mount_people(org, source_id, b.id, mode="logical")
        bare = mount_people(org, source_id, c.id)
        yield World(org, physical.id, logical.id, bare.id)


def create(w: World, user: str = "xn_officer", **kw: object) -> pipelines.PipelineOut:
    data: dict[str, object] = {"mount_id": w.physical, "name": "每日全量", "kind": "full"}
    data.update(kw)
    with w.org.as_(user).act() as ctx:
        return pipelines.create_pipeline(ctx, PipelineCreate.model_validate(data))


def act(w: World, fn: str, *args: object, user: str = "xn_officer", **kw: object) -> Any:
    with w.org.as_(user).act() as ctx:
        return getattr(pipelines, fn)(ctx, *args, **kw)


def test_create_checks_the_mount_kind_options_and_cron(world: World) -> None:
    w = world
    with pytest.raises(InvalidInput) as err:
        create(w, mount_id=w.logical)
    assert err.value.code == "pipeline_mount_logical"
    with pytest.raises(InvalidInput) as err:
        create(w, mount_id=w.no_watermark, kind="incremental", name="增量")
    assert err.value.code == "pipeline_watermark_missing"
    with pytest.raises(InvalidInput) as err:
        create(w, schedule="every day")
    assert err.value.code == "pipeline_schedule_invalid"
    with pytest.raises(InvalidInput) as err:
        create(w, options={"chunk_rows": -5})
    assert err.value.code == "pipeline_option_invalid"
    with pytest.raises(InvalidInput) as err:
        create(w, options={"target_table": "x"})
    assert err.value.code == "pipeline_option_invalid"
    with pytest.raises(InvalidInput) as err:
        create(w, kind="return", name="回流", options={"target_table": "t"})
    assert err.value.code == "pipeline_option_invalid"
    for user in ("hx_officer", "xn_admin", "xn_clerk"):
        with pytest.raises((PermissionDenied, NotFound)):
            create(w, user=user)

    p = create(w, options={"chunk_rows": 1000})
    assert p.state == "active" and p.kind == "full" and p.schedule is None
    inc = create(w, kind="incremental", name="增量")
    cdc = create(w, kind="cdc", name="实时")
    assert (inc.kind, cdc.kind) == ("incremental", "cdc")
    with pytest.raises(Conflict) as dup:
        create(w)
    assert dup.value.code == "pipeline_exists"


def test_schedule_is_a_job_schedule_that_enqueues_pipeline_jobs(world: World) -> None:
    w = world
    p = create(w, schedule="0 2 * * *")
    assert p.next_run_at is not None and p.next_run_at > now()
    with w.org.db.sessions() as s:
        row = s.get(Pipeline, p.id)
        assert row is not None and row.schedule_id is not None
        sched = s.get(JobSchedule, row.schedule_id)
        assert sched is not None
        assert (sched.cron, sched.kind, sched.queue, sched.enabled) == (
            "0 2 * * *",
            "exchange.pipeline",
            "default",
            True,
        )
        assert sched.payload == {"pipeline_id": p.id, "trigger": "schedule"}
        schedule_id = sched.id
    # When due, the scheduler enqueues the pipeline's job.
    created = schedules.run_due(w.org.db, w.org.settings, at=p.next_run_at + timedelta(seconds=1))
    with w.org.db.sessions() as s:
        jobs = [s.get(Job, j) for j in created]
        mine = [j for j in jobs if j is not None and j.schedule_id == schedule_id]
        assert len(mine) == 1
        assert mine[0].kind == "exchange.pipeline"
        assert mine[0].payload == {"pipeline_id": p.id, "trigger": "schedule"}

    changed = act(w, "update_pipeline", p.id, PipelineUpdate(schedule="*/5 * * * *"))
    assert changed.schedule == "*/5 * * * *"
    paused = act(w, "pause_pipeline", p.id)
    assert paused.next_run_at is None
    with w.org.db.sessions() as s:
        sched = s.get(JobSchedule, schedule_id)
        assert sched is not None and sched.cron == "*/5 * * * *" and not sched.enabled
    resumed = act(w, "resume_pipeline", p.id)
    assert resumed.next_run_at is not None
    removed = act(w, "update_pipeline", p.id, PipelineUpdate(schedule=None))
    assert removed.schedule is None
    with w.org.db.sessions() as s:
        assert s.get(JobSchedule, schedule_id) is None

    cdc = create(w, kind="cdc", name="实时", schedule="0 * * * *")
    with w.org.db.sessions() as s:
        row = s.get(Pipeline, cdc.id)
        assert row is not None
        sched = s.get(JobSchedule, row.schedule_id)
        assert sched is not None and sched.queue == "cdc"


def test_run_now_queues_one_run_and_refuses_a_second(world: World) -> None:
    w = world
    p = create(w)
    run = act(w, "run_now", p.id)
    assert run.status == "queued" and run.trigger == "manual"
    with w.org.db.sessions() as s:
        job = s.get(Job, run.job_id)
        assert job is not None
        assert job.kind == "exchange.pipeline" and job.queue == "default"
        assert job.payload == {
            "pipeline_id": p.id,
            "run_id": run.id,
            "trigger": "manual",
        }
        assert job.idempotency_key == f"pipeline-run:{run.id}"
    with pytest.raises(Conflict) as err:
        act(w, "run_now", p.id)
    assert err.value.code == "pipeline_busy"
    with pytest.raises(PermissionDenied):
        act(w, "run_now", p.id, user="xn_admin")
    got = act(w, "get_pipeline", p.id, user="xn_admin")
    assert got.last_run.id == run.id

    cdc = create(w, kind="cdc", name="实时")
    cdc_run = act(w, "run_now", cdc.id)
    with w.org.db.sessions() as s:
        job = s.get(Job, cdc_run.job_id)
        assert job is not None and job.queue == "cdc"
    with w.org.db.sessions() as s:
        audits = s.scalars(select(AuditRecord.action).where(AuditRecord.target_id == p.id)).all()
        assert "exchange.pipeline.create" in audits and "exchange.pipeline.run_now" in audits


def test_pause_cancels_queued_runs_and_resume_restarts_a_cdc_stream(world: World) -> None:
    w = world
    p = create(w)
    run = act(w, "run_now", p.id)
    paused = act(w, "pause_pipeline", p.id)
    assert paused.state == "paused"
    with w.org.db.sessions() as s:
        row = s.get(PipelineRun, run.id)
        assert row is not None and row.status == "cancelled"
        job = s.get(Job, run.job_id)
        assert job is not None and job.status == "cancelled"
    with pytest.raises(Conflict) as err:
        act(w, "run_now", p.id)
    assert err.value.code == "pipeline_paused"
    resumed = act(w, "resume_pipeline", p.id)
    assert resumed.state == "active"
    # A full load is not restarted by resuming; it runs when asked or scheduled.
    assert resumed.last_run.status == "cancelled"
    assert act(w, "run_now", p.id).status == "queued"

    cdc = create(w, kind="cdc", name="实时")
    act(w, "pause_pipeline", cdc.id)
    back = act(w, "resume_pipeline", cdc.id)
    assert back.last_run.trigger == "resume"
    assert back.last_run.status == "queued"


def test_runs_are_listed_newest_first_with_their_logs(world: World) -> None:
    w = world
    p = create(w)
    base = now()
    with w.org.db.transaction() as s:
        for i in range(5):
            s.add(
                PipelineRun(
                    id=f"01a00000-0000-7000-8000-00000000000{i}",
                    pipeline_id=p.id,
                    kind="full",
                    trigger="schedule",
                    status="succeeded" if i % 2 else "failed",
                    started_at=base - timedelta(minutes=10 - i),
                    finished_at=base - timedelta(minutes=9 - i),
                    rows_read=100 * i,
                    error_code=None if i % 2 else "source_unreachable",
                )
            )
        s.flush()
        for n in range(3):
            s.add(
                PipelineRunLog(
                    run_id="01a00000-0000-7000-8000-000000000004",
                    at=base + timedelta(seconds=n),
                    level="info",
                    message=f"step {n}",
                )
            )
    first = act(w, "list_runs", p.id, limit=2)
    assert [r.rows_read for r in first.items] == [400, 300]
    rest = act(w, "list_runs", p.id, limit=10, cursor=first.next_cursor)
    assert [r.rows_read for r in rest.items] == [200, 100, 0]
    detail = act(w, "get_run", "01a00000-0000-7000-8000-000000000004", user="xn_admin")
    assert [log.message for log in detail.logs] == ["step 0", "step 1", "step 2"]
    assert detail.error_code == "source_unreachable"
    with pytest.raises(NotFound):
        act(w, "get_run", "01a00000-0000-7000-8000-000000000004", user="hx_officer")

    act(w, "delete_pipeline", p.id)
    with w.org.db.sessions() as s:
        assert s.get(Pipeline, p.id) is None
        assert s.scalars(select(PipelineRun).where(PipelineRun.pipeline_id == p.id)).all() == []


def test_list_pipelines_is_scoped(world: World) -> None:
    w = world
    p = create(w)

    def ids(user: str) -> list[str]:
        with w.org.as_(user).act() as ctx:
            return [x.id for x in pipelines.list_pipelines(ctx).items]

    assert ids("xn_officer") == [p.id]
    assert ids("operator") == [p.id]
    assert ids("xn_admin") == [p.id]
    assert ids("hx_officer") == []
    with pytest.raises(PermissionDenied):
        ids("xn_clerk")
    # Delete refused while running.
    run = act(w, "run_now", p.id)
    with w.org.db.transaction() as s:
        row = s.get(PipelineRun, run.id)
        assert row is not None
        row.status = "running"
    with pytest.raises(Conflict) as err:
        act(w, "delete_pipeline", p.id)
    assert err.value.code == "pipeline_busy"
