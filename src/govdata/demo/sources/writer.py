"""Loading generated rows into a source system's database: a SQLite file or a MariaDB database.

Loads are bulk: rows arrive in batches and go in with ``executemany``; SQLite
loads in one transaction with ``synchronous=OFF`` and builds indexes at the
end; MariaDB commits per batch (PyMySQL turns ``executemany`` into multi-row
INSERTs) and adds its secondary indexes after the load.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any, Protocol

import pymysql
from pydantic_settings import BaseSettings, SettingsConfigDict

from govdata.core.errors import InvalidInput, ServiceUnavailable
from govdata.core.sqlident import quote_identifier
from govdata.demo.sources.common import Row
from govdata.demo.sources.schema import (
    System,
    Table,
    create_index,
    insert_sql,
    mariadb_create,
    sqlite_create,
)

DEFAULT_DB_PREFIX = "govdata_demo_"
_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


class MariaDBSettings(BaseSettings):
    """Where ``govdata demo --sources mariadb`` puts the source systems."""

    model_config = SettingsConfigDict(env_prefix="GOVDATA_DEMO_MARIADB_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = ""
    # One database per system: <prefix><system>, e.g. govdata_demo_police.
    prefix: str = DEFAULT_DB_PREFIX


class Sink(Protocol):
    def write(self, table: Table, rows: list[Row]) -> None: ...

    def finish(self) -> dict[str, Any]:
        """Build indexes, close, and describe where the data is (no secrets)."""
        ...

    def abort(self) -> None: ...


class SqliteSink:
    def __init__(self, path: Path, system: System) -> None:
        self.path = path
        self.system = system
        path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        self.conn = sqlite3.connect(path, isolation_level=None)
        # A load that fails is simply rebuilt, so durability during it buys nothing.
        self.conn.execute("PRAGMA journal_mode=OFF")
        self.conn.execute("PRAGMA synchronous=OFF")
        for t in system.tables:
            self.conn.execute(sqlite_create(t))
        self.conn.execute("BEGIN")
        self._sql = {t.name: insert_sql(t, "sqlite") for t in system.tables}

    def write(self, table: Table, rows: list[Row]) -> None:
        if rows:
            self.conn.executemany(self._sql[table.name], rows)

    def finish(self) -> dict[str, Any]:
        self.conn.execute("COMMIT")
        for t in self.system.tables:
            for name, cols, unique in t.all_indexes():
                self.conn.execute(create_index(t, name, cols, unique, "sqlite"))
        self.conn.execute("PRAGMA journal_mode=DELETE")
        self.conn.close()
        return {"engine": "sqlite", "path": str(self.path)}

    def abort(self) -> None:
        self.conn.close()


def check_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise InvalidInput(
            f"数据库名前缀“{prefix}”无效：只能使用小写字母、数字和下划线",
            f"Invalid database prefix '{prefix}': use lowercase letters, digits and underscores",
            code="invalid_db_prefix",
        )
    return prefix


def mariadb_connect(settings: MariaDBSettings, database: str | None = None) -> Any:
    try:
        return pymysql.connect(
            host=settings.host,
            port=settings.port,
            user=settings.user,
            password=settings.password,
            database=database,
            charset="utf8mb4",
            autocommit=False,
        )
    except pymysql.err.OperationalError as exc:
        raise ServiceUnavailable(
            f"无法连接 MariaDB {settings.host}:{settings.port}：{exc.args[-1]}",
            f"Cannot connect to MariaDB at {settings.host}:{settings.port}: {exc.args[-1]}",
            code="mariadb_unavailable",
        ) from exc


class MariaDBSink:
    def __init__(self, settings: MariaDBSettings, database: str, system: System) -> None:
        self.settings = settings
        self.database = database
        self.system = system
        self.conn = mariadb_connect(settings)
        with self.conn.cursor() as cur:
            name = quote_identifier(database, "mysql")
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
            cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            cur.execute(f"USE {name}")
            cur.execute("SET SESSION unique_checks=0, foreign_key_checks=0")
            for t in system.tables:
                cur.execute(mariadb_create(t))
            cur.execute("SELECT @@max_allowed_packet")
            packet = int(cur.fetchone()[0])
        self.conn.commit()
        # Fewer, larger multi-row INSERTs load faster; stay well inside the server's packet limit.
        self.stmt_length = max(min(8_000_000, packet - 65_536), 256_000)
        self._sql = {t.name: insert_sql(t, "mysql") for t in system.tables}

    def write(self, table: Table, rows: list[Row]) -> None:
        if not rows:
            return
        with self.conn.cursor() as cur:
            cur.max_stmt_length = self.stmt_length
            cur.executemany(self._sql[table.name], rows)
        self.conn.commit()

    def finish(self) -> dict[str, Any]:
        with self.conn.cursor() as cur:
            cur.execute("SET SESSION unique_checks=1, foreign_key_checks=1")
            for t in self.system.tables:
                # One ALTER per table builds all its indexes in a single pass over the rows.
                parts = [
                    f"ADD {'UNIQUE ' if unique else ''}INDEX {quote_identifier(name, 'mysql')} "
                    f"({', '.join(quote_identifier(c, 'mysql') for c in cols)})"
                    for name, cols, unique in t.all_indexes()
                ]
                cur.execute(f"ALTER TABLE {quote_identifier(t.name, 'mysql')} " + ", ".join(parts))
        self.conn.commit()
        self.conn.close()
        return {
            "engine": "mariadb",
            "host": self.settings.host,
            "port": self.settings.port,
            "database": self.database,
            "user": self.settings.user,
        }

    def abort(self) -> None:
        self.conn.close()


def drop_mariadb_databases(settings: MariaDBSettings, prefix: str) -> list[str]:
    """Drop every database named ``<prefix>*``; tests use it to clean up their own prefix."""
    check_prefix(prefix)
    conn = mariadb_connect(settings)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES LIKE %s", (prefix.replace("_", "\\_") + "%",))
            found = [row[0] for row in cur.fetchall()]
            for name in found:
                cur.execute(f"DROP DATABASE {quote_identifier(name, 'mysql')}")
        return found
    finally:
        conn.close()
