"""Run records: taking a run for a job, refusing a second concurrent one, recording the end.

A run row (``PipelineRun``) is created by "run now" (queued, its id in the job payload) or
here for a scheduled job. A job attempt that resumes after a crash, or retries after a
transient failure, takes the same row again: the run id is kept in the job checkpoint.
A run left queued or running by a job that is no longer alive (dead, cancelled) no longer
blocks the pipeline: it is closed as failed when the next run starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.errors import Conflict, GovDataError, NotFound
from govdata.core.jobs.models import QUEUED, RUNNING, Job
from govdata.exchange.engine.context import RunContext
from govdata.exchange.models import Pipeline, PipelineRun
from govdata.exchange.vocab import PipelineState, RunStatus
from govdata.security.audit import write_audit
from govdata.security.context_types import SYSTEM

if TYPE_CHECKING:
    from govdata.core.jobs.worker import JobRun

ACTIVE = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)
FINISHED = (RunStatus.SUCCEEDED.value, RunStatus.FAILED.value, RunStatus.CANCELLED.value)
RUN_KEY = "run_id"
WORKER_LOST = "pipeline_worker_lost"


@dataclass(frozen=True)
class Taken:
    run_id: str
    resumed: bool  # an earlier attempt of this job had started the run


def pipeline_busy(pipeline_id: str, run_id: str, status: str) -> Conflict:
    return Conflict(
        "该管道已有运行中或排队中的任务",
        "The pipeline already has a queued or running run",
        code="pipeline_busy",
        details={"pipeline_id": pipeline_id, "run_id": run_id, "status": status},
    )


def pipeline_paused(pipeline_id: str) -> Conflict:
    return Conflict(
        "管道已暂停",
        "The pipeline is paused",
        code="pipeline_paused",
        details={"pipeline_id": pipeline_id},
    )


def _job_alive(session: Any, job_id: str | None, own_job: str) -> bool:
    if job_id is None:
        return False
    if job_id == own_job:
        return True
    status = session.scalar(select(Job.status).where(Job.id == job_id))
    return status in (QUEUED, RUNNING)


def take_run(db: Database, job: JobRun, pipeline_id: str) -> Taken | None:
    """The run this job attempt carries out, marked running; None when there is nothing to run.

    Nothing to run: the pipeline is paused (a queued run of it is closed as cancelled with
    ``pipeline_paused``; a scheduled job records nothing), or the job's run already finished
    (a duplicate delivery). Raises ``pipeline_busy`` while another live run is active.
    """
    payload = job.payload
    run_id = (job.checkpoint or {}).get(RUN_KEY) or payload.get("run_id")
    trigger = str(payload.get("trigger") or "schedule")
    with db.transaction(immediate=True) as s:
        pipeline = s.get(Pipeline, pipeline_id, with_for_update=True)
        if pipeline is None:
            raise NotFound(
                "数据管道不存在",
                "Pipeline not found",
                code="pipeline_not_found",
                details={"pipeline_id": pipeline_id},
            )
        run = s.get(PipelineRun, run_id) if run_id else None
        if run is not None and run.pipeline_id != pipeline_id:
            run = None
        if pipeline.state == PipelineState.PAUSED:
            if run is not None and run.status in ACTIVE:
                run.status = RunStatus.CANCELLED.value
                run.finished_at = now()
                run.error_code = "pipeline_paused"
                run.error_message = "管道已暂停 / The pipeline is paused"
            return None
        if run is not None and run.status in FINISHED and run.job_id not in (None, job.id):
            return None
        others = s.scalars(
            select(PipelineRun).where(
                PipelineRun.pipeline_id == pipeline_id, PipelineRun.status.in_(ACTIVE)
            )
        ).all()
        for other in others:
            if run is not None and other.id == run.id:
                continue
            if _job_alive(s, other.job_id, job.id):
                raise pipeline_busy(pipeline_id, other.id, other.status)
            other.status = RunStatus.FAILED.value
            other.finished_at = now()
            other.error_code = WORKER_LOST
            other.error_message = (
                "运行它的任务已不存在或已结束 / the job running it is gone or has ended"
            )
        resumed = run is not None and run.status == RunStatus.RUNNING and run.job_id == job.id
        if run is None:
            run = PipelineRun(
                pipeline_id=pipeline_id,
                kind=pipeline.kind,
                trigger=trigger,
                status=RunStatus.RUNNING.value,
                started_at=now(),
            )
            s.add(run)
        run.status = RunStatus.RUNNING.value
        run.job_id = job.id
        run.finished_at = None
        run.error_code = None
        run.error_message = None
        s.flush()
        pipeline.last_run_id = run.id
        taken = Taken(run.id, resumed)
    return taken


def start_values(rc: RunContext, *, position_before: dict[str, Any] | None) -> None:
    """Record where the run starts from: the lake version and the committed position."""
    with rc.db.transaction(immediate=True) as s:
        run = s.get(PipelineRun, rc.run_id)
        if run is not None:
            if run.lake_version_before is None:
                run.lake_version_before = rc.lake_version()
            if run.position_before is None:
                run.position_before = position_before


def finish_run(
    rc: RunContext, status: RunStatus, error: GovDataError | None = None
) -> dict[str, Any]:
    """Record how the run ended on the run row, the pipeline and in the audit log."""
    c = rc.counts
    at = now()
    with rc.db.transaction(immediate=True) as s:
        run = s.get(PipelineRun, rc.run_id)
        pipeline = s.get(Pipeline, rc.pipeline_id)
        assert run is not None and pipeline is not None
        run.status = status.value
        run.finished_at = at
        run.rows_read, run.rows_written = c.read, c.written
        run.rows_inserted, run.rows_updated, run.rows_deleted = c.inserted, c.updated, c.deleted
        if rc.lake_version_after is not None:
            run.lake_version_after = rc.lake_version_after
        else:
            run.lake_version_after = rc.lake_version()
        if rc.position_after is not None:
            run.position_after = rc.position_after
            pipeline.position = rc.position_after
        if error is not None:
            run.error_code = error.code
            run.error_message = f"{error.message_zh} / {error.message_en}"[:4000]
        if status == RunStatus.SUCCEEDED:
            pipeline.last_success_at = at
        elif status == RunStatus.FAILED:
            pipeline.last_failure_at = at
        pipeline.last_run_id = run.id
        summary = {
            "run_id": run.id,
            "status": run.status,
            "rows_read": run.rows_read,
            "rows_written": run.rows_written,
            "rows_inserted": run.rows_inserted,
            "rows_updated": run.rows_updated,
            "rows_deleted": run.rows_deleted,
            "lake_version_before": run.lake_version_before,
            "lake_version_after": run.lake_version_after,
            "error_code": run.error_code,
        }
        write_audit(
            s,
            SYSTEM,
            "exchange.pipeline.run",
            target_type="pipeline",
            target_id=rc.pipeline_id,
            outcome="success" if status == RunStatus.SUCCEEDED else "failure",
            row_count=run.rows_written,
            details={**summary, "kind": run.kind, "trigger": run.trigger, "job_id": run.job_id},
        )
        if (
            status == RunStatus.SUCCEEDED
            and rc.pipeline.kind != "return"
            and (c.written or c.deleted)
        ):
            # New data is checked at once against the entry's quality rules, if it has any.
            from govdata.governance import quality_runs

            if quality_runs.has_rules(s, rc.mount.entry_id):
                quality_runs.enqueue_run(
                    s,
                    rc.settings.job_max_attempts,
                    rc.mount.entry_id,
                    "collection",
                    key=f"quality:after:{run.id}",
                )
    if status == RunStatus.SUCCEEDED and rc.mount.lake_table and rc.pipeline.kind != "return":
        # Subscriptions on the table are delivered now, not at their next schedule. Never
        # raises: a delivery that cannot be queued must not fail the run.
        from govdata.sharing.subscriptions import notify_lake_commit

        notify_lake_commit(rc.db, rc.mount.lake_table)
    return summary
