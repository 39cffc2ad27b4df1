"""The SQLite source systems: schema, valid identifiers, links to the register, drift, seeds."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from govdata.demo.defects import DEFECTS_FILE
from govdata.demo.departments import all_departments
from govdata.demo.divisions import (
    COUNTY_BY_CODE,
    PREFECTURE_BY_CODE,
    PREFECTURES,
    full_county_name,
)
from govdata.demo.people import AS_OF, OUTSIDE_DIVISIONS
from govdata.demo.sources.build import build_sources, generators
from govdata.demo.sources.common import PHONE_DRIFT
from govdata.standards import resident_id, uscc
from tests.demo.conftest import PERSONS, column, query

Sources = tuple[Path, dict[str, Any]]


def test_manifest_lists_every_system_with_true_row_counts(sqlite_sources: Sources) -> None:
    out, manifest = sqlite_sources
    assert json.loads((out / "manifest.json").read_text()) == manifest
    assert manifest["engine"] == "sqlite"
    assert manifest["persons"] >= PERSONS
    systems = {s["code"]: s for s in manifest["systems"]}
    assert set(systems) == {"police", "market", "hrss", "civil", "medins"}
    department_codes = {d.code for d in all_departments()}
    for code, system in systems.items():
        assert system["department"] in department_codes
        assert system["path"] == f"{code}.db"
        for t in system["tables"]:
            actual = query(out / system["path"], f"SELECT count(*) FROM {t['name']}")[0][0]
            assert t["rows"] == actual > 0, (code, t["name"])
            assert t["primary_key"] == ["id"]
            assert t["updated_at"] == "updated_at"


def test_tables_have_keys_updated_at_indexes_and_chinese_comments(sqlite_sources: Sources) -> None:
    out, _ = sqlite_sources
    for gen in generators(0):
        db = out / f"{gen.system.code}.db"
        for table in gen.system.tables:
            info = query(db, f"PRAGMA table_info({table.name})")
            assert [r[1] for r in info] == table.column_names
            assert [r[1] for r in info if r[5]] == ["id"]
            indexes = {r[1] for r in query(db, f"PRAGMA index_list({table.name})")}
            assert f"ix_{table.name}_updated_at" in indexes
            ddl = query(db, "SELECT sql FROM sqlite_master WHERE name = ?", (table.name,))[0][0]
            assert table.comment in ddl
            assert "-- 最后更新时间" in ddl


def _defective(out: Path, system: str, table: str, column: str) -> set[int]:
    """Ids of the rows the defect plan made wrong in ``system.table.column``."""
    report = json.loads((out / DEFECTS_FILE).read_text())
    return {
        row_id
        for d in report["defects"]
        if (d["system"], d["table"], d["column"]) == (system, table, column)
        and d["kind"] not in ("duplicate", "name_variant", "missing")
        for row_id in d["row_ids"]
    }


# (system, table, column) of every resident ID; hrss contributions copy the insured's.
ID_COLUMNS = (
    ("police", "persons", "resident_id"),
    ("market", "enterprises", "legal_rep_resident_id"),
    ("hrss", "insured_persons", "resident_id"),
    ("civil", "marriage_registrations", "male_resident_id"),
    ("civil", "marriage_registrations", "female_resident_id"),
    ("civil", "subsistence_allowances", "applicant_resident_id"),
    ("civil", "subsistence_members", "resident_id"),
    ("medins", "enrolments", "resident_id"),
    ("medins", "settlements", "resident_id"),
)


def test_every_resident_id_not_planned_as_defective_is_valid(sqlite_sources: Sources) -> None:
    out, _ = sqlite_sources
    planned_bad = 0
    for system, table, col in ID_COLUMNS:
        rows = query(out / f"{system}.db", f"SELECT id, {col} FROM {table}")
        assert rows, (system, table)
        defective = _defective(out, system, table, col)
        bad = {i for i, n in rows if not resident_id.is_valid(n)}
        assert bad == defective, (system, table, col, sorted(bad ^ defective)[:5])
        planned_bad += len(defective)
    assert planned_bad > 0
    # hrss writes an enrolment's mistyped ID on its contributions too.
    consistent = set(
        column(
            out / "hrss.db",
            "SELECT c.id FROM contributions c JOIN insured_persons i ON i.id = c.insured_id "
            "WHERE c.resident_id = i.resident_id",
        )
    )
    assert len(consistent) == query(out / "hrss.db", "SELECT count(*) FROM contributions")[0][0]


def test_every_credit_code_is_valid(sqlite_sources: Sources) -> None:
    out, _ = sqlite_sources
    codes = column(out / "market.db", "SELECT credit_code FROM enterprises")
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert uscc.is_valid(code), code
        assert code[0] == "9" and code[1] in "123"
        assert code[2:8] in {"630000", *PREFECTURE_BY_CODE, *COUNTY_BY_CODE}, code
    for system, table in (("hrss", "insured_persons"), ("medins", "enrolments")):
        rows = query(
            out / f"{system}.db",
            f"SELECT id, employer_credit_code FROM {table} WHERE employer_credit_code IS NOT NULL",
        )
        assert rows
        defective = _defective(out, system, table, "employer_credit_code")
        assert defective
        assert {i for i, c in rows if not uscc.is_valid(c)} == defective


def test_other_systems_reference_the_household_register(sqlite_sources: Sources) -> None:
    out, _ = sqlite_sources
    police = set(column(out / "police.db", "SELECT resident_id FROM persons"))
    for system, table, col in ID_COLUMNS[2:]:
        defective = _defective(out, system, table, col)
        found = query(out / f"{system}.db", f"SELECT id, {col} FROM {table}")
        missing = {n for i, n in found if i not in defective} - police
        assert not missing, (system, table, col, sorted(missing)[:3])
    market_bad = _defective(out, "market", "enterprises", "legal_rep_resident_id")
    reps = [
        n
        for i, n in query(out / "market.db", "SELECT id, legal_rep_resident_id FROM enterprises")
        if i not in market_bad
    ]
    outside = [r for r in reps if r not in police]
    assert 0 < len(outside) < 0.06 * len(reps)
    assert all(r[:6] in OUTSIDE_DIVISIONS for r in outside)
    # Employers are registered companies or the platform's own departments.
    companies = set(column(out / "market.db", "SELECT credit_code FROM enterprises"))
    organs = {d.credit_code for d in all_departments()}
    hrss_bad = _defective(out, "hrss", "insured_persons", "employer_credit_code")
    employers = {
        c
        for i, c in query(out / "hrss.db", "SELECT id, employer_credit_code FROM insured_persons")
        if c is not None and i not in hrss_bad
    }
    assert employers <= companies | organs
    assert employers & companies and employers & organs
    orphans = query(
        out / "hrss.db",
        "SELECT count(*) FROM contributions c LEFT JOIN insured_persons i ON i.id = c.insured_id "
        "WHERE i.id IS NULL OR i.resident_id <> c.resident_id",
    )[0][0]
    assert orphans == 0


def test_deliberate_inconsistencies_occur_at_documented_rates(sqlite_sources: Sources) -> None:
    out, _ = sqlite_sources
    conn = sqlite3.connect(out / "police.db")
    conn.execute(f"ATTACH DATABASE '{out / 'hrss.db'}' AS hrss")
    conn.execute(f"ATTACH DATABASE '{out / 'medins.db'}' AS medins")
    try:
        (total, phone_diff, name_diff) = conn.execute(
            "SELECT count(*), sum(i.phone <> p.phone), sum(i.name <> p.name) "
            "FROM hrss.insured_persons i JOIN persons p ON p.resident_id = i.resident_id "
            "WHERE p.phone IS NOT NULL"
        ).fetchone()
        assert PHONE_DRIFT / 2 < phone_diff / total < PHONE_DRIFT * 2
        assert 0 < name_diff / total < 0.03
        dead_active = conn.execute(
            "SELECT count(*) FROM medins.enrolments e JOIN persons p "
            "ON p.resident_id = e.resident_id WHERE p.status = '死亡' AND e.status = '参保缴费'"
        ).fetchone()[0]
        dead_ended = conn.execute(
            "SELECT count(*) FROM medins.enrolments e JOIN persons p "
            "ON p.resident_id = e.resident_id WHERE p.status = '死亡' AND e.status = '终止参保'"
        ).fetchone()[0]
        assert dead_ended > dead_active > 0
        duplicates = conn.execute(
            "SELECT count(*) FROM (SELECT resident_id FROM medins.enrolments "
            "GROUP BY resident_id HAVING count(*) > 1)"
        ).fetchone()[0]
        assert duplicates < 0.01 * total
    finally:
        conn.close()


def test_addresses_and_dates_are_plausible(sqlite_sources: Sources) -> None:
    out, _ = sqlite_sources
    for county_code, address in query(
        out / "police.db", "SELECT county_code, address FROM households"
    ):
        assert address.startswith(full_county_name(COUNTY_BY_CODE[county_code]))
    prefixes = ("青海", *(p.short for p in PREFECTURES), *(p.name for p in PREFECTURES))
    for name, county_code in query(out / "market.db", "SELECT name, county_code FROM enterprises"):
        county = COUNTY_BY_CODE[county_code]
        assert name.startswith((*prefixes, county.name, county.short)), name
    late = query(
        out / "police.db",
        "SELECT count(*) FROM persons WHERE birth_date > ? OR updated_at < registered_at",
        (AS_OF.isoformat(),),
    )[0][0]
    assert late == 0
    bad_money = query(
        out / "medins.db",
        "SELECT count(*) FROM settlements WHERE abs(fund_paid + self_paid - total_cost) > 0.011 "
        "OR fund_paid > total_cost",
    )[0][0]
    assert bad_money == 0


def _dump(directory: Path) -> dict[str, list[str]]:
    dumps = {}
    for db in sorted(directory.glob("*.db")):
        conn = sqlite3.connect(db)
        dumps[db.name] = list(conn.iterdump())
        conn.close()
    return dumps


def test_the_same_seed_builds_identical_sources(tmp_path: Path) -> None:
    a = build_sources(tmp_path / "a", persons=600, seed=3)
    b = build_sources(tmp_path / "b", persons=600, seed=3)
    c = build_sources(tmp_path / "c", persons=600, seed=4)
    assert _dump(tmp_path / "a") == _dump(tmp_path / "b")
    assert _dump(tmp_path / "a")["police.db"] != _dump(tmp_path / "c")["police.db"]
    assert a["systems"] == b["systems"]
    defects = [(tmp_path / x / DEFECTS_FILE).read_text() for x in "abc"]
    assert defects[0] == defects[1] != defects[2]
    assert c["persons"] > 0


def test_a_rebuild_replaces_the_previous_files(tmp_path: Path) -> None:
    build_sources(tmp_path, persons=900, seed=1)
    second = build_sources(tmp_path, persons=300, seed=1)
    rows = query(tmp_path / "police.db", "SELECT count(*) FROM persons")[0][0]
    duplicates = json.loads((tmp_path / DEFECTS_FILE).read_text())["duplicates"]
    twice = [d for d in duplicates if d["system"] == "police"]
    assert rows == second["persons"] + len(twice) < 900
    assert second["persons"] >= 300
