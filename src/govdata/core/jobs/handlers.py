"""Job handlers of the queue itself."""

from __future__ import annotations

from typing import Any

from govdata.core.jobs.registry import job_handler
from govdata.core.jobs.worker import JobRun


@job_handler("core.noop")
def noop(job: JobRun) -> dict[str, Any] | None:
    """Does nothing: proves a worker is alive end to end, and measures the queue's own cost."""
    return None
