"""Ledger jobs: sealing (a standing schedule, behind the web process's own sealer) and the
full verification (nightly, and when an auditor asks)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import select

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs.registry import job_handler, standing_schedule
from govdata.core.jobs.worker import JobRun
from govdata.security.ledger import heads
from govdata.security.ledger.actions import VERIFY_JOB, record_verification, seal_all
from govdata.security.ledger.models import LedgerPending
from govdata.security.ledger.verify import verify_ledger

log = logging.getLogger(__name__)

SEAL_JOB = "ledger.seal"
# A fallback for nodes without a web process: web processes seal every few seconds themselves.
standing_schedule(SEAL_JOB, "*/5 * * * *", SEAL_JOB)
standing_schedule("ledger.verify.nightly", "30 2 * * *", VERIFY_JOB)


def seal_pass(db: Database, settings: Settings) -> int:
    """Seal whatever is queued and sign the tree when a head is due; the count sealed."""
    with db.transaction() as s:
        if s.scalar(select(LedgerPending.n).limit(1)) is None:
            return 0
    with db.transaction(immediate=True) as s:
        sealed = seal_all(s, rounds=1000)
        heads.issue_if_due(s, settings)
    return sealed


@job_handler(SEAL_JOB)
def seal_job(job: JobRun) -> dict[str, Any] | None:
    return {"sealed": seal_pass(job.db, job.settings)}


@job_handler(VERIFY_JOB)
def verify_job(job: JobRun) -> dict[str, Any] | None:
    with job.db.transaction() as s:
        report = verify_ledger(s, job.settings)
    with job.db.transaction(immediate=True) as s:
        record_verification(s, report)
    return {
        "ok": report.ok,
        "tree_size": report.tree_size,
        "root_hash": report.root_hash,
        "problem": None if report.problem is None else report.problem.message_en,
    }


class Sealer:
    """Seals queued audit records every ``ledger_seal_seconds`` inside a web process, so a
    record is in the tree seconds after it is written, not at the next job tick."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ledger-sealer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.settings.ledger_seal_seconds):
            try:
                seal_pass(self.db, self.settings)
            except Exception:  # a busy store or a lost connection: try again next tick
                log.exception("sealing the audit ledger failed; will retry")
