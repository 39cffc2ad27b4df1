"""Custom quality rules: a condition over the entry's fields is accepted and runs in DuckDB;
anything else — statements, subqueries, table functions, other tables, unknown fields or
functions — is refused with a clear error before it can run."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from govdata.core.errors import InvalidInput
from govdata.governance.predicates import parse_predicate, to_duckdb

FIELDS = ["name", "age", "phone", "region_code"]
ROWS = pa.table(
    {
        "name": ["张三", "", "李四", None],
        "age": [36, 200, 41, 7],
        "phone": ["13800001111", "1380000", "13900002222", None],
        "region_code": ["630102", "630102", "632801", "110105"],
    }
)


def _passing(condition: str) -> list[str | None]:
    tree = parse_predicate(condition, FIELDS)
    con = duckdb.connect()
    try:
        con.register("rows", ROWS)
        sql = f"SELECT name FROM rows WHERE {to_duckdb(tree)} ORDER BY age"
        return [r[0] for r in con.execute(sql).fetchall()]
    finally:
        con.close()


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("age BETWEEN 0 AND 150", ["张三", "李四", None]),
        ("length(name) >= 2 AND name IS NOT NULL", ["张三", "李四"]),
        ("regexp_full_match(phone, '1[3-9][0-9]{9}')", ["张三", "李四"]),
        ("region_code LIKE '63%' AND NOT age > 40", ["张三"]),
        ("try_strptime(region_code, '%Y%m%d') IS NULL AND ends_with(region_code, '01')", ["李四"]),
        ("coalesce(phone, '') = '' AND region_code IN ('110105')", [None]),
        (
            "CASE WHEN age < 18 THEN phone IS NULL ELSE length(phone) = 11 END",
            [None, "张三", "李四"],
        ),
    ],
)
def test_a_condition_over_the_fields_runs(condition: str, expected: list[str | None]) -> None:
    got = _passing(condition)
    assert sorted(got, key=str) == sorted(expected, key=str)


@pytest.mark.parametrize(
    ("condition", "says"),
    [
        ("age > 1; DROP TABLE rows", "one condition"),
        ("DELETE FROM rows", "must be a condition"),
        ("(SELECT count(*) FROM rows) > 1", "SUBQUERY"),
        ("age IN (SELECT age FROM rows)", "SUBQUERY"),
        ("EXISTS (SELECT 1)", "must be a condition"),
        ("read_csv('/etc/passwd') IS NOT NULL", "READ_CSV"),
        ("getenv('HOME') = 'x'", "getenv"),
        ("other.age > 1", "own fields"),
        ("salary > 1", "no field salary"),
        ("age + 1", "must be a condition"),
        ("try_strptime(region_code, '%Y')", "must be a condition"),
        ("", "empty"),
        ("age >", "does not parse"),
        ("age > " + "1 + " * 600 + "1", "longer than"),
    ],
)
def test_anything_else_is_refused(condition: str, says: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_predicate(condition, FIELDS)
    assert err.value.code == "quality_predicate_invalid"
    assert says in err.value.message_en
    assert "自定义规则条件无效" in err.value.message_zh
