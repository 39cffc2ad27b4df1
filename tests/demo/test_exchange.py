"""The demo's collection stage: sources registered, entries mounted, first loads, the CDC stream."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest
from sqlalchemy import select

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs.embedded import EmbeddedWorker
from govdata.core.jobs.models import Job
from govdata.demo.exchange import LOGICAL, PHYSICAL
from govdata.demo.sources.writer import MariaDBSettings, drop_mariadb_databases, mariadb_connect
from govdata.exchange import logical
from govdata.exchange.models import Mount, Pipeline
from govdata.lake.tables import Lake
from govdata.sources.models import SourceSystem
from tests import services
from tests.demo.conftest import _build
from tests.demo.test_catalog import caller_for

PERSONS = 300


def _mounts(db: Database) -> dict[str, Mount]:
    with db.transaction() as s:
        rows = list(s.scalars(select(Mount)))
        s.expunge_all()
    return {m.target: m for m in rows}


def test_every_source_table_is_mounted_half_logical_half_physical(
    sqlite_demo: tuple[Database, Settings, dict[str, Any]],
) -> None:
    db, _settings, manifest = sqlite_demo
    # The source systems' tables; the open-data stage mounts departments' files as well.
    mounts = {t: m for t, m in _mounts(db).items() if m.target_kind == "table"}
    assert {m.target for m in mounts.values()} == {t for _s, t in [*PHYSICAL, *LOGICAL]}
    modes = sorted(m.mode for m in mounts.values())
    assert modes.count("logical") == modes.count("physical") == 5
    with db.transaction() as s:
        sources = {src.name: src.kind for src in s.scalars(select(SourceSystem))}
        kinds = {p.kind for p in s.scalars(select(Pipeline))}
    systems = {system["name"] for system in manifest["systems"]}
    assert {name: kind for name, kind in sources.items() if name in systems} == dict.fromkeys(
        systems, "sqlite"
    )
    assert kinds == {"full", "incremental", "cdc"}


def test_first_loads_copied_every_row_and_cdc_waits_for_the_server(
    sqlite_demo: tuple[Database, Settings, dict[str, Any]],
) -> None:
    db, settings, manifest = sqlite_demo
    lake = Lake.from_settings(settings)
    mounts = _mounts(db)
    paths = {s["code"]: settings.data_dir / "sources" / s["path"] for s in manifest["systems"]}
    for system, table in PHYSICAL:
        mount = mounts[table]
        assert mount.lake_table is not None
        # The register (CDC) too: the governance stage ran its stream's first load.
        with sqlite3.connect(paths[system]) as conn:
            (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert lake.info(mount.lake_table).num_rows == count > 0, table
    with db.transaction() as s:
        queued = s.scalars(select(Job).where(Job.queue == "cdc", Job.status == "queued")).all()
    assert len(queued) == 1  # handed back: the server's CDC worker streams on


def test_a_logical_mount_reads_the_source_in_place(
    sqlite_demo: tuple[Database, Settings, dict[str, Any]],
) -> None:
    db, settings, manifest = sqlite_demo
    mount = _mounts(db)["settlements"]
    path = (
        settings.data_dir
        / "sources"
        / next(s["path"] for s in manifest["systems"] if s["code"] == "medins")
    )
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE settlements SET total_cost = 4321.5 WHERE id = 1")
    field = next(c["field"] for c in mount.columns if c["column"] == "total_cost")
    with caller_for(db, settings, "medins_officer").act() as ctx:
        rows = logical.read_mount(ctx, mount.id, limit=5)
    assert rows.num_rows == 5
    assert 4321.5 in [float(v) for v in rows.column(field).to_pylist()]


@pytest.fixture
def mariadb() -> Iterator[MariaDBSettings]:
    services.need("MariaDB", services.mariadb_up())
    settings = MariaDBSettings.model_validate(
        {**services.MARIADB, "prefix": f"govdata_tx_{os.getpid()}_"}
    )
    yield settings
    drop_mariadb_databases(settings, settings.prefix)


def test_with_mariadb_sources_a_row_inserted_reaches_the_lake_within_seconds(
    sqlite_template: Path, tmp_path: Path, mariadb: MariaDBSettings
) -> None:
    db, settings, _manifest = _build(tmp_path, sqlite_template, "mariadb", mariadb)
    table = _mounts(db)["persons"].lake_table
    assert table is not None
    lake = Lake.from_settings(settings)
    conn = mariadb_connect(mariadb, mariadb.prefix + "police")
    workers = EmbeddedWorker(db, settings)
    workers.start()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM persons")
            (count,) = cur.fetchone()
        _wait(lambda: lake.exists(table) and lake.info(table).num_rows == count, 60)
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO persons (id, resident_id, name, gender, ethnicity, birth_date, "
                "household_no, relation, county_code, address, phone, marital_status, education, "
                "status, registered_at, updated_at) SELECT 9000001, '630102202611250018', "
                "'新生儿', gender, ethnicity, '2026-11-25', household_no, '子', county_code, "
                "address, NULL, NULL, NULL, '正常', NOW(), NOW() FROM persons ORDER BY id LIMIT 1"
            )
        conn.commit()
        inserted = time.monotonic()

        def arrived() -> bool:
            rows = lake.read(table)
            names = rows.column(rows.schema.names[rows.schema.get_field_index("name")])
            return bool(pc.any(pc.equal(names, "新生儿")).as_py())

        _wait(arrived, 30)
        assert time.monotonic() - inserted < 10
    finally:
        conn.close()
        workers.stop()
        db.dispose()


def _wait(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not reached within {seconds} s")
        time.sleep(0.1)


def test_lake_tables_names_each_tables_entry(
    sqlite_demo: tuple[Database, Settings, dict[str, Any]],
) -> None:
    from typer.testing import CliRunner

    from govdata.cli import app

    db, settings, _manifest = sqlite_demo
    mount = _mounts(db)["households"]
    with db.transaction() as s:
        entry = s.get(CatalogEntry, mount.entry_id)
        assert entry is not None
        expected = f"{entry.resource_code} {entry.name}"
    result = CliRunner().invoke(
        app,
        ["lake", "tables", "--data-dir", str(settings.data_dir)],
        env={"GOVDATA_DATABASE_URL": settings.db_url, "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    line = next(row for row in result.output.splitlines() if str(mount.lake_table) in row)
    assert expected in line
