"""Real worker processes: SIGKILL mid-job loses nothing; SIGTERM hands the job back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from govdata.config import Settings
from govdata.core.jobs.models import Job
from tests.core.jobs import handlers
from tests.core.jobs.conftest import wait_for

REPO = Path(__file__).resolve().parents[3]


def _start_worker(settings: Settings, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "GOVDATA_DATA_DIR": str(tmp_path / "data"),
        "GOVDATA_DATABASE_URL": settings.db_url,
        "GOVDATA_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "GOVDATA_JOB_HANDLER_MODULES": handlers.MODULE,
        "GOVDATA_JOB_LEASE_SECONDS": "1.5",
        "GOVDATA_JOB_POLL_SECONDS": "0.1",
    }
    out = (tmp_path / f"{name}.out").open("wb")
    return subprocess.Popen(
        [sys.executable, "-c", "from govdata.cli import main; main()", "worker", "--grace", "0"],
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def _steps(log: Path) -> list[tuple[int, str]]:
    if not log.exists():
        return []
    rows = [line.split() for line in log.read_text().splitlines()]
    return [(int(r[0]), r[1]) for r in rows]


def test_sigkilled_worker_job_is_resumed_by_another_worker(
    jobs_settings: Settings,
    add_job: Callable[..., str],
    load: Callable[[str], Job],
    tmp_path: Path,
) -> None:
    log = tmp_path / "steps.log"
    job_id = add_job("test.steps", {"steps": 8, "sleep": 0.25, "log": str(log)}, max_attempts=3)
    first = _start_worker(jobs_settings, tmp_path, "first")
    try:
        wait_for(lambda: len(_steps(log)) >= 3, timeout=30)
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
    finally:
        first.kill()
    killed = load(job_id)
    assert killed.status == "running" and killed.attempts == 1 and killed.lease_owner
    saved = killed.checkpoint["next"] if killed.checkpoint else 0
    assert saved >= 2

    second = _start_worker(jobs_settings, tmp_path, "second")
    try:
        job = wait_for(lambda: (j := load(job_id)).status == "succeeded" and j, timeout=30)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0
    finally:
        second.kill()
    assert job.attempts == 2
    assert job.result == {"steps": 8, "resumed_from": saved}
    assert job.lease_owner != killed.lease_owner
    steps = _steps(log)
    assert sorted({i for i, _ in steps}) == list(range(8))
    # Steps checkpointed before the kill ran once, in the first process; the rest in the second.
    done_before = [i for i, _ in steps if i < saved]
    assert done_before == list(range(saved))
    pids = {pid for i, pid in steps}
    assert pids == {f"pid={first.pid}", f"pid={second.pid}"}
    assert all(pid == f"pid={second.pid}" for i, pid in steps if i >= saved + 1)


def test_sigterm_hands_the_running_job_back(
    jobs_settings: Settings,
    add_job: Callable[..., str],
    load: Callable[[str], Job],
    tmp_path: Path,
) -> None:
    log = tmp_path / "steps.log"
    job_id = add_job("test.steps", {"steps": 50, "sleep": 0.1, "log": str(log)})
    worker = _start_worker(jobs_settings, tmp_path, "worker")
    try:
        wait_for(lambda: len(_steps(log)) >= 2, timeout=30)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0
    finally:
        worker.kill()
    job = load(job_id)
    assert job.status == "queued" and job.attempts == 0 and job.lease_owner is None
    assert job.checkpoint is not None and 2 <= job.checkpoint["next"] < 50
