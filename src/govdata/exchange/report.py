"""Collection report (归集通报): how far departments and regions have brought their data in.

For every published catalog entry of the departments in scope: is real data mounted
(logical or physical), how many rows the lake holds, when its pipelines last succeeded,
how many runs failed in the period, which pipelines are failing now, and whether the data
is fresh against the entry's declared update cycle. Department lines add up their
entries; region lines add up the departments of their whole subtree.

The report shows metadata about collection, never data rows, so reading it is not
audited; the Excel export is (``exchange.report.export``), like every export.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Row, ScalarSelect, Select, exists, func, select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import EntryStatus, UpdateCycle
from govdata.core.clock import as_utc, now
from govdata.core.errors import NotFound
from govdata.core.pagination import MAX_LIMIT
from govdata.exchange.models import Mount, Pipeline, PipelineRun
from govdata.exchange.vocab import MountMode, PipelineKind, RunStatus
from govdata.identity import actions as identity
from govdata.identity import queries as org
from govdata.identity.schemas import DepartmentOut
from govdata.lake.tables import Lake
from govdata.security.context import ActionContext
from govdata.security.permissions import ROLE_PERMISSIONS, Perm, Scope

# How old an entry's last successful collection may be before the entry counts as stale:
# its declared cycle plus some slack for a scheduled run that starts or finishes late.
# Irregular and "other" cycles promise no date, so they never go stale once collected.
CYCLE_ALLOWANCE: dict[str, timedelta] = {
    UpdateCycle.REALTIME: timedelta(minutes=10),
    UpdateCycle.DAILY: timedelta(hours=26),
    UpdateCycle.WEEKLY: timedelta(days=8),
    UpdateCycle.MONTHLY: timedelta(days=32),
    UpdateCycle.QUARTERLY: timedelta(days=93),
    UpdateCycle.HALF_YEARLY: timedelta(days=185),
    UpdateCycle.YEARLY: timedelta(days=367),
}
DEFAULT_PERIOD = timedelta(days=30)
# Pipelines that bring data in; return flow delivers it out and says nothing of freshness.
COLLECTING = (PipelineKind.FULL, PipelineKind.INCREMENTAL, PipelineKind.CDC)


class Freshness(StrEnum):
    FRESH = "fresh"  # collected within its cycle
    STALE = "stale"  # last collected longer ago than its cycle allows
    NEVER = "never"  # physically mounted, never collected successfully
    LIVE = "live"  # logical access: read at the source on request, always current
    UNMOUNTED = "unmounted"  # catalogued, no data mounted


FRESHNESS_LABELS: dict[Freshness, tuple[str, str]] = {
    Freshness.FRESH: ("及时", "Fresh"),
    Freshness.STALE: ("超期未更新", "Stale"),
    Freshness.NEVER: ("从未归集", "Never collected"),
    Freshness.LIVE: ("实时访问", "Live access"),
    Freshness.UNMOUNTED: ("未挂载", "Not mounted"),
}


class ReportScope(StrEnum):
    PLATFORM = "platform"
    REGION = "region"
    DEPARTMENT = "department"
    # Several region or department grants together: the union of what they cover.
    VISIBLE = "visible"


class Counts(BaseModel):
    """Figures of a set of entries; ``fresh + stale + never == mounted_physical``."""

    entries: int = 0
    mounted: int = 0
    mounted_logical: int = 0
    mounted_physical: int = 0
    # mounted / entries, None when there are no entries.
    mount_rate: float | None = None
    rows_collected: int = 0
    last_success_at: datetime | None = None
    # Runs started in the period that failed; pipelines whose latest finished run failed.
    failed_runs: int = 0
    failing_pipelines: int = 0
    fresh: int = 0
    stale: int = 0
    never: int = 0

    def add(self, other: Counts) -> None:
        for name in (
            "entries",
            "mounted",
            "mounted_logical",
            "mounted_physical",
            "rows_collected",
            "failed_runs",
            "failing_pipelines",
            "fresh",
            "stale",
            "never",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.last_success_at = _latest(self.last_success_at, other.last_success_at)
        self.finish()

    def finish(self) -> None:
        self.mount_rate = round(self.mounted / self.entries, 4) if self.entries else None


class EntryLine(BaseModel):
    entry_id: str
    resource_code: str
    name: str
    department_id: str
    department_code: str
    department_name: str
    region_code: str
    update_cycle: str
    mode: str | None  # MountMode, None when not mounted
    lake_table: str | None
    rows: int | None  # lake rows of a physical mount whose table exists
    last_success_at: datetime | None
    failed_runs: int
    failing_pipelines: int
    freshness: Freshness
    # When a collected entry goes (or went) stale; None without a deadline.
    stale_after: datetime | None


class DepartmentLine(Counts):
    department_id: str
    code: str
    name: str
    region_code: str
    region_name: str
    region_path: str


class RegionLine(Counts):
    code: str
    name: str
    level: str
    path: str
    departments: int = 0


class CollectionReport(BaseModel):
    as_of: datetime
    since: datetime
    scope: ReportScope
    scope_code: str | None  # region code or department code
    scope_name: str  # the region's or department's name; "" for the platform or a union
    totals: Counts
    regions: list[RegionLine]
    departments: list[DepartmentLine]
    entries: list[EntryLine]


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


# -- scope ---------------------------------------------------------------------------------


@dataclass
class _Scope:
    kind: ReportScope
    code: str | None = None
    name: str = ""
    region_path: str | None = None  # the subtree (platform: None)
    department_id: str | None = None


def _resolve_scope(
    ctx: ActionContext, region_code: str | None, department_id: str | None
) -> _Scope:
    if department_id is not None:
        dept = org.department_by_id(ctx.session, department_id)
        if dept is None:
            raise NotFound(
                "部门不存在",
                "Department not found",
                code="department_not_found",
                details={"department_id": department_id},
            )
        ctx.require(Perm.EXCHANGE_READ, Scope(dept.region_path, dept.id), target_id=dept.id)
        return _Scope(ReportScope.DEPARTMENT, dept.code, dept.name, department_id=dept.id)
    if region_code is not None:
        region = identity.get_region(ctx, region_code)
        ctx.require(Perm.EXCHANGE_READ, Scope(region.path), target_id=region.code)
        return _Scope(ReportScope.REGION, region.code, region.name, region_path=region.path)
    ctx.require(Perm.EXCHANGE_READ)
    if ctx.actor.can(Perm.EXCHANGE_READ, Scope()):
        return _Scope(ReportScope.PLATFORM)
    grants = [
        g
        for g in ctx.actor.grants
        if Perm.EXCHANGE_READ in ROLE_PERMISSIONS[g.role]
        and (g.region_path is not None or g.department_id is not None)
    ]
    if len(grants) == 1 and grants[0].department_id is not None:
        return _resolve_scope(ctx, None, grants[0].department_id)
    if len(grants) == 1 and grants[0].region_path is not None:
        return _resolve_scope(ctx, grants[0].region_path.rsplit("/", 1)[-1], None)
    return _Scope(ReportScope.VISIBLE)


def _departments(ctx: ActionContext, scope: _Scope) -> list[DepartmentOut]:
    """The departments of the scope whose collection the actor may read, by code."""
    if scope.department_id is not None:
        return [identity.get_department(ctx, scope.department_id)]
    found: list[DepartmentOut] = []
    cursor: str | None = None
    while True:
        page = identity.list_departments(
            ctx, region_code=scope.code, limit=MAX_LIMIT, cursor=cursor
        )
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return [d for d in found if ctx.actor.can(Perm.EXCHANGE_READ, Scope(d.region_path, d.id))]


# -- figures -------------------------------------------------------------------------------


@dataclass
class _PipelineState:
    kind: str
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    failed_runs: int = 0
    streaming: bool = False  # a CDC run was running at the report time

    @property
    def failing(self) -> bool:
        return self.last_failure_at is not None and (
            self.last_success_at is None or self.last_failure_at > self.last_success_at
        )


@dataclass
class _MountState:
    mode: str
    lake_table: str | None
    pipelines: list[_PipelineState] = field(default_factory=list)


def _upto(value: datetime | None, as_of: datetime) -> datetime | None:
    return value if value is not None and as_utc(value) <= as_of else None


def _mounts(
    s: Session, entries: Select[str], as_of: datetime, since: datetime
) -> dict[str, _MountState]:
    """Each mounted entry's mount and its pipelines' standing at ``as_of``, by entry id."""
    mounts: dict[str, _MountState] = {}
    by_mount: dict[str, _MountState] = {}
    for mount_id, entry_id, mode, lake_table in s.execute(
        select(Mount.id, Mount.entry_id, Mount.mode, Mount.lake_table).where(
            Mount.entry_id.in_(entries)
        )
    ):
        state = _MountState(mode, lake_table)
        mounts[entry_id] = by_mount[mount_id] = state

    # Per pipeline, each figure is one short walk of the (pipeline_id, started_at) index
    # backwards from ``as_of``, however long the run history grows.
    def runs(*conditions: ColumnElement[bool]) -> Select[Any]:
        return select(PipelineRun.finished_at).where(
            PipelineRun.pipeline_id == Pipeline.id,
            PipelineRun.started_at <= as_of,
            *conditions,
        )

    def last(status: RunStatus) -> ScalarSelect[Any]:
        return (
            runs(PipelineRun.status == status, PipelineRun.finished_at <= as_of)
            .order_by(PipelineRun.started_at.desc())
            .limit(1)
            .scalar_subquery()
        )

    failed_in_period = (
        select(func.count())
        .select_from(PipelineRun)
        .where(
            PipelineRun.pipeline_id == Pipeline.id,
            PipelineRun.status == RunStatus.FAILED,
            PipelineRun.started_at >= since,
            PipelineRun.started_at <= as_of,
        )
        .scalar_subquery()
    )
    streaming = exists(runs(PipelineRun.status == RunStatus.RUNNING))
    stmt = select(
        Pipeline.mount_id,
        Pipeline.kind,
        Pipeline.last_success_at,
        Pipeline.last_failure_at,
        last(RunStatus.SUCCEEDED),
        last(RunStatus.FAILED),
        failed_in_period,
        streaming,
    ).where(Pipeline.mount_id.in_(select(Mount.id).where(Mount.entry_id.in_(entries))))
    for mount_id, kind, ok_mirror, failed_mirror, ok, failed, failures, running in s.execute(stmt):
        # The pipeline's own mirror counts too: a CDC stream marks success while its run
        # goes on, without finishing it.
        by_mount[mount_id].pipelines.append(
            _PipelineState(
                kind,
                _latest(_upto(ok_mirror, as_of), ok),
                _latest(_upto(failed_mirror, as_of), failed),
                int(failures or 0),
                bool(running) and kind == PipelineKind.CDC,
            )
        )
    return mounts


SETTLED_NS = 1_000_000_000


class _RowCounts:
    """Lake row counts, recounted only when a table's log changed.

    The report lists hundreds of tables; opening each one's Delta log on every view would
    cost seconds. A new commit adds a file to ``_delta_log``, which changes the folder's
    modification time, so one ``stat`` tells whether the cached count still holds. File
    times tick coarsely (a few milliseconds), so two commits may share one: a folder changed
    within the last second is always recounted.
    """

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def rows(self, lake: Lake, table: str) -> int | None:
        path = lake.path(table) / "_delta_log"
        key = str(path)
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] == stamp and time.time_ns() - stamp > SETTLED_NS:
            return cached[1]
        if not lake.exists(table):
            return None
        count = lake.info(table).num_rows
        with self._lock:
            self._cache[key] = (stamp, count)
        return count


ROW_COUNTS = _RowCounts()


def _entry_line(
    entry: Row[str, str, str, str, str, str],
    dept: DepartmentOut,
    mount: _MountState | None,
    lake: Lake,
    as_of: datetime,
) -> EntryLine:
    mode = mount.mode if mount is not None else None
    pipelines = mount.pipelines if mount is not None else []
    collecting = [p for p in pipelines if p.kind in COLLECTING]
    last_success: datetime | None = None
    for p in collecting:
        last_success = _latest(last_success, p.last_success_at)
    allowance = CYCLE_ALLOWANCE.get(entry.update_cycle)
    stale_after = last_success + allowance if last_success and allowance else None
    rows: int | None = None
    if mount is None:
        freshness = Freshness.UNMOUNTED
    elif mode == MountMode.LOGICAL:
        freshness = Freshness.LIVE
    else:
        if mount.lake_table:
            rows = ROW_COUNTS.rows(lake, mount.lake_table)
        if any(p.streaming and not p.failing for p in collecting):
            freshness = Freshness.FRESH
        elif last_success is None:
            freshness = Freshness.NEVER
        elif stale_after is not None and as_of > stale_after:
            freshness = Freshness.STALE
        else:
            freshness = Freshness.FRESH
    return EntryLine(
        entry_id=entry.id,
        resource_code=entry.resource_code,
        name=entry.name,
        department_id=dept.id,
        department_code=dept.code,
        department_name=dept.name,
        region_code=entry.region_code,
        update_cycle=entry.update_cycle,
        mode=mode,
        lake_table=mount.lake_table if mount is not None else None,
        rows=rows,
        last_success_at=last_success,
        failed_runs=sum(p.failed_runs for p in pipelines),
        failing_pipelines=sum(1 for p in pipelines if p.failing),
        freshness=freshness,
        stale_after=stale_after,
    )


def _count_entry(c: Counts, line: EntryLine) -> None:
    c.entries += 1
    if line.mode is not None:
        c.mounted += 1
        if line.mode == MountMode.LOGICAL:
            c.mounted_logical += 1
        else:
            c.mounted_physical += 1
    c.rows_collected += line.rows or 0
    c.last_success_at = _latest(c.last_success_at, line.last_success_at)
    c.failed_runs += line.failed_runs
    c.failing_pipelines += line.failing_pipelines
    if line.freshness == Freshness.FRESH:
        c.fresh += 1
    elif line.freshness == Freshness.STALE:
        c.stale += 1
    elif line.freshness == Freshness.NEVER:
        c.never += 1


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def collection_report(
    ctx: ActionContext,
    region_code: str | None = None,
    department_id: str | None = None,
    as_of: datetime | None = None,
    *,
    since: datetime | None = None,
) -> CollectionReport:
    """The collection report of a region's subtree, one department, or all the actor may read.

    Without ``region_code`` or ``department_id``: the whole platform for an operator, the
    region of a region operator, the department of a department officer. Freshness and
    "failing now" are judged at ``as_of`` (default now); failed runs are counted from
    ``since`` (default 30 days before ``as_of``) to ``as_of``.
    """
    scope = _resolve_scope(ctx, region_code, department_id)
    at = as_utc(as_of) if as_of is not None else now()
    start = as_utc(since) if since is not None else at - DEFAULT_PERIOD
    s = ctx.session
    departments = _departments(ctx, scope)
    by_id = {d.id: d for d in departments}

    entry_filter = (
        CatalogEntry.status == EntryStatus.PUBLISHED,
        CatalogEntry.provider_department_id.in_(list(by_id)),
    )
    # Only the columns the lines need: the entry row would join its classification too.
    entries = s.execute(
        select(
            CatalogEntry.id,
            CatalogEntry.resource_code,
            CatalogEntry.name,
            CatalogEntry.provider_department_id,
            CatalogEntry.region_code,
            CatalogEntry.update_cycle,
        )
        .where(*entry_filter)
        .order_by(CatalogEntry.provider_code, CatalogEntry.resource_code)
    ).all()
    mounts = _mounts(s, select(CatalogEntry.id).where(*entry_filter), at, start)
    lake = Lake.from_settings(ctx.settings)
    lines = [
        _entry_line(e, by_id[e.provider_department_id], mounts.get(e.id), lake, at) for e in entries
    ]

    dept_lines: dict[str, DepartmentLine] = {
        d.id: DepartmentLine(
            department_id=d.id,
            code=d.code,
            name=d.name,
            region_code=d.region_code,
            region_name=d.region_name,
            region_path=d.region_path,
        )
        for d in departments
    }
    for line in lines:
        _count_entry(dept_lines[line.department_id], line)
    # An inactive department with nothing catalogued has nothing to report.
    shown = [dept_lines[d.id] for d in departments if d.is_active or dept_lines[d.id].entries]
    totals = Counts()
    for dl in shown:
        dl.finish()
        totals.add(dl)
    totals.finish()

    regions: list[RegionLine] = []
    if scope.kind != ReportScope.DEPARTMENT:
        for r in identity.list_regions(ctx):
            if scope.region_path is not None and not _within(r.path, scope.region_path):
                continue
            # A region line sums its whole subtree: only regions the actor reads in full.
            if not ctx.actor.can(Perm.EXCHANGE_READ, Scope(r.path)):
                continue
            rl = RegionLine(code=r.code, name=r.name, level=r.level, path=r.path)
            for dl in shown:
                if _within(dl.region_path, r.path):
                    rl.departments += 1
                    rl.add(dl)
            rl.finish()
            regions.append(rl)

    shown_ids = {dl.department_id for dl in shown}
    return CollectionReport(
        as_of=at,
        since=start,
        scope=scope.kind,
        scope_code=scope.code,
        scope_name=scope.name,
        totals=totals,
        regions=regions,
        departments=shown,
        entries=[ln for ln in lines if ln.department_id in shown_ids],
    )


def export_collection_report(
    ctx: ActionContext,
    region_code: str | None = None,
    department_id: str | None = None,
    as_of: datetime | None = None,
    *,
    since: datetime | None = None,
) -> bytes:
    """The collection report as an Excel workbook (地区 / 部门 / 目录明细); audited."""
    # The workbook module reads this module's report types, so it is imported here.
    from govdata.exchange.report_workbook import write_report

    report = collection_report(ctx, region_code, department_id, as_of, since=since)
    ctx.audit(
        "exchange.report.export",
        target_type="collection_report",
        target_id=report.scope_code,
        row_count=len(report.entries),
        details={
            "format": "xlsx",
            "scope": report.scope.value,
            "as_of": report.as_of.isoformat(),
            "since": report.since.isoformat(),
            "departments": len(report.departments),
            "entries": len(report.entries),
        },
    )
    return write_report(report)
