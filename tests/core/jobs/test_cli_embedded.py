"""`govdata jobs ...` and `govdata worker --once`; the embedded worker inside the app."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from govdata.app import create_app
from govdata.cli import app as cli
from govdata.config import Settings
from govdata.core.db import Database
from tests.core.jobs import handlers
from tests.core.jobs.conftest import all_jobs, wait_for


def _env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    return {
        "GOVDATA_DATA_DIR": str(tmp_path / "data"),
        "GOVDATA_DATABASE_URL": settings.db_url,
        "GOVDATA_JOB_HANDLER_MODULES": handlers.MODULE,
        "GOVDATA_JOB_POLL_SECONDS": "0.05",
        "COLUMNS": "200",
    }


def test_cli_enqueue_work_list_show_cancel(
    jdb: Database, jobs_settings: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = _env(jobs_settings, tmp_path)
    first = runner.invoke(cli, ["jobs", "enqueue", "core.noop", "--key", "cli-1"], env=env)
    assert first.exit_code == 0, first.output
    job_id = first.output.strip()
    again = runner.invoke(cli, ["jobs", "enqueue", "core.noop", "--key", "cli-1"], env=env)
    assert again.output.strip() == job_id
    bad = runner.invoke(cli, ["jobs", "enqueue", "core.noop", "--payload", "[1"], env=env)
    assert bad.exit_code != 0

    listed = runner.invoke(cli, ["jobs", "list"], env=env)
    assert listed.exit_code == 0 and job_id in listed.output and "queued" in listed.output

    ran = runner.invoke(cli, ["worker", "--once"], env=env)
    assert ran.exit_code == 0, ran.output
    assert "ran 1 job(s)" in ran.output
    shown = runner.invoke(cli, ["jobs", "show", job_id, "--wait"], env=env)
    assert shown.exit_code == 0 and "succeeded" in shown.output

    second = runner.invoke(cli, ["jobs", "enqueue", "core.noop"], env=env).output.strip()
    cancelled = runner.invoke(cli, ["jobs", "cancel", second], env=env)
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
    refused = runner.invoke(cli, ["jobs", "cancel", second], env=env)
    assert refused.exit_code == 1 and "job_finished" in refused.output
    assert {j.id: j.status for j in all_jobs(jdb)} == {job_id: "succeeded", second: "cancelled"}


def test_embedded_worker_runs_jobs_in_the_web_process(
    jdb: Database, jobs_settings: Settings
) -> None:
    from govdata.core.jobs import queue

    settings = jobs_settings.model_copy(update={"embedded_worker": True})
    with TestClient(create_app(settings, migrate=False)):
        with jdb.transaction() as s:
            job, _ = queue.enqueue(s, "core.noop", max_attempts=1)
        wait_for(lambda: all_jobs(jdb)[0].status == "succeeded")
    assert all_jobs(jdb)[0].id == job.id
