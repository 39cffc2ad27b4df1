"""Quality runs over a real lake table: every rule kind's counts on crafted rows, masked
samples, scores, the failed-run record, jobs after collection, scores by department and the
CLI. Tests that exercise no difference between the stores run on SQLite only."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from statistics import fmean

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from govdata.cli import app as cli_app
from govdata.core.errors import GovDataError, PermissionDenied
from govdata.core.jobs.models import Job
from govdata.core.jobs.worker import Worker
from govdata.exchange.models import Mount
from govdata.governance import quality_runs
from govdata.governance.quality_models import QualityRun
from govdata.lake.tables import Lake
from tests.catalog.conftest import org, settings
from tests.governance import quality_fixtures as qf
from tests.identity.conftest import Org, audit_rows

__all__ = ["org", "settings"]


def _rules(org: Org, s: qf.Setup) -> dict[str, str]:
    e, code = s.entry, s.register.resource_code
    return {
        "not_null": qf.add_rule(org, e, kind="not_null", item="姓名"),
        "unique": qf.add_rule(org, e, kind="unique", item="公民身份号码"),
        "resident_id": qf.add_rule(org, e, kind="resident_id", item="公民身份号码", severity=4),
        "mobile": qf.add_rule(org, e, kind="mobile", item="手机号码"),
        "range": qf.add_rule(org, e, kind="range", item="年龄", params={"min": 0, "max": 150}),
        "allowed": qf.add_rule(
            org, e, kind="allowed", item="户籍地区划", params={"values": ["630102", "632801"]}
        ),
        "length": qf.add_rule(
            org, e, kind="length", item="公民身份号码", params={"min": 18, "max": 18}
        ),
        "pattern": qf.add_rule(
            org, e, kind="pattern", item="户籍地区划", params={"regex": r"63\d{4}"}
        ),
        "custom": qf.add_rule(
            org, e, kind="custom", params={"predicate": "age < 120 AND age >= 0"}
        ),
        "referential": qf.add_rule(
            org,
            e,
            kind="referential",
            item="公民身份号码",
            params={"entry": code, "item": "公民身份号码"},
        ),
        "cross_source": qf.add_rule(
            org,
            e,
            kind="cross_source",
            item="姓名",
            params={
                "entry": code,
                "key": "公民身份号码",
                "other_key": "公民身份号码",
                "other_item": "姓名",
            },
        ),
        "row_count": qf.add_rule(org, e, kind="row_count", params={"max_change": 0.5}),
        "freshness": qf.add_rule(org, e, kind="freshness", params={"max_age_hours": 1}),
    }


# (checked, failed) of each rule on qf.ROWS, worked out by hand from the rows' comments.
EXPECTED = {
    "not_null": (6, 1),
    "unique": (6, 0),
    "resident_id": (6, 2),
    "mobile": (6, 2),
    "range": (6, 1),
    "allowed": (6, 1),
    "length": (6, 1),
    "pattern": (6, 1),
    "custom": (6, 1),
    "referential": (6, 2),
    "cross_source": (4, 3),
    "row_count": (1, 0),
    "freshness": (1, 0),
}


def test_every_rule_kind_counts_what_the_rows_hold(org: Org, tmp_path: Path) -> None:
    s = qf.setup(org, tmp_path)
    ids = _rules(org, s)
    with org.as_("xn_officer").act() as ctx:
        out = quality_runs.run_entry(ctx, s.entry.resource_code)
    assert out.status == "succeeded" and out.rows_total == 6
    got = {r.rule_id: (r.checked, r.failed) for r in out.results}
    assert {k: got[v] for k, v in ids.items()} == EXPECTED
    by_rule = {r.rule_id: r for r in out.results}
    # The failing resident IDs are the two planted ones; the key is masked (grade 2 masks).
    bad = by_rule[ids["resident_id"]].samples
    assert len(bad) == 2 and all("resident_id" in row for row in bad)
    assert all(row["resident_id"] != qf.BAD_CHECK for row in bad), "sample keys must be masked"
    assert all("*" in row["resident_id"] for row in bad)
    # Cross-source samples hold both sides' values, each masked like a name.
    cross = by_rule[ids["cross_source"]].samples
    other = f"name@{s.register.resource_code}"
    assert sorted((r["name"] or "", r[other]) for r in cross) == [
        ("", "王*"),
        ("李*", "李**"),
        ("赵*", "赵**"),
    ]
    # Scores: mean pass rate per dimension, then the mean of the dimensions.
    dims: dict[str, list[float]] = {}
    for r in out.results:
        dims.setdefault(r.dimension, []).append(r.pass_rate or 0.0)
    expect = {d: 100 * fmean(v) for d, v in dims.items()}
    assert out.dimension_scores == {d: round(v, 2) for d, v in expect.items()}
    assert out.score == round(fmean(expect.values()), 2)
    assert set(expect) == {
        "completeness",
        "uniqueness",
        "accuracy",
        "validity",
        "consistency",
        "timeliness",
    }
    assert audit_rows(org.db, "governance.quality.run")


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_row_count_change_and_staleness_fail_the_table_rules(org: Org, tmp_path: Path) -> None:
    e = qf.people(org, tmp_path)
    rc = qf.add_rule(org, e, kind="row_count", params={"max_change": 0.5})
    fresh = qf.add_rule(org, e, kind="freshness", params={"max_age_hours": 0.000001})
    with org.as_("xn_officer").act() as ctx:
        first = quality_runs.run_entry(ctx, e.id)
    assert {r.rule_id: r.failed for r in first.results} == {rc: 0, fresh: 1}
    with org.db.transaction() as s:
        table = s.scalars(select(Mount.lake_table).where(Mount.entry_id == e.id)).one()
    lake = Lake.from_settings(org.settings)
    lake.overwrite(table, lake.read(table).slice(0, 2))
    with org.as_("xn_officer").act() as ctx:
        second = quality_runs.run_entry(ctx, e.id)
    result = next(r for r in second.results if r.rule_id == rc)
    assert (result.checked, result.failed) == (1, 1)
    assert result.samples == [{"rows": 2, "previous": 6, "change": 0.6667}]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_samples_are_rows_only_for_who_may_preview_them(org: Org, tmp_path: Path) -> None:
    e = qf.people(org, tmp_path)
    qf.add_rule(org, e, kind="mobile", item="手机号码")
    with org.as_("xn_officer").act() as ctx:
        run = quality_runs.run_entry(ctx, e.id)
    with org.as_("operator").act() as ctx:
        seen = quality_runs.get_run(ctx, run.id)
    assert seen.results[0].failed == 2
    assert seen.results[0].samples == [] and seen.results[0].samples_withheld
    with org.as_("xn_officer").act() as ctx:
        own = quality_runs.get_run(ctx, run.id)
    assert len(own.results[0].samples) == 2 and not own.results[0].samples_withheld


def test_unreadable_data_is_a_failed_run_and_rights_are_checked(org: Org, tmp_path: Path) -> None:
    e = qf.people(org, tmp_path)
    qf.add_rule(org, e, kind="not_null", item="姓名")
    with org.db.transaction() as s:
        table = s.scalars(select(Mount.lake_table).where(Mount.entry_id == e.id)).one()
    shutil.rmtree(Lake.from_settings(org.settings).path(table))
    with org.as_("xn_officer").act() as ctx:
        out = quality_runs.run_entry(ctx, e.id)
    assert out.status == "failed" and out.error_code == "quality_no_data"
    with org.db.transaction() as s:
        assert s.get(QualityRun, out.id) is not None
    # Another department's officer and a department user may not run it.
    for user in ("hx_officer", "xn_clerk"):
        with pytest.raises(GovDataError) as err, org.as_(user).act() as ctx:
            quality_runs.run_entry(ctx, e.id)
        assert isinstance(err.value, PermissionDenied) or err.value.code == "entry_not_found"


def test_collection_queues_a_run_and_the_job_records_it(org: Org, tmp_path: Path) -> None:
    from tests.security import lake_fixtures as lf

    c = lf.collected(org, tmp_path, grade=2)
    rule = qf.add_rule(org, _entry(org, c.entry_id), kind="not_null", item="姓名")
    lf.run(org, c)  # the second collection run: the entry has rules now
    Worker(org.db, org.settings).run_until_idle()
    with org.db.transaction() as s:
        jobs = list(s.scalars(select(Job).where(Job.kind == quality_runs.JOB_KIND)))
        runs = list(s.scalars(select(QualityRun).where(QualityRun.entry_id == c.entry_id)))
    assert [j.status for j in jobs] == ["succeeded"]
    assert [r.trigger for r in runs] == ["collection"] and runs[0].job_id == jobs[0].id
    with org.as_("xn_officer").act() as ctx:
        assert quality_runs.get_run(ctx, runs[0].id).results[0].rule_id == rule


def _entry(org: Org, entry_id: str):  # type: ignore[no-untyped-def]
    from govdata.catalog.models import CatalogEntry

    with org.db.transaction() as s:
        row = s.get(CatalogEntry, entry_id)
        s.expunge(row)
        return row


def test_scores_by_department_and_the_trend(org: Org, tmp_path: Path) -> None:
    a = qf.people(org, tmp_path)
    b = qf.people(org, tmp_path, name="流动人口信息")
    qf.add_rule(org, a, kind="not_null", item="姓名")  # 5/6
    qf.add_rule(org, b, kind="range", item="年龄", params={"min": 0, "max": 150})  # 5/6
    qf.add_rule(org, b, kind="unique", item="公民身份号码")  # 6/6
    with org.as_("xn_officer").act() as ctx:
        ra = quality_runs.run_entry(ctx, a.id)
        rb = quality_runs.run_entry(ctx, b.id)
        quality_runs.run_entry(ctx, a.id)
        trend = quality_runs.trend(ctx, a.id)
    assert ra.score == round(100 * 5 / 6, 2)
    assert rb.score == round(fmean([100 * 5 / 6, 100.0]), 2)
    assert len(trend) == 2 and trend[0].score == ra.score
    with org.as_("operator").act() as ctx:
        rows = quality_runs.scores(ctx, "department")
        entries = quality_runs.scores(ctx, "entry")
    dept = next(r for r in rows if r.key == a.provider_department_id)
    assert dept.entries == 2 and dept.score == round(fmean([ra.score, rb.score]), 2)
    assert len(entries) == 2
    # Another department's officer sees none of them.
    with org.as_("hx_officer").act() as ctx:
        assert quality_runs.scores(ctx, "department") == []


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_cli_prints_each_rule(org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    e = qf.people(org, tmp_path)
    qf.add_rule(org, e, kind="mobile", item="手机号码")
    st = org.settings
    monkeypatch.setenv("GOVDATA_DATABASE_URL", st.database_url or "")
    monkeypatch.setenv("GOVDATA_DATA_DIR", str(st.data_dir))
    monkeypatch.setenv("GOVDATA_SECRET_KEY", st.secret_key)
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(cli_app, ["quality", "run", e.resource_code])
    assert result.exit_code == 0, result.output
    assert "手机号码" in result.output and "66.67%" in result.output
    bad = CliRunner().invoke(cli_app, ["quality", "run", "1/999999"])
    assert bad.exit_code == 1 and "entry_not_found" in bad.output


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_table_of_several_files_is_counted_whole_at_its_current_version(
    org: Org, tmp_path: Path
) -> None:
    """The run reads every file of the table's current version: the rows appended as a
    second file are counted, and the run records that version."""
    e = qf.people(org, tmp_path)
    qf.add_rule(org, e, kind="not_null", item="姓名")
    with org.db.transaction() as s:
        table = s.scalars(select(Mount.lake_table).where(Mount.entry_id == e.id)).one()
    lake = Lake.from_settings(org.settings)
    lake.append(table, lake.read(table))
    with org.as_("xn_officer").act() as ctx:
        out = quality_runs.run_entry(ctx, e.id)
    assert (out.results[0].checked, out.results[0].failed) == (12, 2)
    assert (out.rows_total, out.lake_version) == (12, lake.table(table).version())


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_gbk_file_read_in_place_is_checked_by_characters_under_the_row_cap(
    org: Org, tmp_path: Path
) -> None:
    """A logically accessed GBK CSV: lengths count characters, not bytes, and only the
    mount's row cap of rows is read from the source."""
    from govdata.exchange import mounts
    from govdata.exchange.schemas import MappingColumn, MountCreate
    from govdata.sources import actions as source_actions
    from govdata.sources.schemas import SourceCreate

    e = qf.make_entry(org)
    good, legacy = qf.GOOD[0], "630102900101123"
    rows = [
        (good, "欧阳娜娜", "13800001111"),  # 4 characters, 8 bytes in GBK
        (qf.GOOD[1], "阿卜杜热合曼·买买提", "13900002222"),  # 10 characters
        (legacy, "张三", "13700003333"),
        (qf.GOOD[2], "李四", "13600004444"),  # beyond the row cap
    ]
    text = "身份证号,姓名,手机\n" + "".join(",".join(r) + "\n" for r in rows)
    with org.as_("xn_officer").act() as ctx:
        src = source_actions.create_source(
            ctx, SourceCreate(department_id=org.dept["xn_stats"], kind="file", name="户籍上报")
        )
        source_actions.upload_file(ctx, src.id, "人口.csv", io.BytesIO(text.encode("gbk")))
        mounts.create_mount(
            ctx,
            MountCreate(
                entry_id=e.id,
                source_id=src.id,
                target="人口.csv",
                target_kind="file",
                mode="logical",
                columns=[
                    MappingColumn(
                        item="公民身份号码", column="身份证号", field="resident_id", type="string"
                    ),
                    MappingColumn(item="姓名", column="姓名", field="name", type="string"),
                    MappingColumn(item="手机号码", column="手机", field="phone", type="string"),
                ],
                key_columns=["resident_id"],
                row_cap=3,
            ),
        )
    qf.add_rule(org, e, kind="length", item="姓名", params={"min": 2, "max": 4})
    qf.add_rule(org, e, kind="resident_id", item="公民身份号码")
    with org.as_("xn_officer").act() as ctx:
        out = quality_runs.run_entry(ctx, e.id)
    assert out.status == "succeeded", out.error_message
    assert (out.rows_total, out.source_capped, out.lake_table) == (3, True, None)
    assert [(r.kind, r.checked, r.failed) for r in sorted(out.results, key=lambda r: r.kind)] == [
        ("length", 3, 1),
        ("resident_id", 3, 1),
    ]
