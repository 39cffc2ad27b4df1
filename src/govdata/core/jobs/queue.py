"""The queue's state changes, shared by actions and workers.

Every write by a worker names the lease owner it holds, so a worker whose
lease expired (and whose job another worker took over) can no longer touch
the job: its update simply matches no row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.errors import Conflict, NotFound
from govdata.core.jobs.models import (
    CANCELLED,
    DEAD,
    DEFAULT_QUEUE,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Job,
    JobQueue,
)

# Retries never wait longer than this, however many attempts failed.
BACKOFF_CAP_SECONDS = 3600.0
ERROR_MAX_CHARS = 4000


def backoff_delay(base_seconds: float, attempts: int) -> float:
    """Seconds to wait before the next attempt after ``attempts`` failed ones: doubles each time."""
    return min(BACKOFF_CAP_SECONDS, base_seconds * float(2 ** max(attempts - 1, 0)))


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    max_attempts: int,
    queue: str = DEFAULT_QUEUE,
    idempotency_key: str | None = None,
    run_after: datetime | None = None,
    created_by: str | None = None,
    schedule_id: str | None = None,
) -> tuple[Job, bool]:
    """Add a job, or return the one already holding ``idempotency_key``; True when created."""
    job = Job(
        kind=kind,
        queue=queue,
        payload=payload or {},
        idempotency_key=idempotency_key,
        status=QUEUED,
        attempts=0,
        max_attempts=max_attempts,
        run_after=run_after or now(),
        progress_done=0,
        cancel_requested=False,
        created_by=created_by,
        created_at=now(),
        schedule_id=schedule_id,
    )
    if idempotency_key is None:
        session.add(job)
        session.flush()
        return job, True
    # Insert first and look up only on a duplicate: a read before the write
    # would pin an SQLite snapshot that a concurrent enqueue makes stale, and
    # the savepoint keeps the caller's transaction usable after the duplicate.
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:
        existing = _by_key(session, kind, idempotency_key)
        if existing is None:
            raise
        return existing, False
    return job, True


def _by_key(session: Session, kind: str, key: str) -> Job | None:
    job = session.scalar(select(Job).where(Job.idempotency_key == key))
    if job is not None and job.kind != kind:
        raise Conflict(
            "幂等键已被其他类型的任务使用",
            "Idempotency key already used by a job of another kind",
            code="idempotency_key_conflict",
            details={"job_id": job.id, "kind": job.kind},
        )
    return job


def claim(
    db: Database,
    owner: str,
    kinds: Sequence[str],
    *,
    lease_seconds: float,
    queues: Sequence[str] | None = None,
) -> Job | None:
    """Lease the next runnable job for ``owner``, or None.

    Runnable: queued and due, or running with an expired lease (its worker
    died; this worker resumes it). Oldest due first. Queues with a
    concurrency limit are checked under a lock on their ``job_queues`` row
    so two workers cannot both take the last slot.
    """
    if not kinds:
        return None
    with db.transaction(immediate=True) as s:
        limits = {q.name: q for q in s.scalars(select(JobQueue))}
        excluded = {name for name, q in limits.items() if q.paused}
        while True:
            t = now()
            stmt = select(Job).where(
                Job.kind.in_(kinds),
                or_(
                    and_(Job.status == QUEUED, Job.run_after <= t),
                    and_(Job.status == RUNNING, Job.lease_expires_at < t),
                ),
            )
            if queues:
                stmt = stmt.where(Job.queue.in_(queues))
            if excluded:
                stmt = stmt.where(Job.queue.not_in(excluded))
            stmt = stmt.order_by(Job.run_after, Job.id).limit(1)
            job = s.scalars(stmt.with_for_update(skip_locked=True)).first()
            if job is None:
                return None
            if job.status == RUNNING and _settle_abandoned(job, t):
                continue
            limit = limits.get(job.queue)
            if limit is not None and _queue_full(s, limit, job.id, t):
                excluded.add(job.queue)
                continue
            job.status = RUNNING
            job.attempts += 1
            job.lease_owner = owner
            job.lease_expires_at = t + timedelta(seconds=lease_seconds)
            job.heartbeat_at = t
            job.started_at = job.started_at or t
            return job


def _settle_abandoned(job: Job, t: datetime) -> bool:
    """Finish a job whose worker died, when it must not run again; True when settled."""
    if job.cancel_requested:
        _finish(job, CANCELLED, t)
        return True
    if job.attempts >= job.max_attempts:
        _finish(job, DEAD, t)
        job.last_error = "lease expired on the last attempt (worker lost)"
        return True
    return False


def _queue_full(s: Session, limit: JobQueue, job_id: str, t: datetime) -> bool:
    s.execute(select(JobQueue.name).where(JobQueue.name == limit.name).with_for_update())
    running = s.scalar(
        select(func.count())
        .select_from(Job)
        .where(
            Job.queue == limit.name,
            Job.status == RUNNING,
            Job.lease_expires_at >= t,
            Job.id != job_id,
        )
    )
    return (running or 0) >= limit.concurrency


def _finish(job: Job, status: str, t: datetime) -> None:
    job.status = status
    job.finished_at = t
    job.lease_owner = None
    job.lease_expires_at = None


def _owned(job_id: str, owner: str) -> Any:
    return and_(Job.id == job_id, Job.lease_owner == owner, Job.status == RUNNING)


def heartbeat(db: Database, job_id: str, owner: str, lease_seconds: float) -> bool | None:
    """Extend the lease. Returns whether cancellation was requested, None when the lease is lost."""
    t = now()
    with db.transaction() as s:
        return s.scalar(
            update(Job)
            .where(_owned(job_id, owner))
            .values(lease_expires_at=t + timedelta(seconds=lease_seconds), heartbeat_at=t)
            .returning(Job.cancel_requested)
        )


def report_progress(
    db: Database, job_id: str, owner: str, done: int, total: int | None, message: str | None
) -> bool | None:
    """Store progress. Returns whether cancellation was requested, None when the lease is lost."""
    with db.transaction() as s:
        return s.scalar(
            update(Job)
            .where(_owned(job_id, owner))
            .values(
                progress_done=done,
                progress_total=total,
                progress_message=message[:500] if message else message,
            )
            .returning(Job.cancel_requested)
        )


def save_checkpoint(
    db: Database, job_id: str, owner: str, checkpoint: dict[str, Any], lease_seconds: float
) -> bool | None:
    """Commit resume state and extend the lease; same return as ``heartbeat``."""
    t = now()
    with db.transaction() as s:
        return s.scalar(
            update(Job)
            .where(_owned(job_id, owner))
            .values(
                checkpoint=checkpoint,
                lease_expires_at=t + timedelta(seconds=lease_seconds),
                heartbeat_at=t,
            )
            .returning(Job.cancel_requested)
        )


def succeed(db: Database, job_id: str, owner: str, result: dict[str, Any] | None) -> str | None:
    """Finish a job whose handler returned; cancelled instead when a cancel was requested.

    Returns the final status, None when the lease was lost meanwhile.
    """
    t = now()
    with db.transaction() as s:
        return s.scalar(
            update(Job)
            .where(_owned(job_id, owner))
            .values(
                status=case((Job.cancel_requested.is_(True), CANCELLED), else_=SUCCEEDED),
                result=result,
                finished_at=t,
                lease_owner=None,
                lease_expires_at=None,
            )
            .returning(Job.status)
        )


@dataclass(frozen=True)
class Failure:
    error: str
    # A permanent failure (bad input, missing data) is not retried.
    permanent: bool = False


def fail(
    db: Database, job_id: str, owner: str, failure: Failure, backoff_seconds: float
) -> str | None:
    """Record a failed attempt: retry later with backoff, or ``dead`` after the last attempt.

    Returns the new status, None when the lease was lost meanwhile.
    """
    t = now()
    with db.transaction(immediate=True) as s:
        job = s.scalars(select(Job).where(_owned(job_id, owner)).with_for_update()).first()
        if job is None:
            return None
        job.last_error = failure.error[-ERROR_MAX_CHARS:]
        if job.cancel_requested:
            _finish(job, CANCELLED, t)
        elif failure.permanent:
            _finish(job, FAILED, t)
        elif job.attempts >= job.max_attempts:
            _finish(job, DEAD, t)
        else:
            job.status = QUEUED
            job.lease_owner = None
            job.lease_expires_at = None
            job.run_after = t + timedelta(seconds=backoff_delay(backoff_seconds, job.attempts))
        return job.status


def release(db: Database, job_id: str, owner: str) -> bool:
    """Give a job back without counting the attempt (the worker is shutting down)."""
    with db.transaction() as s:
        result = s.execute(
            update(Job)
            .where(_owned(job_id, owner))
            .values(
                status=QUEUED,
                attempts=Job.attempts - 1,
                run_after=now(),
                lease_owner=None,
                lease_expires_at=None,
            )
        )
        return bool(getattr(result, "rowcount", 0))


# Cancel and requeue write before they read: on SQLite a transaction that
# reads first cannot later write if a worker committed in between.


def request_cancel(session: Session, job_id: str) -> Job:
    """Cancel a queued job now; ask a running one to stop (its handler sees ``cancelled()``)."""
    t = now()
    changed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_((QUEUED, RUNNING)))
        .values(
            cancel_requested=True,
            status=case((Job.status == QUEUED, CANCELLED), else_=Job.status),
            finished_at=case((Job.status == QUEUED, t), else_=Job.finished_at),
        )
        .execution_options(synchronize_session=False)
    )
    job = _refreshed(session, job_id)
    if not getattr(changed, "rowcount", 0):
        raise Conflict(
            "任务已结束，无法取消",
            "The job has already finished",
            code="job_finished",
            details={"status": job.status},
        )
    return job


def requeue(session: Session, job_id: str) -> Job:
    """Run a finished (dead, failed or cancelled) job again with a fresh set of attempts."""
    changed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_((DEAD, FAILED, CANCELLED)))
        .values(
            status=QUEUED,
            attempts=0,
            run_after=now(),
            cancel_requested=False,
            finished_at=None,
            lease_owner=None,
            lease_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    job = _refreshed(session, job_id)
    if not getattr(changed, "rowcount", 0):
        raise Conflict(
            "只能重试已失败、已终止或已取消的任务",
            "Only dead, failed or cancelled jobs can be retried",
            code="job_not_retryable",
            details={"status": job.status},
        )
    return job


def _refreshed(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise NotFound("任务不存在", "Job not found", code="job_not_found")
    return job
