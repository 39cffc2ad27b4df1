"""Quality runs as jobs: ``governance.quality_run`` (payload ``{"entry_id", "trigger"}``).

Queued by an officer (the portal's run button), after each successful collection run of an
entry that has enabled rules, and by the nightly sweep, which queues every entry with rules
whose last run is older than a day. The run itself is ``quality_runs.run_entry`` as the
system, with its progress on the job.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import distinct, select

from govdata.core.clock import now
from govdata.core.jobs.registry import job_handler, standing_schedule
from govdata.core.jobs.worker import JobRun
from govdata.governance import quality_runs
from govdata.governance.quality_models import QualityRule
from govdata.security.context import ActionContext, Caller
from govdata.security.context_types import SYSTEM

SWEEP_KIND = "governance.quality_sweep"
standing_schedule("governance.quality_sweep", "30 2 * * *", SWEEP_KIND)


@job_handler(quality_runs.JOB_KIND)
def run_quality(job: JobRun) -> dict[str, Any] | None:
    entry_id = str(job.payload.get("entry_id", ""))
    trigger = str(job.payload.get("trigger", "schedule"))
    # Read in a plain transaction (no write lock while the table is scanned), then record.
    with job.db.transaction() as s:
        measured = quality_runs.measure_entry(
            ActionContext(s, SYSTEM, job.settings), entry_id, progress=job.progress
        )
    with Caller(job.db, job.settings, SYSTEM).act() as ctx:
        out = quality_runs.record_run(ctx, measured, trigger=trigger, job_id=job.id)
    return {"run_id": out.id, "status": out.status, "score": out.score}


@job_handler(SWEEP_KIND)
def sweep(job: JobRun) -> dict[str, Any] | None:
    """Queue a run for every entry with enabled rules not checked in the last 24 hours."""
    cutoff = now() - timedelta(hours=24)
    queued = []
    with job.db.transaction() as s:
        entries = list(
            s.scalars(select(distinct(QualityRule.entry_id)).where(QualityRule.enabled.is_(True)))
        )
        latest = quality_runs.latest_runs(s, entries)
        for entry_id in entries:
            last = latest.get(entry_id)
            if last is not None and last.started_at >= cutoff:
                continue
            day = now().date().isoformat()
            queued.append(
                quality_runs.enqueue_run(
                    s,
                    job.settings.job_max_attempts,
                    entry_id,
                    "schedule",
                    key=f"quality:{entry_id}:{day}",
                )
            )
    return {"queued": len(queued)}
