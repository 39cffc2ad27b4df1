"""Workers: claim jobs, run their handlers, keep their leases alive, record the outcome.

A ``Worker`` runs ``concurrency`` loops in threads of one process. One lease
keeper thread per worker extends the leases of its jobs while their handlers
run; if the whole process dies (SIGKILL, power loss) the leases expire and
any other worker resumes the jobs from their last saved checkpoints.

The loops are built for throughput: each keeps its own store connection,
claims the next job in the same commit that records the previous job's
outcome, and only sleeps when a claim found nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from sqlalchemy import Connection

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.ids import new_id
from govdata.core.jobs import queue, schedules
from govdata.core.jobs.models import SUCCEEDED
from govdata.core.jobs.queue import ClaimedJob
from govdata.core.jobs.registry import handler_for, load_handlers

log = logging.getLogger(__name__)

# Cron fires at minute granularity: a second's delay is invisible, while a
# very short poll interval must not turn into a schedule query per job.
SCHEDULE_CHECK_MIN_SECONDS = 1.0
# How long a worker trusts what it read about queue limits (see ``queue.claim``).
QUEUE_LIMITS_TTL_SECONDS = 1.0
# Bounds on how often a worker loop has PostgreSQL plan its statements afresh
# (see ``_Lane``): at most this often when work arrives after an idle
# spell, and at least this often while it stays busy.
REPLAN_MIN_SECONDS = 1.0
REPLAN_MAX_SECONDS = 60.0


class LeaseLost(Exception):
    """This worker no longer holds the job: its lease expired and another worker may run it."""


class WorkerStopping(Exception):
    """Raised from ``save_checkpoint`` while the worker shuts down, after the checkpoint is saved.

    The worker hands the job back, and the next worker resumes from that checkpoint.
    """


class JobFailed(Exception):
    """Raise from a handler for a failure that retrying cannot fix (bad payload, missing data)."""


class JobRun:
    """What a handler sees of its job: inputs, resume state, and ways to report back."""

    def __init__(
        self, db: Database, settings: Settings, job: ClaimedJob, stopping: threading.Event
    ) -> None:
        self.id = job.id
        self.kind = job.kind
        self.queue = job.queue
        self.payload: dict[str, Any] = dict(job.payload or {})
        self.checkpoint: dict[str, Any] | None = job.checkpoint
        self.attempt = job.attempts
        self.max_attempts = job.max_attempts
        self.owner = job.lease_owner or ""
        # The worker's own store and settings: handlers open their actions with these.
        self.db = db
        self.settings = settings
        self._lease_seconds = settings.job_lease_seconds
        self._stopping = stopping
        self._cancel_requested = bool(job.cancel_requested)
        self._lost = False
        self.lease_renewed_at = time.monotonic()

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Show how far the job is (done of total, and a short message) in the API and portal."""
        self._observe(queue.report_progress(self.db, self.id, self.owner, done, total, message))

    def save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Commit resume state; a worker that takes over later starts from it.

        Raises ``WorkerStopping`` (after saving) when this worker is shutting down.
        """
        renewed_at = time.monotonic()
        self._observe(
            queue.save_checkpoint(self.db, self.id, self.owner, checkpoint, self._lease_seconds)
        )
        self.lease_renewed_at = renewed_at
        self.checkpoint = checkpoint
        if self._stopping.is_set():
            raise WorkerStopping()

    def cancelled(self) -> bool:
        """True once someone asked to cancel this job; the handler should return soon."""
        return self._cancel_requested

    def stopping(self) -> bool:
        """True once the worker is shutting down; a long handler (a stream waiting for
        events) should save its checkpoint, which hands the job back."""
        return self._stopping.is_set()

    @property
    def lost(self) -> bool:
        return self._lost

    def _observe(self, cancel_requested: bool | None) -> None:
        if cancel_requested is None:
            self._lost = True
            raise LeaseLost(self.id)
        self._cancel_requested = cancel_requested

    def extend_lease(self) -> bool:
        """Called by the worker's lease keeper; False once the lease is lost."""
        renewed_at = time.monotonic()
        state = queue.heartbeat(self.db, self.id, self.owner, self._lease_seconds)
        if state is None:
            self._lost = True
            return False
        self.lease_renewed_at = renewed_at
        self._cancel_requested = state
        return True


class _LeaseKeeper:
    """Extends the leases of a worker's running jobs from one thread.

    It wakes every sixth of a lease and renews each lease last renewed a
    quarter lease ago or more, so a lease is renewed at most about half a
    lease after the previous renewal, and a job shorter than a quarter lease
    costs no heartbeat write at all. The thread ends when no job is running
    and starts again with the next one, so an idle worker holds none.
    """

    def __init__(self, lease_seconds: float) -> None:
        self._interval = lease_seconds / 6
        self._renew_after = lease_seconds / 4
        self._lock = threading.Lock()
        self._runs: dict[int, JobRun] = {}
        self._thread: threading.Thread | None = None

    def track(self, run: JobRun) -> None:
        with self._lock:
            self._runs[threading.get_ident()] = run
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._keep, name="govdata-lease-keeper", daemon=True
                )
                self._thread.start()

    def untrack(self) -> None:
        with self._lock:
            self._runs.pop(threading.get_ident(), None)

    def running(self) -> list[JobRun]:
        with self._lock:
            return list(self._runs.values())

    def _tracked(self, run: JobRun) -> bool:
        with self._lock:
            return run in self._runs.values()

    def _keep(self) -> None:
        while True:
            time.sleep(self._interval)
            with self._lock:
                if not self._runs:
                    self._thread = None
                    return
                horizon = time.monotonic() - self._renew_after
                due = [r for r in self._runs.values() if r.lease_renewed_at <= horizon]
            for run in due:
                self._renew(run)

    def _renew(self, run: JobRun) -> None:
        try:
            # A job that ended meanwhile no longer matches: not a lost lease.
            if not run.extend_lease() and self._tracked(run):
                log.warning("job %s: lease lost", run.id)
        except Exception:
            log.exception("job %s: heartbeat failed; retrying", run.id)


class _Lane:
    """A worker loop's own store connection, kept across jobs.

    Claiming and finishing on it skip the pool checkout (and its liveness
    ping). Any error drops it; the next use connects afresh through the pool.

    On PostgreSQL the driver prepares the statements a connection runs
    repeatedly, and the server then settles on one plan per statement, made
    for the jobs table as it was at that moment. A plan made while the table
    was empty scans it whole (the cheapest way to read an empty table), and
    it is kept however large the table grows until an ANALYZE happens to
    invalidate it, which may be never (autovacuum off). So the lane drops its
    prepared statements when work arrives after an idle spell, and now and
    then while it stays busy: a few statements are planned again, against
    the table as it is.
    """

    def __init__(self, db: Database) -> None:
        self._engine = queue.writer_engine(db)
        self._conn: Connection | None = None
        self._prepares = db.dialect == "postgresql"
        self._idle = True
        self._stale = False
        self._replanned_at: float | None = None

    def claimed(self, found: bool) -> None:
        """Note a claim's outcome: work arriving after an idle spell makes the plans suspect."""
        self._stale = self._stale or (found and self._idle)
        self._idle = not found

    def refresh_plans(self) -> None:
        """Before a claim: drop the prepared statements if their plans may be stale.

        Only inside an open transaction (a job's outcome and the next claim),
        so that it costs no commit of its own.
        """
        conn = self._conn
        if not self._prepares or conn is None or not conn.in_transaction():
            return
        t = time.monotonic()
        since = None if self._replanned_at is None else t - self._replanned_at
        if (
            since is None
            or since >= REPLAN_MAX_SECONDS
            or (self._stale and since >= REPLAN_MIN_SECONDS)
        ):
            conn.exec_driver_sql("DEALLOCATE ALL")
            self._stale = False
            self._replanned_at = t

    def connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
        return self._conn

    def reset(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("closing a failed worker connection", exc_info=True)

    def __enter__(self) -> _Lane:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.reset()


@dataclass(frozen=True)
class Ending:
    """How a handler ended: returned ``result``, failed, handed back, or lost its lease."""

    result: dict[str, Any] | None = None
    failure: queue.Failure | None = None
    hand_back: bool = False
    lost: bool = False


def invoke(run: JobRun) -> Ending:
    """Run the job's handler and say how it ended; never raises."""
    handler = handler_for(run.kind)
    try:
        if handler is None:
            raise JobFailed(f"no handler for job kind {run.kind!r}")
        return Ending(result=handler(run))
    except WorkerStopping:
        return Ending(hand_back=True)
    except LeaseLost:
        return Ending(lost=True)
    except JobFailed as exc:
        return Ending(failure=queue.Failure(str(exc) or type(exc).__name__, permanent=True))
    except Exception:
        return Ending(failure=queue.Failure(traceback.format_exc()))


def store_outcome(
    target: Database | Connection, run: JobRun, ending: Ending, backoff_seconds: float
) -> str | None:
    """Record how the job ended; returns the job's new status, None when its lease was lost."""
    if ending.lost:
        return None
    if ending.hand_back:
        return "released" if queue.release(target, run.id, run.owner) else None
    if ending.failure is not None:
        return queue.fail(target, run.id, run.owner, ending.failure, backoff_seconds)
    return queue.succeed(target, run.id, run.owner, ending.result)


class Worker:
    """Runs jobs of the given queues (all queues when none are given) in ``concurrency`` threads."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        queues: Sequence[str] | None = None,
        concurrency: int = 1,
        name: str | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.queues = list(queues) if queues else None
        self.concurrency = max(1, concurrency)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.kinds = load_handlers(settings.job_handler_modules)
        self.stopping = threading.Event()
        self.executed = 0
        self._threads: list[threading.Thread] = []
        self._keeper = _LeaseKeeper(settings.job_lease_seconds)
        self._lock = threading.Lock()
        self._next_schedule_check = 0.0
        self._limits: tuple[float, bool] | None = None

    def start(self, *, drain: bool = False) -> None:
        """Start the loops in threads; with ``drain`` each ends when nothing is runnable."""
        for index in range(self.concurrency):
            thread = threading.Thread(
                target=self._loop,
                args=(index, drain),
                name=f"govdata-worker-{index}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the loops to end; True when they all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        return not any(t.is_alive() for t in self._threads)

    def stop(self, grace: float) -> None:
        """Stop claiming; let running jobs finish for ``grace`` seconds, then hand them back."""
        self.stopping.set()
        if self.wait(grace):
            return
        for run in self._keeper.running():
            if queue.release(self.db, run.id, run.owner):
                log.warning("job %s handed back on shutdown", run.id)

    def run_until_idle(self) -> int:
        """Process jobs in this thread until none is runnable; returns how many ran."""
        before = self.executed
        self._schedule_step(force=True)
        with _Lane(self.db) as lane:
            self._work(lane, self._claim(lane))
        return self.executed - before

    def run_one(self) -> bool:
        """Claim and run one job; False when none was runnable."""
        with _Lane(self.db) as lane:
            job = self._claim(lane)
            if job is None:
                return False
            self._execute(job, lane, claim_next=False)
        return True

    def _loop(self, index: int, drain: bool) -> None:
        with _Lane(self.db) as lane:
            while not self.stopping.is_set():
                try:
                    if index == 0:
                        self._schedule_step(force=drain)
                    self._work(lane, self._claim(lane))
                except Exception:
                    log.exception("worker loop error; retrying after the poll interval")
                    lane.reset()
                if drain:
                    return
                self.stopping.wait(self.settings.job_poll_seconds)

    def _work(self, lane: _Lane, job: ClaimedJob | None) -> None:
        """Run ``job`` and the jobs claimed after it until none is runnable or the worker stops."""
        while job is not None:
            if self.stopping.is_set():
                # Claimed together with the previous outcome, but never started.
                queue.release(lane.connection(), job.id, job.lease_owner or "")
                return
            job = self._execute(job, lane, claim_next=True)

    def _claim(self, lane: _Lane) -> ClaimedJob | None:
        conn = lane.connection()
        lane.refresh_plans()
        job = queue.claim(
            conn,
            f"{self.name}/{new_id()[-12:]}",
            self.kinds,
            lease_seconds=self.settings.job_lease_seconds,
            queues=self.queues,
            queue_limits=self._queue_limits(conn),
        )
        lane.claimed(job is not None)
        return job

    def _queue_limits(self, conn: Connection) -> bool:
        t = time.monotonic()
        cached = self._limits
        if cached is None or t - cached[0] > QUEUE_LIMITS_TTL_SECONDS:
            cached = (t, queue.has_queue_limits(conn))
            self._limits = cached
        return cached[1]

    def _schedule_step(self, *, force: bool = False) -> None:
        # Checked every few polls, not before every claim, so a busy worker
        # does not pay for it on each job.
        t = time.monotonic()
        if not force and t < self._next_schedule_check:
            return
        every = max(self.settings.job_poll_seconds, SCHEDULE_CHECK_MIN_SECONDS)
        self._next_schedule_check = t + every
        schedules.run_due(self.db, self.settings)

    def _execute(self, job: ClaimedJob, lane: _Lane, *, claim_next: bool) -> ClaimedJob | None:
        """Run a claimed job and record how it ended; returns the job claimed after it, if any."""
        run = JobRun(self.db, self.settings, job, self.stopping)
        self._keeper.track(run)
        try:
            ending = invoke(run)
        finally:
            self._keeper.untrack()
        outcome, after = self._record(run, ending, lane, claim_next=claim_next)
        with self._lock:
            self.executed += 1
        # Successes are on record in the store; a log line each would cost a
        # busy worker more CPU than the job. Anything else is worth a line.
        level = logging.DEBUG if outcome == SUCCEEDED else logging.INFO
        log.log(
            level, "job %s (%s) attempt %d: %s", run.id, run.kind, run.attempt, outcome or "lost"
        )
        return after

    def _record(
        self, run: JobRun, ending: Ending, lane: _Lane, *, claim_next: bool
    ) -> tuple[str | None, ClaimedJob | None]:
        """Store the outcome; with ``claim_next``, claim the next job in the same commit."""
        conn = lane.connection()
        try:
            with conn.begin():
                outcome = self._store_outcome(conn, run, ending)
                after = None
                if claim_next and not self.stopping.is_set():
                    after = self._claim(lane)
            return outcome, after
        except Exception:
            lane.reset()
            if ending.failure is not None or ending.hand_back or ending.lost:
                raise
        # Retried alone: the combined commit may have failed on the claim. A
        # result that cannot be stored (not JSON, too large) is the job's failure.
        try:
            outcome = queue.succeed(self.db, run.id, run.owner, ending.result)
        except Exception:
            failure = queue.Failure(traceback.format_exc())
            backoff = self.settings.job_backoff_seconds
            outcome = queue.fail(self.db, run.id, run.owner, failure, backoff)
        if claim_next and not self.stopping.is_set():
            return outcome, self._claim(lane)
        return outcome, None

    def _store_outcome(self, conn: Connection, run: JobRun, ending: Ending) -> str | None:
        return store_outcome(conn, run, ending, self.settings.job_backoff_seconds)
