"""``govdata pipeline list|runs|pause|resume|run|log`` against a real store, source and lake."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from govdata.cli import app
from govdata.core.jobs.models import Job
from govdata.core.jobs.worker import Worker
from govdata.exchange import pipelines
from govdata.exchange.models import PipelineRun
from govdata.exchange.schemas import PipelineCreate
from govdata.lake.tables import Lake
from govdata.security.models import AuditRecord
from tests.catalog.conftest import published_entry
from tests.exchange.sourcedb import SourceDb, mariadb_db
from tests.exchange.test_mounts import add_source, fill_people, mount_people
from tests.identity.conftest import Org

runner = CliRunner()
ROWS = 1500


@dataclass
class Setup:
    org: Org
    src: SourceDb
    pipeline_id: str
    lake_table: str

    def cli(self, *args: str) -> tuple[int, str]:
        result = runner.invoke(
            app, ["pipeline", *args, "--data-dir", str(self.org.settings.data_dir)]
        )
        return result.exit_code, result.output


@pytest.fixture
def setup(org: Org, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    # The CLI (and a worker configured from the environment) reach the test's own store.
    s = org.settings
    monkeypatch.setenv("GOVDATA_DATABASE_URL", s.database_url or "")
    monkeypatch.setenv("GOVDATA_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("GOVDATA_SECRET_KEY", s.secret_key)
    monkeypatch.setenv("COLUMNS", "250")  # whole ids in Rich tables
    with mariadb_db() as src:
        fill_people(src, ROWS)
        entry = published_entry(org, "xn_officer")
        mount = mount_people(org, add_source(org, "xn_stats", src), entry.id)
        with org.as_("xn_officer").act() as ctx:
            p = pipelines.create_pipeline(
                ctx,
                PipelineCreate(
                    mount_id=mount.id, name="全量", kind="full", options={"chunk_rows": 500}
                ),
            )
        assert mount.lake_table is not None
        yield Setup(org, src, p.id, mount.lake_table)


def test_list_pause_resume_and_runs(setup: Setup) -> None:
    code, out = setup.cli("list")
    assert code == 0, out
    assert setup.pipeline_id in out and "full" in out and "active" in out
    code, out = setup.cli("pause", setup.pipeline_id)
    assert code == 0 and "paused" in out, out
    code, out = setup.cli("run", setup.pipeline_id)
    assert code == 1 and "pipeline_paused" in out, out
    code, out = setup.cli("resume", setup.pipeline_id)
    assert code == 0 and "active" in out, out
    code, out = setup.cli("runs", setup.pipeline_id)
    assert code == 0 and "Runs of" in out, out
    code, out = setup.cli("pause", "no-such-pipeline")
    assert code == 1 and "pipeline_not_found" in out
    with setup.org.db.sessions() as s:
        actions = set(
            s.scalars(
                select(AuditRecord.action).where(
                    AuditRecord.target_id == setup.pipeline_id, AuditRecord.actor_name == "cli"
                )
            )
        )
    assert {"exchange.pipeline.pause", "exchange.pipeline.resume"} <= actions


def test_run_loads_the_table_in_this_process_with_a_progress_bar(setup: Setup) -> None:
    code, out = setup.cli("run", setup.pipeline_id)
    assert code == 0, out
    assert "succeeded" in out
    assert f"rows read {ROWS}" in out
    lake = Lake.from_settings(setup.org.settings)
    assert lake.read(setup.lake_table).num_rows == ROWS
    with setup.org.db.sessions() as s:
        run = s.scalars(
            select(PipelineRun).where(PipelineRun.pipeline_id == setup.pipeline_id)
        ).one()
        assert run.status == "succeeded" and run.trigger == "manual"
        job = s.get(Job, run.job_id)
        # The very job "run now" queued was run here, and finished like a worker's.
        assert job is not None and job.status == "succeeded"
        assert job.lease_owner is None and job.attempts == 1
        assert job.progress_done == ROWS
        audit = s.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "exchange.pipeline.run_now",
                AuditRecord.target_id == setup.pipeline_id,
            )
        ).one()
        assert audit.actor_name == "cli"
    code, out = setup.cli("log", run.id)
    assert code == 0 and run.id in out, out
    code, out = setup.cli("runs", setup.pipeline_id)
    assert code == 0 and "succeeded" in out


def test_run_follow_waits_for_a_server_worker(setup: Setup) -> None:
    worker = Worker(setup.org.db, setup.org.settings)
    worker.start()
    try:
        code, out = setup.cli("run", setup.pipeline_id, "--follow")
    finally:
        worker.stop(grace=10)
    assert code == 0, out
    assert "succeeded" in out
    assert Lake.from_settings(setup.org.settings).read(setup.lake_table).num_rows == ROWS
    with setup.org.db.sessions() as s:
        run = s.scalars(
            select(PipelineRun).where(PipelineRun.pipeline_id == setup.pipeline_id)
        ).one()
        job = s.get(Job, run.job_id)
        assert job is not None and job.lease_owner is None and job.status == "succeeded"
