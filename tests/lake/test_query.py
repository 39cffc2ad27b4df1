"""Read-only SQL over lake tables: real DuckDB over real Delta tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from govdata.core.errors import InvalidInput
from govdata.lake import Lake, check_select, run_select


def test_join_across_two_lake_tables(lake: Lake) -> None:
    result = run_select(
        lake,
        "SELECT p.name, c.title FROM pop.people p JOIN geo.counties c ON p.county = c.code "
        "ORDER BY p.id",
    )
    assert result.to_pylist() == [
        {"name": "张三", "title": "城东区"},
        {"name": "李四", "title": "城东区"},
        {"name": "王五", "title": "城中区"},
    ]


def test_aggregate_with_cte_and_union(lake: Lake) -> None:
    result = run_select(
        lake,
        "WITH per AS (SELECT county, count(*) AS n FROM pop.people GROUP BY county) "
        "SELECT county, n FROM per WHERE n > 1 "
        "UNION ALL SELECT 'total', count(*) FROM pop.people ORDER BY county",
    )
    assert result.to_pylist() == [{"county": "630102", "n": 2}, {"county": "total", "n": 4}]


def test_query_sees_current_version(tmp_path: Path) -> None:
    import pyarrow as pa

    lake = Lake(tmp_path)
    schema = pa.schema([("id", pa.int64())])
    lake.create("s.t", schema)
    lake.append("s.t", pa.table({"id": [1, 2]}, schema=schema))
    lake.overwrite("s.t", pa.table({"id": [5]}, schema=schema))
    assert run_select(lake, "SELECT sum(id) AS s FROM s.t").to_pylist() == [{"s": 5}]


REFUSED = [
    "INSERT INTO pop.people VALUES (9, 'x', 'y')",
    "DROP TABLE pop.people",
    "DELETE FROM pop.people",
    "UPDATE pop.people SET name = 'x'",
    "CREATE TABLE x AS SELECT 1",
    "SELECT 1; SELECT 2",
    "SELECT * FROM pop.people; DROP TABLE pop.people",
    "COPY pop.people TO '/tmp/out.csv'",
    "ATTACH '/tmp/x.db' AS x",
    "PRAGMA database_list",
    "SET enable_external_access = true",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('/tmp/x.parquet')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM query('DROP TABLE pop.people')",
    "SELECT getenv('HOME')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM __lake_0",
    "SELECT * FROM pop.nothing",
    "SELECT * FROM people",
    "DESCRIBE pop.people",
    "CALL pragma_version()",
    "",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_refused(lake: Lake, sql: str) -> None:
    with pytest.raises(InvalidInput) as err:
        run_select(lake, sql)
    assert err.value.code == "sql_not_allowed"
    assert "SELECT" in err.value.message_zh and "SELECT" in err.value.message_en


def test_check_select_reports_tables() -> None:
    tables = check_select(
        "SELECT * FROM pop.people JOIN geo.counties ON true", ["pop.people", "geo.counties"]
    )
    assert [str(t) for t in tables] == ["geo.counties", "pop.people"]


def test_runtime_error_is_clear(lake: Lake) -> None:
    with pytest.raises(InvalidInput) as err:
        run_select(lake, "SELECT no_such_column FROM pop.people")
    assert err.value.code == "sql_failed"
