"""Collection report (归集通报): figures per entry, department and region; scope; Excel; job."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.errors import PermissionDenied
from govdata.core.jobs import schedules
from govdata.core.jobs.models import JobSchedule
from govdata.core.jobs.worker import Worker
from govdata.exchange import report as rep
from govdata.exchange.models import Mount, Pipeline, PipelineRun
from govdata.exchange.report_jobs import (
    KIND,
    SCHEDULE_CRON,
    SCHEDULE_NAME,
    ensure_monthly_schedule,
    monthly_report,
    report_path,
)
from govdata.lake.tables import Lake
from govdata.notifications.models import Notification
from govdata.sources.models import SourceSystem
from tests.catalog.conftest import published_entry
from tests.exchange.engine_fixtures import worker_env
from tests.identity.conftest import Org, audit_rows

AS_OF = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class World:
    org: Org
    entries: dict[str, str] = field(default_factory=dict)  # label -> entry id
    pipelines: dict[str, str] = field(default_factory=dict)  # label -> pipeline id
    sources: dict[str, str] = field(default_factory=dict)  # department code -> source id


def _entry(w: World, label: str, user: str, cycle: str, provider: str | None = None) -> None:
    extra: dict[str, Any] = {"provider": provider} if provider else {}
    out = published_entry(w.org, user, name=f"归集通报测试{label}", update_cycle=cycle, **extra)
    w.entries[label] = out.id


def _mount(
    w: World,
    label: str,
    dept: str,
    mode: str,
    *,
    lake_rows: int | None = None,
    runs: list[tuple[str, datetime, datetime | None]] = (),  # type: ignore[assignment]
    kind: str = "full",
) -> None:
    """Mount entry ``label`` with one pipeline whose runs are (status, started, finished)."""
    db, settings = w.org.db, w.org.settings
    table = f"{dept}.entry_{label.lower()}" if mode == "physical" else None
    with db.transaction() as s:
        source_id = w.sources.get(dept)
        if source_id is None:
            src = SourceSystem(
                department_id=w.org.dept[dept], name=f"{dept}-db", kind="mariadb", config={}
            )
            s.add(src)
            s.flush()
            source_id = w.sources[dept] = src.id
        mount = Mount(
            entry_id=w.entries[label],
            department_id=w.org.dept[dept],
            source_id=source_id,
            mode=mode,
            target_kind="table",
            target=label.lower(),
            columns=[{"item": "公民身份号码", "column": "id", "field": "id", "type": "int64"}],
            key_columns=["id"],
            lake_table=table,
        )
        s.add(mount)
        s.flush()
        if mode == "logical":
            return
        pipeline = Pipeline(
            mount_id=mount.id, department_id=w.org.dept[dept], name=f"p-{label}", kind=kind
        )
        s.add(pipeline)
        s.flush()
        w.pipelines[label] = pipeline.id
        for status, started, finished in runs:
            s.add(
                PipelineRun(
                    pipeline_id=pipeline.id,
                    kind=kind,
                    trigger="schedule",
                    status=status,
                    started_at=started,
                    finished_at=finished,
                )
            )
    if table is not None and lake_rows is not None:
        lake = Lake.from_settings(settings)
        lake.create(table, pa.schema([("id", pa.int64())]))
        lake.append(table, pa.table({"id": pa.array(range(lake_rows), pa.int64())}))


def build_world(org: Org) -> World:
    """xn_stats (Xining): five entries; hx_stats (Haixi): two; police (province): one."""
    w = World(org)
    for label, cycle in (
        ("E1", "daily"),
        ("E2", "daily"),
        ("E3", "weekly"),
        ("E4", "monthly"),
        ("E5", "realtime"),
    ):
        _entry(w, label, "xn_officer", cycle)
    _entry(w, "H1", "hx_officer", "yearly")
    _entry(w, "H2", "hx_officer", "realtime")
    _entry(w, "P1", "operator", "quarterly", provider="police")
    ok, failed = "succeeded", "failed"
    # Fresh (18 hours old); an earlier failure inside the period, since fixed.
    _mount(
        w,
        "E1",
        "xn_stats",
        "physical",
        lake_rows=3,
        runs=[
            (failed, at(10, 1), at(10, 2)),
            (ok, at(19, 10), at(19, 10, 5)),
        ],
    )
    # Stale (3 days for a daily entry) and failing now.
    _mount(
        w,
        "E2",
        "xn_stats",
        "physical",
        lake_rows=5,
        runs=[(ok, at(17, 1), at(17, 2)), (failed, at(19, 1), at(19, 2))],
    )
    _mount(w, "E3", "xn_stats", "logical")
    # E4 catalogued, not mounted; E5 mounted physically, never run.
    _mount(w, "E5", "xn_stats", "physical")
    _mount(
        w,
        "H1",
        "hx_stats",
        "physical",
        lake_rows=7,
        runs=[(ok, at(1, 0, month=3), at(1, 1, month=3))],
    )
    # A CDC stream running since the 18th: current although no run has finished.
    _mount(
        w,
        "H2",
        "hx_stats",
        "physical",
        kind="cdc",
        runs=[(ok, at(17, 0), at(18, 0)), ("running", at(18, 0, 1), None)],
    )
    # Stale for a quarterly entry at AS_OF; a later success does not count before it happens,
    # and a failure before the period is not counted.
    _mount(
        w,
        "P1",
        "police",
        "physical",
        lake_rows=2,
        runs=[
            (failed, at(1, 0, month=5), at(1, 1, month=5)),
            (ok, at(1, 2, month=5), at(1, 3, month=5)),
            (ok, at(21, 0), at(21, 1)),
        ],
    )
    return w


@pytest.fixture
def world(org: Org) -> World:
    return build_world(org)


def report(org: Org, user: str, **kw: Any) -> rep.CollectionReport:
    kw.setdefault("as_of", AS_OF)
    with org.as_(user).act() as ctx:
        return rep.collection_report(ctx, **kw)


def test_figures_per_entry_department_and_region(world: World) -> None:
    r = report(world.org, "operator")
    assert r.scope == rep.ReportScope.PLATFORM
    assert r.since == AS_OF - timedelta(days=30)
    lines = {e.name.removeprefix("归集通报测试"): e for e in r.entries}
    F = rep.Freshness
    assert {k: v.freshness for k, v in lines.items()} == {
        "E1": F.FRESH,
        "E2": F.STALE,
        "E3": F.LIVE,
        "E4": F.UNMOUNTED,
        "E5": F.NEVER,
        "H1": F.FRESH,
        "H2": F.FRESH,
        "P1": F.STALE,
    }
    e1, e2, p1 = lines["E1"], lines["E2"], lines["P1"]
    assert (e1.rows, e1.last_success_at, e1.failed_runs, e1.failing_pipelines) == (
        3,
        at(19, 10, 5),
        1,
        0,
    )
    assert e1.stale_after == at(19, 10, 5) + timedelta(hours=26)
    assert (e2.rows, e2.last_success_at, e2.failed_runs, e2.failing_pipelines) == (
        5,
        at(17, 2),
        1,
        1,
    )
    # The success of the 21st lies after AS_OF; the May failure lies before the period.
    assert (p1.last_success_at, p1.failed_runs, p1.failing_pipelines) == (at(1, 3, month=5), 0, 0)
    assert lines["E5"].rows is None and lines["E3"].rows is None

    depts = {d.code: d for d in r.departments}
    assert set(depts) == {"police", "xn_stats", "cd_health", "hx_stats"}
    xn = depts["xn_stats"]
    assert (xn.entries, xn.mounted, xn.mounted_logical, xn.mounted_physical) == (5, 4, 1, 3)
    assert xn.mount_rate == 0.8
    assert (xn.rows_collected, xn.failed_runs, xn.failing_pipelines) == (8, 2, 1)
    assert (xn.fresh, xn.stale, xn.never) == (1, 1, 1)
    assert xn.last_success_at == at(19, 10, 5)
    hx = depts["hx_stats"]
    assert (hx.entries, hx.mounted_physical, hx.rows_collected, hx.fresh, hx.stale) == (
        2,
        2,
        7,
        2,
        0,
    )
    assert depts["cd_health"].entries == 0 and depts["cd_health"].mount_rate is None

    regions = {g.code: g for g in r.regions}
    assert set(regions) == {"630000", "630100", "630102", "632800", "632801"}
    province, xining, haixi = regions["630000"], regions["630100"], regions["632800"]
    assert (province.departments, province.entries, province.mounted) == (4, 8, 7)
    assert (province.rows_collected, province.fresh, province.stale, province.never) == (
        17,
        3,
        2,
        1,
    )
    assert province.mount_rate == 0.875
    assert (xining.departments, xining.entries, xining.rows_collected) == (2, 5, 8)
    assert (haixi.departments, haixi.entries, haixi.failed_runs) == (1, 2, 0)
    assert regions["632801"].entries == 0
    assert r.totals.entries == 8 and r.totals.rows_collected == 17
    assert r.totals.model_dump() == {
        k: v for k, v in province.model_dump().items() if k in rep.Counts.model_fields
    }


def test_freshness_follows_the_update_cycle(world: World) -> None:
    def freshness(as_of: datetime) -> dict[str, rep.Freshness]:
        r = report(world.org, "xn_officer", as_of=as_of)
        return {e.name.removeprefix("归集通报测试"): e.freshness for e in r.entries}

    last = at(19, 10, 5)  # E1's (daily) last success
    assert freshness(last + timedelta(hours=26))["E1"] == rep.Freshness.FRESH
    assert freshness(last + timedelta(hours=26, seconds=1))["E1"] == rep.Freshness.STALE
    # Before E1's first success, and before E2's: never collected at that time.
    early = freshness(at(10, 3))
    assert early["E1"] == rep.Freshness.NEVER and early["E2"] == rep.Freshness.NEVER


def test_realtime_entries_go_stale_within_minutes(org: Org) -> None:
    w = World(org)
    _entry(w, "R1", "xn_officer", "realtime")
    done = at(20, 3, 50)
    _mount(w, "R1", "xn_stats", "physical", runs=[("succeeded", at(20, 3, 49), done)])
    r = report(org, "xn_officer", as_of=done + timedelta(minutes=9))
    assert r.entries[0].freshness == rep.Freshness.FRESH
    r = report(org, "xn_officer", as_of=done + timedelta(minutes=11))
    assert r.entries[0].freshness == rep.Freshness.STALE
    assert r.departments[0].stale == 1


def test_scope_follows_the_role(world: World) -> None:
    org = world.org
    region = report(org, "xn_admin")
    assert (region.scope, region.scope_code, region.scope_name) == (
        rep.ReportScope.REGION,
        "630100",
        "西宁市",
    )
    assert {d.code for d in region.departments} == {"xn_stats", "cd_health"}
    assert [g.code for g in region.regions] == ["630100", "630102"]
    assert len(region.entries) == 5

    haixi = report(org, "hx_admin", region_code="632800")
    assert {d.code for d in haixi.departments} == {"hx_stats"}

    own = report(org, "xn_officer")
    assert (own.scope, own.scope_code) == (rep.ReportScope.DEPARTMENT, "xn_stats")
    assert [d.code for d in own.departments] == ["xn_stats"] and own.regions == []
    assert own.totals.entries == 5

    one = report(org, "operator", department_id=org.dept["hx_stats"])
    assert [d.code for d in one.departments] == ["hx_stats"] and one.totals.entries == 2

    refused = [
        ("xn_admin", {"region_code": "630000"}),
        ("xn_admin", {"department_id": org.dept["hx_stats"]}),
        ("xn_officer", {"department_id": org.dept["hx_stats"]}),
        ("xn_officer", {"region_code": "630100"}),
        ("xn_clerk", {}),
        ("auditor", {}),
        ("secadmin", {}),
    ]
    for user, kw in refused:
        with pytest.raises(PermissionDenied):
            report(org, user, **kw)


def test_excel_export_holds_the_numbers_and_is_audited(world: World) -> None:
    org = world.org
    with org.as_("xn_admin").act() as ctx:
        data = rep.export_collection_report(ctx, as_of=AS_OF)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["地区", "部门", "目录明细"]
    regions, depts, entries = wb["地区"], wb["部门"], wb["目录明细"]
    title = str(depts["A1"].value)
    assert "数据归集通报" in title and "西宁市（630100）" in title and "2026-11-20" in title

    def rows(ws: Any) -> list[dict[str, Any]]:
        header = [c.value for c in ws[2]]
        return [dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(3)]

    by_code = {r["部门代码"]: r for r in rows(depts)}
    xn = by_code["xn_stats"]
    assert (xn["编目数"], xn["已挂载"], xn["逻辑接入"], xn["物理汇聚"]) == (5, 4, 1, 3)
    assert (xn["挂载率"], xn["归集数据量（行）"], xn["统计期内失败次数"]) == (0.8, 8, 2)
    assert (xn["及时"], xn["超期未更新"], xn["从未归集"], xn["当前失败管道"]) == (1, 1, 1, 1)
    # Local (UTC+8) wall-clock time.
    assert xn["最近成功归集"] == datetime(2026, 11, 19, 18, 5)
    assert by_code["合计"]["编目数"] == 5
    rate_cell = next(c for row in depts.iter_rows(3) for c in row if c.value == 0.8)
    assert rate_cell.number_format == "0.0%"
    assert depts.column_dimensions["B"].width >= 20

    assert [(r["区划代码"], r["编目数"], r["部门数"]) for r in rows(regions)] == [
        ("630100", 5, 2),
        ("630102", 0, 1),
    ]
    details = {r["目录名称"]: r for r in rows(entries)}
    assert details["归集通报测试E2"]["时效状态"] == "超期未更新"
    assert details["归集通报测试E3"]["接入方式"] == "逻辑接入"
    assert details["归集通报测试E4"]["接入方式"] == "未挂载"
    assert details["归集通报测试E1"]["更新周期"] == "每日"

    audits = audit_rows(org.db, "exchange.report.export")
    assert len(audits) == 1 and audits[0]["actor_name"] == "xn_admin"
    assert audits[0]["details"]["entries"] == 5


def test_reading_the_report_is_not_audited(world: World) -> None:
    report(world.org, "operator")
    assert audit_rows(world.org.db, "exchange.report.export") == []


def test_monthly_job_writes_the_workbook_and_tells_operators(world: World) -> None:
    org = world.org
    result = monthly_report(org.db, org.settings, as_of=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    path = report_path(org.settings, "2026-11")
    assert result["file"] == path.name == "collection-2026-11.xlsx"
    wb = load_workbook(path)
    dept_rows = list(wb["部门"].iter_rows(min_row=3, values_only=True))
    assert sum(r[3] for r in dept_rows if r[0] != "合计") == 8
    assert "2026-11-01" in str(wb["部门"]["A1"].value)
    with org.db.transaction() as s:
        notes = s.scalars(
            select(Notification).where(Notification.kind == "exchange.collection_report")
        ).all()
        assert [n.user_id for n in notes] == [org.users["operator"]]
        assert notes[0].body is not None and "collection-2026-11.xlsx" in notes[0].body


def test_the_schedule_enqueues_the_job_and_a_worker_files_the_report(world: World) -> None:
    org = world.org
    settings = org.settings.model_copy(
        update={"job_handler_modules": "govdata.exchange.report_jobs"}
    )
    assert ensure_monthly_schedule(org.db) == SCHEDULE_NAME
    ensure_monthly_schedule(org.db)
    with org.db.transaction() as s:
        rows = s.scalars(select(JobSchedule).where(JobSchedule.name == SCHEDULE_NAME)).all()
        assert len(rows) == 1
        sched = rows[0]
        assert (sched.cron, sched.kind, sched.enabled) == (SCHEDULE_CRON, KIND, True)
        due = sched.next_run_at
    # 06:00 on the 1st, node time.
    local = due.astimezone(DISPLAY_TZ)
    assert (local.day, local.hour, local.minute) == (1, 6, 0)
    assert len(schedules.run_due(org.db, settings, at=due)) == 1
    with worker_env(settings):
        assert Worker(org.db, settings).run_until_idle() == 1
    month = (now().astimezone(DISPLAY_TZ).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    wb = load_workbook(report_path(settings, month))
    assert wb.sheetnames == ["地区", "部门", "目录明细"]


def test_row_counts_follow_new_lake_commits(org: Org) -> None:
    w = World(org)
    _entry(w, "C1", "xn_officer", "daily")
    _mount(w, "C1", "xn_stats", "physical", lake_rows=3)
    assert report(org, "xn_officer").totals.rows_collected == 3
    # Once the log folder has settled the count comes from the cache, until the next commit.
    time.sleep(1.1)
    assert report(org, "xn_officer").totals.rows_collected == 3
    lake = Lake.from_settings(org.settings)
    lake.append("xn_stats.entry_c1", pa.table({"id": pa.array([10, 11], pa.int64())}))
    assert report(org, "xn_officer").totals.rows_collected == 5
