"""Run one queued job in this process, as a worker would: ``govdata pipeline run``, the demo.

The job is leased like any other (``queue.claim_job``), its lease kept alive while the
handler runs, and its outcome recorded the same way; so if this process dies, a worker
takes the job over after the lease expires and resumes it from its checkpoint.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.ids import new_id
from govdata.core.jobs import queue
from govdata.core.jobs.registry import load_handlers
from govdata.core.jobs.worker import JobRun, invoke, store_outcome

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, "int | None", "str | None"], None]


class _HereJobRun(JobRun):
    """The job as this process runs it: progress is also reported to ``on_progress``."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        job: queue.ClaimedJob,
        stopping: threading.Event,
        on_progress: ProgressFn | None,
    ) -> None:
        super().__init__(db, settings, job, stopping)
        self._on_progress = on_progress

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        if self._on_progress is not None:
            self._on_progress(done, total, message)
        super().progress(done, total, message)


def _keep_lease(run: JobRun, lease_seconds: float, done: threading.Event) -> None:
    # What the worker's lease keeper does, for the one job this process runs.
    while not done.wait(lease_seconds / 4):
        try:
            if not run.extend_lease():
                return
        except Exception:
            # A missed heartbeat is retried on the next tick, well inside the lease.
            log.warning("job %s: heartbeat failed; retrying", run.id, exc_info=True)


def claim_here(db: Database, settings: Settings, job_id: str) -> queue.ClaimedJob | None:
    """Lease the queued job for this process; None when a worker took it first."""
    owner = f"here:{new_id()[-12:]}"
    return queue.claim_job(db, job_id, owner, lease_seconds=settings.job_lease_seconds)


def execute(
    db: Database,
    settings: Settings,
    job: queue.ClaimedJob,
    *,
    on_progress: ProgressFn | None = None,
    stopping: threading.Event | None = None,
) -> str | None:
    """Run a job claimed with ``claim_here`` and record its outcome.

    Returns the job's new status (``succeeded``, ``queued`` for a retry, ``dead``,
    ``released`` when ``stopping`` was set, …), None when the lease was lost.
    """
    load_handlers(settings.job_handler_modules)
    run = _HereJobRun(db, settings, job, stopping or threading.Event(), on_progress)
    finished = threading.Event()
    keeper = threading.Thread(
        target=_keep_lease, args=(run, settings.job_lease_seconds, finished), daemon=True
    )
    keeper.start()
    try:
        ending = invoke(run)
    finally:
        finished.set()
    return store_outcome(db, run, ending, settings.job_backoff_seconds)


def run_job_here(
    db: Database, settings: Settings, job_id: str, *, on_progress: ProgressFn | None = None
) -> str | None:
    """Claim and run the queued job ``job_id`` here; None when a worker took it first."""
    job = claim_here(db, settings, job_id)
    if job is None:
        return None
    return execute(db, settings, job, on_progress=on_progress)
