"""The queue's state changes, shared by actions and workers.

Every write by a worker names the lease owner it holds, so a worker whose
lease expired (and whose job another worker took over) can no longer touch
the job: its update simply matches no row.

The worker's operations are Core statements that run on a ``Database`` or on
a ``Connection`` (a worker thread keeps one, so it skips the pool checkout).
Given a connection with an open transaction they join it: a worker records
one job's outcome and claims its next job in a single commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    Table,
    Update,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govdata.core.clock import now
from govdata.core.db import Database, UTCDateTime
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
LOST_ON_LAST_ATTEMPT = "lease expired on the last attempt (worker lost)"

Target = Database | Connection
# Worker statements update the table, not the mapped class: the ORM's bulk
# update machinery would cost more CPU than the statement itself.
_JOBS = cast(Table, Job.__table__)


def backoff_delay(base_seconds: float, attempts: int) -> float:
    """Seconds to wait before the next attempt after ``attempts`` failed ones: doubles each time."""
    return min(BACKOFF_CAP_SECONDS, base_seconds * float(2 ** max(attempts - 1, 0)))


@contextmanager
def _transaction(target: Target) -> Iterator[Connection]:
    """The caller's open transaction on ``target``, or a new one committed on success.

    Every queue transaction writes, so on SQLite it takes the write lock at
    BEGIN: a read followed by a write could otherwise fail outright when
    another process committed in between. A caller's own connection must come
    from ``writer_engine`` for the same reason.
    """
    if isinstance(target, Database):
        with writer_engine(target).begin() as conn:
            yield conn
    elif target.in_transaction():
        yield target
    else:
        with target.begin():
            yield target


def writer_engine(db: Database) -> Engine:
    """``db``'s engine, with transactions that take SQLite's write lock at BEGIN."""
    return db.engine.execution_options(govdata_immediate=True)


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


@dataclass(frozen=True)
class ClaimedJob:
    """A job as its claim left it: what a worker needs to run it."""

    id: str
    kind: str
    queue: str
    payload: dict[str, Any]
    checkpoint: dict[str, Any] | None
    status: str
    attempts: int
    max_attempts: int
    cancel_requested: bool
    lease_owner: str | None
    lease_expires_at: datetime | None


# What the claim statement returns: the fields of ``ClaimedJob``.
_CLAIMED = tuple(getattr(Job, f.name) for f in fields(ClaimedJob))


def has_queue_limits(target: Target) -> bool:
    """True when some queue has a ``job_queues`` row (a concurrency limit, or paused)."""
    with _transaction(target) as conn:
        return bool(conn.execute(select(select(JobQueue.name).exists())).scalar())


def claim(
    target: Target,
    owner: str,
    kinds: Sequence[str],
    *,
    lease_seconds: float,
    queues: Sequence[str] | None = None,
    queue_limits: bool | None = None,
) -> ClaimedJob | None:
    """Lease the next runnable job for ``owner``, or None.

    Runnable: running with an expired lease (its worker died; this worker
    resumes it), taken first, or else queued and due, oldest due first. Each
    is found on a partial index, so a claim costs the same however many jobs
    are queued or finished. Queues with a
    concurrency limit are checked under a lock on their ``job_queues`` row
    so two workers cannot both take the last slot.

    ``queue_limits`` is whether any queue has a ``job_queues`` row, if the
    caller knows (a worker re-reads it every second or so). While none has,
    one statement claims the job; it still skips queues that gained a row
    meanwhile, so a stale answer delays their jobs but never breaks a limit.
    """
    if not kinds:
        return None
    with _transaction(target) as conn:
        if queue_limits is None:
            queue_limits = has_queue_limits(conn)
        if queue_limits:
            return _claim_limited(conn, owner, kinds, lease_seconds, queues)
        return _claim_unlimited(conn, owner, kinds, lease_seconds, queues)


def _claim_unlimited(
    conn: Connection,
    owner: str,
    kinds: Sequence[str],
    lease_seconds: float,
    queues: Sequence[str] | None,
) -> ClaimedJob | None:
    statement = _lease_statement(by_id=False, shape=_shape(kinds, queues))
    while True:
        params = _claim_params(owner, kinds, lease_seconds, queues)
        job = _lease(conn, statement, params)
        if job is None or job.status == RUNNING:
            return job


def _claim_limited(
    conn: Connection,
    owner: str,
    kinds: Sequence[str],
    lease_seconds: float,
    queues: Sequence[str] | None,
) -> ClaimedJob | None:
    rows = conn.execute(select(JobQueue.name, JobQueue.concurrency, JobQueue.paused)).all()
    limits = {name: concurrency for name, concurrency, _ in rows}
    excluded = {name for name, _, paused in rows if paused}
    candidate = _candidate_statement(_shape(kinds, queues))
    while True:
        params = _claim_params(owner, kinds, lease_seconds, queues)
        row = conn.execute(candidate, {**params, "excluded": sorted(excluded)}).first()
        if row is None:
            return None
        limit = limits.get(row.queue)
        # Settling an abandoned job takes no slot, so it does not wait for one.
        settles = _settles(row.status, row.cancel_requested, row.attempts, row.max_attempts)
        if limit is not None and not settles and _queue_full(conn, row.queue, limit, row.id):
            excluded.add(row.queue)
            continue
        job = _lease(conn, _lease_statement(by_id=True), {**params, "job_id": row.id})
        if job is not None and job.status == RUNNING:
            return job


# The claim statements are built once, with bound parameters, so that each
# claim costs SQLAlchemy a compiled-cache lookup rather than a statement build.
# They are built per shape (how many kinds, how many queues) with a plain
# parameter per name: an expanding IN parameter would make SQLAlchemy rewrite
# the SQL text on every execution.
_T = bindparam("t", type_=UTCDateTime())
Shape = tuple[int, int]


def _shape(kinds: Sequence[str], queues: Sequence[str] | None) -> Shape:
    return len(kinds), len(queues or ())


def _one_of(column: Any, name: str, count: int) -> ColumnElement[bool]:
    return cast(
        ColumnElement[bool],
        column.in_([bindparam(f"{name}_{i}", type_=String()) for i in range(count)]),
    )


def _claim_params(
    owner: str, kinds: Sequence[str], lease_seconds: float, queues: Sequence[str] | None
) -> dict[str, Any]:
    t = now()
    params: dict[str, Any] = {
        "t": t,
        "expires": t + timedelta(seconds=lease_seconds),
        "owner": owner,
    }
    params.update((f"kind_{i}", kind) for i, kind in enumerate(kinds))
    params.update((f"queue_{i}", name) for i, name in enumerate(queues or ()))
    return params


# The two ways a job is runnable, each found on its own partial index (see ``Job``).
_QUEUED_DUE = "queued"
_LEASE_EXPIRED = "expired"
# A queue condition on a candidate's columns: which queues a pick may take from.
Outside = Callable[[Any], ColumnElement[bool]]


def _status_is(column: Any, status: str) -> ColumnElement[bool]:
    """``column`` equals ``status``, written as a literal like the partial indexes' predicates.

    Compared to a bound parameter instead, neither SQLite nor a prepared
    statement's generic plan on PostgreSQL could use those indexes.
    """
    return cast(ColumnElement[bool], column == literal_column(f"'{status}'"))


def _runnable(job: Any, which: str, shape: Shape) -> list[ColumnElement[bool]]:
    """Conditions on a table alias's columns for a job runnable ``which`` way at ``t``."""
    if which == _QUEUED_DUE:
        conditions = [_status_is(job.status, QUEUED), job.run_after <= _T]
    else:
        conditions = [_status_is(job.status, RUNNING), job.lease_expires_at < _T]
    kinds, queues = shape
    conditions.append(_one_of(job.kind, "kind", kinds))
    if queues:
        conditions.append(_one_of(job.queue, "queue", queues))
    return conditions


def _pick(which: str, shape: Shape, outside: Outside) -> Any:
    """The id of the oldest job runnable ``which`` way, locked, or NULL when there is none.

    It reads that way's partial index and stops at the first job it can
    lock: the jobs behind it, and finished jobs, are never looked at.
    """
    candidate = Job.__table__.alias(f"{which}_job").c
    return (
        select(candidate.id)
        .where(*_runnable(candidate, which, shape), outside(candidate))
        .order_by(candidate.run_after, candidate.id)
        # A literal limit: a prepared statement's generic plan guesses an
        # unknown LIMIT to be a tenth of the table and would sort it all.
        .limit(literal_column("1"))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )


def _next_runnable(shape: Shape, outside: Outside) -> Any:
    """The id of the job to claim next, locked: a job whose worker died, else the oldest due.

    Abandoned jobs go first: there are few of them, they started long ago,
    and looking for one is a probe of the small running index. COALESCE
    evaluates its second argument only when the first is NULL, so while one
    is found no queued job is read or locked.
    """
    return func.coalesce(
        _pick(_LEASE_EXPIRED, shape, outside),
        _pick(_QUEUED_DUE, shape, outside),
    )


def _not_excluded(candidate: Any) -> ColumnElement[bool]:
    return cast(ColumnElement[bool], candidate.queue.not_in(bindparam("excluded", expanding=True)))


def _unlimited(candidate: Any) -> ColumnElement[bool]:
    # NOT IN rather than NOT EXISTS: PostgreSQL plans NOT EXISTS as an anti
    # join and may then sort every due job instead of reading the index in
    # order; NOT IN stays a filter on that index scan (both columns are NOT NULL).
    return cast(ColumnElement[bool], candidate.queue.not_in(select(JobQueue.name)))


@cache
def _candidate_statement(shape: Shape) -> Select[str, str, str, bool, int, int]:
    """The next runnable job outside the ``excluded`` queues, locked (limited queues' path)."""
    return (
        select(Job.id, Job.queue, Job.status, Job.cancel_requested, Job.attempts, Job.max_attempts)
        .where(Job.id == _next_runnable(shape, _not_excluded))
        # Already locked by the pick; locking it again makes PostgreSQL return
        # the row as it is now rather than as of the statement's snapshot.
        .with_for_update()
    )


def _settles(status: str, cancel_requested: bool, attempts: int, max_attempts: int) -> bool:
    """Python twin of ``_SETTLES`` for a candidate row already read."""
    return status == RUNNING and (cancel_requested or attempts >= max_attempts)


# A job whose worker died is taken over, except when it must not run again:
# it was cancelled, or that was its last attempt. The claim statement then
# settles it instead (cancelled or dead) and the caller looks further.
_SETTLES = and_(
    Job.status == RUNNING,
    or_(Job.cancel_requested.is_(True), Job.attempts >= Job.max_attempts),
)


def _unless_settled(leased: Any, settled: Any) -> Any:
    return case((_SETTLES, settled), else_=leased)


_LEASE_VALUES = {
    "status": _unless_settled(
        RUNNING, case((Job.cancel_requested.is_(True), CANCELLED), else_=DEAD)
    ),
    "attempts": _unless_settled(Job.attempts + 1, Job.attempts),
    "lease_owner": _unless_settled(bindparam("owner", type_=String()), None),
    "lease_expires_at": _unless_settled(bindparam("expires", type_=UTCDateTime()), None),
    "heartbeat_at": _unless_settled(_T, Job.heartbeat_at),
    "started_at": func.coalesce(Job.started_at, _T),
    "finished_at": _unless_settled(Job.finished_at, _T),
    "last_error": case(
        (and_(_SETTLES, Job.cancel_requested.is_(False)), LOST_ON_LAST_ATTEMPT),
        else_=Job.last_error,
    ),
}


@cache
def _lease_statement(*, by_id: bool, shape: Shape = (0, 0)) -> Update:
    """Lease (or settle) one job: the ``job_id`` given, or the next runnable one.

    Picking the next skips queues that have a ``job_queues`` row: their
    jobs are only claimed on the limited path, under the queue's lock.
    """
    which = bindparam("job_id") if by_id else _next_runnable(shape, _unlimited)
    return update(_JOBS).where(Job.id == which).values(_LEASE_VALUES).returning(*_CLAIMED)


def _lease(conn: Connection, statement: Update, params: dict[str, Any]) -> ClaimedJob | None:
    """Run a lease statement; None when it matched no job."""
    row = conn.execute(statement, params).first()
    return None if row is None else ClaimedJob(**row._asdict())


def claim_job(
    target: Target, job_id: str, owner: str, *, lease_seconds: float
) -> ClaimedJob | None:
    """Lease the queued job ``job_id`` for ``owner`` (a CLI running the job it just queued).

    None when the job is no longer queued (a worker took it first). Queue limits do not
    apply: the caller runs the job in its own process, outside the workers' slots.
    """
    with _transaction(target) as conn:
        status = conn.execute(select(Job.status).where(Job.id == job_id).with_for_update()).scalar()
        if status != QUEUED:
            return None
        params = {**_claim_params(owner, (), lease_seconds, None), "job_id": job_id}
        return _lease(conn, _lease_statement(by_id=True), params)


def _queue_full(conn: Connection, name: str, concurrency: int, job_id: str) -> bool:
    conn.execute(select(JobQueue.name).where(JobQueue.name == name).with_for_update())
    running = conn.execute(
        select(func.count())
        .select_from(Job)
        .where(
            Job.queue == name,
            _status_is(Job.status, RUNNING),
            Job.lease_expires_at >= now(),
            Job.id != job_id,
        )
    ).scalar()
    return (running or 0) >= concurrency


def _owned(job_id: str, owner: str) -> ColumnElement[bool]:
    return and_(Job.id == job_id, Job.lease_owner == owner, Job.status == RUNNING)


def _finished(status: str, t: datetime) -> dict[str, Any]:
    return {"status": status, "finished_at": t, "lease_owner": None, "lease_expires_at": None}


def heartbeat(target: Target, job_id: str, owner: str, lease_seconds: float) -> bool | None:
    """Extend the lease. Returns whether cancellation was requested, None when the lease is lost."""
    t = now()
    with _transaction(target) as conn:
        return conn.execute(
            update(_JOBS)
            .where(_owned(job_id, owner))
            .values(lease_expires_at=t + timedelta(seconds=lease_seconds), heartbeat_at=t)
            .returning(Job.cancel_requested)
        ).scalar()


def report_progress(
    target: Target, job_id: str, owner: str, done: int, total: int | None, message: str | None
) -> bool | None:
    """Store progress. Returns whether cancellation was requested, None when the lease is lost."""
    with _transaction(target) as conn:
        return conn.execute(
            update(_JOBS)
            .where(_owned(job_id, owner))
            .values(
                progress_done=done,
                progress_total=total,
                progress_message=message[:500] if message else message,
            )
            .returning(Job.cancel_requested)
        ).scalar()


def save_checkpoint(
    target: Target, job_id: str, owner: str, checkpoint: dict[str, Any], lease_seconds: float
) -> bool | None:
    """Commit resume state and extend the lease; same return as ``heartbeat``."""
    t = now()
    with _transaction(target) as conn:
        return conn.execute(
            update(_JOBS)
            .where(_owned(job_id, owner))
            .values(
                checkpoint=checkpoint,
                lease_expires_at=t + timedelta(seconds=lease_seconds),
                heartbeat_at=t,
            )
            .returning(Job.cancel_requested)
        ).scalar()


def succeed(target: Target, job_id: str, owner: str, result: dict[str, Any] | None) -> str | None:
    """Finish a job whose handler returned; cancelled instead when a cancel was requested.

    Returns the final status, None when the lease was lost meanwhile.
    """
    params = {"job_id": job_id, "owner": owner, "result": result, "t": now()}
    with _transaction(target) as conn:
        return conn.execute(_SUCCEED, params).scalar()


# Built once like the claim statements: every job runs it.
_SUCCEED = (
    update(_JOBS)
    .where(
        Job.id == bindparam("job_id"),
        Job.lease_owner == bindparam("owner"),
        Job.status == RUNNING,
    )
    .values(
        status=case((Job.cancel_requested.is_(True), CANCELLED), else_=SUCCEEDED),
        result=bindparam("result", type_=Job.result.type),
        finished_at=_T,
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
    target: Target, job_id: str, owner: str, failure: Failure, backoff_seconds: float
) -> str | None:
    """Record a failed attempt: retry later with backoff, or ``dead`` after the last attempt.

    Returns the new status, None when the lease was lost meanwhile.
    """
    t = now()
    with _transaction(target) as conn:
        job = conn.execute(
            select(Job.attempts, Job.max_attempts, Job.cancel_requested)
            .where(_owned(job_id, owner))
            .with_for_update()
        ).first()
        if job is None:
            return None
        changes: dict[str, Any]
        if job.cancel_requested:
            changes = _finished(CANCELLED, t)
        elif failure.permanent:
            changes = _finished(FAILED, t)
        elif job.attempts >= job.max_attempts:
            changes = _finished(DEAD, t)
        else:
            retry_at = t + timedelta(seconds=backoff_delay(backoff_seconds, job.attempts))
            changes = {
                "status": QUEUED,
                "lease_owner": None,
                "lease_expires_at": None,
                "run_after": retry_at,
            }
        conn.execute(
            update(_JOBS)
            .where(Job.id == job_id)
            .values(last_error=failure.error[-ERROR_MAX_CHARS:], **changes)
        )
        status: str = changes["status"]
        return status


def release(target: Target, job_id: str, owner: str) -> bool:
    """Give a job back without counting the attempt (the worker is shutting down)."""
    with _transaction(target) as conn:
        result = conn.execute(
            update(_JOBS)
            .where(_owned(job_id, owner))
            .values(
                status=QUEUED,
                attempts=Job.attempts - 1,
                run_after=now(),
                lease_owner=None,
                lease_expires_at=None,
            )
        )
        return bool(result.rowcount)


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
