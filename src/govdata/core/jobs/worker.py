"""Workers: claim jobs, run their handlers, keep their leases alive, record the outcome.

A ``Worker`` runs ``concurrency`` loops in threads of one process. A job's
lease is extended by a heartbeat thread while its handler runs; if the whole
process dies (SIGKILL, power loss) the lease expires and any other worker
resumes the job from its last saved checkpoint.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Sequence
from typing import Any

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.ids import new_id
from govdata.core.jobs import queue, schedules
from govdata.core.jobs.models import Job
from govdata.core.jobs.registry import handler_for, load_handlers

log = logging.getLogger(__name__)


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
        self, db: Database, settings: Settings, job: Job, owner: str, stopping: threading.Event
    ) -> None:
        self.id = job.id
        self.kind = job.kind
        self.queue = job.queue
        self.payload: dict[str, Any] = dict(job.payload or {})
        self.checkpoint: dict[str, Any] | None = job.checkpoint
        self.attempt = job.attempts
        self.max_attempts = job.max_attempts
        self.owner = owner
        self._db = db
        self._lease_seconds = settings.job_lease_seconds
        self._stopping = stopping
        self._cancel_requested = bool(job.cancel_requested)
        self._lost = False

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Show how far the job is (done of total, and a short message) in the API and portal."""
        self._observe(queue.report_progress(self._db, self.id, self.owner, done, total, message))

    def save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Commit resume state; a worker that takes over later starts from it.

        Raises ``WorkerStopping`` (after saving) when this worker is shutting down.
        """
        self._observe(
            queue.save_checkpoint(self._db, self.id, self.owner, checkpoint, self._lease_seconds)
        )
        self.checkpoint = checkpoint
        if self._stopping.is_set():
            raise WorkerStopping()

    def cancelled(self) -> bool:
        """True once someone asked to cancel this job; the handler should return soon."""
        return self._cancel_requested

    @property
    def lost(self) -> bool:
        return self._lost

    def _observe(self, cancel_requested: bool | None) -> None:
        if cancel_requested is None:
            self._lost = True
            raise LeaseLost(self.id)
        self._cancel_requested = cancel_requested

    def extend_lease(self) -> bool:
        """Called by the worker's heartbeat thread; False once the lease is lost."""
        state = queue.heartbeat(self._db, self.id, self.owner, self._lease_seconds)
        if state is None:
            self._lost = True
            return False
        self._cancel_requested = state
        return True


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
        self._current: dict[int, JobRun] = {}
        self._lock = threading.Lock()
        self._next_schedule_check = 0.0

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
        with self._lock:
            running = list(self._current.values())
        for run in running:
            if queue.release(self.db, run.id, run.owner):
                log.warning("job %s handed back on shutdown", run.id)

    def run_until_idle(self) -> int:
        """Process jobs in this thread until none is runnable; returns how many ran."""
        before = self.executed
        self._schedule_step(force=True)
        while not self.stopping.is_set() and self.run_one():
            pass
        return self.executed - before

    def run_one(self) -> bool:
        """Claim and run one job; False when none was runnable."""
        owner = f"{self.name}/{new_id()[-12:]}"
        job = queue.claim(
            self.db,
            owner,
            self.kinds,
            lease_seconds=self.settings.job_lease_seconds,
            queues=self.queues,
        )
        if job is None:
            return False
        self._execute(JobRun(self.db, self.settings, job, owner, self.stopping))
        return True

    def _loop(self, index: int, drain: bool) -> None:
        while not self.stopping.is_set():
            try:
                if index == 0:
                    self._schedule_step(force=drain)
                ran = self.run_one()
            except Exception:
                log.exception("worker loop error; retrying after the poll interval")
                ran = False
            if not ran:
                if drain:
                    return
                self.stopping.wait(self.settings.job_poll_seconds)

    def _schedule_step(self, *, force: bool = False) -> None:
        # Checked once per poll interval, not before every claim, so a busy
        # worker does not pay for it on each job.
        t = time.monotonic()
        if not force and t < self._next_schedule_check:
            return
        self._next_schedule_check = t + self.settings.job_poll_seconds
        schedules.run_due(self.db, self.settings)

    def _execute(self, run: JobRun) -> None:
        ident = threading.get_ident()
        with self._lock:
            self._current[ident] = run
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(run, done), daemon=True)
        beat.start()
        outcome: str | None
        try:
            outcome = self._invoke(run, done, beat)
        finally:
            with self._lock:
                self._current.pop(ident, None)
        with self._lock:
            self.executed += 1
        log.info("job %s (%s) attempt %d: %s", run.id, run.kind, run.attempt, outcome or "lost")

    def _invoke(self, run: JobRun, done: threading.Event, beat: threading.Thread) -> str | None:
        handler = handler_for(run.kind)
        failure: queue.Failure | None = None
        result: dict[str, Any] | None = None
        try:
            if handler is None:
                raise JobFailed(f"no handler for job kind {run.kind!r}")
            result = handler(run)
        except WorkerStopping:
            self._end_heartbeat(done, beat)
            return "released" if queue.release(self.db, run.id, run.owner) else None
        except LeaseLost:
            self._end_heartbeat(done, beat)
            return None
        except JobFailed as exc:
            failure = queue.Failure(str(exc) or type(exc).__name__, permanent=True)
        except Exception:
            failure = queue.Failure(traceback.format_exc())
        self._end_heartbeat(done, beat)
        backoff = self.settings.job_backoff_seconds
        if failure is not None:
            return queue.fail(self.db, run.id, run.owner, failure, backoff)
        try:
            return queue.succeed(self.db, run.id, run.owner, result)
        except Exception:
            # The result could not be stored (not JSON, too large): that is the job's failure.
            return queue.fail(
                self.db, run.id, run.owner, queue.Failure(traceback.format_exc()), backoff
            )

    @staticmethod
    def _end_heartbeat(done: threading.Event, beat: threading.Thread) -> None:
        done.set()
        beat.join()

    def _heartbeat(self, run: JobRun, done: threading.Event) -> None:
        interval = self.settings.job_lease_seconds / 3
        while not done.wait(interval):
            try:
                if not run.extend_lease():
                    log.warning("job %s: lease lost", run.id)
                    return
            except Exception:
                log.exception("job %s: heartbeat failed; retrying", run.id)
