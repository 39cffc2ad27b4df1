"""Engine test set-up: a source system, a published entry, a physical mount and a pipeline,
written as rows directly (the mount and pipeline actions have their own tests), and a way to
run the pipeline's job through a real worker.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import select

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs import queue as jobqueue
from govdata.core.jobs.models import DEFAULT_QUEUE, Job
from govdata.core.jobs.worker import Worker
from govdata.exchange import mapping
from govdata.exchange.models import Mount, Pipeline, PipelineRun, PipelineRunLog
from govdata.exchange.mounts import lake_table_name
from govdata.lake.tables import Lake
from govdata.sources import secrets
from govdata.sources.base import TableInfo
from govdata.sources.models import SourceSystem
from tests.catalog.conftest import published_entry
from tests.identity.conftest import Org

JOB_KIND = "exchange.pipeline"


@dataclass(frozen=True)
class Setup:
    source_id: str
    entry_id: str
    mount_id: str
    pipeline_id: str
    lake_table: str


def mapping_of(info: TableInfo, *, skip: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every column of ``info`` (but ``skip``), carried with no item, as its lake type."""
    return [
        {
            "item": None,
            "column": c.name,
            "field": mapping.field_name(None, c.name),
            "type": mapping.type_string(mapping.lake_type(c.arrow_type)),
        }
        for c in info.columns
        if c.name not in skip
    ]


def make_pipeline(
    org: Org,
    *,
    kind: str,
    config: dict[str, Any],
    target: str,
    columns: list[dict[str, Any]],
    key_columns: Sequence[str] = (),
    watermark: str | None = None,
    pipeline_kind: str = "full",
    options: dict[str, Any] | None = None,
    secret: dict[str, Any] | None = None,
    resource_name: str = "户籍人口基本信息",
    source_columns: Sequence[str] | None = None,
) -> Setup:
    entry = published_entry(org, "xn_officer", name=resource_name)
    with org.db.transaction(immediate=True) as s:
        row = s.get(CatalogEntry, entry.id)
        assert row is not None
        dept = row.provider_department_id
        source = SourceSystem(
            department_id=dept,
            name=f"src-{entry.id[-8:]}",
            kind=kind,
            config=config,
            secret=secrets.seal(org.settings, secret) if secret else None,
            status="ok",
        )
        s.add(source)
        s.flush()
        mount = Mount(
            entry_id=entry.id,
            department_id=dept,
            source_id=source.id,
            mode="physical",
            target_kind="table",
            target=target,
            columns=columns,
            unmapped_items=[],
            key_columns=list(key_columns),
            watermark_column=watermark,
            lake_table=lake_table_name(s, row),
            # As the mount action records them: the source's columns at mapping time.
            source_columns=list(
                source_columns if source_columns is not None else [c["column"] for c in columns]
            ),
            drift=[],
        )
        s.add(mount)
        s.flush()
        pipeline = Pipeline(
            mount_id=mount.id,
            department_id=dept,
            name=f"{pipeline_kind}-load",
            kind=pipeline_kind,
            options=options or {},
            state="active",
        )
        s.add(pipeline)
        s.flush()
        return Setup(source.id, entry.id, mount.id, pipeline.id, str(mount.lake_table))


def enqueue(db: Database, setup: Setup, *, trigger: str = "manual", max_attempts: int = 3) -> str:
    """Queue a run of the pipeline as "run now" does: a queued run row and its job."""
    with db.transaction(immediate=True) as s:
        run = PipelineRun(
            pipeline_id=setup.pipeline_id, kind="full", trigger=trigger, status="queued"
        )
        pipeline = s.get(Pipeline, setup.pipeline_id)
        assert pipeline is not None
        run.kind = pipeline.kind
        s.add(run)
        s.flush()
        job, _ = jobqueue.enqueue(
            s,
            JOB_KIND,
            {"pipeline_id": setup.pipeline_id, "run_id": run.id, "trigger": trigger},
            max_attempts=max_attempts,
            queue="cdc" if pipeline.kind == "cdc" else DEFAULT_QUEUE,
            idempotency_key=f"pipeline-run:{run.id}",
        )
        run.job_id = job.id
        return run.id


@contextmanager
def worker_env(settings: Settings) -> Iterator[None]:
    """The environment a worker process of ``settings`` would have (for code that reads its
    settings from the environment, as a separate worker process does)."""
    env = {
        "GOVDATA_DATA_DIR": str(settings.data_dir),
        "GOVDATA_DATABASE_URL": settings.db_url,
        "GOVDATA_SECRET_KEY": settings.secret_key,
        "GOVDATA_SOURCE_KEY": settings.source_key,
    }
    if settings.lake_root is not None:
        env["GOVDATA_LAKE_ROOT"] = str(settings.lake_root)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_jobs(db: Database, settings: Settings, *, one: bool = False) -> int:
    """Run queued pipeline jobs through a real worker; returns how many ran."""
    worker = Worker(db, settings)
    if one:
        return int(worker.run_one())
    return worker.run_until_idle()


def run(db: Database, settings: Settings, setup: Setup) -> PipelineRun:
    """Queue one run, run one job attempt, return the run row."""
    run_id = enqueue(db, setup)
    run_jobs(db, settings, one=True)
    return run_row(db, run_id)


def run_row(db: Database, run_id: str) -> PipelineRun:
    with db.transaction() as s:
        row = s.get(PipelineRun, run_id)
        assert row is not None
        s.expunge(row)
        return row


def run_log(db: Database, run_id: str) -> list[str]:
    with db.transaction() as s:
        return list(
            s.scalars(
                select(PipelineRunLog.message)
                .where(PipelineRunLog.run_id == run_id)
                .order_by(PipelineRunLog.id)
            )
        )


def job_of(db: Database, run_id: str) -> Job:
    with db.transaction() as s:
        run = s.get(PipelineRun, run_id)
        assert run is not None and run.job_id is not None
        job = s.get(Job, run.job_id)
        assert job is not None
        s.expunge(job)
        return job


def lake_rows(settings: Settings, table: str, key: str) -> list[dict[str, Any]]:
    data = Lake.from_settings(settings).read(table)
    return data.sort_by(key).to_pylist()


def lake_table(settings: Settings, table: str) -> pa.Table:
    return Lake.from_settings(settings).read(table)
