"""Demo fixtures: one small SQLite source build shared by the module's tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from govdata.demo.sources.build import build_sources

PERSONS = 3000
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
