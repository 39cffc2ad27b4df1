"""The detection scan as a job, every minute on every node (a standing schedule)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from govdata.core.jobs.registry import job_handler, standing_schedule
from govdata.core.jobs.worker import JobRun
from govdata.security.anomaly import detect

JOB_KIND = "security.anomaly_scan"
standing_schedule(JOB_KIND, "* * * * *", JOB_KIND)
# One run reads at most this many batches; the next minute's run goes on from there.
MAX_BATCHES = 200


@job_handler(JOB_KIND)
def scan_job(job: JobRun) -> dict[str, Any] | None:
    result = detect.scan(job.db, job.settings, max_batches=MAX_BATCHES)
    out = asdict(result)
    out["scanned_until"] = result.scanned_until.isoformat() if result.scanned_until else None
    return out
