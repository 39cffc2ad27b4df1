"""Incremental loads by watermark from real MariaDB and PostgreSQL sources."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from govdata.config import Settings
from govdata.core.db import Database
from govdata.exchange.models import Pipeline
from govdata.lake.tables import Lake
from tests.exchange import engine_fixtures as ef
from tests.exchange.sourcedb import SourceDb, mariadb_db, postgres_db
from tests.identity.conftest import Org

SOURCES = pytest.mark.parametrize("source", [mariadb_db, postgres_db], ids=["mariadb", "postgres"])


def _table(src: SourceDb) -> None:
    ts = "DATETIME" if src.kind == "mariadb" else "TIMESTAMP"
    src.execute(f"CREATE TABLE orders (id INT PRIMARY KEY, status VARCHAR(10), changed {ts})")
    src.executemany(
        "INSERT INTO orders VALUES (%s, %s, %s)",
        [
            (1, "new", "2024-01-01 10:00:00"),
            (2, "new", "2024-01-01 10:00:05"),
            # Three rows share the highest watermark: the position must name the last key.
            (3, "new", "2024-01-01 10:00:09"),
            (4, "new", "2024-01-01 10:00:09"),
            (5, "new", "2024-01-01 10:00:09"),
        ],
    )


def _setup(org: Org, src: SourceDb, watermark: str = "changed") -> ef.Setup:
    info = src.connector().discover()[0]
    return ef.make_pipeline(
        org,
        kind="mariadb" if src.kind == "mariadb" else "postgresql",
        config=src.config(),
        target="orders",
        columns=ef.mapping_of(info),
        key_columns=["id"],
        watermark=watermark,
        pipeline_kind="incremental",
    )


def _state(settings: Settings, setup: ef.Setup) -> list[tuple[int, str]]:
    return [(r["id"], r["status"]) for r in ef.lake_rows(settings, setup.lake_table, "id")]


@SOURCES
def test_incremental_merges_changes_since_the_committed_position(
    org: Org, db: Database, settings: Settings, source: Callable[[], object]
) -> None:
    with source() as src:  # type: ignore[attr-defined]
        _table(src)
        setup = _setup(org, src)
        lake = Lake.from_settings(settings)

        first = ef.run(db, settings, setup)
        assert first.status == "succeeded", first.error_message
        assert _state(settings, setup) == [(i, "new") for i in range(1, 6)]
        assert first.position_after == {"watermark": "2024-01-01T10:00:09", "key": 5}
        commit = lake.history(setup.lake_table, 1)[0]
        assert json.loads(commit["govdata.position"]) == first.position_after

        # A row arriving at the same watermark with a higher key, an update that moves its
        # watermark, and a new row later on.
        src.execute("INSERT INTO orders VALUES (6, 'new', '2024-01-01 10:00:09')")
        src.execute(
            "UPDATE orders SET status = 'paid', changed = '2024-01-01 10:01:00' WHERE id = 2"
        )
        src.execute("INSERT INTO orders VALUES (7, 'new', '2024-01-01 10:01:00')")
        second = ef.run(db, settings, setup)
        assert second.status == "succeeded", second.error_message
        assert _state(settings, setup) == [
            (1, "new"),
            (2, "paid"),
            (3, "new"),
            (4, "new"),
            (5, "new"),
            (6, "new"),
            (7, "new"),
        ]
        assert (second.rows_read, second.rows_inserted, second.rows_updated) == (3, 2, 1)
        assert second.position_before == first.position_after
        assert second.position_after == {"watermark": "2024-01-01T10:01:00", "key": 7}
        assert second.lake_version_after == first.lake_version_after + 1

        # Nothing changed: nothing read, nothing committed.
        third = ef.run(db, settings, setup)
        assert third.status == "succeeded", third.error_message
        assert (third.rows_read, third.rows_written) == (0, 0)
        assert third.lake_version_after == second.lake_version_after
        assert third.position_after == second.position_after
        with db.transaction() as s:
            pipeline = s.get(Pipeline, setup.pipeline_id)
            assert pipeline is not None and pipeline.position == second.position_after


def test_position_comes_from_the_lake_not_the_pipeline_row(
    org: Org, db: Database, settings: Settings
) -> None:
    with mariadb_db() as src:
        _table(src)
        setup = _setup(org, src)
        assert ef.run(db, settings, setup).status == "succeeded"
        # A stale or tampered display mirror must not move the position.
        with db.transaction() as s:
            pipeline = s.get(Pipeline, setup.pipeline_id)
            assert pipeline is not None
            pipeline.position = {"watermark": "2030-01-01T00:00:00", "key": 999}
        src.execute("INSERT INTO orders VALUES (8, 'late', '2024-01-02 00:00:00')")
        run = ef.run(db, settings, setup)
        assert run.status == "succeeded", run.error_message
        assert (8, "late") in _state(settings, setup)


def test_increasing_key_as_watermark(org: Org, db: Database, settings: Settings) -> None:
    with postgres_db() as src:
        _table(src)
        setup = _setup(org, src, watermark="id")
        first = ef.run(db, settings, setup)
        assert first.status == "succeeded", first.error_message
        src.executemany(
            "INSERT INTO orders VALUES (%s, %s, %s)",
            [(i, "new", "2020-01-01 00:00:00") for i in range(6, 106)],
        )
        run = ef.run(db, settings, setup)
        assert run.status == "succeeded", run.error_message
        assert (run.rows_read, run.rows_inserted) == (100, 100)
        assert run.position_after == {"watermark": 105, "key": 105}
        assert len(_state(settings, setup)) == 105
