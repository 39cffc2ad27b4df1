"""Shared fixtures: a migrated metadata store on SQLite and on PostgreSQL, settings, an app client.

Each test gets a fresh store copied from a template migrated once per run:
a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL. A test's PostgreSQL
store commits without waiting for the WAL flush (``synchronous_commit = off``: only a crash
of the server could lose a commit, which no test does) and is dropped off the test's path
(tests/pgdrop.py).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from govdata.config import Settings
from govdata.core.db import Database
from tests import pgdrop, services

STORES = ["sqlite", "postgres"]

# pytest-xdist's workers start with COLUMNS=80 in their environment. The CLI's Rich console,
# made when a test module imports govdata.cli, would keep the width it finds then for good
# and ignore the COLUMNS the CLI tests set; without one it reads COLUMNS as it prints.
os.environ.pop("COLUMNS", None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``-n 2 --dist loadfile`` (``make test``): whole files to each worker, the demo's files
    together, longest first (tests/xdist_schedule.py)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.xdist_schedule import FileScheduling

    return FileScheduling(config, log)  # type: ignore[arg-type]


def _pg_url(dbname: str) -> str:
    return services.PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname


def _pg_admin_exec(*statements: str) -> None:
    engine = create_engine(services.PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for sql in statements:
                conn.execute(text(sql))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    services.need("PostgreSQL", services.postgres_up())
    name = f"govdata_tpl_{os.getpid()}"
    _pg_admin_exec(f'DROP DATABASE IF EXISTS "{name}"')
    _pg_admin_exec(f'CREATE DATABASE "{name}"')
    db = Database(_pg_url(name))
    db.migrate()
    db.dispose()
    yield name
    _pg_admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
def _pg_drops() -> Iterator[None]:
    """Stores and source databases are dropped in the background (tests/pgdrop.py); the
    session waits for the last drops."""
    yield
    pgdrop.finish()


def fresh_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Yield the URL of a new migrated store of ``kind``; drop it afterwards."""
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "govdata.db"
        shutil.copy(template, target)
        yield f"sqlite:///{target}"
        return
    tpl: str = request.getfixturevalue("pg_template")
    name = f"govdata_t_{uuid.uuid4().hex[:12]}"
    try:
        _pg_admin_exec(
            f'CREATE DATABASE "{name}" TEMPLATE "{tpl}"',
            f'ALTER DATABASE "{name}" SET synchronous_commit = off',
        )
        yield _pg_url(name)
    finally:
        pgdrop.drop_later(services.PG_ADMIN_URL, name)


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated metadata store; every test using it runs on SQLite and PostgreSQL."""
    yield from fresh_store(request.param, tmp_path, request)


@pytest.fixture
def sqlite_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite store, for tests about behaviour that does not depend on the store."""
    yield from fresh_store("sqlite", tmp_path, request)


@pytest.fixture
def pg_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_store("postgres", tmp_path, request)


@pytest.fixture
def settings(store_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=store_url,
        secret_key="test-secret-key-" + "x" * 32,
        embedded_worker=False,
        # Tests seal the audit ledger when they mean to; a sealer thread would race them.
        ledger_seal_seconds=0,
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.db_url)
    yield database
    database.dispose()
