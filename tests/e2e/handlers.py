"""Job kinds used by the browser tests; workers load them via GOVDATA_JOB_HANDLER_MODULES."""

from __future__ import annotations

import time
from typing import Any

from govdata.core.jobs.registry import job_handler
from govdata.core.jobs.worker import JobRun


@job_handler("e2e.count")
def count(job: JobRun) -> dict[str, Any] | None:
    """Counts to ``steps`` slowly, reporting progress at every step."""
    steps = int(job.payload.get("steps", 10))
    delay = float(job.payload.get("delay", 0.5))
    for done in range(1, steps + 1):
        if job.cancelled():
            return {"stopped_at": done}
        time.sleep(delay)
        job.progress(done, steps, f"step {done}")
    return {"counted": steps}
