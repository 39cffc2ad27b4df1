"""Job handlers of the exchange engine: pipeline runs, CDC streams, reports.

``exchange.pipeline`` (payload ``{"pipeline_id", "run_id"?, "trigger"?}``) carries out one
run of a pipeline: it takes (or creates) the run row, checks the source for schema drift,
calls the runner of the pipeline's kind, and records how it ended on the run, the pipeline,
the lineage log and the audit log. CDC pipelines are the same kind of job on queue ``cdc``,
running until paused, cancelled or the worker stops.

Outcomes:
- a paused pipeline records nothing for a scheduled job and closes a queued run as
  cancelled (``pipeline_paused``); the job ends without error;
- another live run of the pipeline: the job fails permanently with ``pipeline_busy`` and
  no run is recorded for it;
- the worker stops or loses its lease mid-run: the run stays ``running`` and the next
  attempt of the same job resumes it (same run row, same staging, positions from the lake);
- ``source_unreachable`` and a lake commit conflict fail the run and the job is retried
  (with the worker's backoff) on the same run row; every other error fails the run and the
  job for good (schema drift, bad credentials, invalid values need a person).
"""

from __future__ import annotations

from typing import Any

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.core.jobs.registry import job_handler
from govdata.core.jobs.worker import JobFailed, JobRun, LeaseLost, WorkerStopping
from govdata.exchange import lineage
from govdata.exchange.engine import RunContext, runner_for, runs
from govdata.exchange.engine import drift as drift_check
from govdata.exchange.engine.full import Stopped, target_info
from govdata.exchange.vocab import PipelineKind, RunStatus

JOB_KIND = "exchange.pipeline"
# Errors a later attempt can get past without anyone changing anything.
RETRYABLE = frozenset({"source_unreachable", "lake_commit_conflict", "source_timeout"})


class RetryLater(Exception):
    """A run failed for a transient reason; the worker retries the job with backoff."""


@job_handler(JOB_KIND)
def pipeline_job(job: JobRun) -> dict[str, Any] | None:
    return run_pipeline(job.db, job.settings, job)


def run_pipeline(db: Database, settings: Settings, job: JobRun) -> dict[str, Any] | None:
    """One attempt at one run of a pipeline (see the module docstring)."""
    pipeline_id = job.payload.get("pipeline_id")
    if not isinstance(pipeline_id, str) or not pipeline_id:
        raise JobFailed("payload has no pipeline_id")
    try:
        taken = runs.take_run(db, job, pipeline_id)
    except GovDataError as exc:
        raise JobFailed(f"{exc.code}: {exc.message_en}") from exc
    if taken is None:
        return {"pipeline_id": pipeline_id, "skipped": True}
    if (job.checkpoint or {}).get(runs.RUN_KEY) != taken.run_id:
        job.save_checkpoint({**(job.checkpoint or {}), runs.RUN_KEY: taken.run_id})
    rc = RunContext.load(db, settings, pipeline_id, taken.run_id, job)
    if taken.resumed:
        rc.log("info", f"第 {job.attempt} 次尝试，继续运行 / attempt {job.attempt}, resuming")
    else:
        rc.log(
            "info",
            f"开始{rc.pipeline.kind}运行（触发：{job.payload.get('trigger') or 'schedule'}）"
            f" / starting a {rc.pipeline.kind} run",
        )
        lineage.record(rc, lineage.START)
    try:
        committed = rc.committed()
        runs.start_values(rc, position_before=committed.position if committed else None)
        if rc.pipeline.kind != PipelineKind.RETURN:
            added = drift_check.check(rc, target_info(rc, rc.connector()))
            if added:
                rc.log("info", f"新增列 / added columns: {', '.join(added)}")
        runner_for(rc.pipeline.kind)(rc)
    except (WorkerStopping, LeaseLost):
        # Handed back: the next attempt resumes this run from its checkpoint and the lake.
        raise
    except Stopped:
        rc.log("info", "运行已停止（暂停或取消）/ run stopped (paused or cancelled)")
        summary = runs.finish_run(rc, RunStatus.CANCELLED)
        lineage.record(rc, lineage.ABORT)
        return summary
    except GovDataError as exc:
        _failed(rc, exc)
        if exc.code in RETRYABLE and job.attempt < job.max_attempts:
            raise RetryLater(f"{exc.code}: {exc.message_en}") from exc
        raise JobFailed(f"{exc.code}: {exc.message_en}") from exc
    except Exception as exc:
        _failed(
            rc,
            GovDataError(
                f"内部错误：{type(exc).__name__}: {exc}",
                f"Internal error: {type(exc).__name__}: {exc}",
            ),
        )
        raise
    summary = runs.finish_run(rc, RunStatus.SUCCEEDED)
    rc.log(
        "info",
        f"运行成功：读取 {rc.counts.read} 行，写入 {rc.counts.written} 行 / run succeeded: "
        f"read {rc.counts.read}, wrote {rc.counts.written} rows",
    )
    lineage.record(rc, lineage.COMPLETE)
    return summary


def _failed(rc: RunContext, exc: GovDataError) -> None:
    rc.log("error", f"{exc.code}: {exc.message_zh} / {exc.message_en}")
    runs.finish_run(rc, RunStatus.FAILED, exc)
    lineage.record(rc, lineage.FAIL, error=f"{exc.code}: {exc.message_en}")
