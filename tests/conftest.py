"""Shared fixtures: a migrated metadata store on SQLite and on PostgreSQL, settings, an app client.

Each test gets a fresh store copied from a template migrated once per run:
a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL. A test's PostgreSQL
store commits without waiting for the WAL flush (``synchronous_commit = off``: only a crash
of the server could lose a commit, which no test does) and is dropped off the test's path:
``DROP DATABASE`` makes the server checkpoint before it returns, seconds on a busy machine.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from govdata.config import Settings
from govdata.core.db import Database
from tests import services

STORES = ["sqlite", "postgres"]


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


class PgDropper:
    """Drops the stores tests are done with, in a thread of its own.

    Every ``DROP DATABASE`` asks PostgreSQL for a checkpoint (every dirty buffer of the
    server written and synced) and waits for it. The thread takes all the names that piled
    up while it was busy and drops them at once, each on a connection of its own: drops
    that wait together share one checkpoint. ``close`` drops what is left and raises the
    first error, if any."""

    PARALLEL = 8

    def __init__(self) -> None:
        self._names: list[str] = []
        self._errors: list[BaseException] = []
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="pg-dropper", daemon=True)
        self._thread.start()

    def drop(self, name: str) -> None:
        with self._cond:
            if not self._closed:
                self._names.append(name)
                self._cond.notify()
                return
        _pg_admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _run(self) -> None:
        engine = create_engine(
            services.PG_ADMIN_URL,
            isolation_level="AUTOCOMMIT",
            pool_size=self.PARALLEL,
            max_overflow=0,
        )

        def drop(name: str) -> None:
            try:
                with engine.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception as exc:  # reported by close(), at the end of the session
                self._errors.append(exc)

        try:
            with ThreadPoolExecutor(self.PARALLEL, thread_name_prefix="pg-drop") as pool:
                while True:
                    with self._cond:
                        while not self._names and not self._closed:
                            self._cond.wait()
                        if not self._names:
                            return
                        batch, self._names = self._names, []
                    list(pool.map(drop, batch))
        finally:
            engine.dispose()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
        if self._errors:
            raise self._errors[0]


@pytest.fixture(scope="session")
def pg_dropper() -> Iterator[PgDropper]:
    dropper = PgDropper()
    yield dropper
    dropper.close()


def fresh_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Yield the URL of a new migrated store of ``kind``; drop it afterwards."""
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "govdata.db"
        shutil.copy(template, target)
        yield f"sqlite:///{target}"
        return
    tpl: str = request.getfixturevalue("pg_template")
    dropper: PgDropper = request.getfixturevalue("pg_dropper")
    name = f"govdata_t_{uuid.uuid4().hex[:12]}"
    try:
        _pg_admin_exec(
            f'CREATE DATABASE "{name}" TEMPLATE "{tpl}"',
            f'ALTER DATABASE "{name}" SET synchronous_commit = off',
        )
        yield _pg_url(name)
    finally:
        dropper.drop(name)


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
