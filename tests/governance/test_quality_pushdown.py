"""Quality rules over a logically accessed MariaDB or PostgreSQL table: the portable rules are
counted by the source itself over the capped rows, in its own dialect; the others run in
DuckDB over the same capped rows; both give what the rows hold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from govdata.exchange import mounts
from govdata.exchange.schemas import MappingColumn, MountCreate
from govdata.governance import quality_runs
from govdata.sources.models import SourceSystem
from tests.catalog.conftest import org, settings
from tests.exchange.sourcedb import SourceDb, mariadb_db, postgres_db
from tests.governance import quality_fixtures as qf
from tests.identity.conftest import Org, audit_rows

__all__ = ["org", "settings"]

DDL = (
    "CREATE TABLE people (id_no VARCHAR(20) PRIMARY KEY, xm VARCHAR(50), mobile VARCHAR(20),"
    " region VARCHAR(6), age INT)"
)
# 10 rows; the mount's cap is 8, so the last two (one bad in every way) are never read.
ROWS = [
    (qf.GOOD[0], "张三", "13800001111", "630102", 36),
    (qf.GOOD[1], None, "13900002222", "630102", 41),
    (qf.GOOD[2], "王五", "1390000222", "630102", 250),
    (qf.GOOD[3], "赵六六六六六", "13600004444", "999999", 26),
    (qf.GOOD[4], "钱七", "13500005555", "632801", -1),
    (qf.GOOD[5], "孙八", None, "630102", 30),
    (qf.BAD_CHECK, "周九", "13300003333", "630102", 30),
    ("630102900101123", "吴十", "13200002222", "630102", None),
    ("zzzz00000000000000", None, "1", "000000", 999),
    ("zzzz00000000000001", None, "1", "000000", 999),
]


@pytest.fixture(params=["mariadb", "postgres"])
def source(request: pytest.FixtureRequest) -> Iterator[SourceDb]:
    open_db = mariadb_db if request.param == "mariadb" else postgres_db
    with open_db() as src:
        src.execute(DDL)
        src.executemany("INSERT INTO people VALUES (%s, %s, %s, %s, %s)", ROWS)
        yield src


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_portable_rules_are_counted_at_the_source_under_the_cap(
    org: Org, tmp_path: Path, source: SourceDb
) -> None:
    e = qf.make_entry(org)
    with org.db.transaction() as s:
        row = SourceSystem(
            department_id=org.dept["xn_stats"],
            name="户籍系统",
            kind="mariadb" if source.kind == "mariadb" else "postgresql",
            config=source.config(),
            status="ok",
        )
        s.add(row)
        s.flush()
        source_id = row.id
    with org.as_("xn_officer").act() as ctx:
        mounts.create_mount(
            ctx,
            MountCreate(
                entry_id=e.id,
                source_id=source_id,
                target="people",
                mode="logical",
                columns=[
                    MappingColumn(
                        item="公民身份号码", column="id_no", field="resident_id", type="string"
                    ),
                    MappingColumn(item="姓名", column="xm", field="name", type="string"),
                    MappingColumn(item="手机号码", column="mobile", field="phone", type="string"),
                    MappingColumn(
                        item="户籍地区划", column="region", field="region_code", type="string"
                    ),
                    MappingColumn(item="年龄", column="age", field="age", type="int64"),
                ],
                key_columns=["resident_id"],
                row_cap=8,
            ),
        )
    rules = {
        "not_null": qf.add_rule(org, e, kind="not_null", item="姓名"),
        "unique": qf.add_rule(org, e, kind="unique", item="户籍地区划"),
        "length": qf.add_rule(org, e, kind="length", item="姓名", params={"min": 2, "max": 4}),
        "range": qf.add_rule(org, e, kind="range", item="年龄", params={"min": 0, "max": 150}),
        "allowed": qf.add_rule(
            org, e, kind="allowed", item="户籍地区划", params={"values": ["630102", "632801"]}
        ),
        # Not portable: run in DuckDB over the same capped rows.
        "mobile": qf.add_rule(org, e, kind="mobile", item="手机号码"),
        "resident_id": qf.add_rule(org, e, kind="resident_id", item="公民身份号码"),
    }
    with org.as_("xn_officer").act() as ctx:
        out = quality_runs.run_entry(ctx, e.id)
    assert out.status == "succeeded", out.error_message
    assert (out.rows_total, out.source_capped, out.lake_table) == (8, True, None)
    got = {r.rule_id: (r.checked, r.failed) for r in out.results}
    # The source's row order is its primary key's: the capped rows are ROWS[:8] by id_no.
    assert {k: got[v] for k, v in rules.items()} == {
        "not_null": (8, 1),
        "unique": (8, 5),  # 630102 six times, 999999, 632801: 8 values, 3 distinct
        "length": (7, 1),
        "range": (7, 2),
        "allowed": (8, 1),
        "mobile": (7, 1),
        "resident_id": (8, 2),
    }
    (audit,) = audit_rows(org.db, "governance.quality.run")
    portable = ("not_null", "unique", "length", "range", "allowed")
    assert audit["details"]["counted_at_source"] == sorted(rules[k] for k in portable)
