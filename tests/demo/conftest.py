"""Demo fixtures: a small SQLite source build, and a whole demo built once, shared by tests."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from govdata.config import Settings
from govdata.core.db import Database
from govdata.demo import builder
from govdata.demo.sources.build import build_sources
from govdata.demo.sources.writer import MariaDBSettings

PERSONS = 3000
# People in the demo built end to end (sources, catalog, collection, sharing).
DEMO_PERSONS = 300
SEED = 7


@pytest.fixture(scope="session")
def sqlite_sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """(sources directory, manifest) of a 3000-person SQLite build."""
    out = tmp_path_factory.mktemp("sources")
    manifest = build_sources(out, persons=PERSONS, seed=SEED)
    return out, manifest


def query(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def column(db: Path, sql: str) -> list[Any]:
    return [row[0] for row in query(db, sql)]


# The whole demo, built once per run on a SQLite store with SQLite sources: its tests read it.
def _settings(data_dir: Path, url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key="test-secret-key-" + "x" * 32,
        embedded_worker=False,
        demo_mode=True,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        job_poll_seconds=0.2,
    )


def _build(
    tmp: Path, sqlite_template: Path, engine: str, mariadb: MariaDBSettings | None = None
) -> tuple[Database, Settings, dict[str, Any]]:
    store = tmp / "govdata.db"
    shutil.copy(sqlite_template, store)
    settings = _settings(tmp / "data", f"sqlite:///{store}")
    db = Database(settings.db_url)
    plan = builder.plan("small", engine, DEMO_PERSONS)  # type: ignore[arg-type]
    _seeded, manifest = builder.build(settings, db, plan, mariadb=mariadb)
    return db, settings, manifest


@pytest.fixture(scope="session")
def sqlite_demo(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Database, Settings, dict[str, Any]]]:
    db, settings, manifest = _build(
        tmp_path_factory.mktemp("demo_exchange"), sqlite_template, "sqlite"
    )
    yield db, settings, manifest
    db.dispose()
