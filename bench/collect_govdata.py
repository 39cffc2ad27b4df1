"""GovData set up the way a department uses it: an officer registers the MariaDB source,
catalogues the table as an entry (published by the operator), mounts it physically, and
creates a pipeline; runs go through the job queue to a ``govdata worker`` process.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text

from collect_source import CDC_COLUMN, HOST, PORT, SHAPE, USER
from govdata.catalog import actions as catalog
from govdata.catalog.schemas import EntryCreate, PublishRequest
from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.jobs.models import FINISHED, QUEUED, RUNNING, SUCCEEDED, Job
from govdata.exchange import mounts, pipelines
from govdata.exchange.models import Mount, PipelineRun, PipelineRunLog
from govdata.exchange.schemas import MountCreate, PipelineCreate
from govdata.exchange.vocab import MountMode, PipelineKind, RunStatus
from govdata.identity import actions as identity
from govdata.identity import auth
from govdata.identity.models import User
from govdata.identity.schemas import DepartmentCreate, RegionCreate, RoleAssignmentIn, UserCreate
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role
from govdata.sources import actions as sources
from govdata.sources.schemas import SourceCreate, SourceKind
from govdata.standards import uscc

PASSWORD = "Qinghai@2026bench"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432"
# 人口 → 人口基本信息, from the seeded classification tree.
CLASS_CODE = "101001"
WORKER = [sys.executable, "-c", "from govdata.cli import main; main()", "worker"]


def _pg_admin(sql: str) -> None:
    engine = create_engine(PG_BASE + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


@dataclass
class Platform:
    """One GovData node (metadata store + data directory) with a province and its police."""

    settings: Settings
    db: Database
    store_db: str | None
    users: dict[str, str] = field(default_factory=dict)
    department_id: str = ""
    sources: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, workdir: Path, *, sqlite: bool, store_db: str) -> Platform:
        data_dir = workdir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        if sqlite:
            url, owned = f"sqlite:///{data_dir / 'govdata.db'}", None
        else:
            _pg_admin(f"DROP DATABASE IF EXISTS {store_db} WITH (FORCE)")
            _pg_admin(f"CREATE DATABASE {store_db}")
            url, owned = f"{PG_BASE}/{store_db}", store_db
        settings = Settings(
            data_dir=data_dir, database_url=url, argon2_time_cost=1, argon2_memory_kib=1024
        )
        db = Database(url)
        db.migrate()
        platform = cls(settings, db, owned)
        platform._organise()
        return platform

    def close(self) -> None:
        self.db.dispose()
        if self.store_db is not None:
            _pg_admin(f"DROP DATABASE IF EXISTS {self.store_db} WITH (FORCE)")

    def env(self) -> dict[str, str]:
        """Environment of a ``govdata`` process on this node."""
        return {
            **os.environ,
            "GOVDATA_DATA_DIR": str(self.settings.data_dir),
            "GOVDATA_DATABASE_URL": self.settings.database_url,
            "GOVDATA_JOB_POLL_SECONDS": "0.05",
            "PYTHONUNBUFFERED": "1",
        }

    def as_(self, username: str) -> Caller:
        with self.db.transaction() as s:
            user = s.scalars(select(User).where(User.username == username)).one()
            actor = auth.actor_for_user(user)
        return Caller(self.db, self.settings, actor, "127.0.0.1")

    def _organise(self) -> None:
        with Caller(self.db, self.settings, SYSTEM, "127.0.0.1").act() as ctx:
            identity.create_region(ctx, RegionCreate(code="630000", name="青海省"))
            dept = identity.create_department(
                ctx,
                DepartmentCreate(
                    code="police",
                    name="青海省公安厅",
                    credit_code=uscc.make("1", "1", "630000", "MB000001"),
                    region_code="630000",
                ),
            )
            self.department_id = dept.id
            for username, role, department in (
                ("operator", Role.OPERATOR, None),
                ("officer", Role.DEPT_OFFICER, dept.id),
            ):
                out = identity.create_user(
                    ctx,
                    UserCreate(
                        username=username,
                        display_name=username.title(),
                        password=PASSWORD,
                        department_id=department,
                        roles=[RoleAssignmentIn(role=role)],
                    ),
                )
                self.users[username] = out.id

    def source(self, database: str) -> str:
        """The registered source system of MariaDB database ``database``."""
        if database not in self.sources:
            with self.as_("officer").act() as ctx:
                out = sources.create_source(
                    ctx,
                    SourceCreate(
                        kind=SourceKind.MARIADB,
                        name=database,
                        config={"host": HOST, "port": PORT, "database": database, "user": USER},
                    ),
                )
            self.sources[database] = out.id
        return self.sources[database]

    def mount(self, database: str, table: str, *, cdc: bool = False) -> Mount:
        """Catalogue ``table`` as a published entry and mount it physically."""
        shape = (*SHAPE, CDC_COLUMN) if cdc else SHAPE
        items: list[dict[str, Any]] = [
            {
                "name": item,
                "name_en": column,
                "data_type": data_type,
                "length": length,
                "is_key": column == "id",
                "is_sensitive": column in ("name", "resident_id"),
                "grade": 3 if column == "resident_id" else 2,
            }
            for column, _ddl, item, data_type, length in shape
        ]
        with self.as_("officer").act() as ctx:
            entry = catalog.create_entry(
                ctx,
                EntryCreate(
                    classification_code=CLASS_CODE,
                    name=f"人员基本信息（{table}）",
                    summary="全省人员的姓名、公民身份号码、出生日期、住址等基本登记信息。",
                    format="database",
                    share_type="conditional",
                    share_condition="用于政务服务身份核验，须经提供部门同意",
                    share_modes=["api"],
                    open_type="closed",
                    update_cycle="realtime" if cdc else "daily",
                    grade=3,
                    contact_name="王建国",
                    contact_phone="0971-8181234",
                    contact_email="data@police.qh.gov.cn",
                    items=items,
                ),
            )
            catalog.submit_entry(ctx, entry.id)
        with self.as_("operator").act() as ctx:
            catalog.publish_entry(ctx, entry.id, PublishRequest())
        with self.as_("officer").act() as ctx:
            out = mounts.create_mount(
                ctx,
                MountCreate(
                    entry_id=entry.id,
                    source_id=self.source(database),
                    target=table,
                    mode=MountMode.PHYSICAL,
                ),
            )
        with self.db.transaction() as s:
            mount = s.get(Mount, out.id)
            assert mount is not None
            s.expunge(mount)
        return mount

    def pipeline(self, mount: Mount, kind: PipelineKind, options: dict[str, Any]) -> str:
        with self.as_("officer").act() as ctx:
            out = pipelines.create_pipeline(
                ctx,
                PipelineCreate(mount_id=mount.id, name=f"{kind}-bench", kind=kind, options=options),
            )
        return out.id

    def run_now(self, pipeline_id: str) -> str:
        """Queue a run as the officer's "run now" does; returns the run id."""
        with self.as_("officer").act() as ctx:
            return pipelines.run_now(ctx, pipeline_id).id

    def pause(self, pipeline_id: str) -> None:
        with self.as_("officer").act() as ctx:
            pipelines.pause_pipeline(ctx, pipeline_id)

    def outcome(self, run_id: str) -> Outcome:
        """Where a run and its job stand. A succeeded run is timed by its job's claim and
        finish stamps (the worker's own clock), so neither interpreter start nor queue
        polling counts."""
        with self.db.transaction() as s:
            run = s.get(PipelineRun, run_id)
            assert run is not None and run.job_id is not None
            job = s.get(Job, run.job_id)
            assert job is not None
            seconds = None
            if run.status == RunStatus.SUCCEEDED and job.status == SUCCEEDED:
                assert job.started_at is not None and job.finished_at is not None
                seconds = (job.finished_at - job.started_at).total_seconds()
            logs = s.scalars(
                select(PipelineRunLog.message)
                .where(PipelineRunLog.run_id == run_id)
                .order_by(PipelineRunLog.id)
            ).all()
            # A job is claimable again once queued and due, or once a lost lease expires.
            due = (job.status == QUEUED and job.run_after <= now()) or (
                job.status == RUNNING
                and job.lease_expires_at is not None
                and job.lease_expires_at <= now()
            )
            story = (
                f"run {run.id}: {run.status} {run.error_code or ''} {run.error_message or ''};"
                f" job {job.id}: {job.status}, attempt {job.attempts},"
                f" last error {(job.last_error or '-')[-1500:]}; run log: " + " | ".join(logs)
            )
            return Outcome(seconds, job.status in FINISHED, due, story)

    @staticmethod
    def worker_args(queue: str, *, once: bool) -> list[str]:
        return ["--queue", queue, "--once"] if once else ["--queue", queue]

    def worker_command(self, queue: str) -> list[str]:
        return [*WORKER, *self.worker_args(queue, once=False)]


@dataclass(frozen=True)
class Outcome:
    seconds: float | None  # set when the run and its job succeeded
    job_finished: bool
    job_due: bool  # the job can be claimed again (handed back, or its lease ran out)
    story: str  # status, errors and run log, for a report when it did not succeed
