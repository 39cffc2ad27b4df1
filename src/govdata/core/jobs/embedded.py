"""The embedded profile's workers: threads inside the web process.

One worker thread runs the ordinary jobs. Change-data-capture pipelines are long jobs on
queue ``cdc`` (each runs until its pipeline is paused or the process stops), so they get a
worker of their own with ``settings.cdc_streams`` threads, and the ordinary worker never
claims them: a stream must not hold up the jobs behind it, and the ordinary jobs must not
wait for a stream to end.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import select

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs.models import QUEUED, RUNNING, Job
from govdata.core.jobs.queue import ClaimedJob
from govdata.core.jobs.worker import Worker, _Lane

# On shutdown a running job gets this long to finish before it is handed back.
STOP_GRACE_SECONDS = 5.0
CDC_QUEUE = "cdc"
# How long the ordinary worker trusts its list of queues that have work.
QUEUES_TTL_SECONDS = 1.0


class _AllButWorker(Worker):
    """A worker of every queue except ``excluded``.

    Claims filter on the queues they may take from; "all but some" is the queues that have
    queued or running jobs minus the excluded ones, re-read before each claim while there
    are none and at most once a second otherwise (a job on a queue that just got its first
    job may wait that long while other queues are busy).
    """

    def __init__(
        self, db: Database, settings: Settings, *, excluded: Sequence[str], concurrency: int
    ) -> None:
        super().__init__(db, settings, concurrency=concurrency)
        self.excluded = frozenset(excluded)
        self._known: tuple[float, list[str]] | None = None

    def _claim(self, lane: _Lane) -> ClaimedJob | None:
        conn = lane.connection()
        if conn.in_transaction():
            return self._claim_other(lane)
        # One transaction for the look-up and the claim, as the claim alone would have.
        with conn.begin():
            return self._claim_other(lane)

    def _claim_other(self, lane: _Lane) -> ClaimedJob | None:
        t = time.monotonic()
        # An empty list is never trusted: an idle worker must see the first job at once.
        if not self._known or not self._known[1] or t - self._known[0] > QUEUES_TTL_SECONDS:
            found = lane.connection().execute(
                select(Job.queue)
                .where(Job.status.in_((QUEUED, RUNNING)), Job.queue.not_in(self.excluded))
                .distinct()
            )
            self._known = (t, sorted(q for (q,) in found))
        queues = self._known[1]
        if not queues:
            # No queue list at all would mean every queue, the excluded ones included.
            return None
        self.queues = queues
        return super()._claim(lane)


class EmbeddedWorker:
    """Runs the worker threads next to the web server; started and stopped by the app's lifespan."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self.worker: Worker | None = None
        self.cdc_worker: Worker | None = None

    def start(self) -> None:
        if self.worker is None:
            self.worker = _AllButWorker(self.db, self.settings, excluded=[CDC_QUEUE], concurrency=1)
            self.worker.start()
        if self.cdc_worker is None:
            self.cdc_worker = Worker(
                self.db,
                self.settings,
                queues=[CDC_QUEUE],
                concurrency=self.settings.cdc_streams,
                name=f"{self.worker.name}/cdc",
            )
            self.cdc_worker.start()

    def stop(self) -> None:
        workers = [w for w in (self.worker, self.cdc_worker) if w is not None]
        # Both stop claiming at once; then each gets the grace period for its running jobs.
        for w in workers:
            w.stopping.set()
        for w in workers:
            w.stop(STOP_GRACE_SECONDS)
        self.worker = self.cdc_worker = None
