"""Open data in the demo: 60+ open datasets with their files, loads, review and usage.

Departments publish registers the law says to publish (licences, lists, notices) as
files. For each chosen entry whose open type is open or conditional (grade 1), the demo
writes a CSV of synthetic, non-personal rows made from the entry's items into a ``file``
source of the department, and the department's officer mounts it physically and runs its
first full load, as for any file a department hands in. The officer then proposes the
entry for opening — leaving out columns that name persons (法定代表人, 经营者姓名, …),
which stay in the lake only — and the operator approves; a few datasets are featured,
one proposal waits for review and one is rejected. Twelve months of usage are recorded
per dataset, popular topics more. Then the public side (``opendata_public``): real
downloads, this year's open list, a public account with an application, and reuses.

Items above grade 2 or marked sensitive never open: the gate (``opendata.access``) leaves
them out whatever is proposed, and the demo checks that a personal entry is refused.

Everything is get-or-create, so a rerun after an interruption finishes the stage without
duplicating sources, mounts, pipelines, datasets or usage.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
from sqlalchemy import select

from govdata.catalog.models import CatalogEntry, EntryItem
from govdata.config import Settings
from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.core.jobs.inline import run_job_here
from govdata.demo.catalog_plan import plan_catalog
from govdata.demo.departments import all_departments
from govdata.demo.exchange import _pipeline
from govdata.demo.opendata_public import (
    REUSES,
    demo_caller,
    real_downloads,
    seed_open_list,
    seed_public_account,
    seed_reuses,
)
from govdata.demo.opendata_values import ItemSpec, generate, personal_item
from govdata.exchange import mounts
from govdata.exchange.models import Mount, Pipeline, PipelineRun
from govdata.exchange.schemas import MountCreate
from govdata.exchange.vocab import MountMode, PipelineKind, RunStatus, TargetKind
from govdata.opendata import datasets
from govdata.opendata.access import entry_openable, lake_mount
from govdata.opendata.models import OpenDataset, OpenUsage
from govdata.opendata.schemas import FeatureIn, ProposeIn, ReviewIn
from govdata.opendata.usage import record_usage
from govdata.opendata.vocab import DatasetStatus, UsageKind
from govdata.security.context import ActionContext, Caller
from govdata.sources import actions as sources
from govdata.sources.models import SourceSystem
from govdata.sources.registry import demo_sources_dir
from govdata.sources.schemas import SourceCreate, SourceKind

SEED = "govdata-demo-opendata"
# Datasets opened; two more are proposed (one left waiting, one rejected).
OPENED = 72
FEATURED = 6
SOURCE_NAME = "开放数据发布文件"
# Departments whose data the public uses most (market registers, land, environment, travel).
POPULAR = {"market": 3.0, "natres": 2.0, "eco": 2.0, "culture": 2.0, "transport": 1.5}
LICENSES = ("cc-by-4.0", "cc-by-4.0", "cc-by-4.0", "odc-by", "cc0-1.0")
# Opened first: the datasets the demo's showcase of reuses is built on.
USED_BY_REUSES = frozenset({name for *_head, titles, _featured in REUSES for name in titles})
# A personal register the demo tries to open, to show the gate refusing it.
REFUSED = ("police", "户籍人口信息")

# (steps done, steps in all, what is being done)
OpenDataProgress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Chosen:
    department: str
    name: str


def _stable(*parts: str) -> int:
    return zlib.crc32("|".join(parts).encode())


def rows_for(persons: int, name: str) -> int:
    """Rows of one dataset: a few hundred at the smallest demo, up to a few thousand."""
    base = min(3000, max(200, persons // 25))
    return max(100, int(base * (0.5 + (_stable(SEED, name) % 100) / 100)))


def choose() -> list[Chosen]:
    """Entries to open: those the demo's reuses use, every conditional one (so the public
    has something to apply for), then round-robin over departments so many publishers and
    topics show."""
    by_dept: dict[str, list[str]] = {}
    first: list[Chosen] = []
    for p in plan_catalog():
        c = p.content
        if (
            p.fate in ("published", "revised")
            and c.grade <= 2
            and c.open_type in ("open", "conditional")
            and c.format != "image"
        ):
            if c.name in USED_BY_REUSES or c.open_type == "conditional":
                first.append(Chosen(p.department, c.name))
            else:
                by_dept.setdefault(p.department, []).append(c.name)
    picked = first[:OPENED]
    depth = 0
    while len(picked) < OPENED + 2 and any(len(v) > depth for v in by_dept.values()):
        for code in sorted(by_dept):
            if depth < len(by_dept[code]) and len(picked) < OPENED + 2:
                picked.append(Chosen(code, by_dept[code][depth]))
        depth += 1
    return picked


def file_name(entry: CatalogEntry) -> str:
    return f"{datasets.dataset_name(entry.resource_code)}.csv"


def _write_file(folder: Path, entry: CatalogEntry, items: list[EntryItem], rows: int) -> None:
    path = folder / file_name(entry)
    if path.exists():
        return
    dept = next(d for d in all_departments() if d.code == entry.provider_code)
    short = dept.short_name.removeprefix("省").removeprefix("青海")
    table = generate(
        [_spec(i) for i in items],
        rows=rows,
        seed=f"{SEED}:{entry.resource_code}",
        region=dept.region_code,
        abbr=short[:1] or "政",
        keys={_spec(i).name_en for i in items if i.is_key},
        title=entry.name,
    )
    tmp = path.with_suffix(".tmp")
    pacsv.write_csv(table, tmp)
    tmp.replace(path)


def _file_source(caller: Caller, folder: Path) -> str:
    with caller.act() as ctx:
        existing: str | None = ctx.session.scalar(
            select(SourceSystem.id).where(
                SourceSystem.department_id == ctx.actor.department_id,
                SourceSystem.name == SOURCE_NAME,
            )
        )
        if existing is not None:
            return existing
        created = sources.create_source(
            ctx,
            SourceCreate(
                kind=SourceKind.FILE,
                name=SOURCE_NAME,
                department_id=ctx.actor.department_id,
                description="演示：本部门依法主动公开的登记、许可、名录等数据文件（CSV）",
                config={"path": str(folder.resolve())},
            ),
        )
        return created.id


def _file_mount(ctx: ActionContext, entry: CatalogEntry, source_id: str) -> Mount:
    """The entry's physical mount on its file (made if missing), mapped from its items."""
    mount = ctx.session.scalar(select(Mount).where(Mount.entry_id == entry.id))
    if mount is None:
        created = mounts.create_mount(
            ctx,
            MountCreate(
                entry_id=entry.id,
                source_id=source_id,
                target_kind=TargetKind.FILE,
                target=file_name(entry),
                mode=MountMode.PHYSICAL,
            ),
        )
        mount = ctx.session.get(Mount, created.id)
    assert mount is not None
    return mount


def _first_load(ctx: ActionContext, mount: Mount) -> str | None:
    """The job of the mount's first full load if it still has to run: queued now, or left
    queued by an interrupted build (which never ran it)."""
    job_id = _pipeline(ctx, mount, PipelineKind.FULL)
    if job_id is not None:
        return job_id
    pipeline = ctx.session.scalar(select(Pipeline).where(Pipeline.mount_id == mount.id))
    if pipeline is None or pipeline.last_success_at is not None or not pipeline.last_run_id:
        return None
    run = ctx.session.get(PipelineRun, pipeline.last_run_id)
    return run.job_id if run is not None and run.status == RunStatus.QUEUED else None


def _entries(db: Database, chosen: list[Chosen]) -> list[tuple[CatalogEntry, list[EntryItem]]]:
    """The chosen entries that are openable in the store, with their published items."""
    found = []
    with db.transaction() as s:
        for c in chosen:
            entry = s.scalar(
                select(CatalogEntry).where(
                    CatalogEntry.provider_code == c.department,
                    CatalogEntry.name == c.name,
                    entry_openable(),
                )
            )
            if entry is None:
                continue
            items = list(
                s.scalars(
                    select(EntryItem)
                    .where(EntryItem.version_id == entry.published_version_id)
                    .order_by(EntryItem.position)
                )
            )
            s.expunge(entry)
            for i in items:
                s.expunge(i)
            found.append((entry, items))
    return found


def _collect(
    db: Database,
    settings: Settings,
    entries: list[tuple[CatalogEntry, list[EntryItem]]],
    persons: int,
    step: Callable[[str], None],
) -> None:
    """Write each department's files, mount them physically and run the first loads."""
    by_dept: dict[str, list[tuple[CatalogEntry, list[EntryItem]]]] = {}
    for entry, items in entries:
        by_dept.setdefault(entry.provider_code, []).append((entry, items))
    loads: list[tuple[str, str]] = []
    for code, group in by_dept.items():
        folder = demo_sources_dir(settings) / "opendata" / code
        folder.mkdir(parents=True, exist_ok=True)
        for entry, items in group:
            _write_file(folder, entry, items, rows_for(persons, entry.name))
        officer = demo_caller(db, settings, f"{code}_officer")
        source_id = _file_source(officer, folder)
        for entry, _items in group:
            with officer.act() as ctx:
                job_id = _first_load(ctx, _file_mount(ctx, entry, source_id))
            if job_id is not None:
                loads.append((job_id, entry.name))
        step(f"files {code}")
    for job_id, name in loads:
        run_job_here(db, settings, job_id)
        step(f"load {name}")


def _open(
    db: Database,
    settings: Settings,
    entries: list[tuple[CatalogEntry, list[EntryItem]]],
    step: Callable[[str], None],
) -> dict[str, int]:
    """Officers propose, the operator reviews; returns counts by the dataset's status."""
    operator = demo_caller(db, settings, "operator")
    officers: dict[str, Caller] = {}
    counts = {"open": 0, "proposed": 0, "rejected": 0, "personal_fields_left_out": 0}
    for n, (entry, items) in enumerate(entries):
        with db.transaction() as s:
            ds = s.scalar(select(OpenDataset).where(OpenDataset.entry_id == entry.id))
            status, ds_id = (ds.status, ds.id) if ds is not None else (None, None)
        personal = {i.name for i in items if personal_item(_spec(i))}
        if status is None:
            officer = officers.setdefault(
                entry.provider_code, demo_caller(db, settings, f"{entry.provider_code}_officer")
            )
            with officer.act() as ctx:
                mount = lake_mount(ctx.session, entry.id)
                assert mount is not None
                fields = [
                    c["field"]
                    for c in mount.columns
                    if c.get("item") and c.get("item") not in personal
                ]
                ds_id = datasets.propose_opening(
                    ctx,
                    entry.id,
                    ProposeIn(
                        fields=fields,
                        license_id=LICENSES[_stable(entry.name) % len(LICENSES)],
                        note="依据政府信息公开和公共数据开放有关规定，申请开放本目录数据"
                        + ("（不含自然人姓名等个人信息项）" if personal else ""),
                    ),
                ).id
            status = DatasetStatus.PROPOSED.value
        assert ds_id is not None
        if status == DatasetStatus.PROPOSED and n < OPENED:
            with operator.act() as ctx:
                datasets.review_opening(
                    ctx, ds_id, ReviewIn(approve=True, comment="经审核，符合开放条件，同意开放")
                )
            status = DatasetStatus.OPEN.value
        elif status == DatasetStatus.PROPOSED and n == OPENED + 1:
            with operator.act() as ctx:
                datasets.review_opening(
                    ctx,
                    ds_id,
                    ReviewIn(
                        approve=False,
                        comment="数据字段说明不完整，请补充各信息项的取值说明后重新申请",
                    ),
                )
            status = DatasetStatus.REJECTED.value
        counts[status] = counts.get(status, 0) + 1
        if status == DatasetStatus.OPEN and personal:
            counts["personal_fields_left_out"] += 1
        step(f"open {entry.name}")
    return counts


def _spec(item: EntryItem) -> ItemSpec:
    return ItemSpec(
        item.name, item.name_en or f"c{item.position}", item.data_type, item.data_element
    )


def _feature(db: Database, settings: Settings) -> int:
    """Feature the first few open datasets of popular departments (each at most once)."""
    with db.transaction() as s:
        rows = s.execute(
            select(OpenDataset.id, OpenDataset.featured, CatalogEntry.provider_code)
            .join(CatalogEntry, CatalogEntry.id == OpenDataset.entry_id)
            .where(OpenDataset.status == DatasetStatus.OPEN.value)
            .order_by(OpenDataset.name)
        ).all()
    featured = [r.id for r in rows if r.featured]
    seen = set()
    operator = demo_caller(db, settings, "operator")
    for r in sorted(rows, key=lambda r: -POPULAR.get(r.provider_code, 1.0)):
        if len(featured) >= FEATURED:
            break
        if r.featured or r.provider_code in seen:
            continue
        seen.add(r.provider_code)
        with operator.act() as ctx:
            datasets.feature_dataset(ctx, r.id, FeatureIn(featured=True))
        featured.append(r.id)
    return len(featured)


def last_months(n: int = 12) -> list[str]:
    """The last ``n`` months (YYYY-MM, Asia/Shanghai), oldest first, this month last."""
    today = now().astimezone(DISPLAY_TZ).date()
    out = []
    year, month = today.year, today.month
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def _usage(db: Database) -> int:
    """A year of plausible usage per open dataset (views ≥ downloads ≥ calls, roughly)."""
    months = last_months()
    made = 0
    with db.transaction() as s:
        rows = s.execute(
            select(OpenDataset.id, OpenDataset.name, CatalogEntry.provider_code)
            .add_columns(CatalogEntry.provider_department_id, CatalogEntry.format)
            .join(CatalogEntry, CatalogEntry.id == OpenDataset.entry_id)
            .where(OpenDataset.status == DatasetStatus.OPEN.value)
        ).all()
        done = set(s.scalars(select(OpenUsage.dataset_id).where(OpenUsage.month == months[0])))
        for r in rows:
            if r.id in done:
                continue
            rng = random.Random(f"{SEED}:usage:{r.name}")
            base = rng.lognormvariate(4.2, 0.7) * POPULAR.get(r.provider_code, 1.0)
            api = 0.9 if r.format in ("api", "database") else 0.3
            for k, month in enumerate(months):
                # Slow growth over the year, and a dip in the Spring Festival month.
                views = int(base * (0.7 + 0.05 * k) * rng.uniform(0.8, 1.2))
                if month.endswith("-02"):
                    views = int(views * 0.6)
                downloads = int(views * rng.uniform(0.12, 0.3))
                calls = int(downloads * rng.uniform(0.2, 1.0) * api)
                for kind, n in (
                    (UsageKind.VIEW, views),
                    (UsageKind.DOWNLOAD, downloads),
                    (UsageKind.CALL, calls),
                ):
                    if n:
                        record_usage(s, r.id, r.provider_department_id, kind, n, month=month)
            made += 1
    return made


def _refused(db: Database, settings: Settings) -> dict[str, str] | None:
    """The police officer tries to open the resident register: the gate says no."""
    department, name = REFUSED
    officer = demo_caller(db, settings, f"{department}_officer")
    with db.transaction() as s:
        entry_id = s.scalar(
            select(CatalogEntry.id).where(
                CatalogEntry.provider_code == department, CatalogEntry.name == name
            )
        )
    if entry_id is None:
        return None
    try:
        with officer.act() as ctx:
            datasets.propose_opening(ctx, entry_id, ProposeIn())
    except GovDataError as exc:
        return {"entry": name, "code": exc.code, "reason": exc.message_zh}
    raise AssertionError(f"{name} was proposed for opening; the gate should refuse it")


def seed_opendata(
    db: Database,
    settings: Settings,
    *,
    persons: int,
    progress: OpenDataProgress | None = None,
) -> dict[str, Any]:
    """Open the demo's datasets; returns what was made, for the demo's marker."""
    entries = _entries(db, choose())
    total = len({e.provider_code for e, _ in entries}) + 2 * len(entries) + 5
    done = 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(min(done, total), total, what)

    _collect(db, settings, entries, persons, step)
    counts = _open(db, settings, entries, step)
    featured = _feature(db, settings)
    usage = _usage(db)
    step("usage")
    refused = _refused(db, settings)
    step("gate")
    downloaded = real_downloads(db, settings)
    step("downloads")
    open_list = seed_open_list(db, settings)
    step("open list")
    account = seed_public_account(db, settings)
    showcase = seed_reuses(db, settings)
    step("public account and reuses")
    return {
        **counts,
        "featured": featured,
        "usage_datasets": usage,
        "downloads": downloaded,
        "open_list": open_list,
        "public_account": account,
        "reuses": showcase,
        "refused": refused,
        "as_of": now().astimezone(DISPLAY_TZ).date().isoformat(),
    }
