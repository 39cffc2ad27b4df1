"""The MariaDB source systems: one database per system, keys, comments, same data as SQLite."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from govdata.core.errors import InvalidInput
from govdata.demo.sources.build import build_sources
from govdata.demo.sources.writer import MariaDBSettings, drop_mariadb_databases, mariadb_connect
from govdata.standards import resident_id
from tests import services

PERSONS = 1200
SEED = 9


@pytest.fixture(scope="module")
def mariadb() -> Iterator[MariaDBSettings]:
    services.need("MariaDB", services.mariadb_up())
    # A prefix of its own, so the test never touches a real demo's govdata_demo_* databases.
    settings = MariaDBSettings.model_validate(
        {**services.MARIADB, "prefix": f"govdata_test_{os.getpid()}_"}
    )
    yield settings
    drop_mariadb_databases(settings, settings.prefix)


@pytest.fixture(scope="module")
def built(
    mariadb: MariaDBSettings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("mariadb")
    manifest = build_sources(
        out / "sources", persons=PERSONS, seed=SEED, engine="mariadb", mariadb=mariadb
    )
    build_sources(out / "sqlite", persons=PERSONS, seed=SEED)
    return manifest, out


def _fetch(settings: MariaDBSettings, database: str | None, sql: str) -> list[tuple[Any, ...]]:
    conn = mariadb_connect(settings, database)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def test_one_database_per_system_with_true_row_counts(
    mariadb: MariaDBSettings, built: tuple[dict[str, Any], Path]
) -> None:
    manifest, out = built
    assert (out / "sources" / "manifest.json").exists()
    assert "password" not in (out / "sources" / "manifest.json").read_text()
    for system in manifest["systems"]:
        assert system["engine"] == "mariadb"
        assert system["database"] == mariadb.prefix + system["code"]
        assert (system["host"], system["port"]) == (mariadb.host, mariadb.port)
        for t in system["tables"]:
            count = _fetch(mariadb, system["database"], f"SELECT count(*) FROM `{t['name']}`")
            assert count[0][0] == t["rows"] > 0


def test_tables_have_keys_indexes_and_comments(
    mariadb: MariaDBSettings, built: tuple[dict[str, Any], Path]
) -> None:
    database = mariadb.prefix + "police"
    comments = dict(
        _fetch(
            mariadb,
            None,
            "SELECT table_name, table_comment FROM information_schema.tables "
            f"WHERE table_schema = '{database}'",
        )
    )
    assert comments == {"persons": "户籍人口信息", "households": "户籍户信息"}
    columns = dict(
        _fetch(
            mariadb,
            None,
            "SELECT column_name, column_comment FROM information_schema.columns "
            f"WHERE table_schema = '{database}' AND table_name = 'persons'",
        )
    )
    assert columns["resident_id"] == "公民身份号码"
    indexes = {
        (name, col, unique)
        for name, col, unique in _fetch(
            mariadb,
            None,
            "SELECT index_name, column_name, non_unique = 0 FROM information_schema.statistics "
            f"WHERE table_schema = '{database}' AND table_name = 'persons'",
        )
    }
    assert ("PRIMARY", "id", 1) in indexes
    assert ("uq_persons_resident_id", "resident_id", 1) in indexes
    assert ("ix_persons_updated_at", "updated_at", 0) in indexes


def test_same_seed_same_rows_as_sqlite(
    mariadb: MariaDBSettings, built: tuple[dict[str, Any], Path]
) -> None:
    _, out = built
    maria = _fetch(
        mariadb,
        mariadb.prefix + "police",
        "SELECT id, resident_id, name, birth_date, address, phone, updated_at "
        "FROM persons ORDER BY id",
    )
    conn = sqlite3.connect(out / "sqlite" / "police.db")
    lite = conn.execute(
        "SELECT id, resident_id, name, birth_date, address, phone, updated_at "
        "FROM persons ORDER BY id"
    ).fetchall()
    conn.close()
    normalised = [
        (i, rid, name, str(born), addr, phone, str(upd))
        for i, rid, name, born, addr, phone, upd in maria
    ]
    assert normalised == [tuple(r) for r in lite]
    assert all(resident_id.is_valid(r[1]) for r in maria)


def test_bad_database_prefix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_sources(
            tmp_path,
            persons=10,
            seed=1,
            engine="mariadb",
            mariadb=MariaDBSettings(prefix="bad`name"),
        )
    assert caught.value.code == "invalid_db_prefix"
