"""Job queue operations for people and programs: enqueue, inspect, cancel, retry, configure.

Jobs are platform-wide for now: whoever holds ``job.read`` platform-wide sees
every job; anyone else holding ``job.read`` sees the jobs they started.
System callers (other domains' actions, schedules) act as ``SYSTEM``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from govdata.core.clock import now
from govdata.core.errors import InvalidInput, NotFound
from govdata.core.jobs import queue as jobqueue
from govdata.core.jobs.models import QUEUED, RUNNING, STATUSES, Job, JobQueue, JobSchedule
from govdata.core.jobs.registry import load_handlers
from govdata.core.jobs.schedules import next_run, valid_cron
from govdata.core.jobs.schemas import (
    JobEnqueue,
    JobOut,
    JobPage,
    JobProgress,
    QueueConfig,
    QueueOut,
    ScheduleIn,
    ScheduleOut,
)
from govdata.core.pagination import Page, check_limit, paginate
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope

PLATFORM = Scope()


def enqueue_job(ctx: ActionContext, data: JobEnqueue) -> JobOut:
    """Queue a job of a registered kind.

    Enqueuing again with the same ``idempotency_key`` returns the job that
    already holds it (whatever its status) and changes nothing.
    """
    ctx.require(Perm.JOB_MANAGE, PLATFORM)
    _check_kind(ctx, data.kind)
    job, created = jobqueue.enqueue(
        ctx.session,
        data.kind,
        data.payload,
        max_attempts=data.max_attempts or ctx.settings.job_max_attempts,
        queue=data.queue,
        idempotency_key=data.idempotency_key,
        run_after=data.run_after,
        created_by=ctx.actor.id,
    )
    if created:
        ctx.audit(
            "job.enqueue",
            target_type="job",
            target_id=job.id,
            details={"kind": job.kind, "queue": job.queue},
        )
    return job_out(job)


def list_jobs(
    ctx: ActionContext,
    *,
    status: str | None = None,
    queue: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> JobPage:
    """Jobs, newest first, optionally filtered by status, queue and kind; keyset-paginated."""
    mine_only = _reader(ctx)
    check_limit(limit)
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            "任务状态无效", "Unknown job status", code="invalid_status", details=list(STATUSES)
        )
    where: list[ColumnElement[bool]] = []
    if mine_only:
        where.append(Job.created_by == ctx.actor.id)
    if status:
        where.append(Job.status == status)
    if queue:
        where.append(Job.queue == queue)
    if kind:
        where.append(Job.kind == kind)
    total = ctx.session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
    page: Page[Job] = paginate(
        ctx.session,
        select(Job).where(*where),
        [Job.created_at, Job.id],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return JobPage(
        items=[job_out(j) for j in page.items], total=total, next_cursor=page.next_cursor
    )


def get_job(ctx: ActionContext, job_id: str) -> JobOut:
    """One job with its progress (done, total, message, percent), result and last error."""
    return job_out(_visible(ctx, job_id, _reader(ctx)))


def cancel_job(ctx: ActionContext, job_id: str) -> JobOut:
    """Cancel a job: a queued one at once; a running one is asked to stop and ends ``cancelled``.

    A finished job cannot be cancelled (409 ``job_finished``).
    """
    ctx.require(Perm.JOB_MANAGE, PLATFORM, target_id=job_id)
    job = jobqueue.request_cancel(ctx.session, job_id)
    ctx.audit("job.cancel", target_type="job", target_id=job.id, details={"status": job.status})
    return job_out(job)


def retry_job(ctx: ActionContext, job_id: str) -> JobOut:
    """Queue a dead, failed or cancelled job again with a fresh set of attempts.

    The job keeps its checkpoint, so a handler that saves one resumes where it stopped.
    """
    ctx.require(Perm.JOB_MANAGE, PLATFORM, target_id=job_id)
    job = jobqueue.requeue(ctx.session, job_id)
    ctx.audit("job.retry", target_type="job", target_id=job.id)
    return job_out(job)


def configure_queue(ctx: ActionContext, data: QueueConfig) -> QueueOut:
    """Set how many jobs of a queue may run at once across all workers, and pause or resume it."""
    ctx.require(Perm.JOB_MANAGE, PLATFORM)
    values = {"concurrency": data.concurrency, "paused": data.paused}
    changed = ctx.session.execute(
        update(JobQueue).where(JobQueue.name == data.name).values(**values)
    )
    if not getattr(changed, "rowcount", 0):
        ctx.session.add(JobQueue(name=data.name, **values))
    ctx.session.flush()
    ctx.audit(
        "job.queue.configure",
        target_type="job_queue",
        target_id=data.name,
        details=data.model_dump(),
    )
    return _queues(ctx.session, only=data.name)[0]


def list_queues(ctx: ActionContext) -> list[QueueOut]:
    """Every queue that has a limit or jobs waiting or running, with those counts."""
    ctx.require(Perm.JOB_READ, PLATFORM)
    return _queues(ctx.session)


def save_schedule(ctx: ActionContext, data: ScheduleIn) -> ScheduleOut:
    """Create or update (by name) a cron schedule; its next run is computed from now.

    The cron expression is read in the node's display time zone (Asia/Shanghai by default).
    """
    ctx.require(Perm.JOB_MANAGE, PLATFORM)
    if not valid_cron(data.cron):
        raise InvalidInput("cron 表达式无效", "Invalid cron expression", code="invalid_cron")
    _check_kind(ctx, data.kind)
    sched = ctx.session.scalar(
        select(JobSchedule).where(JobSchedule.name == data.name).with_for_update()
    )
    if sched is None:
        sched = JobSchedule(name=data.name)
        ctx.session.add(sched)
    for field, value in data.model_dump().items():
        setattr(sched, field, value)
    sched.next_run_at = next_run(data.cron, now())
    ctx.session.flush()
    ctx.audit(
        "job.schedule.save",
        target_type="job_schedule",
        target_id=sched.id,
        details={"name": data.name, "cron": data.cron, "kind": data.kind},
    )
    return _schedule_out(sched)


def list_schedules(ctx: ActionContext) -> list[ScheduleOut]:
    """All cron schedules by name."""
    ctx.require(Perm.JOB_READ, PLATFORM)
    rows = ctx.session.scalars(select(JobSchedule).order_by(JobSchedule.name))
    return [_schedule_out(s) for s in rows]


def job_out(job: Job) -> JobOut:
    total = job.progress_total
    percent = None
    if total:
        percent = round(min(100.0, 100.0 * job.progress_done / total), 1)
    return JobOut(
        id=job.id,
        kind=job.kind,
        queue=job.queue,
        status=job.status,  # type: ignore[arg-type]
        payload=job.payload,
        idempotency_key=job.idempotency_key,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        run_after=job.run_after,
        progress=JobProgress(
            done=job.progress_done, total=total, message=job.progress_message, percent=percent
        ),
        result=job.result,
        last_error=job.last_error,
        cancel_requested=job.cancel_requested,
        lease_owner=job.lease_owner,
        lease_expires_at=job.lease_expires_at,
        heartbeat_at=job.heartbeat_at,
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        schedule_id=job.schedule_id,
    )


def _reader(ctx: ActionContext) -> bool:
    """Check read access; True when the actor may only see the jobs they started."""
    if ctx.actor.can(Perm.JOB_READ, PLATFORM):
        return False
    ctx.require(Perm.JOB_READ)
    return True


def _visible(ctx: ActionContext, job_id: str, mine_only: bool) -> Job:
    job = ctx.session.get(Job, job_id)
    if job is None or (mine_only and job.created_by != ctx.actor.id):
        raise NotFound("任务不存在", "Job not found", code="job_not_found")
    return job


def _check_kind(ctx: ActionContext, kind: str) -> None:
    if kind not in load_handlers(ctx.settings.job_handler_modules):
        raise InvalidInput(
            "未知的任务类型", "Unknown job kind", code="unknown_job_kind", details={"kind": kind}
        )


def _queues(session: Session, only: str | None = None) -> list[QueueOut]:
    counts: dict[str, dict[str, Any]] = {}
    stmt = (
        select(Job.queue, Job.status, func.count())
        .where(Job.status.in_((QUEUED, RUNNING)))
        .group_by(Job.queue, Job.status)
    )
    if only is not None:
        stmt = stmt.where(Job.queue == only)
    for name, status, n in session.execute(stmt):
        counts.setdefault(name, {})[status] = n
    configs = session.scalars(
        select(JobQueue) if only is None else select(JobQueue).where(JobQueue.name == only)
    )
    limits = {q.name: q for q in configs}
    names = sorted(set(counts) | set(limits))
    return [
        QueueOut(
            name=name,
            concurrency=limits[name].concurrency if name in limits else None,
            paused=limits[name].paused if name in limits else False,
            queued=counts.get(name, {}).get(QUEUED, 0),
            running=counts.get(name, {}).get(RUNNING, 0),
        )
        for name in names
    ]


def _schedule_out(s: JobSchedule) -> ScheduleOut:
    return ScheduleOut(
        id=s.id,
        name=s.name,
        cron=s.cron,
        kind=s.kind,
        queue=s.queue,
        payload=s.payload,
        enabled=s.enabled,
        next_run_at=s.next_run_at,
        last_run_at=s.last_run_at,
    )
