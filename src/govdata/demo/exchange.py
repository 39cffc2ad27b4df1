"""Connect the demo source systems, mount them on their catalog entries, run the first loads.

Each department's data officer does it through the same actions the portal uses:
registers the department's system as a source, mounts each of its tables on the
catalog entry that describes it — half queried in place (逻辑接入), half copied into
the lake (物理汇聚) — and creates the pipelines. The physical mounts' first loads run
here, in this process; the household register's change-data-capture stream is queued
for the server's CDC worker, so it starts with ``govdata serve`` and keeps the
lake table current from then on (binlog on MariaDB; polling ``updated_at`` on SQLite,
which has no change log).

Everything is get-or-create, so a rerun after an interruption finishes the job
without duplicating sources, mounts or pipelines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs.inline import run_job_here
from govdata.demo.catalog_plan import plan_catalog
from govdata.demo.sources.writer import MariaDBSettings
from govdata.exchange import mounts, pipelines
from govdata.exchange.models import Mount, Pipeline
from govdata.exchange.report_jobs import ensure_monthly_schedule
from govdata.exchange.schemas import MountCreate, PipelineCreate
from govdata.exchange.vocab import MountMode, PipelineKind
from govdata.identity import queries as org
from govdata.security.context import ActionContext, Caller
from govdata.security.context_types import SYSTEM
from govdata.sources import actions as sources
from govdata.sources.models import SourceSystem
from govdata.sources.registry import demo_sources_dir
from govdata.sources.schemas import SourceCreate, SourceKind, SourceSecret

# (system, table) → how its entry gets its data. Physical mounts name their pipeline kind.
PHYSICAL: dict[tuple[str, str], PipelineKind] = {
    ("police", "persons"): PipelineKind.CDC,
    ("police", "households"): PipelineKind.FULL,
    ("market", "enterprises"): PipelineKind.INCREMENTAL,
    ("hrss", "insured_persons"): PipelineKind.FULL,
    ("civil", "subsistence_allowances"): PipelineKind.FULL,
}
LOGICAL = frozenset(
    {
        ("hrss", "contributions"),
        ("civil", "marriage_registrations"),
        ("civil", "subsistence_members"),
        ("medins", "enrolments"),
        ("medins", "settlements"),
    }
)
# Nightly full reloads; the incremental one every quarter of an hour.
SCHEDULES = {PipelineKind.FULL: "0 2 * * *", PipelineKind.INCREMENTAL: "*/15 * * * *"}
PIPELINE_NAMES = {
    PipelineKind.FULL: "每日全量",
    PipelineKind.INCREMENTAL: "增量同步",
    PipelineKind.CDC: "实时变更捕获",
}

# (loads done, loads in all, table being loaded)
ExchangeProgress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Mounted:
    system: str
    table: str
    mode: str
    lake_table: str | None
    pipeline: str | None


def _source_config(
    system: dict[str, Any], sources_dir: Path, mariadb: MariaDBSettings
) -> tuple[SourceKind, dict[str, Any], SourceSecret | None]:
    if system.get("engine") == "mariadb":
        config = {
            "host": system["host"],
            "port": system["port"],
            "database": system["database"],
            "user": system["user"],
        }
        secret = SourceSecret(password=mariadb.password) if mariadb.password else None
        return SourceKind.MARIADB, config, secret
    return SourceKind.SQLITE, {"path": str((sources_dir / system["path"]).resolve())}, None


def _entries_by_source() -> dict[tuple[str, str], tuple[str, str]]:
    """(system, table) → (department code, entry name) from the demo catalogue plan."""
    found = {}
    for planned in plan_catalog():
        if planned.source is not None:
            found[planned.source] = (planned.department, planned.content.name)
    return found


def _source(
    ctx: ActionContext, system: dict[str, Any], sources_dir: Path, mariadb: MariaDBSettings
) -> str:
    dept = org.department_by_code(ctx.session, system["department"])
    if dept is None:
        raise LookupError(f"demo department {system['department']} is missing")
    existing: str | None = ctx.session.scalar(
        select(SourceSystem.id).where(
            SourceSystem.department_id == dept.id, SourceSystem.name == system["name"]
        )
    )
    if existing is not None:
        return existing
    kind, config, secret = _source_config(system, sources_dir, mariadb)
    created = sources.create_source(
        ctx,
        SourceCreate(
            kind=kind,
            name=system["name"],
            department_id=dept.id,
            description=f"演示{system['name']}（{system['code']}）",
            config=config,
            secret=secret,
        ),
    )
    sources.test_source(ctx, created.id)
    return created.id


def _mount(
    ctx: ActionContext, entry_id: str, source_id: str, table: str, kind: PipelineKind | None
) -> Mount:
    mount = ctx.session.scalar(select(Mount).where(Mount.entry_id == entry_id))
    if mount is None:
        created = mounts.create_mount(
            ctx,
            MountCreate(
                entry_id=entry_id,
                source_id=source_id,
                target=table,
                mode=MountMode.LOGICAL if kind is None else MountMode.PHYSICAL,
                watermark_column=None
                if kind is PipelineKind.FULL or kind is None
                else "updated_at",
            ),
        )
        mount = ctx.session.get(Mount, created.id)
    assert mount is not None
    return mount


def _pipeline(ctx: ActionContext, mount: Mount, kind: PipelineKind) -> str | None:
    """Create the mount's pipeline if missing; queue its first run. Returns the run's job id."""
    pipeline = ctx.session.scalar(select(Pipeline).where(Pipeline.mount_id == mount.id))
    if pipeline is None:
        out = pipelines.create_pipeline(
            ctx,
            PipelineCreate(
                mount_id=mount.id,
                name=PIPELINE_NAMES[kind],
                kind=kind,
                schedule=SCHEDULES.get(kind),
            ),
        )
        pipeline = ctx.session.get(Pipeline, out.id)
    assert pipeline is not None
    if pipeline.last_success_at is not None or pipeline.last_run_id is not None:
        return None
    return pipelines.run_now(ctx, pipeline.id, trigger="demo").job_id


def seed_exchange(
    db: Database,
    settings: Settings,
    manifest: dict[str, Any],
    *,
    mariadb: MariaDBSettings | None = None,
    progress: ExchangeProgress | None = None,
) -> list[Mounted]:
    """Mount the manifest's systems on their entries and run the physical mounts' first loads.

    The CDC pipeline's run is only queued: it never ends by itself, so the server's CDC
    worker runs it. Returns what was mounted, for the demo to print.
    """
    mariadb = mariadb or MariaDBSettings()
    sources_dir = demo_sources_dir(settings)
    planned = _entries_by_source()
    mounted: list[Mounted] = []
    loads: list[tuple[str, str]] = []
    for system in manifest["systems"]:
        with Caller(db, settings, SYSTEM, "demo").act() as ctx:
            actor = org.actor_for_username(ctx.session, f"{system['department']}_officer")
        if actor is None:
            raise LookupError(f"demo user {system['department']}_officer is missing")
        officer = Caller(db, settings, actor, "demo")
        with officer.act() as ctx:
            source_id = _source(ctx, system, sources_dir, mariadb)
        for table in system["tables"]:
            key = (system["code"], table["name"])
            if key not in planned or (key not in PHYSICAL and key not in LOGICAL):
                continue
            department, entry_name = planned[key]
            kind = PHYSICAL.get(key)
            with officer.act() as ctx:
                entry_id = ctx.session.scalar(
                    select(CatalogEntry.id).where(
                        CatalogEntry.provider_code == department, CatalogEntry.name == entry_name
                    )
                )
                if entry_id is None:
                    raise LookupError(f"demo entry {entry_name} of {department} is missing")
                mount = _mount(ctx, entry_id, source_id, table["name"], kind)
                job_id = _pipeline(ctx, mount, kind) if kind is not None else None
                mounted.append(
                    Mounted(key[0], key[1], mount.mode, mount.lake_table, kind and kind.value)
                )
            if job_id is not None and kind is not PipelineKind.CDC:
                loads.append((job_id, f"{system['code']}.{table['name']}"))
    for done, (job_id, label) in enumerate(loads, start=1):
        run_job_here(db, settings, job_id)
        if progress is not None:
            progress(done, len(loads), label)
    ensure_monthly_schedule(db)
    return mounted
