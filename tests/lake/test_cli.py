"""``govdata lake`` through the real Typer app."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from govdata.cli import app

runner = CliRunner()


def test_tables_lists_entry_version_rows(data_dir: Path) -> None:
    result = runner.invoke(app, ["lake", "tables", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    cells = [line.replace("│", " ").split() for line in result.output.splitlines()]
    rows = {c[0]: c for c in cells if c and c[0] in ("pop.people", "geo.counties")}
    assert rows["pop.people"][:4] == ["pop.people", "entry-people", "1", "4"]
    assert rows["geo.counties"][:3] == ["geo.counties", "1", "2"]  # no entry recorded


def test_query_csv(data_dir: Path) -> None:
    sql = "SELECT county, count(*) AS n FROM pop.people GROUP BY county ORDER BY county"
    result = runner.invoke(
        app, ["lake", "query", sql, "--format", "csv", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    assert list(csv.DictReader(io.StringIO(result.stdout))) == [
        {"county": "630102", "n": "2"},
        {"county": "630103", "n": "1"},
        {"county": "630104", "n": "1"},
    ]


def test_query_json_and_table(data_dir: Path) -> None:
    sql = "SELECT id, name FROM pop.people WHERE id <= 2 ORDER BY id"
    result = runner.invoke(
        app, ["lake", "query", sql, "--format", "json", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"id": 1, "name": "张三"}, {"id": 2, "name": "李四"}]
    table = runner.invoke(app, ["lake", "query", sql, "--data-dir", str(data_dir)])
    assert table.exit_code == 0
    assert "张三" in table.stdout and "2 rows" in table.stdout


def test_query_refusal_exits_2(data_dir: Path) -> None:
    result = runner.invoke(
        app, ["lake", "query", "DROP TABLE pop.people", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 2
    message = " ".join(result.output.split())  # Rich wraps long lines
    assert "sql_not_allowed" in message
    assert "仅允许一条只读的 SELECT" in message
    assert "Only one read-only SELECT" in message
    again = runner.invoke(
        app,
        [
            "lake",
            "query",
            "SELECT count(*) AS n FROM pop.people",
            "--format",
            "json",
            "--data-dir",
            str(data_dir),
        ],
    )
    assert json.loads(again.stdout) == [{"n": 4}]


def test_queries_are_audited(data_dir: Path) -> None:
    """Reading lake data from the CLI leaves an audit record, refused or not."""
    from govdata.cli import load_settings
    from govdata.core.db import Database

    sql = "SELECT id FROM pop.people ORDER BY id"
    assert runner.invoke(app, ["lake", "query", sql, "--data-dir", str(data_dir)]).exit_code == 0
    refused = runner.invoke(
        app, ["lake", "query", "DELETE FROM pop.people", "--data-dir", str(data_dir)]
    )
    assert refused.exit_code == 2
    db = Database(load_settings(data_dir).db_url)
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT actor_name, outcome, row_count, details FROM audit_records "
                    "WHERE action = 'lake.query' ORDER BY at"
                )
            ).all()
    finally:
        db.dispose()
    assert [(r.actor_name, r.outcome, r.row_count) for r in rows][-2:] == [
        ("cli", "success", 4),
        ("cli", "denied", None),
    ]
    details = rows[-2].details
    assert (json.loads(details) if isinstance(details, str) else details)["sql"] == sql
