"""The demo's planned defects: exact counts, the truth behind them, and their recovery by the
quality rules within one percentage point of the injected rate."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select

from govdata.config import Settings
from govdata.core.db import Database
from govdata.demo import defect_values as defects
from govdata.demo.defects import DEFECTS_FILE, PLAN, STALE, read_report
from govdata.demo.people import AS_OF
from govdata.demo.quality import DemoEntry, _entries
from govdata.governance import quality_runs, validators
from govdata.governance.quality_models import QualityResult, QualityRule, QualityRun
from govdata.governance.rules_sql import RuleSpec, run_rules
from govdata.standards import resident_id, uscc
from tests.demo.conftest import query
from tests.demo.test_catalog import caller_for

Sources = tuple[Path, dict[str, Any]]
Demo = tuple[Database, Settings, dict[str, Any]]
ONE_POINT = 0.01
VALUE_RULES = ("resident_id", "credit_code", "mobile", "not_null", "unique")


def _report(sources_dir: Path) -> dict[str, Any]:
    loaded = read_report(sources_dir)
    assert loaded is not None
    return loaded


def _close(measured: float, d: dict[str, Any]) -> None:
    """Measured within 1 pp of the injected rate; the injected rate within 1 pp of the plan
    (or one row of it, for tables too small to hit a rate that closely)."""
    where = (d["system"], d["table"], d["column"], d["kind"])
    assert abs(measured - d["rate"]) <= ONE_POINT, (where, measured, d["rate"])
    assert abs(d["rate"] - d["planned_rate"]) <= max(ONE_POINT, 1 / max(d["checked"], 1)), where


def _arrow(db: Path, table: str, column: str) -> pa.RecordBatchReader:
    values = [r[0] for r in query(db, f"SELECT {column} FROM {table}")]
    t = pa.table({column: pa.array([None if v is None else str(v) for v in values], pa.string())})
    return pa.RecordBatchReader.from_batches(t.schema, t.to_batches())


# -- the plan as applied to a 3000-person build ------------------------------------------------


def test_counts_are_exactly_the_planned_share(sqlite_sources: Sources) -> None:
    out, _ = sqlite_sources
    report = _report(out)
    assert len(report["defects"]) == len(PLAN)
    for d in report["defects"]:
        assert d["count"] == round(d["planned_rate"] * d["base"]) == len(d["row_ids"]), d["kind"]
        assert len(set(d["row_ids"])) == d["count"]
    # Defects of a group never share a row.
    groups: dict[tuple[str, str, str], set[int]] = {}
    for planned, d in zip(PLAN, report["defects"], strict=True):
        if planned.kind == "duplicate":
            continue
        seen = groups.setdefault((planned.system, planned.table, planned.rows_group), set())
        assert not seen & set(d["row_ids"]), planned.key
        seen |= set(d["row_ids"])
    assert sum(d["count"] for d in report["defects"]) > 300


def test_value_rules_recover_the_injected_rates(sqlite_sources: Sources) -> None:
    out, _ = sqlite_sources
    checked = 0
    for d in _report(out)["defects"]:
        if d["rule"] not in VALUE_RULES:
            continue
        db = out / f"{d['system']}.db"
        [count] = run_rules(
            _arrow(db, d["table"], d["column"]), [RuleSpec("r", d["rule"], d["column"])]
        )
        if d["rule"] == "resident_id":
            # Every kind of wrong ID in the column fails the one rule.
            same = [
                x
                for x in _report(out)["defects"]
                if (x["system"], x["table"], x["column"], x["rule"])
                == (d["system"], d["table"], d["column"], "resident_id")
            ]
            assert count.failed == sum(x["count"] for x in same)
            assert count.checked == d["checked"]
            _close(d["count"] / count.checked, d)
        else:
            assert (count.checked, count.failed) == (d["checked"], d["count"]), d
            _close(count.failed / count.checked, d)
        checked += 1
    assert checked >= 15


def test_names_differ_from_the_register_exactly_where_the_truth_says(
    sqlite_sources: Sources,
) -> None:
    out, _ = sqlite_sources
    report = _report(out)
    variants = Counter((v["system"], v["table"], v["column"]) for v in report["name_variants"])
    persons = {
        r[0]: r[1] for r in query(out / "police.db", "SELECT resident_id, name FROM persons")
    }
    for d in report["defects"]:
        if d["kind"] != "name_variant":
            continue
        planned = next(
            p for p in PLAN if p.key.startswith(f"{d['system']}.{d['table']}.{d['column']}:")
        )
        rows = query(
            out / f"{d['system']}.db",
            f"SELECT {planned.person_column}, {d['column']} FROM {d['table']}",
        )
        joined = [(persons[k], v) for k, v in rows if k in persons]
        differ = sum(1 for a, b in joined if a != b)
        assert differ == d["count"] == variants[(d["system"], d["table"], d["column"])], d
        assert len(joined) == d["checked"]
        _close(differ / len(joined), d)
    forms = Counter(v["form"] for v in report["name_variants"])
    assert set(forms) == {"homophone", "stray_space", "swapped", "full_width"}
    for v in report["name_variants"]:
        assert v["name"] != v["register_name"]
        squeezed = v["name"].replace(" ", "").replace("\u3000", "")
        # Spaces leave the characters as they were; the other forms change them.
        assert (squeezed == v["register_name"]) == (v["form"] in ("stray_space", "full_width"))


def test_duplicates_are_the_same_person_with_small_differences(sqlite_sources: Sources) -> None:
    out, _ = sqlite_sources
    report = _report(out)
    by_table = Counter((x["system"], x["table"]) for x in report["duplicates"])
    planned = {
        (d["system"], d["table"]): d["count"] for d in report["defects"] if d["kind"] == "duplicate"
    }
    assert by_table == planned
    police = {
        r[0]: r
        for r in query(
            out / "police.db",
            "SELECT id, resident_id, name, gender, birth_date, household_no FROM persons",
        )
    }
    for dup in report["duplicates"]:
        if dup["system"] == "police":
            first, second = police[dup["of_row_id"]], police[dup["row_id"]]
            assert first[0] == dup["pid"] and first[1] == dup["resident_id"]
            # 一人多户: another valid number, the same birth date and sex, another household.
            assert second[1] == dup["second_resident_id"] != first[1]
            assert validators.resident_id(second[1])
            assert second[1][6:14] == first[1][6:14] and second[3:5] == first[3:5]
            assert second[5] != first[5]
        else:
            # 重复参保: the same ID enrolled again in the residents' scheme.
            rows = query(
                out / f"{dup['system']}.db",
                f"SELECT id, insurance_type FROM {dup['table']} WHERE resident_id = ?",
                (dup["resident_id"],),
            )
            assert {r[0] for r in rows} == {dup["of_row_id"], dup["row_id"]}
            assert len({r[1] for r in rows}) == 2
            assert dup["pid"] is not None


def test_one_table_is_stale_and_every_other_was_touched_on_the_demo_day(
    sqlite_sources: Sources,
) -> None:
    out, manifest = sqlite_sources
    [stale] = _report(out)["stale"]
    assert stale["until"] == STALE[0].until.isoformat()
    for system in manifest["systems"]:
        for t in system["tables"]:
            (newest,) = query(out / system["path"], f"SELECT max(updated_at) FROM {t['name']}")[0]
            if (system["code"], t["name"]) == (stale["system"], stale["table"]):
                assert newest == stale["last_update"] and newest[:10] <= stale["until"]
            else:
                assert newest[:10] == AS_OF.isoformat(), (system["code"], t["name"])


def test_every_defective_value_fails_its_validator() -> None:
    rng = random.Random(5)
    valid_id = resident_id.make("630102", date(1990, 1, 1), 123)
    valid_code = uscc.make("9", "1", "630100", "12345670")
    assert validators.resident_id(valid_id) and validators.credit_code(valid_code)
    for _ in range(200):
        for make in (defects.bad_check_digit, defects.legacy_15, defects.bad_birth_date):
            assert not validators.resident_id(make(rng, valid_id))
        assert not validators.credit_code(defects.bad_credit_code(rng, valid_code))
        assert not validators.mobile(defects.invalid_mobile(rng, "13912345678"))
    assert defects.legacy_15(rng, valid_id) == "630102900101123"
    for name, surnamed in (("扎西才让", False), ("德吉", False), ("王小明", True), ("张伟", True)):
        for _ in range(20):
            variant = defects.name_variant(rng, name, surnamed)
            assert variant is not None and variant[0] != name
            # Never padded at the ends: a comparison that trims would miss it.
            assert variant[0] == variant[0].strip(" \u3000")
    assert defects.name_variant(rng, "佳", surnamed=False) is None


# -- the demo built end to end: the quality runs after collection --------------------------


def _latest(db: Database, entry_id: str) -> dict[tuple[str, str | None], QualityResult]:
    with db.transaction() as s:
        run = quality_runs.latest_runs(s, [entry_id]).get(entry_id)
        if run is None:
            failed = s.scalars(select(QualityRun).where(QualityRun.entry_id == entry_id)).all()
            raise AssertionError([(r.status, r.error_code, r.error_message) for r in failed])
        results = s.scalars(select(QualityResult).where(QualityResult.run_id == run.id)).all()
        s.expunge_all()
    return {(r.kind, r.item): r for r in results}


def test_the_demos_quality_runs_recover_the_injected_rates(sqlite_demo: Demo) -> None:
    db, settings, _manifest = sqlite_demo
    report = _report(settings.data_dir / "sources")
    entries = {(e.system, e.table): e for e in _entries(db, settings)}
    recovered = 0
    for d in report["defects"]:
        entry = entries[(d["system"], d["table"])]
        if not entry.readable or d["rule"] not in VALUE_RULES:
            continue
        result = _latest(db, entry.entry_id)[(d["rule"], entry.items[d["column"]])]
        assert result.error is None
        if d["rule"] == "resident_id":
            same = [
                x["count"]
                for x in report["defects"]
                if (x["system"], x["table"], x["column"]) == (d["system"], d["table"], d["column"])
                and x["rule"] == "resident_id"
            ]
            assert result.failed == sum(same)
            _close(d["count"] / result.checked, d)
        else:
            assert (result.checked, result.failed) == (d["checked"], d["count"])
            _close(result.failed / result.checked, d)
        recovered += 1
    assert recovered >= 10


def test_the_first_runs_fail_only_where_defects_were_planned(sqlite_demo: Demo) -> None:
    db, settings, _manifest = sqlite_demo
    report = _report(settings.data_dir / "sources")
    entries = _entries(db, settings)
    expected: set[tuple[str, str, str | None]] = set()
    for d in report["defects"]:
        if d["count"] and d["rule"] in (*VALUE_RULES,):
            e = next(x for x in entries if (x.system, x.table) == (d["system"], d["table"]))
            if e.readable:
                expected.add((e.resource_code, d["rule"], e.items[d["column"]]))
    for derived in report["derived"]:
        system, table, column = derived["table"].split(".")
        e = next(x for x in entries if (x.system, x.table) == (system, table))
        expected.add((e.resource_code, "resident_id", e.items[column]))
    for s in STALE:
        e = next(x for x in entries if (x.system, x.table) == (s.system, s.table))
        expected.add((e.resource_code, "freshness", None))
    with db.transaction() as session:
        failing = {
            (run.resource_code, r.kind, r.item)
            for r, run in session.execute(
                select(QualityResult, QualityRun)
                .join(QualityRun, QualityRun.id == QualityResult.run_id)
                .where(QualityRun.trigger == "demo", QualityResult.failed > 0)
            ).all()
        }
        cross = session.scalars(select(QualityRule).where(QualityRule.kind == "cross_source")).all()
    # Besides: people who moved away are 转出 / 停保 in the insurance systems, a status
    # outside the data element's value domain (a drift of the sources, not a planned defect).
    natural = {
        (e.resource_code, "allowed", e.items["status"])
        for e in entries
        if (e.system, e.table) in (("hrss", "insured_persons"), ("medins", "enrolments"))
    }
    assert expected <= failing <= expected | natural
    # The comparisons with the register wait for its change-data-capture stream.
    assert len(cross) == sum(1 for p in PLAN if p.kind == "name_variant")


def test_a_rerun_by_the_officer_measures_the_same(sqlite_demo: Demo) -> None:
    db, settings, _manifest = sqlite_demo
    entry: DemoEntry = next(e for e in _entries(db, settings) if e.table == "insured_persons")
    before = _latest(db, entry.entry_id)
    with caller_for(db, settings, "hrss_officer").act() as ctx:
        waiting = [r.rule_id for r in before.values() if r.kind != "cross_source"]
        run = quality_runs.run_entry(ctx, entry.entry_id, rule_ids=waiting)
    assert run.status == "succeeded"
    for r in run.results:
        assert (r.checked, r.failed) == (
            before[(r.kind, r.item)].checked,
            before[(r.kind, r.item)].failed,
        )


def test_defects_file_is_written_beside_the_manifest(sqlite_sources: Sources) -> None:
    out, manifest = sqlite_sources
    assert manifest["defects"] == DEFECTS_FILE
    report = _report(out)
    assert report["seed"] == manifest["seed"] and report["as_of"] == AS_OF.isoformat()
