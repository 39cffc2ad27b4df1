"""Quality rules run in one DuckDB pass over a stream of batches: every kind counts exactly
the rows it should on a table with planted defects, and a bad rule is refused."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from govdata.core.errors import InvalidInput
from govdata.governance.rules_sql import RuleSpec, compile_rules, run_rules
from govdata.governance.validators import resident_id_check
from govdata.lake.tables import Lake

GOOD_ID = "63010219900101123" + resident_id_check("63010219900101123")
BAD_ID = GOOD_ID[:17] + ("0" if GOOD_ID[17] != "0" else "1")

ROWS = [
    # id, name, age, phone, region, born, credit
    (GOOD_ID, "张三", 36, "13800001111", "630102", "1990-01-01", "91350100M000100Y43"),
    (BAD_ID, "李四", 41, "1380000111", "630102", "1990-02-30", "91350100M000100Y44"),
    (GOOD_ID, None, 200, "13900002222", "999999", "2001-13-01", None),
    (None, "王五", -1, None, "632801", None, "91350100M000100Y43"),
    ("123", "赵六", 26, "23800001111", "632801", "2000-12-31", "abc"),
]
NAMES = ["resident_id", "name", "age", "phone", "region_code", "birth_date", "credit_code"]


def stream(batch_rows: int = 2) -> pa.RecordBatchReader:
    table = pa.Table.from_pylist([dict(zip(NAMES, r, strict=True)) for r in ROWS])
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(batch_rows))


RULES = [
    (RuleSpec("r1", "not_null", "name"), 5, 1),
    (RuleSpec("r2", "unique", "resident_id"), 4, 1),
    (RuleSpec("r3", "resident_id", "resident_id"), 4, 2),
    (RuleSpec("r4", "range", "age", {"min": 0, "max": 150}), 5, 2),
    (RuleSpec("r5", "mobile", "phone"), 4, 2),
    (RuleSpec("r6", "allowed", "region_code", {"values": ["630102", "632801"]}), 5, 1),
    (RuleSpec("r7", "date_valid", "birth_date", {"format": "%Y-%m-%d"}), 4, 2),
    (RuleSpec("r8", "length", "name", {"min": 2, "max": 2}), 4, 0),
    (RuleSpec("r9", "pattern", "region_code", {"regex": "63[0-9]{4}"}), 5, 1),
    (RuleSpec("r10", "credit_code", "credit_code"), 4, 2),
    (RuleSpec("r11", "custom", None, {"predicate": "age >= 0 AND phone IS NOT NULL"}), 5, 1),
]


def test_every_kind_counts_what_it_should_in_one_pass() -> None:
    counts = run_rules(stream(), [r for r, _, _ in RULES])
    assert [(c.rule_id, c.checked, c.failed) for c in counts] == [
        (r.id, checked, failed) for r, checked, failed in RULES
    ]
    assert counts[0].pass_rate == pytest.approx(0.8)
    # One statement: every rule is an aggregate of the same scan.
    sql = compile_rules([r for r, _, _ in RULES], NAMES).sql(dialect="duckdb")
    assert sql.count("FROM") == 1


@pytest.mark.parametrize(
    "rule",
    [
        RuleSpec("x", "not_null", "salary"),
        RuleSpec("x", "no_such_kind", "name"),
        RuleSpec("x", "allowed", "name", {"values": []}),
        RuleSpec("x", "custom", None, {"predicate": "(SELECT 1) = 1"}),
    ],
)
def test_a_bad_rule_is_refused_before_anything_runs(rule: RuleSpec) -> None:
    with pytest.raises(InvalidInput) as err:
        run_rules(stream(), [rule])
    assert err.value.code in ("quality_rule_invalid", "quality_predicate_invalid")


def test_rules_run_over_a_lake_table_as_it_streams(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    table = pa.Table.from_pylist([dict(zip(NAMES, r, strict=True)) for r in ROWS])
    lake.create("quality.people", table.schema)
    for _ in range(3):  # three commits: the scan reads several files
        lake.append("quality.people", table)
    counts = run_rules(lake.scan("quality.people", batch_size=4), [r for r, _, _ in RULES])
    assert [(c.checked, c.failed) for c in counts] == [
        (3 * checked, 3 * failed) if r.kind != "unique" else (3 * checked, 3 * checked - 3)
        for r, checked, failed in RULES
    ]
