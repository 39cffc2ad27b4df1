"""Job handlers used by the tests; worker subprocesses import this module by name."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from govdata.core.jobs.registry import job_handler
from govdata.core.jobs.worker import JobFailed, JobRun

MODULE = __name__


def _append(path: str, line: str) -> None:
    # O_APPEND keeps concurrent writers' lines whole.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@job_handler("test.steps")
def steps(job: JobRun) -> dict[str, Any]:
    """Logs each step to a file, checkpointing after each; resumes after the last saved step."""
    total = int(job.payload["steps"])
    start = int((job.checkpoint or {}).get("next", 0))
    for i in range(start, total):
        _append(job.payload["log"], f"{i} pid={os.getpid()} attempt={job.attempt}")
        time.sleep(float(job.payload.get("sleep", 0)))
        job.save_checkpoint({"next": i + 1})
        job.progress(i + 1, total, f"step {i + 1} of {total}")
    return {"steps": total, "resumed_from": start}


@job_handler("test.fail")
def fail(job: JobRun) -> dict[str, Any]:
    """Fails until attempt ``succeed_on`` (never when absent)."""
    succeed_on = job.payload.get("succeed_on")
    if succeed_on is not None and job.attempt >= int(succeed_on):
        return {"attempt": job.attempt}
    raise RuntimeError(f"boom on attempt {job.attempt}")


@job_handler("test.permanent")
def permanent(job: JobRun) -> None:
    raise JobFailed("payload names no table")


@job_handler("test.wait_cancel")
def wait_cancel(job: JobRun) -> dict[str, Any]:
    """Runs until cancelled (or 20 s), reporting progress so tests can see it running."""
    job.progress(0, None, "waiting")
    deadline = time.monotonic() + 20
    while not job.cancelled() and time.monotonic() < deadline:
        time.sleep(0.02)
    return {"saw_cancel": job.cancelled()}


@job_handler("test.record")
def record(job: JobRun) -> None:
    """Appends the job id to a file: counts executions across threads and processes."""
    _append(job.payload["log"], job.id)
    time.sleep(float(job.payload.get("sleep", 0)))


class Gauge:
    """Tracks how many ``test.concurrent`` handlers run at once in this process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def reset(self) -> None:
        with self.lock:
            self.active = self.peak = 0


GAUGE = Gauge()


@job_handler("test.concurrent")
def concurrent(job: JobRun) -> None:
    with GAUGE.lock:
        GAUGE.active += 1
        GAUGE.peak = max(GAUGE.peak, GAUGE.active)
    try:
        time.sleep(float(job.payload.get("sleep", 0.15)))
    finally:
        with GAUGE.lock:
            GAUGE.active -= 1


@job_handler("test.bad_result")
def bad_result(job: JobRun) -> dict[str, Any]:
    return {"not_json": object()}
