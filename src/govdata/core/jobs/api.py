"""REST API of the job queue, under /api/v1: thin shells over ``actions``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from govdata.core.jobs import actions
from govdata.core.jobs.schemas import (
    JobEnqueue,
    JobOut,
    JobPage,
    JobStatus,
    QueueConfig,
    QueueOut,
    ScheduleIn,
    ScheduleOut,
)
from govdata.web.deps import CallerDep

router = APIRouter(tags=["jobs"])


@router.get("/jobs", response_model=JobPage)
def list_jobs(
    caller: CallerDep,
    status: JobStatus | None = None,
    queue: str | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> JobPage:
    """Jobs, newest first; filter by status, queue, kind; follow ``next_cursor`` for more."""
    with caller.act() as ctx:
        return actions.list_jobs(
            ctx, status=status, queue=queue, kind=kind, limit=limit, cursor=cursor
        )


@router.post("/jobs", response_model=JobOut, status_code=201)
def enqueue_job(caller: CallerDep, data: JobEnqueue) -> JobOut:
    """Queue a job; the same idempotency key returns the existing job."""
    with caller.act() as ctx:
        return actions.enqueue_job(ctx, data)


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(caller: CallerDep, job_id: str) -> JobOut:
    """One job with its progress {done, total, message, percent}."""
    with caller.act() as ctx:
        return actions.get_job(ctx, job_id)


@router.post("/jobs/{job_id}/cancel", response_model=JobOut)
def cancel_job(caller: CallerDep, job_id: str) -> JobOut:
    """Cancel a queued job, or ask a running one to stop."""
    with caller.act() as ctx:
        return actions.cancel_job(ctx, job_id)


@router.post("/jobs/{job_id}/retry", response_model=JobOut)
def retry_job(caller: CallerDep, job_id: str) -> JobOut:
    """Queue a dead, failed or cancelled job again."""
    with caller.act() as ctx:
        return actions.retry_job(ctx, job_id)


@router.get("/job-queues", response_model=list[QueueOut])
def list_queues(caller: CallerDep) -> list[QueueOut]:
    """Queues with their limits and how many jobs wait and run."""
    with caller.act() as ctx:
        return actions.list_queues(ctx)


@router.put("/job-queues", response_model=QueueOut)
def configure_queue(caller: CallerDep, data: QueueConfig) -> QueueOut:
    """Set a queue's concurrency limit and paused flag."""
    with caller.act() as ctx:
        return actions.configure_queue(ctx, data)


@router.get("/job-schedules", response_model=list[ScheduleOut])
def list_schedules(caller: CallerDep) -> list[ScheduleOut]:
    """Cron schedules."""
    with caller.act() as ctx:
        return actions.list_schedules(ctx)


@router.put("/job-schedules", response_model=ScheduleOut)
def save_schedule(caller: CallerDep, data: ScheduleIn) -> ScheduleOut:
    """Create or update a cron schedule by name."""
    with caller.act() as ctx:
        return actions.save_schedule(ctx, data)
