"""Cross-source checks and base libraries of the demo, after its quality stage.

Three steps, each through the actions and jobs the portal uses:

1. **The household register reaches the lake.** Its change-data-capture pipeline's run was
   only queued by the collection stage (``demo.exchange``): a stream never ends by itself,
   so the server's CDC worker runs it. Every other source is compared with the register,
   so the build takes that queued run here, as a worker would: the run takes its stream
   position (MariaDB) or finds no change log (SQLite, polled by ``updated_at``), makes its
   first full load and commits it; once the commit is in the lake this process stops, like
   a worker shutting down, and the run hands its job back with its checkpoint. ``govdata
   serve`` then resumes the same run and streams changes from the committed position.
   The register's quality rules (attached by the quality stage, which could not read it
   yet) are then checked once, as the quality stage checks every collected entry.
2. **The operator configures both subjects** (``population``, ``legal_entity``, seeded by
   the migrations): their sources — the collected entries that hold persons and legal
   entities — with each field's lake column, and the authority order per field the way a
   data bureau sets it: the household register (户籍) for a person's name, gender, birth
   date, ethnicity and address; the market register (市场监管) for an entity's name, legal
   representative, establishment date, address and status. The social insurance record
   comes first for a phone number, the number people keep up to date to be paid.
3. **The operator checks and builds**: a cross-source check of each subject and a build
   of each base library, each queued as its job and run here.

Only entries collected into the lake can be compared or linked; the medical insurance
enrolments, the minimum-living-allowance members and the marriage registrations are
queried in place (逻辑接入) and take no part.

Get-or-create like the other stages: a source already added is kept, a subject checked or
a library built once is not checked or built again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs.inline import claim_here, execute, run_job_here
from govdata.demo.exchange import _entries_by_source
from govdata.demo.quality import seed_quality
from govdata.exchange.engine.context import META_PIPELINE
from govdata.exchange.models import Mount, Pipeline, PipelineRun
from govdata.exchange.vocab import PipelineKind, RunStatus
from govdata.governance import authority, baselib, crosscheck, crosscheck_runs
from govdata.governance.baselib_models import BaseLibrary, LibraryBuild
from govdata.governance.crosscheck_models import CrosscheckRun
from govdata.governance.crosscheck_schemas import (
    AuthorityIn,
    FieldKind,
    SourceIn,
    SubjectField,
    SubjectUpdate,
)
from govdata.identity import queries as org
from govdata.lake.tables import Lake
from govdata.security.context import ActionContext, Caller
from govdata.security.context_types import SYSTEM

log = logging.getLogger(__name__)

# (steps done, steps in all, what was just done)
GovernanceProgress = Callable[[int, int, str], None]
REGISTER = ("police", "persons")
OPERATOR = "operator"
# How often the build looks for the register's first commit while its run loads it.
WATCH_SECONDS = 0.2


@dataclass(frozen=True)
class PlannedSource:
    system: str
    table: str
    label: str
    columns: dict[str, str]  # subject field -> source column


POPULATION = "population"
LEGAL_ENTITY = "legal_entity"
# The phone number is not among the seeded population fields; the operator adds it: it
# is compared across sources and helps the library tell one person from another.
PHONE = SubjectField(code="phone", label="联系电话", kind=FieldKind.CODE)

SOURCES: dict[str, tuple[PlannedSource, ...]] = {
    POPULATION: (
        PlannedSource(
            "police",
            "persons",
            "户籍",
            {
                "resident_id": "resident_id",
                "name": "name",
                "gender": "gender",
                "birth_date": "birth_date",
                "ethnicity": "ethnicity",
                "address": "address",
                "phone": "phone",
            },
        ),
        PlannedSource(
            "hrss",
            "insured_persons",
            "社保",
            {
                "resident_id": "resident_id",
                "name": "name",
                "gender": "gender",
                "birth_date": "birth_date",
                "phone": "phone",
            },
        ),
        PlannedSource(
            "civil",
            "subsistence_allowances",
            "低保",
            {
                "resident_id": "applicant_resident_id",
                "name": "applicant_name",
                "address": "address",
                "phone": "phone",
            },
        ),
        # Legal representatives are persons too; the enterprise's phone is not theirs.
        PlannedSource(
            "market",
            "enterprises",
            "法定代表人",
            {"resident_id": "legal_rep_resident_id", "name": "legal_rep_name"},
        ),
    ),
    LEGAL_ENTITY: (
        PlannedSource(
            "market",
            "enterprises",
            "市场监管",
            {
                "credit_code": "credit_code",
                "name": "name",
                "legal_rep": "legal_rep_name",
                "established": "established_on",
                "address": "address",
                "status": "status",
            },
        ),
        # The employers the insured persons name (one record per insured employee).
        PlannedSource(
            "hrss",
            "insured_persons",
            "社保参保单位",
            {"credit_code": "employer_credit_code", "name": "employer_name"},
        ),
    ),
}
# Per field, the sources by label: the first is authoritative, the rest the fallback order.
AUTHORITY: dict[str, dict[str, tuple[str, ...]]] = {
    POPULATION: {
        "name": ("户籍", "社保", "低保", "法定代表人"),
        "gender": ("户籍", "社保"),
        "birth_date": ("户籍", "社保"),
        "ethnicity": ("户籍",),
        "address": ("户籍", "低保"),
        "phone": ("社保", "低保", "户籍"),
    },
    LEGAL_ENTITY: {
        "name": ("市场监管", "社保参保单位"),
        "legal_rep": ("市场监管",),
        "established": ("市场监管",),
        "address": ("市场监管",),
        "status": ("市场监管",),
    },
}
SUBJECTS = (POPULATION, LEGAL_ENTITY)


def _operator(db: Database, settings: Settings) -> Caller:
    with Caller(db, settings, SYSTEM, "demo").act() as ctx:
        actor = org.actor_for_username(ctx.session, OPERATOR)
    if actor is None:
        raise LookupError(f"demo user {OPERATOR} is missing")
    return Caller(db, settings, actor, "demo")


# -- the household register's first load ------------------------------------------------------


@dataclass(frozen=True)
class _Register:
    pipeline_id: str
    lake_table: str
    job_id: str | None  # the queued run's job; None when no run waits


def _register(db: Database, settings: Settings) -> _Register | None:
    department, name = _entries_by_source()[REGISTER]
    with Caller(db, settings, SYSTEM, "demo").act() as ctx:
        s = ctx.session
        mount = s.scalar(
            select(Mount)
            .join(CatalogEntry, CatalogEntry.id == Mount.entry_id)
            .where(CatalogEntry.provider_code == department, CatalogEntry.name == name)
        )
        if mount is None or mount.lake_table is None:
            return None
        pipeline = s.scalar(
            select(Pipeline).where(Pipeline.mount_id == mount.id, Pipeline.kind == PipelineKind.CDC)
        )
        if pipeline is None:
            return None
        run = s.get(PipelineRun, pipeline.last_run_id) if pipeline.last_run_id else None
        waiting = run is not None and run.status == RunStatus.QUEUED.value
        return _Register(pipeline.id, mount.lake_table, run.job_id if waiting and run else None)


def _committed(lake: Lake, table: str, pipeline_id: str) -> bool:
    return lake.exists(table) and lake.last_commit(table, {META_PIPELINE: pipeline_id}) is not None


def load_register(db: Database, settings: Settings) -> dict[str, Any]:
    """Run the register's queued CDC run here until its first full load is committed, then
    hand its job back to the queue for the server's CDC worker (see the module docstring)."""
    found = _register(db, settings)
    if found is None:
        return {"status": "no_pipeline"}
    lake = Lake.from_settings(settings)
    if _committed(lake, found.lake_table, found.pipeline_id):
        return {"status": "loaded_before", "rows": lake.info(found.lake_table).num_rows}
    if found.job_id is None:
        return {"status": "no_queued_run"}
    job = claim_here(db, settings, found.job_id)
    if job is None:  # a worker of a running server took it
        return {"status": "taken_by_worker"}
    stopping = threading.Event()
    finished = threading.Event()

    def watch() -> None:
        # Stop as a worker shutting down would, once the first load is in the lake.
        while not finished.wait(WATCH_SECONDS):
            try:
                if _committed(lake, found.lake_table, found.pipeline_id):
                    stopping.set()
                    return
            except Exception:  # a commit being written; look again
                log.debug("register watch", exc_info=True)

    watcher = threading.Thread(target=watch, name="govdata-demo-register", daemon=True)
    watcher.start()
    try:
        status = execute(db, settings, job, stopping=stopping)
    finally:
        finished.set()
        watcher.join()
    loaded = _committed(lake, found.lake_table, found.pipeline_id)
    if not loaded:
        log.warning("the register's first load did not commit (job %s: %s)", job.id, status)
    return {
        "status": "loaded" if loaded else "not_loaded",
        "job": status,
        "rows": lake.info(found.lake_table).num_rows if loaded else 0,
    }


# -- subjects, sources and authority ----------------------------------------------------------


def _entry_codes(ctx: ActionContext) -> dict[tuple[str, str], tuple[str, dict[str, str]]]:
    """(system, table) → (resource code, source column → lake field) of the collected entries."""
    found = {}
    lake = Lake.from_settings(ctx.settings)
    for key, (department, name) in _entries_by_source().items():
        row = ctx.session.execute(
            select(CatalogEntry.resource_code, Mount)
            .join(Mount, Mount.entry_id == CatalogEntry.id)
            .where(CatalogEntry.provider_code == department, CatalogEntry.name == name)
        ).first()
        if row is None:
            continue
        code, mount = row
        if mount.lake_table is None or not lake.exists(mount.lake_table):
            continue
        found[key] = (code, {str(c["column"]): str(c["field"]) for c in mount.columns})
    return found


def configure(ctx: ActionContext, code: str) -> dict[str, Any]:
    """Add the subject's planned sources (those collected) and set its authority order."""
    s = ctx.session
    subject = authority.load_subject(s, code)
    if code == POPULATION and PHONE.code not in {f["code"] for f in subject.fields or []}:
        fields = [SubjectField.model_validate(f) for f in subject.fields or []]
        crosscheck.update_subject(ctx, code, SubjectUpdate(fields=[*fields, PHONE]))
    entries = _entry_codes(ctx)
    have = {src.resource_code: src for src in authority.subject_sources(s, subject.id)}
    ids: dict[str, str] = {src.label: src.id for src in have.values()}
    for planned in SOURCES[code]:
        found = entries.get((planned.system, planned.table))
        if found is None:
            continue
        resource_code, lake_fields = found
        if resource_code in have:
            continue
        mapping = {f: lake_fields[c] for f, c in planned.columns.items() if c in lake_fields}
        out = crosscheck.add_source(
            ctx, code, SourceIn(entry=resource_code, label=planned.label, mapping=mapping)
        )
        ids[out.label] = out.id
    ranked = authority.ranks_of(s, subject.id)
    for fname, labels in AUTHORITY[code].items():
        order = [ids[label] for label in labels if label in ids]
        if order and ranked.get(fname) != order:
            authority.set_authority(ctx, code, fname, AuthorityIn(sources=order))
    return {"sources": sorted(ids)}


# -- checks and builds ------------------------------------------------------------------------


def _check(db: Database, settings: Settings, operator: Caller, code: str) -> dict[str, Any]:
    with operator.act() as ctx:
        subject = authority.load_subject(ctx.session, code)
        done = ctx.session.scalar(
            select(CrosscheckRun.id).where(CrosscheckRun.subject_id == subject.id).limit(1)
        )
        if done is None:
            sources = [
                src for src in authority.subject_sources(ctx.session, subject.id) if src.mapping
            ]
            if len(sources) < 2:
                return {"status": "too_few_sources"}
            started = crosscheck_runs.start_run(ctx, code)
            run_id, job_id = started.id, started.job_id
        else:
            run_id, job_id = done, None
    if job_id is not None:
        run_job_here(db, settings, job_id)
    with operator.act() as ctx:
        run = ctx.session.get(CrosscheckRun, run_id)
        assert run is not None
        return {
            "run": run.id,
            "status": run.status,
            "keys": run.key_count,
            "shared_keys": run.shared_keys,
            "conflicts": run.conflict_count,
        }


def _build(db: Database, settings: Settings, operator: Caller, code: str) -> dict[str, Any]:
    with operator.act() as ctx:
        lib = ctx.session.scalar(select(BaseLibrary).where(BaseLibrary.code == code))
        done = (
            ctx.session.scalar(
                select(LibraryBuild.id).where(LibraryBuild.library_id == lib.id).limit(1)
            )
            if lib is not None
            else None
        )
        if done is None:
            if not baselib.snapshot(ctx.session, code).sources:
                return {"status": "no_sources"}
            started = baselib.start_build(ctx, code)
            build_id, job_id = started.id, started.job_id
        else:
            build_id, job_id = done, None
    if job_id is not None:
        run_job_here(db, settings, job_id)
    with operator.act() as ctx:
        build = ctx.session.get(LibraryBuild, build_id)
        assert build is not None
        return {
            "build": build.id,
            "status": build.status,
            "mode": build.mode,
            "entities": build.entities,
            "records": build.records,
            "error": build.error,
        }


def seed_governance(
    db: Database, settings: Settings, *, progress: GovernanceProgress | None = None
) -> dict[str, Any]:
    """Load the register, configure both subjects, check them and build both libraries.

    Returns what was done, for the demo's marker.
    """
    steps = 1 + 2 * len(SUBJECTS)
    done = 0

    def step(label: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, steps, label)

    register = load_register(db, settings)
    if register["status"] == "loaded":
        # The quality stage could not read the register yet: its first check, now.
        register["quality"] = seed_quality(db, settings)["runs"]
    step("register")
    operator = _operator(db, settings)
    configured = {}
    for code in SUBJECTS:
        with operator.act() as ctx:
            configured[code] = configure(ctx, code)
    checks = {}
    for code in SUBJECTS:
        checks[code] = _check(db, settings, operator, code)
        step(f"crosscheck {code}")
    builds = {}
    for code in SUBJECTS:
        builds[code] = _build(db, settings, operator, code)
        step(f"baselib {code}")
    return {"register": register, "subjects": configured, "checks": checks, "libraries": builds}
