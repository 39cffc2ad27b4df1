"""Throw-away department databases on the machine's MariaDB and PostgreSQL.

``mariadb_db()`` / ``postgres_db()`` create a database with a random name (skipped
locally, failed in CI, when the server is absent), yield a ``SourceDb`` to run SQL
and build connectors with, and drop it afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import pymysql

from govdata.sources import MariaDBConnector, PostgresConnector, SourceConnector
from tests import pgdrop, services


@dataclass
class SourceDb:
    kind: str  # "mariadb" or "postgres"
    name: str
    host: str
    port: int
    user: str
    password: str
    _conn: Any

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self._conn.cursor() as cur:
            cur.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(sql, rows)

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._conn.cursor() as cur:
            cur.execute(sql, params)
            return [tuple(r) for r in cur.fetchall()]

    def connector(self) -> SourceConnector:
        if self.kind == "mariadb":
            return MariaDBConnector(
                host=self.host,
                port=self.port,
                database=self.name,
                user=self.user,
                password=self.password,
            )
        return PostgresConnector(
            host=self.host,
            port=self.port,
            database=self.name,
            user=self.user,
            password=self.password or None,
        )

    def config(self) -> dict[str, Any]:
        """The source system settings (as registered on the platform) that reach this db."""
        return {
            "host": self.host,
            "port": self.port,
            "database": self.name,
            "user": self.user,
        }


@contextmanager
def mariadb_db(prefix: str = "govdata_t") -> Iterator[SourceDb]:
    services.need("MariaDB", services.mariadb_up())
    name = f"{prefix}_{secrets.token_hex(4)}"
    m = services.MARIADB
    admin = pymysql.connect(**m, autocommit=True, charset="utf8mb4")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    conn = pymysql.connect(**m, database=name, autocommit=True, charset="utf8mb4")
    with conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
    try:
        yield SourceDb("mariadb", name, m["host"], int(m["port"]), m["user"], m["password"], conn)
    finally:
        conn.close()
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def postgres_db(prefix: str = "govdata_t") -> Iterator[SourceDb]:
    services.need("PostgreSQL", services.postgres_up())
    name = f"{prefix}_{secrets.token_hex(4)}"
    params = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
    with psycopg.connect(**params, dbname="postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    conn = psycopg.connect(**params, dbname=name, autocommit=True)
    try:
        yield SourceDb("postgres", name, "127.0.0.1", 5432, "postgres", "", conn)
    finally:
        conn.close()
        # Off the test's path; idle replication slots and open sessions go with it.
        pgdrop.drop_later(PG_ADMIN, name)
